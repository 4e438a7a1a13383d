// Giving up the CPU voluntarily: the calling thread stays runnable and
// goes behind the other runnable threads of its CPU (sched_yield(2)).
// Used by PHP threads between requests (worker/burst_yield.h).
#pragma once

namespace tfpm::os {

// sched_yield(2). Cannot fail on Linux; returns at once when no other
// thread is waiting for this CPU.
void YieldCpu();

}  // namespace tfpm::os
