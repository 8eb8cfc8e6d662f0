{# Hebbian learning of a projection's generative weights, one BLAS call (gemm, in the arrays'
   precision: pc_blas.h picks dgemm or sgemm):
       W ← keep · W + scale · Eᵀ F        (E: the lower column's errors, B × rows;
                                           F: f(μ_upper), B × columns, batch-major)
   with scale and keep read from the projection's control group (_scale, _keep: run_args; scale 0,
   keep 1 when the run does not learn this way), and, for Kolen–Pollack feedback,
   B ← keep · B + scale · Fᵀ E. Continuously (item_steps 0): every step, after the couplings, so
   that this step's products used the weights of the step's start (forward Euler, as the runtime
   engine), with scale = α dt/(τ_μ B), keep = 1 − α λ dt/τ_μ and F the products' f(μ) buffer. At
   item ends (item_steps P): at the start of every P-th step but the first, before the item's
   reset and clamp, with scale = α/B, keep = 1 − α λ; with has_rate the owner (the upper
   estimates) first writes f(μ) now into the _rates buffer. Template keywords: rows, columns,
   copies, kolen_pollack, item_steps, has_rate. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% import 'vector_loop.cpp' as vector_loop with context %}

{% block extra_headers %}
#include "pc_blas.h"
{% endblock %}

{% block maincode %}
    {% if item_steps %}
    const int64_t _step = {{get_array_name(variables['_timestep'])}}[0];
    if (_step == 0 || _step % {{item_steps}} != 0)
        return;
    {% endif %}
    {% set real = c_data_type(variables['_weights'].dtype) %}
    const {{real}} _scale = {{get_array_name(variables['_scale'])}}[0];
    const {{real}} _keep = {{get_array_name(variables['_keep'])}}[0];
    if (_scale == 0 && _keep == 1)
        return;
    {% if has_rate %}
{{ vector_loop.run() }}
    {% endif %}
    {% set _errors = get_array_name(variables['_errors']) %}
    {% set _rates = get_array_name(variables['_rates']) %}
    pc_gemm(PC_TRANS, PC_NO_TRANS, {{rows}}, {{columns}}, {{copies}}, _scale, {{_errors}}, {{rows}},
            {{_rates}}, {{columns}}, _keep, {{get_array_name(variables['_weights'])}}, {{columns}});
    {% if kolen_pollack %}
    pc_gemm(PC_TRANS, PC_NO_TRANS, {{columns}}, {{rows}}, {{copies}}, _scale, {{_rates}}, {{columns}},
            {{_errors}}, {{rows}}, _keep, {{get_array_name(variables['_feedback'])}}, {{rows}});
    {% endif %}
{% endblock %}
