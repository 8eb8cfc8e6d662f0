{# At the start of every item of a sequence (the CUDA counterpart of templates/item_start.cpp):
   the owner's vector code ("mu = _start", "eps = 0") as brian2cuda's elementwise kernel,
   launched only at every item_steps-th step (a host test of the step). #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cu' %}

{% block host_maincode %}
    if ({{get_array_name(variables['_timestep'], prefix='')}}[0] % {{item_steps}} != 0)
        return;
{% endblock %}
