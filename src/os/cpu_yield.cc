#include "os/cpu_yield.h"

#include <sched.h>

namespace tfpm::os {

void YieldCpu() { (void)::sched_yield(); }  // always 0 on Linux

}  // namespace tfpm::os
