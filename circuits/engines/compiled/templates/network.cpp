{# Brian2's network loop (brian2/network.cpp) with two changes; the loop itself is unchanged.
   1. A monotonic wall clock instead of std::clock(): std::clock() is a system call
      (CLOCK_PROCESS_CPUTIME_ID) made at every step, about 0.5–1 µs here; steady_clock is read
      through the vDSO.
   2. Clocks tick together when their times differ by less than 1e-4 of the smaller dt (Brian2's
      Clock.epsilon_dt, the rule of its runtime network), not by less than 1e-14 seconds: past
      t = 64 s one unit in the last place of t is 1.4e-14 s, so a clock of 50 ms and one of
      0.1 ms computed t = 76.80000000000001 and 76.8 at the same instant and ran apart; the
      monitor of item ends then recorded the next item's first step, and the weights relearned
      from it went wrong (bench_learning --engines: 3.8e-2 after 2,000 items). If Brian2's text
      changes, the program does not compile (#error) instead of silently keeping the old rule.
      Brian2 2.9 and 2.10 loop over `Clock *`; 2.11 over `BaseClock *`, whose regular `Clock`
      has a dt and whose `EventClock` has none (an event clock keeps Brian2's 1e-14 s rule). #}
{% import 'brian2/network.cpp' as brian2_network with context %}

{% macro cpp_file() %}
#include <algorithm>
#include <chrono>
#include <ctime>
#include <math.h>
#include "brianlib/clocks.h"
namespace {
    // CLOCKS_PER_SEC ticks of a monotonic wall clock
    inline std::clock_t pc_clock()
    {
        const double seconds = std::chrono::duration<double>(
            std::chrono::steady_clock::now().time_since_epoch()).count();
        return (std::clock_t)(seconds * CLOCKS_PER_SEC);
    }

    // Whether clocks a and b, at times s and t, tick at this step: within 1e-4 of the smaller dt.
    template <class AnyClock>
    inline bool pc_same_step(double s, double t, AnyClock *a, AnyClock *b)
    {
        const Clock *regular_a = dynamic_cast<const Clock *>(a);
        const Clock *regular_b = dynamic_cast<const Clock *>(b);
        if(!regular_a || !regular_b)
            return fabs(s-t)<=1e-14;
        return fabs(s-t)<=1e-4*std::min(regular_a->dt[0], regular_b->dt[0]);
    }
}
{% set brian2_loop = brian2_network.cpp_file() %}
{% set absolute_rule = 'fabs(s-t)<=Clock_epsilon' %}
{% if absolute_rule not in brian2_loop %}
#error "circuits/engines/compiled/templates/network.cpp: Brian2's network loop no longer compares clocks with fabs(s-t)<=Clock_epsilon; update the template"
{% endif %}
{{ brian2_loop | replace('std::clock()', 'pc_clock()')
               | replace(absolute_rule, 'pc_same_step(s, t, clock, minclock)') }}
{% endmacro %}

{% macro h_file() %}
{{ brian2_network.h_file() }}
{% endmacro %}
