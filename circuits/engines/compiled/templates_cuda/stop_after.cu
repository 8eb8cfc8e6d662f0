{# Ends the network's run after the owner's "steps" steps (the CUDA counterpart of
   templates/stop_after.cpp): brian2cuda's clocks and run_args live on the host, so this is
   host code, and no kernel is launched. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cu' %}

{% block extra_headers %}
#include "network.h"
{% endblock %}

{% block prepare_kernel %}
{% endblock %}

{% block kernel_call %}
    if ({{get_array_name(variables['_timestep'], prefix='')}}[0] + 1 >= (int64_t){{get_array_name(variables['steps'], prefix='')}}[0])
        Network::_globally_stopped = true;
{% endblock %}
