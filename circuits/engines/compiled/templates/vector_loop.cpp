{# The owner's Brian2-generated code over its neurons (Brian2's stateupdate loop), for the
   templates that run it before their own work: {{ vector_loop.run() }} after
   {% import 'vector_loop.cpp' as vector_loop with context %}. #}
{% macro run() %}
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}
    const int _N = {{constant_or_scalar('N', variables['N'])}};
    for(int _idx=0; _idx<_N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
{% endmacro %}
