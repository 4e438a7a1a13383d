#include "tools/fcgi-bench/request.h"

#include "fastcgi/protocol.h"
#include "fastcgi/writer.h"

namespace tfpm::bench {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == '-') c = '_';
  }
  return out;
}

// Sets the first parameter called `name`, or appends it.
void SetParam(ParamList* params, const std::string& name, const std::string& value) {
  for (auto& [n, v] : *params) {
    if (n == name) {
      v = value;
      return;
    }
  }
  params->emplace_back(name, value);
}

bool HasParam(const ParamList& params, std::string_view name) {
  for (const auto& p : params) {
    if (p.first == name) return true;
  }
  return false;
}

}  // namespace

ParamList BuildParams(const RequestSpec& spec) {
  ParamList params;
  if (spec.file_params) {
    params = *spec.file_params;
    if (!spec.body.empty() && !HasParam(params, "CONTENT_LENGTH")) {
      params.emplace_back("CONTENT_LENGTH", std::to_string(spec.body.size()));
    }
  } else {
    const size_t slash = spec.script.rfind('/');
    const std::string base =
        slash == std::string::npos ? spec.script : spec.script.substr(slash + 1);
    std::string root = slash == std::string::npos ? "" : spec.script.substr(0, slash);
    if (root.empty() && slash == 0) root = "/";
    const std::string script_name = spec.script_name.empty() ? "/" + base : spec.script_name;
    std::string content_type;
    std::string content_length = spec.body.empty() ? "" : std::to_string(spec.body.size());
    for (const auto& [name, value] : spec.headers) {
      const std::string key = Upper(name);
      if (key == "CONTENT_TYPE") content_type = value;
      if (key == "CONTENT_LENGTH") content_length = value;
    }
    params = {
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"SERVER_SOFTWARE", "fcgi-bench"},
        {"REQUEST_METHOD", spec.method},
        {"SCRIPT_FILENAME", spec.script},
        {"SCRIPT_NAME", script_name},
        {"DOCUMENT_URI", script_name},
        {"DOCUMENT_ROOT", root},
        {"REQUEST_URI", spec.query.empty() ? script_name : script_name + "?" + spec.query},
        {"QUERY_STRING", spec.query},
        {"CONTENT_TYPE", content_type},
        {"CONTENT_LENGTH", content_length},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REQUEST_SCHEME", "http"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_PORT", "40000"},
        {"SERVER_ADDR", "127.0.0.1"},
        {"SERVER_PORT", "80"},
        {"SERVER_NAME", "localhost"},
    };
    bool has_host = false;
    for (const auto& [name, value] : spec.headers) {
      const std::string key = Upper(name);
      if (key == "CONTENT_TYPE" || key == "CONTENT_LENGTH") continue;
      if (key == "HOST") has_host = true;
      params.emplace_back("HTTP_" + key, value);
    }
    if (!has_host) params.emplace_back("HTTP_HOST", "localhost");
  }
  for (const auto& [name, value] : spec.extra_params) SetParam(&params, name, value);
  return params;
}

std::string EncodeRequest(const ParamList& params, std::string_view body, uint16_t request_id,
                          bool keep_conn) {
  std::string out;
  fastcgi::AppendBeginRequest(request_id, fastcgi::Role::kResponder,
                              keep_conn ? fastcgi::kFlagKeepConn : 0, &out);
  fastcgi::AppendParams(request_id, params, &out);
  fastcgi::AppendStdin(request_id, body, &out);
  return out;
}

Result<std::pair<std::string, std::string>> ParseParamArg(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) {
    return Status::InvalidArgument("parameter \"" + std::string(arg) + "\": expected NAME=VALUE");
  }
  if (eq == 0) {
    return Status::InvalidArgument("parameter \"" + std::string(arg) + "\": empty name");
  }
  return std::pair<std::string, std::string>(std::string(arg.substr(0, eq)),
                                             std::string(arg.substr(eq + 1)));
}

Result<std::pair<std::string, std::string>> ParseHeaderArg(std::string_view arg) {
  const size_t colon = arg.find(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("header \"" + std::string(arg) + "\": expected 'Name: value'");
  }
  const std::string_view name = Trim(arg.substr(0, colon));
  if (name.empty()) {
    return Status::InvalidArgument("header \"" + std::string(arg) + "\": empty name");
  }
  return std::pair<std::string, std::string>(std::string(name),
                                             std::string(Trim(arg.substr(colon + 1))));
}

Result<ParamList> ParseRequestFile(std::string_view text) {
  ParamList params;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto pair = ParseParamArg(line);
    if (!pair.ok()) {
      return Status::InvalidArgument("line " + std::to_string(line_number) + ": " +
                                     pair.status().message());
    }
    params.push_back(std::move(pair.value()));
  }
  return params;
}

}  // namespace tfpm::bench
