// The machinery of the table-driven validation (validate.h): a section of
// the YAML is a table of Field rows (key, kind, bounds, check, setter), and
// WalkMapping applies the matching row to each member of a mapping in file
// order. Internal to the validate*.cc files; the tables live in
// validate_daemon.cc (daemon:, php:) and validate_pool_fields.cc (a pool,
// worker:, confine:).
//
// Every error is "<source>:<line>: <key.path>: <what is wrong>"
// (ConfigError), the first one in file order.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/config.h"
#include "config/validate.h"

namespace tfpm::config::fields {

using std::chrono::milliseconds;

inline constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
inline constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute;

enum class Kind {
  kString,      // any scalar, kept as text; null = ""
  kBool,        // unquoted true/false/yes/no/on/off (lower, Title or UPPER case)
  kInt,         // unquoted decimal integer within [min, max]
  kSize,        // "64K" / "8M" / "1G" / bytes, within [min, max] bytes
  kDuration,    // "500ms" / "30s" / "2m" / "1h" / seconds, within [min, max] ms
  kOctalMode,   // "660" / "0660" (always octal), within [min, max]
  kEnum,        // one of `names`
  kStringList,  // sequence of scalars
  kKeyValues,   // mapping of scalar -> scalar, order kept; null = empty
  kMapping,     // nested mapping described by `members`, same target
  kCustom,      // handled by `custom` (sections with their own target)
};

// A node converted according to its row's kind; the row's setter picks the
// member that kind fills.
struct Value {
  std::string str;                // kString; kEnum: the name
  bool boolean = false;           // kBool
  int64_t integer = 0;            // kInt; kEnum: index into names
  uint64_t size = 0;              // kSize
  milliseconds duration{0};       // kDuration
  uint32_t mode = 0;              // kOctalMode
  std::vector<std::string> list;  // kStringList
  KeyValues pairs;                // kKeyValues
};

struct Context {
  std::string_view source;
};

// nullptr if `text` is acceptable, else the complaint.
using Check = const char* (*)(std::string_view text);

// What a row says about its value, without its target type.
struct Shape {
  Kind kind;
  int64_t min, max;
  std::span<const std::string_view> names;
  Check check;
  bool ini_bools;
};

// One row of a section table.
template <typename T>
struct Field {
  std::string_view key;
  Kind kind = Kind::kString;
  void (*set)(T&, Value&) = nullptr;  // all kinds but kMapping / kCustom
  int64_t min = 0;                    // kInt, kSize (bytes), kDuration (ms), kOctalMode
  int64_t max = 0;
  std::span<const std::string_view> names = {};  // kEnum
  // kString: the value (also when empty); kStringList: each item;
  // kKeyValues: each key.
  Check check = nullptr;
  bool required = false;   // missing -> "<path>: is required" at the owner's line
  bool ini_bools = false;  // kKeyValues: YAML booleans become "1" / "0" (PHP INI)
  std::span<const Field> members = {};  // kMapping
  Status (*custom)(T&, const Node&, const std::string& path, const Context&) = nullptr;

  Shape shape() const { return Shape{kind, min, max, names, check, ini_bools}; }
};

// Keys met while walking a mapping, for cross-field checks.
struct Seen {
  std::string_view key;
  int key_line;
  int line;  // the value's line
};
using SeenKeys = std::vector<Seen>;

const Seen* FindSeen(const SeenKeys& seen, std::string_view key);

Status Error(const Context& ctx, int line, std::string_view path, std::string_view what);

// "a.b" from "a" and "b"; "b" when path is empty.
std::string Join(std::string_view path, std::string_view key);

// Converts a scalar-ish node per `shape` into `out`, checking its bounds
// (field_convert.cc). Not for kMapping / kCustom.
Status Convert(const Shape& shape, const Node& node, const std::string& path, const Context& ctx, Value& out);

// YAML 1.1 booleans as yaml-cpp reads them, minus the one-letter y/n.
std::optional<bool> ParseBool(std::string_view s);

template <typename T>
Status WalkMapping(std::span<const Field<T>> fields, T& target, const Node& node, const std::string& path,
                   int owner_line, const Context& ctx, SeenKeys* seen);

template <typename T>
Status Apply(const Field<T>& f, T& target, const Node& node, const std::string& path, const Context& ctx) {
  if (f.kind == Kind::kMapping) {
    return WalkMapping<T>(f.members, target, node, path, node.key_line, ctx, nullptr);
  }
  if (f.kind == Kind::kCustom) return f.custom(target, node, path, ctx);
  Value value;
  if (Status s = Convert(f.shape(), node, path, ctx, value); !s.ok()) return s;
  f.set(target, value);
  return Status::Ok();
}

// Walks the members of `node` (a mapping; null counts as empty) in file
// order, applying the matching row of `fields` to each: unknown and
// duplicate keys are errors. `owner_line` is where "is required" errors
// point (the line of the mapping's own key). `seen` (may be null) collects
// the keys met, for the section's cross-field checks.
template <typename T>
Status WalkMapping(std::span<const Field<T>> fields, T& target, const Node& node, const std::string& path,
                   int owner_line, const Context& ctx, SeenKeys* seen) {
  if (node.type != Node::Type::kMapping && node.type != Node::Type::kNull) {
    return Error(ctx, node.line, path, "expected a mapping");
  }
  SeenKeys local;
  SeenKeys& met = seen != nullptr ? *seen : local;
  for (const Node& member : node.children) {
    std::string member_path = Join(path, member.key);
    const Field<T>* field = nullptr;
    for (const Field<T>& f : fields) {
      if (f.key == member.key) {
        field = &f;
        break;
      }
    }
    if (field == nullptr) return Error(ctx, member.key_line, member_path, "unknown key");
    if (FindSeen(met, field->key) != nullptr) {
      return Error(ctx, member.key_line, member_path, "duplicate key");
    }
    met.push_back({field->key, member.key_line, member.line});
    if (Status s = Apply(*field, target, member, member_path, ctx); !s.ok()) return s;
  }
  for (const Field<T>& f : fields) {
    if (f.required && FindSeen(met, f.key) == nullptr) {
      return Error(ctx, owner_line, Join(path, f.key), "is required");
    }
  }
  return Status::Ok();
}

// The sections (validate_daemon.cc, validate_pool.cc).
Status ParseDaemon(Config& config, const Node& node, const std::string& path, const Context& ctx);
Status ParsePhp(Config& config, const Node& node, const std::string& path, const Context& ctx);
Status ParsePools(Config& config, const Node& node, const std::string& path, const Context& ctx);

// A pool's rows (validate_pool_fields.cc).
std::span<const Field<PoolConfig>> PoolFields();

}  // namespace tfpm::config::fields
