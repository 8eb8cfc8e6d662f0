{# Continuous learning of a projection's generative weights (the CUDA counterpart of
   templates/hebbian.cpp, same keywords), one cublasDgemm per step:
       W ← keep · W + scale · Eᵀ F        (E: B × rows, F: B × columns, batch-major)
   read column-major as Wᵀ ← keep · Wᵀ + scale · Fᵀ E; Kolen–Pollack: B ← keep · B + scale · Fᵀ E,
   read as Bᵀ ← keep · Bᵀ + scale · Eᵀ F. scale and keep are read from the host copy of the
   owner's variables (run_args, which never change on the GPU); no kernel is launched. #}
{# USES_VARIABLES { N } #}
{% extends 'host_code.cu' %}

{% block extra_headers %}
#include "pc_cublas.h"
{% endblock %}

{% block host_code %}
    const double _scale = {{get_array_name(variables['scale'], prefix='')}}[0];
    const double _keep = {{get_array_name(variables['keep'], prefix='')}}[0];
    if (_scale == 0.0 && _keep == 1.0)
        return;
    {% set _errors = get_array_name(variables['_errors'], prefix='dev') %}
    {% set _rates = get_array_name(variables['_rates'], prefix='dev') %}
    const cublasHandle_t _handle = pc_cublas_handle();
    PC_CUBLAS(cublasDgemm(_handle, CUBLAS_OP_N, CUBLAS_OP_T, {{columns}}, {{rows}}, {{copies}}, &_scale,
                          {{_rates}}, {{columns}}, {{_errors}}, {{rows}}, &_keep,
                          {{get_array_name(variables['_weights'], prefix='dev')}}, {{columns}}));
    {% if kolen_pollack %}
    PC_CUBLAS(cublasDgemm(_handle, CUBLAS_OP_N, CUBLAS_OP_T, {{rows}}, {{columns}}, {{copies}}, &_scale,
                          {{_errors}}, {{rows}}, {{_rates}}, {{columns}}, &_keep,
                          {{get_array_name(variables['_feedback'], prefix='dev')}}, {{rows}}));
    {% endif %}
{% endblock %}
