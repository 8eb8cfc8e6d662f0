{# Brian2's network loop (brian2/network.cpp) with two changes; the loop itself is unchanged.
   1. A monotonic wall clock instead of std::clock(): std::clock() is a system call
      (CLOCK_PROCESS_CPUTIME_ID) made at every step, about 0.5–1 µs here; steady_clock is read
      through the vDSO.
   2. Clocks tick together when their times differ by less than 1e-4 of the smaller dt, not by
      less than 1e-14 seconds (runtime_clocks.jinja: past t = 64 s the clocks of run_sequence's
      item ends drifted apart). #}
{% import 'brian2/network.cpp' as brian2_network with context %}
{% from 'runtime_clocks.jinja' import runtime_clock_rule %}

{% macro cpp_file() %}
#include <chrono>
#include <ctime>
namespace {
    // CLOCKS_PER_SEC ticks of a monotonic wall clock
    inline std::clock_t pc_clock()
    {
        const double seconds = std::chrono::duration<double>(
            std::chrono::steady_clock::now().time_since_epoch()).count();
        return (std::clock_t)(seconds * CLOCKS_PER_SEC);
    }
}
{{ runtime_clock_rule(brian2_network.cpp_file() | replace('std::clock()', 'pc_clock()'),
                      'circuits/engines/compiled/templates/network.cpp') }}
{% endmacro %}

{% macro h_file() %}
{{ brian2_network.h_file() }}
{% endmacro %}
