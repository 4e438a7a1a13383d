#include "config/load_yaml.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <exception>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/validate.h"

namespace tfpm::config {
namespace {

// yaml-cpp marks are 0-based; nodes without a mark report -1.
int LineOf(const YAML::Mark& mark, int fallback) {
  return mark.line >= 0 ? mark.line + 1 : fallback;
}

Status Error(std::string_view source, int line, std::string_view path, std::string_view what) {
  return ConfigError(source, line, path, what);
}

// Copies `in` into `out` (whose key/key_line the caller has set). An
// implicit null (`key:` with nothing after it) carries the mark of the next
// token, so nulls inherit `fallback_line` (their key's line) instead.
Status Convert(const YAML::Node& in, std::string_view source, const std::string& path,
               int fallback_line, Node& out) {
  out.line = LineOf(in.Mark(), fallback_line);
  switch (in.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.type = Node::Type::kNull;
      out.line = fallback_line;
      return Status::Ok();
    case YAML::NodeType::Scalar: {
      out.type = Node::Type::kScalar;
      out.text = in.Scalar();
      out.plain = in.Tag() == "?";  // "!" = quoted, anything else = explicit tag
      // php-fpm's ${VAR}: from the daemon's environment, in every value.
      // The worker re-parses the same bytes with the environment it
      // inherited, so it sees the same result.
      if (out.text.find('$') == std::string::npos) return Status::Ok();
      std::string missing;
      auto lookup = [](const char* name) -> const char* { return std::getenv(name); };
      std::optional<std::string> expanded = ExpandEnvironment(out.text, lookup, &missing);
      if (!expanded) {
        return Error(source, out.line, path,
                     missing.empty() ? std::string("unterminated ${ (write $${ for a literal ${)")
                                     : "environment variable " + missing + " is not set (${" + missing +
                                           "}; use ${" + missing + ":-default} for a default)");
      }
      out.text = std::move(*expanded);
      return Status::Ok();
    }
    case YAML::NodeType::Sequence: {
      out.type = Node::Type::kSequence;
      size_t index = 0;
      for (const YAML::Node& item : in) {
        Node child;
        std::string child_path = path + "[" + std::to_string(index++) + "]";
        if (Status s = Convert(item, source, child_path, out.line, child); !s.ok()) return s;
        out.children.push_back(std::move(child));
      }
      return Status::Ok();
    }
    case YAML::NodeType::Map: {
      out.type = Node::Type::kMapping;
      for (const auto& member : in) {
        const YAML::Node& key = member.first;
        Node child;
        child.key_line = LineOf(key.Mark(), out.line);
        if (key.IsNull()) {
          child.key = "";
        } else if (key.IsScalar()) {
          child.key = key.Scalar();
        } else {
          return Error(source, child.key_line, path, "mapping keys must be scalars");
        }
        std::string child_path = path.empty() ? child.key : path + "." + child.key;
        if (Status s = Convert(member.second, source, child_path, child.key_line, child); !s.ok()) {
          return s;
        }
        out.children.push_back(std::move(child));
      }
      return Status::Ok();
    }
  }
  return Error(source, out.line, path, "unsupported YAML node");
}

Result<Config> Load(std::string_view text, std::string_view source_name) {
  std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
  if (documents.size() > 1) {
    return Error(source_name, LineOf(documents[1].Mark(), 1), "",
                 "only one YAML document is allowed");
  }
  Node root;  // no document (empty or comments only): kNull on line 1
  if (!documents.empty()) {
    if (Status s = Convert(documents[0], source_name, "", 1, root); !s.ok()) return s;
  }
  return BuildConfig(root, source_name);
}

}  // namespace

Result<Config> LoadConfigString(std::string_view text, std::string_view source_name) {
  try {
    return Load(text, source_name);
  } catch (const YAML::Exception& e) {
    return Error(source_name, LineOf(e.mark, 1), "", e.msg);
  } catch (const std::exception& e) {
    return Error(source_name, 1, "", e.what());
  }
}

Result<Config> LoadConfigFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, errno);
  std::string contents;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      return ErrnoStatus(path, saved);
    }
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return LoadConfigString(contents, path);
}

}  // namespace tfpm::config
