// Cross-thread control of PHP threads for the pool timeouts: which request
// each thread runs, ending one request (request_terminate_timeout) and
// reading its PHP backtrace (slowlog) from another thread.
//
// Ending a request: the watchdog sets the thread's kill target and its
// EG(vm_interrupt) (a zend_atomic_bool, made for this cross-thread use by
// the Zend timers), so the VM calls our zend_interrupt_function on that
// thread at the next opcode boundary (inside Fibers too); there the thread
// answers 504 and bails out of its own request. To wake a thread blocked in
// a system call it is sent kWakeSignal (handler does nothing, no
// SA_RESTART), and if it waits in poll()/select()/read() on a socket of the
// script's (PHP retries poll() after EINTR), that socket is shut down.
//
// Backtraces: the watchdog reads the thread's executor frames with
// process_vm_readv() on its own process — no ptrace, no CAP_SYS_PTRACE, and
// a frame that changes under the reader gives a short or odd trace, never a
// fault.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/interrupt.h"
#include "base/log.h"
#include "base/utf8.h"
#include "os/thread_unblock.h"
#include "sapi/php_internal.h"

extern "C" {
#include <ext/standard/basic_functions.h>
#include <main/php_output.h>
}

namespace tfpm::sapi {

// One per registered PHP thread. Written by its own thread except the
// atomics the watchdog sets; lives as long as the PhpThreadScope.
struct ThreadControl {
  int index = -1;
  pthread_t thread{};
  pid_t tid = 0;
  zend_execute_data** current_execute_data = nullptr;  // &EG(current_execute_data) of that thread
  zend_atomic_bool* vm_interrupt = nullptr;            // &EG(vm_interrupt) of that thread
  std::atomic<uint64_t> seq{0};          // number of the request running (or last run)
  std::atomic<bool> running{false};
  std::atomic<bool> finished{false};     // fastcgi_finish_request() was called
  std::atomic<int64_t> started_us{0};    // steady clock
  std::atomic<uint64_t> kill_seq{0};     // the watchdog wants this request ended
  std::atomic<int> connection_fd{-1};    // the request's FastCGI socket
  bool killing = false;                  // owner thread only
  // Held by the watchdog from its check that `seq` still runs until it has
  // shut down the sockets the thread waits on and signalled it, and by the
  // thread while it marks its request ended (EndTrackedRequest). So the
  // thread cannot end that request, close its connection, take another and
  // wait on it (the dispatcher's poll for a first request) between the
  // check and the shutdown: the unblock never reaches a socket of the next
  // request, nor a descriptor number the thread has closed meanwhile.
  std::mutex end_mu;
};

namespace {

constexpr int kWakeSignalOffset = 3;  // SIGRTMIN is Zend's timer signal

std::mutex g_registry_mu;
std::unordered_map<int, ThreadControl*>* g_registry = nullptr;  // guarded by g_registry_mu
void (*g_previous_interrupt)(zend_execute_data*) = nullptr;
thread_local ThreadControl* t_control = nullptr;
std::function<void()> g_terminate_seam;  // tests only (SetTerminateRequestSeamForTest)

void WakeHandler(int) { base::t_interrupt_requested = 1; }

// Answers the request 504 (unless the head is out already) and unwinds it.
[[noreturn]] void TerminateCurrentRequest() {
  ThreadControl* c = t_control;
  c->killing = true;
  RequestContext* ctx = CurrentRequest();
  log::Warning("request_terminate_timeout: terminating the request to {} on thread {}",
               base::EscapeForLog(SG(request_info).path_translated ? SG(request_info).path_translated : "?"),
               c->index);
  zend_try {
    php_output_discard_all();
    if (!SG(headers_sent)) {
      SG(sapi_headers).http_response_code = 504;
      sapi_header_line ctr = {};
      ctr.line = "Content-Type: text/html; charset=UTF-8";
      ctr.line_len = std::strlen(ctr.line);
      sapi_header_op(SAPI_HEADER_REPLACE, &ctr);
      PUTS("<!DOCTYPE html>\n<html><head><title>504 Gateway Timeout</title></head>"
           "<body><h1>504 Gateway Timeout</h1><p>The request took too long and was ended.</p>"
           "</body></html>\n");
    }
  }
  zend_end_try();
  if (ctx != nullptr && ctx->exchange != nullptr) {
    Contain(ctx, [ctx] { ctx->exchange->WriteStderr("tfpm: request terminated (request_terminate_timeout)"); });
  }
  // As after a fatal error: no destructors, no shutdown functions; the
  // request is over.
  zend_try { php_free_shutdown_functions(); }
  zend_end_try();
  zend_objects_store_mark_destructed(&EG(objects_store));
  EG(exit_status) = 255;
  zend_bailout();
}

void OnInterrupt(zend_execute_data* execute_data) {
  if (g_previous_interrupt) g_previous_interrupt(execute_data);
  ThreadControl* c = t_control;
  if (c == nullptr || c->killing || !c->running.load(std::memory_order_acquire)) return;
  if (c->kill_seq.load(std::memory_order_acquire) != c->seq.load(std::memory_order_relaxed)) return;
  TerminateCurrentRequest();
}

// Reads our own memory without faulting on a bad address (EFAULT instead):
// other threads' frames may change under us.
bool ReadSelf(const void* addr, void* out, size_t n) {
  iovec local{out, n}, remote{const_cast<void*>(addr), n};
  return ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

// A thread blocked in poll/select/read on a socket of the script: shut that
// socket down so the call returns and PHP gets back to the VM. Only
// sockets, never the request's own FastCGI connection, and never a socket
// that only got the number of one the thread waited on (os/thread_unblock.h).
void UnblockSocketWait(const ThreadControl& c) {
  os::ShutdownSocketsWaitedOn(c.tid, c.connection_fd.load(std::memory_order_acquire));
}

ThreadControl* Find(int index) {
  if (g_registry == nullptr) return nullptr;
  auto it = g_registry->find(index);
  return it == g_registry->end() ? nullptr : it->second;
}

struct FrameRead {
  zend_execute_data frame;
  zend_function func;
};

std::string ReadZendString(const zend_string* s) {
  if (s == nullptr) return "";
  zend_string head;
  if (!ReadSelf(s, &head, offsetof(zend_string, val))) return "?";
  size_t len = std::min<size_t>(head.len, 512);
  std::string out(len, '\0');
  if (len && !ReadSelf(reinterpret_cast<const char*>(s) + offsetof(zend_string, val), out.data(), len)) return "?";
  return out;
}

}  // namespace

void InstallTimeoutHooks() {
  g_registry = new std::unordered_map<int, ThreadControl*>;
  g_previous_interrupt = zend_interrupt_function;
  zend_interrupt_function = OnInterrupt;
  struct sigaction sa = {};
  sa.sa_handler = WakeHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  sigaction(SIGRTMIN + kWakeSignalOffset, &sa, nullptr);
}

void RegisterThread(int index) {
  if (index < 0 || g_registry == nullptr) return;
  auto* c = new ThreadControl;
  c->index = index;
  c->thread = pthread_self();
  c->tid = static_cast<pid_t>(::syscall(SYS_gettid));
  c->current_execute_data = &EG(current_execute_data);
  c->vm_interrupt = &EG(vm_interrupt);
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGRTMIN + kWakeSignalOffset);
  pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
  t_control = c;
  std::lock_guard lock(g_registry_mu);
  (*g_registry)[index] = c;
}

void UnregisterThread() {
  ThreadControl* c = t_control;
  if (c == nullptr) return;
  {
    std::lock_guard lock(g_registry_mu);
    auto it = g_registry->find(c->index);
    if (it != g_registry->end() && it->second == c) g_registry->erase(it);
  }
  t_control = nullptr;
  delete c;
}

void BeginTrackedRequest(int connection_fd) {
  ThreadControl* c = t_control;
  if (c == nullptr) return;
  c->connection_fd.store(connection_fd, std::memory_order_release);
  c->killing = false;
  base::t_interrupt_requested = 0;
  c->finished.store(false, std::memory_order_relaxed);
  c->started_us.store(base::MonotonicMicros(), std::memory_order_relaxed);
  c->seq.fetch_add(1, std::memory_order_acq_rel);
  c->running.store(true, std::memory_order_release);
}

void EndTrackedRequest() {
  ThreadControl* c = t_control;
  if (c == nullptr) return;
  std::lock_guard lock(c->end_mu);  // waits out a TerminateRequest in progress
  c->running.store(false, std::memory_order_release);
  c->connection_fd.store(-1, std::memory_order_release);
}

void MarkTrackedRequestFinished() {
  if (t_control) t_control->finished.store(true, std::memory_order_release);
}

std::vector<RunningRequest> RunningRequests() {
  std::vector<RunningRequest> out;
  std::lock_guard lock(g_registry_mu);
  if (g_registry == nullptr) return out;
  for (const auto& [index, c] : *g_registry) {
    if (!c->running.load(std::memory_order_acquire)) continue;
    RunningRequest r;
    r.index = index;
    r.seq = c->seq.load(std::memory_order_acquire);
    r.started_us = c->started_us.load(std::memory_order_relaxed);
    r.finished = c->finished.load(std::memory_order_acquire);
    // Re-check: the request may have ended (and another begun) meanwhile.
    if (!c->running.load(std::memory_order_acquire) || c->seq.load(std::memory_order_acquire) != r.seq) continue;
    out.push_back(r);
  }
  return out;
}

bool TerminateRequest(int index, uint64_t seq) {
  std::lock_guard lock(g_registry_mu);
  ThreadControl* c = Find(index);
  if (c == nullptr) return false;
  // Until the signal is sent, request `seq` cannot end (ThreadControl::end_mu).
  std::lock_guard end(c->end_mu);
  if (!c->running.load(std::memory_order_acquire) || c->seq.load(std::memory_order_acquire) != seq) {
    return false;
  }
  if (g_terminate_seam) g_terminate_seam();
  c->kill_seq.store(seq, std::memory_order_release);
  zend_atomic_bool_store(c->vm_interrupt, true);
  // Sockets first, while the thread still sits in its system call; the
  // signal would send it through PHP's retry loop and make the read of its
  // syscall line miss.
  UnblockSocketWait(*c);
  pthread_kill(c->thread, SIGRTMIN + kWakeSignalOffset);
  return true;
}

void SetTerminateRequestSeamForTest(std::function<void()> seam) { g_terminate_seam = std::move(seam); }

namespace {

// One reading of a thread's PHP stack from outside it.
struct StackRead {
  std::string text;                  // php-fpm's slowlog lines
  std::vector<const void*> identity;  // frame, function and opline of each frame read
  // The walk stopped where a stack can end: at the depth asked for, or
  // past a frame the engine started with nothing below it (ZEND_CALL_TOP:
  // the script's {main}, a call from C such as a shutdown function), a
  // frame without a function, or a Fiber's unnamed bottom frame. Not at a
  // frame pushed by the VM's call opcodes (ZEND_CALL_NESTED).
  bool whole = false;
};

// The owner thread keeps running while it is read, so a reading can be
// torn: a frame read after its call returned and the slot was reused as a
// pending call links to the caller's pending-call chain, not to the caller.
StackRead ReadStack(const ThreadControl& c, int depth) {
  StackRead out;
  zend_execute_data* ex = nullptr;
  if (!ReadSelf(c.current_execute_data, &ex, sizeof(ex))) return out;
  bool bottom = true;  // an empty stack is whole
  int i = 0;
  for (; ex != nullptr && i < depth; ++i) {
    FrameRead fr;
    if (!ReadSelf(ex, &fr.frame, sizeof(fr.frame))) return out;
    out.identity.insert(out.identity.end(), {ex, fr.frame.func, fr.frame.opline});
    if (fr.frame.func == nullptr || !ReadSelf(fr.frame.func, &fr.func, sizeof(fr.func))) {
      bottom = fr.frame.func == nullptr;
      ex = fr.frame.prev_execute_data;
      continue;
    }
    const zend_function& f = fr.func;
    bottom = (ZEND_CALL_INFO(&fr.frame) & ZEND_CALL_TOP) != 0 ||
             (!ZEND_USER_CODE(f.type) && f.common.function_name == nullptr);
    std::string name = ReadZendString(f.common.function_name);
    if (f.common.scope != nullptr) {
      zend_class_entry ce;
      if (ReadSelf(f.common.scope, &ce, sizeof(ce))) name = ReadZendString(ce.name) + "::" + name;
    }
    char addr[32];
    snprintf(addr, sizeof(addr), "[0x%016" PRIxPTR "] ", reinterpret_cast<uintptr_t>(ex));
    if (ZEND_USER_CODE(f.type)) {
      uint32_t line = 0;
      if (fr.frame.opline != nullptr) {
        zend_op op;
        if (ReadSelf(fr.frame.opline, &op, sizeof(op))) line = op.lineno;
      }
      out.text += addr;
      out.text += name.empty() ? std::string("{main}") : name + "()";
      out.text += " " + ReadZendString(f.op_array.filename) + ":" + std::to_string(line) + "\n";
    } else if (!name.empty()) {
      out.text += addr + name + "()\n";
    }
    ex = fr.frame.prev_execute_data;
  }
  out.whole = ex == nullptr ? bottom : i == depth;
  return out;
}

}  // namespace

std::string CaptureBacktrace(int index, uint64_t seq, int depth) {
  std::lock_guard lock(g_registry_mu);  // keeps the ThreadControl alive
  ThreadControl* c = Find(index);
  if (c == nullptr || !c->running.load(std::memory_order_acquire) ||
      c->seq.load(std::memory_order_acquire) != seq) {
    return "";
  }
  // ptrace would stop the thread; this reads it running instead, and takes
  // a reading only when it is whole and the next one finds the same frames.
  // A thread blocked in a system call agrees with itself at once; one in a
  // busy loop does within a few tries (its frames' oplines are stored only
  // at calls).
  constexpr int kTries = 200;
  StackRead last = ReadStack(*c, depth);
  for (int i = 0; i < kTries; ++i) {
    StackRead next = ReadStack(*c, depth);
    if (last.whole && next.identity == last.identity) return last.text;
    last = std::move(next);
    if (i >= 20) sched_yield();
  }
  if (last.text.empty()) return "";
  return last.text + "(the stack kept changing while it was read; this reading may be incomplete)\n";
}

}  // namespace tfpm::sapi
