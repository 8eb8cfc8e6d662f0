{# A code object that runs host code only, once a step, and launches no kernel: the base of the
   templates whose work is cuBLAS calls or the host's own state (brian2cuda keeps clocks and
   run_args on the host). A child fills the block host_code. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cu' %}

{% block prepare_kernel %}
{% endblock %}

{% block kernel_call %}
{% block host_code %}
{% endblock %}
{% endblock %}
