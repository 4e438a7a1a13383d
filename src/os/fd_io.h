// Reading, writing, waiting on and replacing descriptors: the system calls
// the worker process makes on its own descriptors (the supervisor channel,
// log files, the inotify descriptor, status replies), each returning a
// Status. EINTR is retried here, never by callers.
//
// Thread-safety: as the underlying system calls (any thread).
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

// close(2). EINTR is not retried: Linux has closed the descriptor anyway.
Status CloseFd(int fd);

// One read(2) into `buf`: the byte count, 0 at EOF. A non-blocking
// descriptor with nothing to read gives an error whose WouldBlock() is true.
Result<size_t> ReadSome(int fd, std::span<char> buf);
// One pread(2) at `offset`: the byte count, 0 at the end.
Result<size_t> ReadAt(int fd, std::span<char> buf, off_t offset);
// Reads from `offset` to the end of the file.
Result<std::string> ReadAllAt(int fd, off_t offset);

// One write(2) of `data`: the byte count written (may be short).
Result<size_t> WriteSome(int fd, std::string_view data);

// One send(2) with MSG_NOSIGNAL (a closed peer gives EPIPE, not SIGPIPE),
// plus MSG_DONTWAIT when `mode` is kDontWait: the byte count sent.
enum class SendMode { kBlocking, kDontWait };
Result<size_t> SendSome(int fd, std::string_view data, SendMode mode);

// True if `st`, an error of ReadSome, ReadAt, WriteSome or SendSome, is
// EAGAIN: a non-blocking descriptor that would have blocked.
bool WouldBlock(const Status& st);

// poll(2) over `fds` for up to `timeout_ms` (-1: no limit): the number of
// descriptors with events. An interrupting signal (EINTR) counts as a
// wake-up with no event (0) with kAsNoEvent; with kReport it is an error
// whose Interrupted() is true, for a caller that must look at why it was
// woken (a request timeout's signal wants the PHP thread back).
enum class OnSignal { kAsNoEvent, kReport };
Result<int> Poll(std::span<pollfd> fds, int timeout_ms, OnSignal on_signal = OnSignal::kAsNoEvent);
// ppoll(2) with a timeout finer than a millisecond (>= 0); a signal counts
// as a wake-up with no event.
Result<int> PollFor(std::span<pollfd> fds, std::chrono::microseconds timeout);
// True if `st`, an error of Poll(..., OnSignal::kReport), is EINTR.
bool Interrupted(const Status& st);

// dup3(from, to, O_CLOEXEC): puts the file `from` refers to under the
// number `to` (atomically for concurrent users of `to`); `from` stays open.
Status DuplicateOnto(int from, int to);

// A connected pair of close-on-exec unix stream sockets; with kNonBlocking
// both ends are O_NONBLOCK (socketpair's SOCK_NONBLOCK).
enum class IoMode { kBlocking, kNonBlocking };
Result<std::pair<UniqueFd, UniqueFd>> StreamSocketPair(IoMode mode = IoMode::kBlocking);

// pipe2(O_CLOEXEC): {read end, write end}, both blocking.
Result<std::pair<UniqueFd, UniqueFd>> Pipe();

// fcntl(F_DUPFD_CLOEXEC): a close-on-exec copy of `fd` numbered `lowest` or
// above.
Result<UniqueFd> DuplicateAtLeast(int fd, int lowest);

// Opens `path` for appending (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC),
// creating it with `mode`.
Result<UniqueFd> OpenForAppend(const std::string& path, unsigned mode);

}  // namespace tfpm::os
