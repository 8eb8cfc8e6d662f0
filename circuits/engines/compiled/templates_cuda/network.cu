{# brian2cuda's network loop (brian2cuda/network.cu), its clocks ticking together when their
   times differ by less than 1e-4 of the smaller dt, not by less than 1e-14 seconds
   (templates/runtime_clocks.jinja: past t = 64 s the clocks of run_sequence's item ends
   drifted apart). #}
{% import 'brian2cuda/network.cu' as brian2cuda_network with context %}
{% from 'compiled/runtime_clocks.jinja' import runtime_clock_rule %}

{% macro cu_file() %}
{{ runtime_clock_rule(brian2cuda_network.cu_file(), 'circuits/engines/compiled/templates_cuda/network.cu') }}
{% endmacro %}

{% macro h_file() %}
{{ brian2cuda_network.h_file() }}
{% endmacro %}
