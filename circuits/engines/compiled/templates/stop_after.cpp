{# Ends the network's run after the number of steps in the owner's "steps" variable (set as a
   run_arg), so one compiled program runs any duration: scheduled at the end of each step. #}
{% extends 'common_group.cpp' %}

{% block extra_headers %}
#include "network.h"
{% endblock %}

{% block maincode %}
    if ({{get_array_name(variables['_timestep'])}}[0] + 1 >= (int64_t){{get_array_name(variables['steps'])}}[0])
        Network::_globally_stopped = true;
{% endblock %}
