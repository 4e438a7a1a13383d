// A per-thread "stop waiting" flag. The request timeouts set it from the
// wake signal's handler on the thread they want back; code that blocks in
// poll() on that thread (the request body read) checks it after EINTR and
// returns instead of waiting again. Async-signal-safe by construction.
#pragma once

#include <csignal>

namespace tfpm::base {

inline thread_local volatile std::sig_atomic_t t_interrupt_requested = 0;

}  // namespace tfpm::base
