{# A dense coupling, target = M f(source), as one product per step: gemv for one copy; for a
   batch of B copies (batch-major rows), (B, n_source) @ Mᵀ through pc_batch_product (pc_blas.h:
   the register-blocked kernel of pc_blocked.h where the shapes fit its blocks, gemm otherwise).
   Computed in the arrays' precision (``real``: double, or float in a precision="single" program;
   pc_blas.h picks the double or float functions by overload). The owner is the source group;
   with a non-identity f the vector code writes f(source) into the _rate buffer first. With
   ``transposed`` the matrix group holds Mᵀ (the generative W that tied feedback weights B = Wᵀ
   share). Template keywords: rows, columns, copies, has_rate, transposed, fused, small. With
   ``small`` (one copy, few multiply-adds) the product is a plain loop that the compiler
   vectorises: a BLAS call's set-up costs more there. With ``fused`` (tied feedback) the same
   pass over M also computes the bottom-up product, _back_target = Mᵀ _back_source: M
   is read from memory once per step instead of twice (the products are memory-bound at large
   sizes); over a batch, pc_batch_pair (pc_blas.h) computes both products panel by panel of M,
   so that M is fetched from memory once a step there too. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% import 'vector_loop.cpp' as vector_loop with context %}

{% block extra_headers %}
#include "pc_blas.h"
{% endblock %}

{% block maincode %}
    {% set real = c_data_type(variables['_matrix'].dtype) %}
#ifdef PC_BLAS_SET_THREADS
    static bool _pinned = false;   // one BLAS thread per process
    if (!_pinned) { PC_BLAS_SET_THREADS(1); _pinned = true; }
#endif
    {% if has_rate %}
    // f(source) into the buffer
{{ vector_loop.run() }}
    {% set _input = get_array_name(variables['_rate']) %}
    {% else %}
    {% set _input = get_array_name(variables['_source']) %}
    {% endif %}
    {% set _matrix = get_array_name(variables['_matrix']) %}
    {% set _output = get_array_name(variables['_target']) %}
    {% if fused and copies > 1 %}
    static {{real}} _input_transposed[{{copies * columns}}] __attribute__((aligned(64)));
    pc_batch_pair({{copies}}, {{rows}}, {{columns}}, {{_input}}, {{_matrix}}, {{_output}},
                  {{get_array_name(variables['_back_source'])}}, {{get_array_name(variables['_back_target'])}},
                  _input_transposed);
    {% elif fused %}
    {% set _back_input = get_array_name(variables['_back_source']) %}
    {% set _back_output = get_array_name(variables['_back_target']) %}
    for (int _j = 0; _j < {{columns}}; _j++)
        {{_back_output}}[_j] = 0.0;
    // four rows at a time: each load of the input and of the bottom-up sums serves four rows
    int _i = 0;
    for (; _i + 4 <= {{rows}}; _i += 4)
    {
        const {{real}}* __restrict _r0 = {{_matrix}} + (size_t)_i * {{columns}};
        const {{real}}* __restrict _r1 = _r0 + {{columns}};
        const {{real}}* __restrict _r2 = _r1 + {{columns}};
        const {{real}}* __restrict _r3 = _r2 + {{columns}};
        const {{real}} _e0 = {{_back_input}}[_i], _e1 = {{_back_input}}[_i + 1];
        const {{real}} _e2 = {{_back_input}}[_i + 2], _e3 = {{_back_input}}[_i + 3];
        {{real}} _s0 = 0.0, _s1 = 0.0, _s2 = 0.0, _s3 = 0.0;
        for (int _j = 0; _j < {{columns}}; _j++)
        {
            const {{real}} _x = {{_input}}[_j];
            _s0 += _r0[_j] * _x;
            _s1 += _r1[_j] * _x;
            _s2 += _r2[_j] * _x;
            _s3 += _r3[_j] * _x;
            {{_back_output}}[_j] += _e0 * _r0[_j] + _e1 * _r1[_j] + _e2 * _r2[_j] + _e3 * _r3[_j];
        }
        {{_output}}[_i] = _s0;
        {{_output}}[_i + 1] = _s1;
        {{_output}}[_i + 2] = _s2;
        {{_output}}[_i + 3] = _s3;
    }
    for (; _i < {{rows}}; _i++)
    {
        const {{real}}* __restrict _row = {{_matrix}} + (size_t)_i * {{columns}};
        const {{real}} _error = {{_back_input}}[_i];
        {{real}} _sum = 0.0;
        for (int _j = 0; _j < {{columns}}; _j++)
        {
            _sum += _row[_j] * {{_input}}[_j];
            {{_back_output}}[_j] += _error * _row[_j];
        }
        {{_output}}[_i] = _sum;
    }
    {% elif small and not transposed %}
    for (int _b = 0; _b < {{copies}}; _b++)
    {
        const {{real}}* __restrict _x = {{_input}} + (size_t)_b * {{columns}};
        for (int _i = 0; _i < {{rows}}; _i++)
        {
            const {{real}}* __restrict _row = {{_matrix}} + (size_t)_i * {{columns}};
            {{real}} _sum = 0.0;
            for (int _j = 0; _j < {{columns}}; _j++)
                _sum += _row[_j] * _x[_j];
            {{_output}}[(size_t)_b * {{rows}} + _i] = _sum;
        }
    }
    {% elif small %}
    for (int _b = 0; _b < {{copies}}; _b++)
    {
        const {{real}}* __restrict _x = {{_input}} + (size_t)_b * {{columns}};
        {{real}}* __restrict _y = {{_output}} + (size_t)_b * {{rows}};
        for (int _i = 0; _i < {{rows}}; _i++)
            _y[_i] = 0.0;
        for (int _j = 0; _j < {{columns}}; _j++)
        {
            const {{real}} _xj = _x[_j];
            const {{real}}* __restrict _column = {{_matrix}} + (size_t)_j * {{rows}};
            for (int _i = 0; _i < {{rows}}; _i++)
                _y[_i] += _xj * _column[_i];
        }
    }
    {% elif copies == 1 and not transposed %}
    pc_gemv(PC_NO_TRANS, {{rows}}, {{columns}}, 1.0, {{_matrix}}, {{columns}}, {{_input}}, 0.0, {{_output}});
    {% elif copies == 1 %}
    pc_gemv(PC_TRANS, {{columns}}, {{rows}}, 1.0, {{_matrix}}, {{rows}}, {{_input}}, 0.0, {{_output}});
    {% elif not transposed %}
    static {{real}} _input_transposed[{{copies * columns}}] __attribute__((aligned(64)));
    pc_batch_product({{copies}}, {{rows}}, {{columns}}, {{_input}}, {{_matrix}}, {{_output}}, _input_transposed);
    {% else %}
    pc_batch_product_transposed({{copies}}, {{rows}}, {{columns}}, {{_input}}, {{_matrix}}, {{_output}});
    {% endif %}
{% endblock %}
