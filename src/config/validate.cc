// BuildConfig: the document's root (daemon:, php:, pools:) walked through
// the section tables (validate_daemon.cc, validate_pool.cc); and the text
// helpers validate.h exports (${VAR} and $pool expansion, hiding expanded
// values in messages, the one error shape).
#include "config/validate.h"

#include <algorithm>
#include <string>
#include <utility>

#include "config/fields.h"

namespace tfpm::config {
namespace {

using fields::Field;

constexpr Field<Config> kRootFields[] = {
    {.key = "daemon", .kind = fields::Kind::kCustom, .custom = fields::ParseDaemon},
    {.key = "php", .kind = fields::Kind::kCustom, .custom = fields::ParsePhp},
    {.key = "pools", .kind = fields::Kind::kCustom, .required = true, .custom = fields::ParsePools},
};

}  // namespace

Result<Config> BuildConfig(const Node& root, std::string_view source_name) {
  fields::Context ctx{source_name};
  Config config;
  config.source = std::string(source_name);
  if (Status s = fields::WalkMapping<Config>(kRootFields, config, root, "", root.line, ctx, nullptr); !s.ok()) {
    return s;
  }
  return config;
}

std::optional<std::string> ExpandEnvironment(std::string_view text,
                                             const char* (*lookup)(const char* name),
                                             std::string* missing) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) break;
    out.append(text.substr(i, dollar - i));
    if (text.substr(dollar, 3) == "$${") {  // escaped: a literal "${"
      out.append("${");
      i = dollar + 3;
      continue;
    }
    if (text.substr(dollar, 2) != "${") {
      out.push_back('$');
      i = dollar + 1;
      continue;
    }
    const size_t close = text.find('}', dollar + 2);
    if (close == std::string_view::npos) {
      missing->clear();
      return std::nullopt;
    }
    std::string_view inner = text.substr(dollar + 2, close - dollar - 2);
    std::optional<std::string_view> fallback;
    if (size_t sep = inner.find(":-"); sep != std::string_view::npos) {
      fallback = inner.substr(sep + 2);
      inner = inner.substr(0, sep);
    }
    const std::string name(inner);
    const char* value = name.empty() ? nullptr : lookup(name.c_str());
    if (value != nullptr) {
      out.append(value);
    } else if (fallback) {
      out.append(*fallback);
    } else {
      *missing = name;
      return std::nullopt;
    }
    i = close + 1;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

std::string HideEnvironment(std::string message, std::string_view source,
                            const std::vector<std::pair<std::string, std::string>>& used) {
  size_t start = 0;
  if (message.starts_with(source) && message.size() > source.size() && message[source.size()] == ':') {
    const size_t after = message.find(": ", source.size() + 1);
    start = after == std::string::npos ? message.size() : after + 2;
  }
  // Longest values first: one that contains another is hidden whole.
  std::vector<const std::pair<std::string, std::string>*> order;
  for (const auto& u : used) {
    if (!u.second.empty()) order.push_back(&u);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return a->second.size() > b->second.size(); });
  for (const auto* u : order) {
    const std::string hidden = "${" + u->first + "}";
    for (size_t at = message.find(u->second, start); at != std::string::npos;
         at = message.find(u->second, at + hidden.size())) {
      message.replace(at, u->second.size(), hidden);
    }
  }
  return message;
}

std::string ExpandPoolName(std::string_view text, std::string_view pool) {
  std::string out;
  size_t i = 0;
  for (size_t at; (at = text.find("$pool", i)) != std::string_view::npos; i = at + 5) {
    out.append(text.substr(i, at - i));
    out.append(pool);
  }
  out.append(text.substr(i));
  return out;
}

Status ConfigError(std::string_view source, int line, std::string_view path, std::string_view what) {
  std::string msg(source);
  msg += ':';
  msg += std::to_string(line);
  msg += ": ";
  if (!path.empty()) {
    msg += path;
    msg += ": ";
  }
  msg += what;
  return Status::InvalidArgument(std::move(msg));
}

}  // namespace tfpm::config
