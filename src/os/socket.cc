#include "os/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <functional>
#include <charconv>
#include <cstring>

#include "os/acl.h"

namespace tfpm::os {
namespace {

Result<uint16_t> ParsePort(std::string_view s, std::string_view whole) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value == 0 || value > 65535) {
    return Status::InvalidArgument("listen address '" + std::string(whole) + "': bad port");
  }
  return static_cast<uint16_t>(value);
}

bool FillUnix(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// True if something accepts connections on the unix socket at `path`.
bool UnixSocketAlive(const std::string& path) {
  sockaddr_un addr;
  if (!FillUnix(path, &addr)) return false;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

std::string ListenAddress::ToString() const {
  if (kind == Kind::kUnix) return path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  if (host.empty()) return std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress a;
  if (text.empty()) return Status::InvalidArgument("listen address is empty");
  if (text.front() == '/') {
    a.kind = ListenAddress::Kind::kUnix;
    a.path = std::string(text);
    if (a.path.size() >= sizeof(sockaddr_un::sun_path)) {
      return Status::InvalidArgument("listen address '" + a.path + "': unix socket path is too long");
    }
    return a;
  }
  a.kind = ListenAddress::Kind::kTcp;
  std::string_view port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("listen address '" + std::string(text) + "': expected [v6]:port");
    }
    a.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    a.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  } else {
    port = text;
  }
  auto p = ParsePort(port, text);
  if (!p.ok()) return p.status();
  a.port = *p;
  if (!a.host.empty()) {
    in6_addr v6;
    in_addr v4;
    if (::inet_pton(AF_INET, a.host.c_str(), &v4) != 1 &&
        ::inet_pton(AF_INET6, a.host.c_str(), &v6) != 1) {
      if (a.host != "localhost") {
        return Status::InvalidArgument("listen address '" + std::string(text) +
                                       "': host must be an IP address");
      }
      a.host = "127.0.0.1";
    }
  }
  return a;
}

Result<uid_t> UserId(const std::string& name) {
  passwd* pw = ::getpwnam(name.c_str());
  if (!pw) return Status::InvalidArgument(name + ": no such user");
  return pw->pw_uid;
}

Result<gid_t> GroupId(const std::string& name) {
  group* gr = ::getgrnam(name.c_str());
  if (!gr) return Status::InvalidArgument(name + ": no such group");
  return gr->gr_gid;
}

bool SendFd(int socket, int fd, char tag) {
  iovec iov{&tag, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  do n = ::sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT); while (n < 0 && errno == EINTR);
  return n == 1;
}

ssize_t ReceiveWithFds(int socket, std::string* data, std::vector<UniqueFd>* fds) {
  char buf[256];
  iovec iov{buf, sizeof(buf)};
  constexpr size_t kMaxFds = 16;
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT); while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  data->append(buf, static_cast<size_t>(n));
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds->emplace_back(fd);
    }
  }
  return n;
}

Status SetNonBlocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return ErrnoStatus("fcntl(F_GETFL)", errno);
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, flags) < 0) return ErrnoStatus("fcntl(F_SETFL)", errno);
  return Status::Ok();
}

Status SetCloseOnExec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) return ErrnoStatus("fcntl(F_GETFD)", errno);
  if (::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return ErrnoStatus("fcntl(F_SETFD)", errno);
  return Status::Ok();
}

Status StopListening(int fd) {
  if (::shutdown(fd, SHUT_RD) != 0) return ErrnoStatus("shutdown(SHUT_RD) of a listening socket", errno);
  return Status::Ok();
}

Status RemoveSocketFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink(" + path + ")", errno);
  return Status::Ok();
}

namespace {
std::function<void(const std::string&)> g_after_bind_hook;
}  // namespace

void SetAfterBindHookForTesting(std::function<void(const std::string& path)> hook) {
  g_after_bind_hook = std::move(hook);
}

