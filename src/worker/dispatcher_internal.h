// Constants shared by the Dispatcher's parts (dispatcher*.cc); not for
// other users.
#pragma once

#include <sys/epoll.h>

#include <cerrno>
#include <cstdint>

#include "os/socket_io.h"

namespace tfpm::worker::dispatcher_internal {
// How long a thread waits for the first request of a connection it has
// just accepted before parking it (Drive).
constexpr int kFirstRequestWaitMs = 5;
// At most this many connections taken from a listener's backlog by one
// event (DispatcherOptions::accept_pending): a burst of new upstream
// connections (a web server starting, or opening more under load) is
// taken into the epoll set in one or two rounds.
constexpr int kMaxAcceptBatch = 32;
// A PHP thread that has served requests back to back this long, never
// waiting for one, yields the CPU before it takes the next
// (worker/burst_yield.h). Below the kernel's minimum time slice (0.75 ms
// x (1 + log2 CPUs)), so the slice rarely ends in the middle of a short
// request. Tried at 1x16 over 16 kept connections (medians of 6-8 runs):
// 100 µs took hello's p99 from 3.9 to 1.4 ms and json's from 6.2 to 1.3;
// 300 µs helped json and Symfony as much but not hello; 1000 µs left
// json at 6 ms. Always, not only under contention: yielding only while at
// least as many other threads held a request as there are CPUs, or never
// at 4 threads, was tried (2026-12-04, alternating rounds against php-fpm
// and each other): without the yield hello over 4 kept connections to 4
// threads ran at 1.12x php-fpm's req/s instead of 1.03x, but through
// nginx (32 connections, 4 threads) p99 rose from 1.49x to 2.78x of a
// FIFO queue (hello, 8 rounds, every round worse) and at 1x16 from 0.88
// to 2.3 ms (contention gate) or 6.7 ms (never); php-fpm 2.6.
constexpr int64_t kBurstYieldUs = 100;

// epoll tokens: odd = listener (index << 1 | 1), kWakeToken, kRetireToken,
// else a Connection* (always 8-byte aligned, so never odd, 2 or 4).
constexpr uint64_t kWakeToken = 2;
constexpr uint64_t kRetireToken = 4;
constexpr uint32_t kConnEvents = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
// How often the main thread's Tick looks for expired connections.
constexpr int64_t kTickMs = 250;
// accept() back-off after EMFILE & co.: doubled from the first to the last.
constexpr int64_t kFirstBackoffMs = 10, kMaxBackoffMs = 1000;

// Descriptors kept free for PHP below the soft RLIMIT_NOFILE (at least;
// 4 per thread if more).
constexpr int kFdReserve = 16;
// Below the reserve, the last descriptors that make an idle connection go.
constexpr int kEvictSlack = 8;

using os::ResourceShortage;


}  // namespace tfpm::worker::dispatcher_internal
