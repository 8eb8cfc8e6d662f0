{# The base of the templates whose work is host code (cuBLAS calls): the owner's elementwise
   kernel (its Brian2-generated code, e.g. "_rate = tanh(mu)") is launched only with the
   keyword has_rate; otherwise no kernel runs. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cu' %}

{% block prepare_kernel %}
{% if has_rate %}
{{ super() }}
{% endif %}
{% endblock %}

{% block kernel_call %}
{% if has_rate %}
{{ super() }}
{% endif %}
{% endblock %}
