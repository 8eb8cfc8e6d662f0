{# At the start of every item of a sequence (every item_steps steps, the first included): the
   owner's vector code, "mu = _start" (estimates back to the prior mean) or "eps = 0" (errors
   to zero); nothing at other steps. Brian2's stateupdate loop behind a test of the step.
   Template keyword: item_steps. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}

{% block maincode %}
    if ({{get_array_name(variables['_timestep'])}}[0] % {{item_steps}} != 0)
        return;
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}
    const int _N = {{constant_or_scalar('N', variables['N'])}};
    for(int _idx=0; _idx<_N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
{% endblock %}
