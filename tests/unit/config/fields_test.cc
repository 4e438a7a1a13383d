// The validation tables' machinery (config/fields.h) on a table of its own,
// without tfpm's sections: walking, unknown / duplicate / required keys,
// the converters' bounds and their messages.
#include "config/fields.h"

#include <doctest/doctest.h>

#include <string>

#include "config/field_checks.h"

namespace tfpm::config::fields {
namespace {

struct Target {
  int64_t count = 0;
  uint64_t size = 0;
  milliseconds wait{0};
  uint32_t mode = 0;
  std::string name;
  std::vector<std::string> paths;
};

constexpr Field<Target> kFields[] = {
    {.key = "count", .kind = Kind::kInt, .set = [](Target& t, Value& v) { t.count = v.integer; },
     .min = 1, .max = 10, .required = true},
    {.key = "size", .kind = Kind::kSize, .set = [](Target& t, Value& v) { t.size = v.size; },
     .min = 4 * kKiB, .max = 2 * kMiB},
    {.key = "wait", .kind = Kind::kDuration, .set = [](Target& t, Value& v) { t.wait = v.duration; },
     .min = 100, .max = kHour},
    {.key = "mode", .kind = Kind::kOctalMode, .set = [](Target& t, Value& v) { t.mode = v.mode; },
     .min = 0, .max = 0770},
    {.key = "name", .kind = Kind::kString, .set = [](Target& t, Value& v) { t.name = v.str; }, .check = NonEmpty},
    {.key = "paths", .kind = Kind::kStringList, .set = [](Target& t, Value& v) { t.paths = v.list; },
     .check = AbsolutePath},
};

Node Scalar(std::string key, std::string text, int line, bool plain = true) {
  Node n;
  n.type = Node::Type::kScalar;
  n.key = std::move(key);
  n.text = std::move(text);
  n.line = n.key_line = line;
  n.plain = plain;
  return n;
}

Node Mapping(std::vector<Node> members) {
  Node n;
  n.type = Node::Type::kMapping;
  n.line = n.key_line = 1;
  n.children = std::move(members);
  return n;
}

std::string Walk(const Node& node, Target* t) {
  Status s = WalkMapping<Target>(kFields, *t, node, "sec", 1, Context{"t.yaml"}, nullptr);
  return s.ok() ? "ok" : s.message();
}

TEST_CASE("fields: a table fills its target, converting each kind") {
  Target t;
  Node paths;
  paths.type = Node::Type::kSequence;
  paths.key = "paths";
  paths.line = paths.key_line = 7;
  paths.children = {Scalar("", "/a", 7, true), Scalar("", "/b", 7, true)};
  CHECK(Walk(Mapping({Scalar("count", "3", 2), Scalar("size", "64K", 3), Scalar("wait", "1m", 4),
                      Scalar("mode", "0660", 5, false), Scalar("name", "x", 6), paths}),
             &t) == "ok");
  CHECK(t.count == 3);
  CHECK(t.size == 64 * 1024);
  CHECK(t.wait == std::chrono::minutes(1));
  CHECK(t.mode == 0660);
  CHECK(t.name == "x");
  CHECK(t.paths == std::vector<std::string>{"/a", "/b"});
}

TEST_CASE("fields: the first error in file order, with its place") {
  Target t;
  CHECK(Walk(Mapping({Scalar("count", "3", 2), Scalar("bogus", "1", 3)}), &t) == "t.yaml:3: sec.bogus: unknown key");
  CHECK(Walk(Mapping({Scalar("count", "3", 2), Scalar("count", "4", 3)}), &t) == "t.yaml:3: sec.count: duplicate key");
  CHECK(Walk(Mapping({Scalar("size", "8K", 2)}), &t) == "t.yaml:1: sec.count: is required");
  CHECK(Walk(Mapping({Scalar("count", "11", 2)}), &t) == "t.yaml:2: sec.count: must be <= 10");
  CHECK(Walk(Mapping({Scalar("count", "3", 4, false)}), &t) == "t.yaml:4: sec.count: expected an integer");
  CHECK(Walk(Mapping({Scalar("count", "1", 2), Scalar("size", "3K", 5)}), &t) == "t.yaml:5: sec.size: must be >= 4K");
  CHECK(Walk(Mapping({Scalar("count", "1", 2), Scalar("wait", "99ms", 6)}), &t) ==
        "t.yaml:6: sec.wait: must be >= 100ms");
  CHECK(Walk(Mapping({Scalar("count", "1", 2), Scalar("wait", "2h", 6)}), &t) == "t.yaml:6: sec.wait: must be <= 1h");
  CHECK(Walk(Mapping({Scalar("count", "1", 2), Scalar("mode", "0777", 6)}), &t) ==
        "t.yaml:6: sec.mode: must be <= 0770");
  CHECK(Walk(Mapping({Scalar("count", "1", 2), Scalar("name", "", 8)}), &t) == "t.yaml:8: sec.name: must not be empty");
  Node scalar_root = Scalar("", "x", 9);
  CHECK(Walk(scalar_root, &t) == "t.yaml:9: sec: expected a mapping");
}

TEST_CASE("fields: text checks") {
  CHECK(RlimitCore("unlimited") == nullptr);
  CHECK(RlimitCore("123456789012345678") == nullptr);
  CHECK(std::string(RlimitCore("1234567890123456789")) == "must be a number of bytes (0 = unchanged) or unlimited");
  CHECK(RlimitCoreValue("unlimited") == kRlimitUnlimited);
  CHECK(RlimitCoreValue("4096") == 4096);
  CHECK(IsPoolName("www-1.a_b"));
  CHECK_FALSE(IsPoolName("bad name"));
  CHECK_FALSE(IsPoolName(""));
  CHECK(std::string(Principal("a:b")) == "must be a user or group name or a numeric id");
  CHECK(Principal("1000") == nullptr);
  CHECK(std::string(EnvName("A=B")) == "must not contain '='");
  CHECK(std::string(Extension(".")) == "must start with '.'");
}

}  // namespace
}  // namespace tfpm::config::fields
