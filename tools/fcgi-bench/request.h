// What fcgi-bench sends: the CGI parameters of the request (built from the
// command line or read from a request file) and their FastCGI encoding.
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace tfpm::bench {

using ParamList = std::vector<std::pair<std::string, std::string>>;

// The request as given on the command line.
struct RequestSpec {
  std::string script;       // --script: SCRIPT_FILENAME (absolute path)
  std::string script_name;  // --script-name; "" = "/" + basename(script)
  std::string query;        // --query: QUERY_STRING, without '?'
  std::string method = "GET";  // --method
  ParamList headers;        // -H 'Name: value', in order
  ParamList extra_params;   // --param NAME=VALUE, in order; applied last
  // --request-file: when set, these are the parameters (the defaults below
  // are not generated); extra_params still apply.
  std::optional<ParamList> file_params;
  std::string body;         // --body-file contents (sent as STDIN)
};

// The PARAMS of `spec`, in this order:
//  * without file_params, nginx-like defaults: GATEWAY_INTERFACE=CGI/1.1,
//    SERVER_SOFTWARE=fcgi-bench, REQUEST_METHOD, SCRIPT_FILENAME,
//    SCRIPT_NAME, DOCUMENT_URI (= SCRIPT_NAME), DOCUMENT_ROOT (directory of
//    the script), REQUEST_URI (SCRIPT_NAME[?query]), QUERY_STRING,
//    CONTENT_TYPE, CONTENT_LENGTH (body size, "" without a body),
//    SERVER_PROTOCOL=HTTP/1.1, REQUEST_SCHEME=http, REMOTE_ADDR=127.0.0.1,
//    REMOTE_PORT=40000, SERVER_ADDR=127.0.0.1, SERVER_PORT=80,
//    SERVER_NAME=localhost, then one HTTP_* per header (Name upper-cased,
//    '-' -> '_'; HTTP_HOST=localhost unless a Host header is given).
//    Content-Type / Content-Length headers set CONTENT_TYPE / CONTENT_LENGTH
//    instead of HTTP_*.
//  * with file_params: exactly those, plus CONTENT_LENGTH (body size) when
//    there is a body and the file has no CONTENT_LENGTH.
// Then each extra_params entry replaces the value of the first parameter of
// that name, or is appended if there is none.
ParamList BuildParams(const RequestSpec& spec);

// The complete request for `request_id`: BEGIN_REQUEST (responder role,
// FCGI_KEEP_CONN when keep_conn), the PARAMS stream with its terminator,
// the STDIN stream (body) with its terminator.
std::string EncodeRequest(const ParamList& params, std::string_view body, uint16_t request_id,
                          bool keep_conn);

// "NAME=VALUE" -> {NAME, VALUE}. The name must be non-empty and contain no
// '='; the value may be empty and may contain '='.
Result<std::pair<std::string, std::string>> ParseParamArg(std::string_view arg);

// "Name: value" -> {Name, value} (both trimmed of spaces and tabs). The name
// must be non-empty.
Result<std::pair<std::string, std::string>> ParseHeaderArg(std::string_view arg);

// A request file: one NAME=VALUE per line ("\n" or "\r\n"); empty lines and
// lines starting with '#' are skipped. Errors name the 1-based line.
Result<ParamList> ParseRequestFile(std::string_view text);

}  // namespace tfpm::bench
