// Converting one YAML node per its row's kind (fields.h: Convert), with the
// bound checks and their messages; also validate.h's ParseSize and
// ParseDuration and the message helpers every table shares.
#include <charconv>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "config/field_checks.h"
#include "config/fields.h"

namespace tfpm::config {
namespace fields {
namespace {

std::string FormatSize(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "G";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "M";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "K";
  return std::to_string(bytes);
}

std::string FormatDuration(int64_t ms) {
  if (ms != 0 && ms % kHour == 0) return std::to_string(ms / kHour) + "h";
  if (ms != 0 && ms % kMinute == 0) return std::to_string(ms / kMinute) + "m";
  if (ms != 0 && ms % kSecond == 0) return std::to_string(ms / kSecond) + "s";
  if (ms == 0) return "0";
  return std::to_string(ms) + "ms";
}

std::string FormatOctal(int64_t mode) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, mode, 8);
  (void)ec;
  std::string digits(buf, end);
  while (digits.size() < 3) digits.insert(digits.begin(), '0');
  return "0" + digits;
}

std::string FormatBound(Kind kind, int64_t bound) {
  switch (kind) {
    case Kind::kSize: return FormatSize(static_cast<uint64_t>(bound));
    case Kind::kDuration: return FormatDuration(bound);
    case Kind::kOctalMode: return FormatOctal(bound);
    default: return std::to_string(bound);
  }
}

// Decimal with optional sign; out-of-range values saturate so that the
// bounds check reports them.
std::optional<int64_t> ParseInt(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (!IsDigits(s)) return std::nullopt;
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude);
  (void)ptr;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (ec == std::errc::result_out_of_range || magnitude > kMax) {
    return negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  int64_t value = static_cast<int64_t>(magnitude);
  return negative ? -value : value;
}

// "0660" / "660": 3 or 4 octal digits.
std::optional<int64_t> ParseOctalMode(std::string_view s) {
  if (s.size() < 3 || s.size() > 4) return std::nullopt;
  int64_t mode = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + (c - '0');
  }
  return mode;
}

std::string OneOf(std::span<const std::string_view> names) {
  std::string out = "must be one of ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += ", ";
    out += names[i];
  }
  return out;
}

Status CheckBounds(Kind kind, int64_t value, int64_t min, int64_t max, const Node& node, const std::string& path,
                   const Context& ctx) {
  if (value < min) return Error(ctx, node.line, path, "must be >= " + FormatBound(kind, min));
  if (value > max) return Error(ctx, node.line, path, "must be <= " + FormatBound(kind, max));
  return Status::Ok();
}

// ------------------------------------------------------- one per kind

Status ToString(const Shape& f, const Node& node, const std::string& path, const Context& ctx, Value& out) {
  if (node.type == Node::Type::kNull) {
    out.str.clear();
  } else if (node.type == Node::Type::kScalar) {
    out.str = node.text;
  } else {
    return Error(ctx, node.line, path, "expected a string");
  }
  if (f.check != nullptr) {
    if (const char* why = f.check(out.str)) return Error(ctx, node.line, path, why);
  }
  return Status::Ok();
}

Status ToSize(const Shape& f, const Node& node, const std::string& path, const Context& ctx, Value& out) {
  std::optional<uint64_t> size;
  if (node.type == Node::Type::kScalar) size = ParseSize(node.text);
  if (!size) return Error(ctx, node.line, path, "expected a size such as 64K, 8M or 1G");
  out.size = *size;
  const uint64_t min = static_cast<uint64_t>(f.min), max = static_cast<uint64_t>(f.max);
  if (*size < min) return Error(ctx, node.line, path, "must be >= " + FormatSize(min));
  if (*size > max) return Error(ctx, node.line, path, "must be <= " + FormatSize(max));
  return Status::Ok();
}

Status ToEnum(const Shape& f, const Node& node, const std::string& path, const Context& ctx, Value& out) {
  if (node.type != Node::Type::kScalar) return Error(ctx, node.line, path, "expected a string");
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (node.text == f.names[i]) {
      out.str = node.text;
      out.integer = static_cast<int64_t>(i);
      return Status::Ok();
    }
  }
  return Error(ctx, node.line, path, OneOf(f.names));
}

Status ToStringList(const Shape& f, const Node& node, const std::string& path, const Context& ctx, Value& out) {
  if (node.type != Node::Type::kSequence) return Error(ctx, node.line, path, "expected a list of strings");
  for (size_t i = 0; i < node.children.size(); ++i) {
    const Node& item = node.children[i];
    std::string item_path = path + "[" + std::to_string(i) + "]";
    if (item.type != Node::Type::kScalar) return Error(ctx, item.line, item_path, "expected a string");
    if (f.check != nullptr) {
      if (const char* why = f.check(item.text)) return Error(ctx, item.line, item_path, why);
    }
    out.list.push_back(item.text);
  }
  return Status::Ok();
}

