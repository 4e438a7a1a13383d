// The control server (Supervisor members): the pm-ctl socket, accepting
// and admitting clients (MayControl), reading their one request line,
// dispatching the command (docs/control-protocol.md) and sending the reply
// without ever blocking the loop; clients over control_max_clients or slower
// than control_timeout are dropped. Kept out of supervisor.cc, which keeps
// to the event loop.
#include "supervisor/supervisor.h"

#include <sys/epoll.h>
#include <algorithm>

#include "base/log.h"
#include "base/utf8.h"
#include "config/load_yaml.h"
#include "os/directories.h"
#include "os/fd_io.h"
#include "os/socket_io.h"
#include "os/this_process.h"
#include "tfpm_build_config.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

Status Supervisor::OpenControlSocket() {
  const auto& d = config_.daemon;
  const std::string& path = d.control_socket;
  if (path.empty()) return Status::Ok();
  control_uid_ = os::EffectiveUid();
  if (!d.control_socket_owner.empty()) {
    auto uid = os::UserId(d.control_socket_owner);
    if (!uid.ok()) return Status::InvalidArgument("control_socket_owner: " + uid.status().message());
    control_uid_ = *uid;
  }
  if (!d.control_socket_group.empty()) {
    auto gid = os::GroupId(d.control_socket_group);
    if (!gid.ok()) return Status::InvalidArgument("control_socket_group: " + gid.status().message());
    control_gid_ = *gid;
  }
  if (Status st = os::MakeParentDirectories(path, 0755); !st.ok()) return Status::IoError("control_socket: " + st.message());
  os::ListenOptions lo;
  lo.mode = d.control_socket_mode;
  lo.owner = d.control_socket_owner;
  lo.group = d.control_socket_group;
  lo.backlog = 64;
  auto fd = os::Listen(os::ListenAddress{os::ListenAddress::Kind::kUnix, path, "", 0}, lo);
  if (!fd.ok()) return Status::IoError("control_socket: " + fd.status().message());
  control_fd_ = std::move(fd.value());
  return poller_->Add(control_fd_.get(), EPOLLIN, Token(kControlListen, 0));
}

void Supervisor::AcceptControl() {
  for (;;) {
    sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    os::Accepted accepted = os::AcceptConnection(control_fd_.get(), &peer, &peer_len);
    if (!accepted.fd) return;  // none left (EAGAIN), or a failed one: the next event retries
    os::UniqueFd client = std::move(accepted.fd);
    const int fd = client.get();
    auto cred = os::GetPeerCredentials(fd);
    const bool allowed =
        cred.ok() && MayControl(Caller{cred->uid, cred->gid}, os::EffectiveUid(), control_uid_, control_gid_);
    // One send, never waiting: the socket buffer of a new connection holds
    // a short answer; a client that cannot take it is not waited for.
    auto refuse = [fd](std::string_view why) {
      const std::string reply = control::Encode(control::ErrorReply(why));
      (void)os::SendSome(fd, reply, os::SendMode::kDontWait);
    };
    if (!allowed) {
      log::Warning("control socket: refused uid {}", cred.ok() ? static_cast<int>(cred->uid) : -1);
      refuse("permission denied");
      continue;
    }
    const size_t max_clients = static_cast<size_t>(std::max(1, config_.daemon.control_max_clients));
    if (control_clients_.size() >= max_clients) {
      // Make room by dropping the client that has waited longest: idle
      // connections cannot lock pm-ctl out, a new client is always heard.
      auto oldest = LongestWaiting(control_clients_);
      ++control_clients_dropped_;
      uint64_t held = 0;
      if (control_limit_log_.Allow(&held)) {
        log::Warning("control socket: {} clients connected; dropping the one that waited longest ({} more since "
                     "the last such line; control_max_clients)", max_clients, held);
      }
      poller_->Remove(oldest->first);
      control_clients_.erase(oldest);
    }
    if (!poller_->Add(fd, EPOLLIN | EPOLLRDHUP, Token(kControlClient, static_cast<uint64_t>(fd))).ok()) continue;
    ControlClient c;
    c.fd = std::move(client);
    c.caller = Caller{cred->uid, cred->gid};
    c.deadline = clock_->Now() + config_.daemon.control_timeout;
    control_clients_[fd] = std::move(c);
  }
}

void Supervisor::Reply(os::UniqueFd& fd, const control::Json& reply) {
  if (!fd) return;
  ControlClient c;
  c.out = control::Encode(reply);
  c.fd = std::move(fd);
  // Never blocking: what the socket does not take now is sent as the
  // client reads, within control_timeout.
  (void)os::SetNonBlocking(c.fd.get(), true);
  if (SendPending(c)) return;
  const int raw = c.fd.get();
  c.replying = true;
  c.deadline = clock_->Now() + config_.daemon.control_timeout;
  if (!poller_->Add(raw, EPOLLOUT, Token(kControlClient, static_cast<uint64_t>(raw))).ok()) return;
  control_clients_[raw] = std::move(c);
}

// Control clients that did not send their request, or did not read their
// reply, in time are dropped: they cannot hold a descriptor for ever.
void Supervisor::ExpireControlClients() {
  const os::TimePoint now = clock_->Now();
  for (auto it = control_clients_.begin(); it != control_clients_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    ++control_clients_dropped_;
    uint64_t held = 0;
    if (control_limit_log_.Allow(&held)) {
      log::Warning("control socket: dropping a client that did not {} within {} s (control_timeout; {} more since the "
                   "last such line)",
                   it->second.replying ? "read its reply" : "send its request",
                   config_.daemon.control_timeout.count() / 1000.0, held);
    }
    poller_->Remove(it->first);
    it = control_clients_.erase(it);
  }
}

