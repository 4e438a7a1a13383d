#include "config/load_yaml.h"

#include <cstdlib>
#include <exception>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "config/validate.h"
#include "os/shared_memory.h"

namespace tfpm::config {
namespace {

// yaml-cpp marks are 0-based; nodes without a mark report -1.
int LineOf(const YAML::Mark& mark, int fallback) {
  return mark.line >= 0 ? mark.line + 1 : fallback;
}

Status Error(std::string_view source, int line, std::string_view path, std::string_view what) {
  return ConfigError(source, line, path, what);
}

// The document as yaml-cpp's parser reports it, before any meaning: built
// from parser events, never from yaml-cpp's node graph, whose aliases share
// (and may cycle back to) their anchor's node.
struct Raw {
  enum class Type { kNull, kScalar, kSequence, kMapping } type = Type::kNull;
  int line = 1;
  std::string tag;   // kScalar: "?" plain, "!" quoted, else an explicit tag
  std::string text;  // kScalar
  std::vector<Raw> children;  // kSequence items; kMapping key, value, key, value...
};

// The variables ${NAME} expanded by the Load() running on this thread:
// (name, value), for HideEnvironment().
thread_local std::vector<std::pair<std::string, std::string>>* t_environment_used = nullptr;

// Thrown out of the event handler to stop the parser; becomes a Status.
struct Refused {
  Status status;
};

// Builds the Raw tree. Refuses anchors and aliases (a config has no need of
// them; copying aliases is how "billion laughs" and cyclic anchors exhaust
// memory or the stack) and nesting deeper than kMaxConfigDepth.
class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::string_view source) : source_(source) {}

  std::optional<Raw> root;
  int documents = 0;
  int second_document_line = 0;