namespace {

// A unix socket's owner and group (listen_owner, listen_group) or its ACL
// entries (listen_acl_users, listen_acl_groups), set after bind.
Status SetUnixSocketAccess(const ListenAddress& address, const ListenOptions& options) {
  const std::string where = address.ToString();
  const bool acl = !options.acl_users.empty() || !options.acl_groups.empty();
  if (!acl && options.owner.empty() && options.group.empty()) return Status::Ok();
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!options.owner.empty()) {
    passwd* pw = ::getpwnam(options.owner.c_str());
    if (!pw) return Status::InvalidArgument("listen_owner " + options.owner + ": no such user");
    uid = pw->pw_uid;
  }
  if (!options.group.empty()) {
    group* gr = ::getgrnam(options.group.c_str());
    if (!gr) return Status::InvalidArgument("listen_group " + options.group + ": no such group");
    gid = gr->gr_gid;
  }
  // Through a descriptor of the file itself (O_PATH|O_NOFOLLOW), after
  // checking that it is still a socket: never through a symlink or any
  // other file put in its place since bind.
  UniqueFd file(::open(address.path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!file) return ErrnoStatus("open(" + where + ")", errno);
  struct stat fst;
  if (::fstat(file.get(), &fst) != 0) return ErrnoStatus("fstat(" + where + ")", errno);
  if (!S_ISSOCK(fst.st_mode)) {
    return Status::IoError("listen " + where + ": the socket file was replaced after bind; not changing its owner");
  }
  if (acl) {
    // As php-fpm: with ACL entries the owner stays (listen_owner and
    // listen_group are refused with them by validation).
    if (Status st = GrantReadWrite(file.get(), options.acl_users, options.acl_groups); !st.ok()) {
      return Status::IoError("listen " + where + ": " + st.message());
    }
  } else if (::fchownat(file.get(), "", uid, gid, AT_EMPTY_PATH) != 0) {
    return ErrnoStatus("chown(" + where + ")", errno);
  }
  return Status::Ok();
}

Result<UniqueFd> ListenUnix(const ListenAddress& address, const ListenOptions& options) {
  const std::string where = address.ToString();
  sockaddr_un addr;
  if (!FillUnix(address.path, &addr)) return Status::InvalidArgument(where + ": path too long");
  struct stat st;
  if (::lstat(address.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Status::InvalidArgument("listen " + where + ": exists and is not a socket");
    if (UnixSocketAlive(address.path)) return Status::IoError("listen " + where + ": in use by another process");
    // A stale socket file: gone, or bind below says why not.
    if (::unlink(address.path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink(" + where + ")", errno);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoStatus("socket(" + where + ")", errno);
  // bind creates the file with the mode 0777 & ~umask: narrowing the umask
  // around bind gives it exactly `mode`, with no window in which it is
  // wider and no chmod by path afterwards (which would follow a symlink
  // swapped in for the socket: the supervisor runs as root).
  mode_t old = ::umask(0777 & ~options.mode);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int saved = errno;
  ::umask(old);
  if (rc != 0) return ErrnoStatus("bind(" + where + ")", saved);
  if (g_after_bind_hook) g_after_bind_hook(address.path);
  if (Status access = SetUnixSocketAccess(address, options); !access.ok()) return access;
  if (::listen(fd.get(), options.backlog) != 0) return ErrnoStatus("listen(" + where + ")", errno);
  return fd;
}

Result<UniqueFd> ListenTcp(const ListenAddress& address, const ListenOptions& options) {
  const std::string where = address.ToString();
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET6;
  int parsed = 1;
  if (address.host.empty() || address.host.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(address.port);
    a6->sin6_addr = in6addr_any;
    if (!address.host.empty()) parsed = ::inet_pton(AF_INET6, address.host.c_str(), &a6->sin6_addr);
    len = sizeof(*a6);
  } else {
    family = AF_INET;
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(address.port);
    parsed = ::inet_pton(AF_INET, address.host.c_str(), &a4->sin_addr);
    len = sizeof(*a4);
  }
  // Never "any address" for a host that did not parse.
  if (parsed != 1) return Status::InvalidArgument("listen " + where + ": not an IP address");
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoStatus("socket(" + where + ")", errno);
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return ErrnoStatus("setsockopt(" + where + ", SO_REUSEADDR)", errno);
  }
  if (family == AF_INET6 && address.host.empty()) {
    int zero = 0;
    if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0) {
      return ErrnoStatus("setsockopt(" + where + ", IPV6_V6ONLY)", errno);
    }
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return ErrnoStatus("bind(" + where + ")", errno);
  }
  if (::listen(fd.get(), options.backlog) != 0) return ErrnoStatus("listen(" + where + ")", errno);
  return fd;
}

}  // namespace

Result<UniqueFd> Listen(const ListenAddress& address, const ListenOptions& options) {
  return address.kind == ListenAddress::Kind::kUnix ? ListenUnix(address, options) : ListenTcp(address, options);
}

Result<ListenAddress> LocalAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return ErrnoStatus("getsockname", errno);
  }
  ListenAddress a;
  char buf[INET6_ADDRSTRLEN] = {};
  switch (ss.ss_family) {
    case AF_UNIX: {
      a.kind = ListenAddress::Kind::kUnix;
      auto* un = reinterpret_cast<sockaddr_un*>(&ss);
      a.path = std::string(un->sun_path, strnlen(un->sun_path, sizeof(un->sun_path)));
      return a;
    }
    case AF_INET: {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      a.kind = ListenAddress::Kind::kTcp;
      ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
      a.host = buf;
      a.port = ntohs(in->sin_port);
      return a;
    }
    case AF_INET6: {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      a.kind = ListenAddress::Kind::kTcp;
      if (!IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
        ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
        a.host = buf;
      }
      a.port = ntohs(in6->sin6_port);
      return a;
    }
    default:
      return Status::InvalidArgument("socket family " + std::to_string(ss.ss_family) + " not supported");
  }
}

Result<UniqueFd> ConnectUnix(const std::string& path) {
  sockaddr_un addr;
  if (!FillUnix(path, &addr)) return Status::InvalidArgument(path + ": path too long");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus("connect(" + path + ")", errno);
  }
  return fd;
}

Result<PeerCredentials> GetPeerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ErrnoStatus("getsockopt(SO_PEERCRED)", errno);
  }
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

}  // namespace tfpm::os
