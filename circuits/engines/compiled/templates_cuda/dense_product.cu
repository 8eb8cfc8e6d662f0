{# A dense coupling, target = M f(source), as one cuBLAS product per step (the CUDA
   counterpart of templates/dense_product.cpp, same keywords; ``small`` is ignored: the GPU
   has no BLAS set-up to avoid). cuBLAS is column-major: the row-major M (rows × columns) is
   read as its transpose. One copy: gemv; B copies (batch-major rows (B, n)): one gemm,
   Yᵀ = M Xᵀ (include/pc_cublas.h: cublasDgemv/Dgemm, or Sgemv/Sgemm in a precision="single"
   program). With a non-identity f the owner's kernel first writes f(source) into
   the _rate buffer (Brian2-generated vector code); without one no kernel is launched. With
   ``transposed`` the matrix group holds Mᵀ; with ``fused`` (tied feedback) a second product
   computes _back_target = Mᵀ _back_source from the same M (gemv, or gemm over a batch). #}
{# USES_VARIABLES { N } #}
{% extends 'rate_kernel.cu' %}

{% block extra_headers %}
#include "pc_cublas.h"
{% endblock %}

{% block extra_kernel_call_post %}
    {% set _matrix = get_array_name(variables['_matrix'], prefix='dev') %}
    {% set _input = get_array_name(variables['_rate'] if has_rate else variables['_source'], prefix='dev') %}
    {% set _output = get_array_name(variables['_target'], prefix='dev') %}
    const cublasHandle_t _handle = pc_cublas_handle();
    {% set real = c_data_type(variables['_matrix'].dtype) %}
    const {{real}} _one = 1, _zero = 0;
    {% if copies == 1 and not transposed %}
    PC_CUBLAS(pc_cublas_gemv(_handle, CUBLAS_OP_T, {{columns}}, {{rows}}, &_one, {{_matrix}}, {{columns}},
                              {{_input}}, 1, &_zero, {{_output}}, 1));
    {% elif copies == 1 %}
    PC_CUBLAS(pc_cublas_gemv(_handle, CUBLAS_OP_N, {{rows}}, {{columns}}, &_one, {{_matrix}}, {{rows}},
                              {{_input}}, 1, &_zero, {{_output}}, 1));
    {% elif not transposed %}
    PC_CUBLAS(pc_cublas_gemm(_handle, CUBLAS_OP_T, CUBLAS_OP_N, {{rows}}, {{copies}}, {{columns}}, &_one,
                              {{_matrix}}, {{columns}}, {{_input}}, {{columns}}, &_zero, {{_output}}, {{rows}}));
    {% else %}
    PC_CUBLAS(pc_cublas_gemm(_handle, CUBLAS_OP_N, CUBLAS_OP_N, {{rows}}, {{copies}}, {{columns}}, &_one,
                              {{_matrix}}, {{rows}}, {{_input}}, {{columns}}, &_zero, {{_output}}, {{rows}}));
    {% endif %}
    {% if fused and copies == 1 %}
    PC_CUBLAS(pc_cublas_gemv(_handle, CUBLAS_OP_N, {{columns}}, {{rows}}, &_one, {{_matrix}}, {{columns}},
                              {{get_array_name(variables['_back_source'], prefix='dev')}}, 1, &_zero,
                              {{get_array_name(variables['_back_target'], prefix='dev')}}, 1));
    {% elif fused %}
    PC_CUBLAS(pc_cublas_gemm(_handle, CUBLAS_OP_N, CUBLAS_OP_N, {{columns}}, {{copies}}, {{rows}}, &_one,
                              {{_matrix}}, {{columns}}, {{get_array_name(variables['_back_source'], prefix='dev')}},
                              {{rows}}, &_zero, {{get_array_name(variables['_back_target'], prefix='dev')}}, {{columns}}));
    {% endif %}
{% endblock %}