void Supervisor::HandleControl(int fd) {
  auto it = control_clients_.find(fd);
  if (it == control_clients_.end()) return;
  ControlClient& c = it->second;
  if (c.replying) {
    if (!SendPending(c)) return;
    poller_->Remove(fd);
    control_clients_.erase(it);
    return;
  }
  const RequestLine state = ReadRequestLine(c, control::kMaxLine);
  if (state == RequestLine::kIncomplete) return;
  poller_->Remove(fd);
  os::UniqueFd client = std::move(c.fd);
  const Caller caller = c.caller;
  const std::string line = std::move(c.in);
  control_clients_.erase(it);
  std::optional<control::Json> reply;
  if (state == RequestLine::kTooLong) {
    ++control_requests_too_long_;
    uint64_t held = 0;
    if (control_limit_log_.Allow(&held)) {
      log::Warning("control socket: refused a request longer than {} bytes ({} more since the last such line)",
                   control::kMaxLine, held);
    }
    reply = control::ErrorReply("request too long (at most " + std::to_string(control::kMaxLine) + " bytes)");
  } else if (state == RequestLine::kUnfinished) {
    reply = control::ErrorReply("request must be one line of JSON");
  } else {
    auto request = control::ParseRequest(std::string_view(line).substr(0, line.find('\n')));
    if (!request.ok()) {
      reply = control::ErrorReply(request.status().message());
    } else {
      try {
        reply = Dispatch(*request, client, caller);
      } catch (const std::exception& e) {
        Survived("a control request", e);
        reply = control::ErrorReply("internal error: " + base::ValidUtf8(e.what()));
      }
    }
  }
  if (reply) Reply(client, *reply);
}

std::optional<control::Json> Supervisor::Dispatch(const control::Json& request, os::UniqueFd& client,
                                                   const Caller& caller) {
  const std::string cmd = request.at("cmd").get<std::string>();
  if (cmd == "status") {
    auto detail = control::BoolField(request, "detail", false);
    if (!detail.ok()) return control::ErrorReply("status: " + detail.status().message());
    return StatusJson(*detail);
  }
  if (cmd == "version") return control::Json{{"ok", true}, {"version", TFPM_VERSION}, {"php", TFPM_PHP_VERSION}};
  if (cmd == "stop") {
    auto fast = control::BoolField(request, "fast", false);
    if (!fast.ok()) return control::ErrorReply("stop: " + fast.status().message());
    if (*fast) {
      BeginStop(StopMode::kFast, "pm-ctl stop");
    } else {
      RequestGracefulStop("pm-ctl stop");
    }
    return control::Json{{"ok", true}};
  }
  if (cmd == "reopen-logs") {
    log::Notice("reopening log files (pm-ctl reopen-logs)");
    if (Status st = ReopenLogs(); !st.ok()) return control::ErrorReply(st.message());
    return control::Json{{"ok", true}};
  }
  if (cmd == "config-test") {
    auto file = control::StringField(request, "file");
    if (!file.ok()) return control::ErrorReply("config-test " + file.status().message());
    const std::string path = *file;
    // Only a regular file of bounded size is read (a FIFO would block the
    // loop, /dev/zero fill the memory), only one the caller may read
    // itself (errors quote its lines), and checking it changes nothing.
    const uid_t daemon_uid = os::EffectiveUid();
    const SupervisorOptions::FileRule accept = [&](const std::string& file, const struct stat& st) {
      return CallerMayRead(st, caller, daemon_uid, file);
    };
    auto text = os::ReadRegularFile(path, config::kMaxConfigBytes,
                                    [&](const struct stat& st) { return accept(path, st); });
    if (!text.ok()) return control::ErrorReply(text.status().message());
    // A php-fpm.conf is imported from its path, with its includes, each
    // under the same rule.
    if (options_.import_config) text = options_.import_config(path, accept);
    if (!text.ok()) return control::ErrorReply(text.status().message());
    auto cfg = LoadAndCheck(*text, path, /*dry_run=*/true);
    if (!cfg.ok()) return control::ErrorReply(cfg.status().message());
    return control::Json{{"ok", true}, {"file", path}, {"pools", cfg->pools.size()}};
  }
  if (cmd == "reload" || cmd == "restart") {
    auto wait_field = control::BoolField(request, "wait", true);
    if (!wait_field.ok()) return control::ErrorReply(cmd + ": " + wait_field.status().message());
    const bool wait = *wait_field;
    Status st;
    if (cmd == "reload") {
      st = Reload("pm-ctl reload", wait ? &client : nullptr);
    } else {
      auto pool = control::StringField(request, "pool");
      if (!pool.ok()) return control::ErrorReply("restart " + pool.status().message());
      const std::string name = *pool;
      if (FindPool(name) == nullptr) return control::ErrorReply("no pool '" + name + "'");
      if (Stopping()) return control::ErrorReply("stopping; not restarting");
      log::Notice("pm-ctl restart: rolling restart of pool {}", name);
      if (OnTransitionRequest(TransitionRequest::kControl, transition_.has_value(), false) ==
          RequestAction::kRefuse) {
        return control::ErrorReply("a " + transition_->what + " is already in progress");
      }
      config::Config same = config_;
      st = BeginTransition(std::move(same), options_.config_text, name, "restart of pool " + name,
                           wait ? &client : nullptr);
    }
    if (!st.ok()) return control::ErrorReply(st.message());
    if (client) return control::Json{{"ok", true}, {"generation", generation_}, {"waiting", false}};
    return std::nullopt;  // answered when the new generation is ready (or failed)
  }
  return control::ErrorReply("unknown command '" + cmd + "'");
}

}  // namespace tfpm::supervisor
