#include "worker/scoreboard_request.h"

#include <charconv>
#include <string_view>

namespace tfpm::worker {

void ReadScoreboardRequest(std::span<const fastcgi::Exchange::Param> params,
                           scoreboard::SlotWriter::Request& r) {
  // Found values are never null (params point into the request's buffer),
  // so a null view is "not seen yet": the first of a name wins, as with a
  // scan for each.
  std::string_view method, uri, script, script_name, query, length;
  int found = 0;
  const auto first = [&found](std::string_view& field, std::string_view value) {
    if (field.data() != nullptr) return;
    field = value.data() != nullptr ? value : std::string_view("");
    ++found;
  };
  for (const auto& [name, value] : params) {
    // Web servers send these early (nginx's fastcgi.conf begins with
    // SCRIPT_FILENAME, QUERY_STRING, REQUEST_METHOD, CONTENT_TYPE,
    // CONTENT_LENGTH, SCRIPT_NAME, REQUEST_URI): the rest is not read.
    if (found == 6) break;
    // Lengths first: most params are none of these and cost one compare.
    switch (name.size()) {
      case 11:
        if (name == "REQUEST_URI") {
          first(uri, value);
        } else if (name == "SCRIPT_NAME") {
          first(script_name, value);
        }
        break;
      case 12:
        if (name == "QUERY_STRING") first(query, value);
        break;
      case 14:
        if (name == "REQUEST_METHOD") {
          first(method, value);
        } else if (name == "CONTENT_LENGTH") {
          first(length, value);
        }
        break;
      case 15:
        if (name == "SCRIPT_FILENAME") first(script, value);
        break;
      default:
        break;
    }
  }
  r.method = method;
  r.uri = uri;
  r.script = script;
  r.script_name = script_name;
  r.query = query;
  r.content_length = 0;
  std::from_chars(length.data(), length.data() + length.size(), r.content_length);
}

}  // namespace tfpm::worker
