#include "control/protocol.h"

#include <sys/socket.h>

#include <cerrno>

#include "os/socket.h"

namespace tfpm::control {

Result<Json> ParseRequest(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("request is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("request must be a JSON object");
  auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string()) return Status::InvalidArgument("request needs a string \"cmd\"");
  return j;
}

std::string Encode(const Json& message) {
  return message.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<bool> BoolField(const Json& request, std::string_view key, bool fallback) {
  if (!request.is_object()) return Status::InvalidArgument("request must be a JSON object");
  auto it = request.find(key);
  if (it == request.end()) return fallback;
  if (!it->is_boolean()) return Status::InvalidArgument("\"" + std::string(key) + "\" must be true or false");
  return it->get<bool>();
}

Result<std::string> StringField(const Json& request, std::string_view key) {
  if (!request.is_object()) return Status::InvalidArgument("request must be a JSON object");
  auto it = request.find(key);
  if (it == request.end() || !it->is_string()) {
    return Status::InvalidArgument("needs a string \"" + std::string(key) + "\"");
  }
  return it->get<std::string>();
}

Json ErrorReply(std::string_view message) {
  return Json{{"ok", false}, {"error", std::string(message)}};
}

Result<Json> Call(const std::string& socket_path, const Json& request) {
  auto fd = os::ConnectUnix(socket_path);
  if (!fd.ok()) return fd.status();
  const std::string out = Encode(request);
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd->get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The daemon may have answered and closed before reading it all (a
      // refused caller gets "permission denied" at once): read that reply.
      if (errno == EPIPE || errno == ECONNRESET) break;
      return ErrnoStatus("send(" + socket_path + ")", errno);
    }
    off += static_cast<size_t>(n);
  }
  std::string in;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET && !in.empty()) break;
      return ErrnoStatus("recv(" + socket_path + ")", errno);
    }
    if (n == 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (in.back() == '\n') break;
  }
  Json reply = Json::parse(in, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    return Status::Protocol("malformed reply from " + socket_path);
  }
  return reply;
}

}  // namespace tfpm::control