Status ToKeyValues(const Shape& f, const Node& node, const std::string& path, const Context& ctx, Value& out) {
  if (node.type == Node::Type::kNull) return Status::Ok();
  if (node.type != Node::Type::kMapping) return Error(ctx, node.line, path, "expected a mapping");
  for (const Node& member : node.children) {
    std::string member_path = Join(path, member.key);
    if (f.check != nullptr) {
      if (const char* why = f.check(member.key)) return Error(ctx, member.key_line, member_path, why);
    }
    for (const auto& [key, value] : out.pairs) {
      if (key == member.key) return Error(ctx, member.key_line, member_path, "duplicate key");
    }
    std::string value;
    if (member.type == Node::Type::kScalar) {
      value = member.text;
      if (f.ini_bools && member.plain) {
        if (std::optional<bool> b = ParseBool(member.text)) value = *b ? "1" : "0";
      }
    } else if (member.type != Node::Type::kNull) {
      return Error(ctx, member.line, member_path, "expected a scalar value");
    }
    out.pairs.emplace_back(member.key, std::move(value));
  }
  return Status::Ok();
}

}  // namespace

const Seen* FindSeen(const SeenKeys& seen, std::string_view key) {
  for (const Seen& s : seen) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

Status Error(const Context& ctx, int line, std::string_view path, std::string_view what) {
  return ConfigError(ctx.source, line, path, what);
}

std::string Join(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::optional<bool> ParseBool(std::string_view s) {
  static constexpr std::string_view kTrue[] = {"true", "True", "TRUE", "yes", "Yes",
                                               "YES",  "on",   "On",   "ON"};
  static constexpr std::string_view kFalse[] = {"false", "False", "FALSE", "no", "No",
                                                "NO",    "off",   "Off",   "OFF"};
  for (std::string_view t : kTrue) {
    if (s == t) return true;
  }
  for (std::string_view f : kFalse) {
    if (s == f) return false;
  }
  return std::nullopt;
}

Status Convert(const Shape& f, const Node& node, const std::string& path, const Context& ctx, Value& out) {
  const bool scalar = node.type == Node::Type::kScalar;
  switch (f.kind) {
    case Kind::kString: return ToString(f, node, path, ctx, out);
    case Kind::kBool: {
      std::optional<bool> b;
      if (scalar && node.plain) b = ParseBool(node.text);
      if (!b) return Error(ctx, node.line, path, "expected a boolean (true or false)");
      out.boolean = *b;
      return Status::Ok();
    }
    case Kind::kInt: {
      std::optional<int64_t> i;
      if (scalar && node.plain) i = ParseInt(node.text);
      if (!i) return Error(ctx, node.line, path, "expected an integer");
      out.integer = *i;
      return CheckBounds(f.kind, *i, f.min, f.max, node, path, ctx);
    }
    case Kind::kSize: return ToSize(f, node, path, ctx, out);
    case Kind::kDuration: {
      std::optional<milliseconds> d;
      if (scalar) d = ParseDuration(node.text);
      if (!d) return Error(ctx, node.line, path, "expected a duration such as 500ms, 30s, 2m or 1h");
      out.duration = *d;
      return CheckBounds(f.kind, d->count(), f.min, f.max, node, path, ctx);
    }
    case Kind::kOctalMode: {
      std::optional<int64_t> mode;
      if (scalar) mode = ParseOctalMode(node.text);
      if (!mode) return Error(ctx, node.line, path, "expected an octal mode such as \"0660\"");
      out.mode = static_cast<uint32_t>(*mode);
      return CheckBounds(f.kind, *mode, f.min, f.max, node, path, ctx);
    }
    case Kind::kEnum: return ToEnum(f, node, path, ctx, out);
    case Kind::kStringList: return ToStringList(f, node, path, ctx, out);
    case Kind::kKeyValues: return ToKeyValues(f, node, path, ctx, out);
    case Kind::kMapping:
    case Kind::kCustom:
      break;
  }
  return Error(ctx, node.line, path, "internal error: no converter");
}

}  // namespace fields

namespace {

// Parses leading digits of `s` with the unit multiplier, refusing overflow
// past `limit`.
std::optional<uint64_t> ScaledNumber(std::string_view digits, uint64_t multiplier, uint64_t limit) {
  if (!fields::IsDigits(digits)) return std::nullopt;
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  (void)ptr;
  if (ec != std::errc() || n > limit / multiplier) return std::nullopt;
  return n * multiplier;
}

}  // namespace

std::optional<uint64_t> ParseSize(std::string_view text) {
  using fields::kGiB, fields::kKiB, fields::kMiB;
  uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': multiplier = kKiB; break;
      case 'm': case 'M': multiplier = kMiB; break;
      case 'g': case 'G': multiplier = kGiB; break;
      default: break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  return ScaledNumber(text, multiplier, std::numeric_limits<uint64_t>::max());
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    uint64_t ms;
  };
  // "ms" before "s" and "m": the first matching suffix wins.
  static constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  uint64_t multiplier = 1000;  // plain integer: seconds
  for (const Unit& unit : kUnits) {
    if (text.ends_with(unit.suffix)) {
      multiplier = unit.ms;
      text.remove_suffix(unit.suffix.size());
      break;
    }
  }
  std::optional<uint64_t> ms =
      ScaledNumber(text, multiplier, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  if (!ms) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(*ms));
}

}  // namespace tfpm::config
