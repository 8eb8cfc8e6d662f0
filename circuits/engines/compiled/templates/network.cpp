{# Brian2's network loop (brian2/network.cpp) with a monotonic wall clock instead of
   std::clock(): std::clock() is a system call (CLOCK_PROCESS_CPUTIME_ID) made at every step,
   about 0.5–1 µs here; steady_clock is read through the vDSO. The loop itself is unchanged. #}
{% import 'brian2/network.cpp' as brian2_network with context %}

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
{{ brian2_network.cpp_file() | replace('std::clock()', 'pc_clock()') }}
{% endmacro %}

{% macro h_file() %}
{{ brian2_network.h_file() }}
{% endmacro %}
