#include "supervisor/control_client.h"

#include <algorithm>
#include <span>

#include "os/fd_io.h"

namespace tfpm::supervisor {

bool MayControl(const Caller& caller, uid_t daemon_uid, uid_t control_uid, gid_t control_gid) {
  return caller.uid == 0 || caller.uid == daemon_uid || caller.uid == control_uid ||
         (control_gid != static_cast<gid_t>(-1) && caller.gid == control_gid);
}

RequestLine ClassifyRequestLine(const std::string& in, bool closed, size_t max_line) {
  if (in.find('\n') != std::string::npos) return RequestLine::kComplete;
  if (in.size() >= max_line) return RequestLine::kTooLong;
  return closed ? RequestLine::kUnfinished : RequestLine::kIncomplete;
}

RequestLine ReadRequestLine(ControlClient& c, size_t max_line) {
  // At most max_line bytes are read and kept: a client cannot make us
  // buffer more, whatever it sends.
  char buf[4096];
  bool closed = false;
  while (c.in.size() < max_line) {
    auto n = os::ReadSome(c.fd.get(), std::span<char>(buf, std::min(sizeof(buf), max_line - c.in.size())));
    if (!n.ok()) {
      closed = !os::WouldBlock(n.status());
      break;
    }
    if (*n == 0) {
      closed = true;
      break;
    }
    c.in.append(buf, *n);
    if (c.in.find('\n', c.in.size() - *n) != std::string::npos) break;
  }
  return ClassifyRequestLine(c.in, closed, max_line);
}

bool SendPending(ControlClient& c) {
  while (c.sent < c.out.size()) {
    auto n = os::SendSome(c.fd.get(), std::string_view(c.out).substr(c.sent), os::SendMode::kDontWait);
    if (!n.ok() && os::WouldBlock(n.status())) return false;
    if (!n.ok() || *n == 0) break;  // the client went away
    c.sent += *n;
  }
  return true;
}

std::map<int, ControlClient>::iterator LongestWaiting(std::map<int, ControlClient>& clients) {
  auto oldest = clients.begin();
  for (auto i = clients.begin(); i != clients.end(); ++i) {
    if (i->second.deadline < oldest->second.deadline) oldest = i;
  }
  return oldest;
}

}  // namespace tfpm::supervisor
