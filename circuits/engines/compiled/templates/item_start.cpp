{# At the start of every item of a sequence (every item_steps steps, the first included): the
   owner's vector code, "mu = _start" (estimates back to the prior mean) or "eps = 0" (errors
   to zero); nothing at other steps. Brian2's stateupdate loop behind a test of the step.
   Template keyword: item_steps. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% import 'vector_loop.cpp' as vector_loop with context %}

{% block maincode %}
    if ({{get_array_name(variables['_timestep'])}}[0] % {{item_steps}} != 0)
        return;
{{ vector_loop.run() }}
{% endblock %}
