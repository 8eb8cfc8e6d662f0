{# Continuous learning of a projection's generative weights, one BLAS call per step:
       W ← keep · W + scale · Eᵀ F        (E: the lower column's errors, B × rows;
                                           F: f(μ_upper), B × columns, batch-major)
   with scale = α dt/(τ_μ B) and keep = 1 − α λ dt/τ_μ read from the owner (run_args; scale 0
   when the run does not learn), and, for Kolen–Pollack feedback, B ← keep · B + scale · Fᵀ E.
   Scheduled after the couplings, so this step's products used the weights of the step's
   start (forward Euler, as the runtime engine). Template keywords: rows, columns, copies,
   kolen_pollack. #}
{% extends 'common_group.cpp' %}

{% block extra_headers %}
#include "pc_blas.h"
{% endblock %}

{% block maincode %}
    const double _scale = {{get_array_name(variables['scale'])}}[0];
    const double _keep = {{get_array_name(variables['keep'])}}[0];
    if (_scale == 0.0 && _keep == 1.0)
        return;
    {% set _errors = get_array_name(variables['_errors']) %}
    {% set _rates = get_array_name(variables['_rates']) %}
    PC_DGEMM(PC_ROW_MAJOR, PC_TRANS, PC_NO_TRANS, {{rows}}, {{columns}}, {{copies}}, _scale,
             {{_errors}}, {{rows}}, {{_rates}}, {{columns}}, _keep, {{get_array_name(variables['_weights'])}}, {{columns}});
    {% if kolen_pollack %}
    PC_DGEMM(PC_ROW_MAJOR, PC_TRANS, PC_NO_TRANS, {{columns}}, {{rows}}, {{copies}}, _scale,
             {{_rates}}, {{columns}}, {{_errors}}, {{rows}}, _keep, {{get_array_name(variables['_feedback'])}}, {{rows}});
    {% endif %}
{% endblock %}
