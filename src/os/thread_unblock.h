// Waking a thread of this process that is blocked on a socket, from another
// thread: request_terminate_timeout ends a script waiting in poll()/read()
// on a socket of its own (PHP retries poll() after EINTR, so a signal alone
// does not bring it back to the VM).
//
// The thread's system call is read from /proc/self/task/TID/syscall and the
// sockets it waits on are shut down. Descriptor numbers are only names: the
// thread may return and close its socket, and another thread reuse the
// number for one of ours (a FastCGI connection), between the read and the
// shutdown(). So each number is first duplicated (the duplicate pins the
// socket it names at that moment), the syscall line is read again, and only
// if the thread is still in the same call with the same arguments are the
// duplicates shut down: never a socket that merely got the same number.
#pragma once

#include <sys/types.h>

#include <functional>

namespace tfpm::os {

// Test seam: called between the verification and the shutdowns, where a
// reuse of the numbers would have hit the old code.
struct UnblockSeam {
  std::function<void()> after_verify;
};

// Shuts down (SHUT_RDWR) the sockets that thread `tid` of this process
// waits on in poll, ppoll, read, recvfrom or recvmsg, except the one that
// is the same socket as `keep_fd` (the request's own connection; -1 =
// none). Returns how many were shut down; 0 if the thread is in another
// call, moved on meanwhile, or waits on no socket.
int ShutdownSocketsWaitedOn(pid_t tid, int keep_fd, const UnblockSeam* seam = nullptr);

}  // namespace tfpm::os
