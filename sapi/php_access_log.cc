// The access log line of one request (php-fpm's fpm_log_write): what the
// line needs is read on the PHP thread at request end, before
// php_request_shutdown() (response headers, status, memory peak, the
// request's CGI environment), rendered by accesslog::Format and handed to
// the pool's sink. Nothing here runs when the pool has no access log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "sapi/php_internal.h"

namespace tfpm::sapi {
namespace {

// php-fpm copies these into fixed scoreboard fields; longer values are cut
// there, so they are cut here too.
constexpr size_t kMaxRequestUri = 127, kMaxQuery = 511, kMaxMethod = 15, kMaxScript = 255,
                 kMaxAuthUser = 31;

std::string_view Capped(const char* s, size_t cap) {
  if (s == nullptr) return {};
  std::string_view v(s);
  return v.substr(0, std::min(v.size(), cap));
}

uint64_t Micros(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000000 + static_cast<uint64_t>(tv.tv_usec);
}

// CPU time of the calling thread so far, split into user and system when
// the format asks for that (getrusage), else in total (cheaper clock).
void ThreadCpu(bool split, uint64_t* user_us, uint64_t* system_us) {
  if (split) {
    rusage ru;
    ::getrusage(RUSAGE_THREAD, &ru);
    *user_us = Micros(ru.ru_utime);
    *system_us = Micros(ru.ru_stime);
    return;
  }
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  *user_us = static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  *system_us = 0;
}

// %R: the FastCGI peer's address (the web server), as php-fpm's
// fcgi_get_last_client_ip(): IPv4-mapped IPv6 shown as IPv4, "" for a Unix
// socket.
std::string_view PeerAddress(int fd, char (&buf)[INET6_ADDRSTRLEN]) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  const char* s = nullptr;
  if (ss.ss_family == AF_INET) {
    s = ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr;
    s = IN6_IS_ADDR_V4MAPPED(&a) ? ::inet_ntop(AF_INET, a.s6_addr + 12, buf, sizeof buf)
                                 : ::inet_ntop(AF_INET6, &a, buf, sizeof buf);
  }
  return s != nullptr ? std::string_view(s) : std::string_view();
}

std::optional<std::string_view> LookupEnv(const void* /*ctx*/, std::string_view name) {
  return RequestEnv().Get(name);
}

}  // namespace

void BeginAccessLog(AccessLogMark* mark) {
  const AccessLog* log = Options().access_log.get();
  if (log == nullptr) return;
  mark->active = true;
  mark->started_us = base::MonotonicMicros();
  mark->accepted = ::time(nullptr);
  if (log->format.uses_cpu()) ThreadCpu(log->format.uses_cpu_split(), &mark->cpu_user_us, &mark->cpu_system_us);
}

void WriteAccessLog(const AccessLogMark& mark, fastcgi::Exchange& exchange) {
  if (!mark.active) return;
  const AccessLog& log = *Options().access_log;
  const sapi_request_info& ri = SG(request_info);
  accesslog::Record r;
  r.method = Capped(ri.request_method, kMaxMethod);
  r.request_uri = Capped(ri.request_uri, kMaxRequestUri);
  r.query_string = Capped(ri.query_string, kMaxQuery);
  r.script_filename = Capped(ri.path_translated, kMaxScript);
  r.auth_user = Capped(ri.auth_user, kMaxAuthUser);
  r.content_length = ri.content_length > 0 ? static_cast<uint64_t>(ri.content_length) : 0;
  r.status = SG(sapi_headers).http_response_code;
  if (accesslog::Suppressed(r, log.suppress_paths)) return;

  r.pool = log.pool;
  r.pid = log.pid;
  r.ppid = log.ppid;
  r.accepted = mark.accepted;
  r.now = ::time(nullptr);
  const int64_t elapsed = base::MonotonicMicros() - mark.started_us;
  r.duration_us = elapsed > 0 ? static_cast<uint64_t>(elapsed) : 0;
  r.memory_peak = zend_memory_peak_usage(true);
  if (log.format.uses_cpu()) {
    uint64_t user = 0, system = 0;
    ThreadCpu(log.format.uses_cpu_split(), &user, &system);
    r.cpu_user_us = user - mark.cpu_user_us;
    r.cpu_system_us = system - mark.cpu_system_us;
  }
  char peer[INET6_ADDRSTRLEN];
  if (log.format.uses_remote_addr()) r.remote_addr = PeerAddress(exchange.socket_fd(), peer);
  // Only the lines the format's %o tokens read (at most one per token):
  // a view of every line would grow with the response's header count.
  thread_local std::vector<std::string_view> headers;
  thread_local std::vector<uint8_t> taken;
  headers.clear();
  if (log.format.uses_headers()) {
    taken.assign(log.format.header_tokens(), 0);
    zend_llist_position pos;
    for (auto* h = static_cast<sapi_header_struct*>(zend_llist_get_first_ex(&SG(sapi_headers).headers, &pos));
         h != nullptr; h = static_cast<sapi_header_struct*>(zend_llist_get_next_ex(&SG(sapi_headers).headers, &pos))) {
      const std::string_view line(h->header, h->header_len);
      if (log.format.TakeHeader(line, taken)) headers.push_back(line);
    }
    r.headers = headers;
  }
  r.env = LookupEnv;

  thread_local std::string line;
  line.clear();
  if (!log.format.Render(r, &line)) {
    log::Notice("the log buffer is full ({}). The access log request has been truncated.", accesslog::kMaxLine);
  }
  if (!line.empty()) log.sink->Write(line);
}

}  // namespace tfpm::sapi