  void OnDocumentStart(const YAML::Mark& mark) override {
    // Its "---"; replaced by the line of its first node, if any.
    if (++documents == 2) second_document_line = LineOf(mark, 1);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Raw n;
    n.line = LineOf(mark, 1);
    Add(std::move(n), mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { RefuseAnchor(mark); }
  void OnAnchor(const YAML::Mark& mark, const std::string&) override { RefuseAnchor(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Raw n;
    n.type = Raw::Type::kScalar;
    n.line = LineOf(mark, 1);
    n.tag = tag;
    n.text = value;
    Add(std::move(n), mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(Raw::Type::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(Raw::Type::kMapping, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  // "pools.www.php_value" of the node about to be added. Every open node
  // but the innermost holds the next one open as its last child; the
  // innermost receives the new node.
  std::string Path() const {
    std::string path;
    for (size_t i = 0; i < open_.size(); ++i) {
      const Raw* r = open_[i];
      const bool innermost = i + 1 == open_.size();
      const size_t n = r->children.size();
      if (r->type == Raw::Type::kMapping) {
        // The key of the value being built: the last child when the new
        // node is a value, the one before an open value.
        const Raw* key = nullptr;
        if (innermost && n % 2 == 1) key = &r->children[n - 1];
        if (!innermost && n >= 2) key = &r->children[n - 2];
        if (key == nullptr) continue;
        if (!path.empty()) path += '.';
        path += key->type == Raw::Type::kScalar ? key->text : "?";
      } else if (r->type == Raw::Type::kSequence) {
        path += "[" + std::to_string(innermost ? n : n - 1) + "]";
      }
    }
    return path;
  }
  [[noreturn]] void RefuseAnchor(const YAML::Mark& mark) const {
    throw Refused{Error(source_, LineOf(mark, 1), Path(),
                        "YAML anchors and aliases (&name, *name) are not allowed in a tfpm config; write the "
                        "value out")};
  }
  void Add(Raw n, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) RefuseAnchor(mark);
    if (open_.empty()) {
      if (documents == 2) second_document_line = n.line;
      root = std::move(n);
    } else {
      open_.back()->children.push_back(std::move(n));
    }
  }
  void Open(Raw::Type type, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (open_.size() >= kMaxConfigDepth) {
      throw Refused{Error(source_, LineOf(mark, 1), Path(),
                          "nested deeper than " + std::to_string(kMaxConfigDepth) + " levels")};
    }
    Raw n;
    n.type = type;
    n.line = LineOf(mark, 1);
    Add(std::move(n), mark, anchor);
    open_.push_back(open_.empty() ? &*root : &open_.back()->children.back());
  }
  void Close() {
    if (!open_.empty()) open_.pop_back();
  }

  std::string_view source_;
  // The open sequences and mappings, outermost first. Pointers stay valid:
  // only the innermost one's children grow.
  std::vector<Raw*> open_;
};

// Copies `in` into `out` (whose key/key_line the caller has set). An
// implicit null (`key:` with nothing after it) carries the mark of the next
// token, so nulls inherit `fallback_line` (their key's line) instead.
Status Convert(const Raw& in, std::string_view source, const std::string& path, int fallback_line, Node& out) {
  out.line = in.line;
  switch (in.type) {
    case Raw::Type::kNull:
      out.type = Node::Type::kNull;
      out.line = fallback_line;
      return Status::Ok();
    case Raw::Type::kScalar: {
      out.type = Node::Type::kScalar;
      out.text = in.text;
      out.plain = in.tag == "?";  // "!" = quoted, anything else = explicit tag
      // php-fpm's ${VAR}: from the daemon's environment, in every value.
      // The worker re-parses the same bytes with the environment it
      // inherited, so it sees the same result.
      if (out.text.find('$') == std::string::npos) return Status::Ok();
      std::string missing;
      auto lookup = [](const char* name) -> const char* {
        const char* value = std::getenv(name);
        if (value != nullptr && t_environment_used != nullptr) t_environment_used->emplace_back(name, value);
        return value;
      };
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
    case Raw::Type::kSequence: {
      out.type = Node::Type::kSequence;
      size_t index = 0;
      for (const Raw& item : in.children) {
        Node child;
        std::string child_path = path + "[" + std::to_string(index++) + "]";
        if (Status s = Convert(item, source, child_path, out.line, child); !s.ok()) return s;
        out.children.push_back(std::move(child));
      }
      return Status::Ok();
    }
    case Raw::Type::kMapping: {
      out.type = Node::Type::kMapping;
      for (size_t i = 0; i + 1 < in.children.size(); i += 2) {
        const Raw& key = in.children[i];
        Node child;
        child.key_line = key.type == Raw::Type::kNull ? out.line : key.line;
        if (key.type == Raw::Type::kNull) {
          child.key = "";
        } else if (key.type == Raw::Type::kScalar) {
          child.key = key.text;
        } else {
          return Error(source, child.key_line, path, "mapping keys must be scalars");
        }
        std::string child_path = path.empty() ? child.key : path + "." + child.key;
        if (Status s = Convert(in.children[i + 1], source, child_path, child.key_line, child); !s.ok()) {
          return s;
        }
        out.children.push_back(std::move(child));
      }
      return Status::Ok();
    }
  }
  return Error(source, out.line, path, "unsupported YAML node");
}

// The document's tree; nullopt for no document (empty or comments only).
// Throws YAML::Exception on a syntax error.
Result<std::optional<Raw>> Parse(std::string_view text, std::string_view source_name) {
  if (text.size() > kMaxConfigBytes) {
    return Error(source_name, 1, "", "larger than " + std::to_string(kMaxConfigBytes) + " bytes");
  }
  std::istringstream input{std::string(text)};
  YAML::Parser parser(input);
  TreeBuilder builder(source_name);
  try {
    while (parser.HandleNextDocument(builder)) {
      if (builder.documents > 1) {
        return Error(source_name, builder.second_document_line, "", "only one YAML document is allowed");
      }
    }
  } catch (const Refused& r) {
    return r.status;
  }
  return std::move(builder.root);
}

Result<Config> Load(std::string_view text, std::string_view source_name,
                    std::vector<std::pair<std::string, std::string>>* environment_used) {
  auto parsed = Parse(text, source_name);
  if (!parsed.ok()) return parsed.status();
  Node root;  // no document (empty or comments only): kNull on line 1
  if (const std::optional<Raw>& raw = *parsed) {
    t_environment_used = environment_used;
    Status s = Convert(*raw, source_name, "", 1, root);
    t_environment_used = nullptr;
    if (!s.ok()) return s;
  }
  auto config = BuildConfig(root, source_name);
  if (config.ok()) config->environment_used = *environment_used;
  return config;
}

// Writes a Raw tree back as block-style YAML that parses to the same tree:
// the same scalars (plain ones stay plain, so "true" and "8" keep their
// meaning; every other one is double-quoted), the same order. Each key and
// sequence item is written on its line in the original where the output has
// not passed it yet (block style: always), so line numbers in messages about
// the text still point into the operator's file.
class BlockEmitter {
 public:
  std::string Take() && {
    if (!out_.empty() && out_.back() != '\n') out_ += '\n';
    return std::move(out_);
  }

  void Document(const Raw& root) {
    if (root.type == Raw::Type::kMapping && !root.children.empty()) {
      Members(root, 0, nullptr, "");
    } else {
      StartLine(root.line, 0);
      out_ += Inline(root);
    }
  }

  // The members of mapping `m`; under `filter_key` (a member of the root),
  // only the member of that mapping whose key is `keep`.
  void Members(const Raw& m, int indent, const char* filter_key, std::string_view keep) {
    for (size_t i = 0; i + 1 < m.children.size(); i += 2) {
      const Raw& key = m.children[i];
      const Raw& value = m.children[i + 1];
      StartLine(key.line, indent);
      out_ += key.type == Raw::Type::kScalar ? Scalar(key) : "~";
      out_ += ':';
      const bool filtered = filter_key != nullptr && key.type == Raw::Type::kScalar && key.text == filter_key &&
                            value.type == Raw::Type::kMapping;
      if (filtered) {
        bool any = false;
        for (size_t j = 0; j + 1 < value.children.size(); j += 2) {
          const Raw& pool = value.children[j];
          if (pool.type != Raw::Type::kScalar || pool.text != keep) continue;
          StartLine(pool.line, indent + 2);
          out_ += Scalar(pool) + ':';
          Value(value.children[j + 1], indent + 2);
          any = true;
        }
        if (!any) out_ += " {}";
      } else {
        Value(value, indent);
      }
    }
  }

 private:
  // The value of a member or item whose key (or "-") was just written at
  // `indent`.
  void Value(const Raw& v, int indent) {
    if (v.type == Raw::Type::kMapping && !v.children.empty()) {
      Members(v, indent + 2, nullptr, "");
    } else if (v.type == Raw::Type::kSequence && !v.children.empty()) {
      for (const Raw& item : v.children) {
        StartLine(item.line, indent + 2);
        out_ += '-';
        Value(item, indent + 2);
      }
    } else {
      out_ += ' ';
      out_ += Inline(v);
    }
  }
  static std::string Inline(const Raw& v) {
    switch (v.type) {
      case Raw::Type::kNull: return "~";
      case Raw::Type::kScalar: return Scalar(v);
      case Raw::Type::kSequence: return "[]";
      case Raw::Type::kMapping: return "{}";
    }
    return "~";
  }
  // A plain scalar came from a plain scalar of the file, valid in some
  // context; block context accepts all of them except those that folded a
  // line break into their text.
  static std::string Scalar(const Raw& s) {
    if (s.tag == "?" && !s.text.empty() && s.text.find('\n') == std::string::npos &&
        s.text.front() != ' ' && s.text.back() != ' ') {
      return s.text;
    }
    std::string q = "\"";
    for (unsigned char c : s.text) {
      if (c == '"' || c == '\\') {
        q += '\\';
        q += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        q += "\\x";
        q += kHex[c >> 4];
        q += kHex[c & 15];
      } else {
        q += static_cast<char>(c);  // UTF-8 passes as it is
      }
    }
    return q + '"';
  }
  void StartLine(int line, int indent) {
    if (!out_.empty()) NewLine();
    while (line_ < line) NewLine();
    out_.append(static_cast<size_t>(indent), ' ');
  }
  void NewLine() {
    out_ += '\n';
    ++line_;
  }

  std::string out_;
  int line_ = 1;
};

}  // namespace

Result<Config> LoadConfigString(std::string_view text, std::string_view source_name) {
  std::vector<std::pair<std::string, std::string>> used;
  Status failed;
  try {
    auto config = Load(text, source_name, &used);
    if (config.ok()) return config;
    failed = config.status();
  } catch (const YAML::Exception& e) {
    t_environment_used = nullptr;
    failed = Error(source_name, LineOf(e.mark, 1), "", e.msg);
  } catch (const std::exception& e) {
    t_environment_used = nullptr;
    failed = Error(source_name, 1, "", e.what());
  }
  // Every failure here is a ConfigError (InvalidArgument).
  return Status::InvalidArgument(HideEnvironment(failed.message(), source_name, used));
}

Result<Config> LoadConfigFile(const std::string& path) {
  auto contents = os::ReadRegularFile(path, kMaxConfigBytes);
  if (!contents.ok()) return contents.status();
  return LoadConfigString(*contents, path);
}

Result<std::string> PoolConfigText(std::string_view text, std::string_view source_name, std::string_view pool) {
  try {
    auto parsed = Parse(text, source_name);
    if (!parsed.ok()) return parsed.status();
    const std::optional<Raw>& root = *parsed;
    bool found = false;
    if (root && root->type == Raw::Type::kMapping) {
      for (size_t i = 0; i + 1 < root->children.size(); i += 2) {
        const Raw& key = root->children[i];
        const Raw& pools = root->children[i + 1];
        if (key.type != Raw::Type::kScalar || key.text != "pools" || pools.type != Raw::Type::kMapping) continue;
        for (size_t j = 0; j + 1 < pools.children.size(); j += 2) {
          found = found || (pools.children[j].type == Raw::Type::kScalar && pools.children[j].text == pool);
        }
      }
    }
    if (!found) return Status::NotFound(std::string(source_name) + ": no pool " + std::string(pool));
    BlockEmitter emitter;
    emitter.Members(*root, 0, "pools", pool);
    return std::move(emitter).Take();
  } catch (const YAML::Exception& e) {
    return Error(source_name, LineOf(e.mark, 1), "", e.msg);
  }
}

}  // namespace tfpm::config
