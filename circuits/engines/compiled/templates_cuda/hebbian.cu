{# Hebbian learning of a projection's generative weights (the CUDA counterpart of
   templates/hebbian.cpp, same keywords), one gemm (include/pc_cublas.h: cublasDgemm, or
   cublasSgemm in a precision="single" program):
       W ← keep · W + scale · Eᵀ F        (E: B × rows, F: B × columns, batch-major)
   read column-major as Wᵀ ← keep · Wᵀ + scale · Fᵀ E; Kolen–Pollack: B ← keep · B + scale · Fᵀ E,
   read as Bᵀ ← keep · Bᵀ + scale · Eᵀ F. The step test (item_steps), scale and keep are host
   code (brian2cuda's clocks and run_args live on the host); with has_rate the owner's kernel
   writes f(μ) into the _rates buffer first, otherwise no kernel is launched. #}
{# USES_VARIABLES { N } #}
{% extends 'rate_kernel.cu' %}

{% block extra_headers %}
#include "pc_cublas.h"
{% endblock %}

{% block host_maincode %}
    {% if item_steps %}
    const int64_t _step = {{get_array_name(variables['_timestep'], prefix='')}}[0];
    if (_step == 0 || _step % {{item_steps}} != 0)
        return;
    {% endif %}
    {% set real = c_data_type(variables['_weights'].dtype) %}
    const {{real}} _scale = {{get_array_name(variables['_scale'], prefix='')}}[0];
    const {{real}} _keep = {{get_array_name(variables['_keep'], prefix='')}}[0];
    if (_scale == 0 && _keep == 1)
        return;
{% endblock %}

{% block extra_kernel_call_post %}
    {% set _errors = get_array_name(variables['_errors'], prefix='dev') %}
    {% set _rates = get_array_name(variables['_rates'], prefix='dev') %}
    const cublasHandle_t _handle = pc_cublas_handle();
    PC_CUBLAS(pc_cublas_gemm(_handle, CUBLAS_OP_N, CUBLAS_OP_T, {{columns}}, {{rows}}, {{copies}}, &_scale,
                              {{_rates}}, {{columns}}, {{_errors}}, {{rows}}, &_keep,
                              {{get_array_name(variables['_weights'], prefix='dev')}}, {{columns}}));
    {% if kolen_pollack %}
    PC_CUBLAS(pc_cublas_gemm(_handle, CUBLAS_OP_N, CUBLAS_OP_T, {{rows}}, {{columns}}, {{copies}}, &_scale,
                              {{_errors}}, {{rows}}, {{_rates}}, {{columns}}, &_keep,
                              {{get_array_name(variables['_feedback'], prefix='dev')}}, {{rows}}));
    {% endif %}
{% endblock %}
