#include "config/fpm_ini.h"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

#include "os/file_glob.h"
#include "os/shared_memory.h"

namespace tfpm::config::fpm {
namespace {

// php-fpm: "failed to include more than 5 files recursively".
constexpr int kMaxIncludeDepth = 5;
// Comments kept for pm-ctl import-fpm: at most this many lines above one
// line, and this many blocks in all (Debian's files hold ~90 blocks); the
// rest are dropped, never an error.
constexpr size_t kMaxCommentLines = 200;
constexpr size_t kMaxCommentBlocks = 10000;
// Parentheses and ~ ! nest at most this deep in a value's expression.
constexpr int kMaxExpressionDepth = 64;
// php-fpm's compiled-in prefix on Debian (PHP_PREFIX).
constexpr std::string_view kDefaultPrefix = "/usr";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsSpace(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// PHP 8.4's error level constants, the ones php-fpm pool files use in
// php_value[error_reporting] (php-fpm resolves them while reading).
struct Constant {
  std::string_view name;
  int64_t value;
};
constexpr Constant kConstants[] = {
    {"E_ERROR", 1},           {"E_WARNING", 2},          {"E_PARSE", 4},
    {"E_NOTICE", 8},          {"E_CORE_ERROR", 16},      {"E_CORE_WARNING", 32},
    {"E_COMPILE_ERROR", 64},  {"E_COMPILE_WARNING", 128}, {"E_USER_ERROR", 256},
    {"E_USER_WARNING", 512},  {"E_USER_NOTICE", 1024},   {"E_STRICT", 2048},
    {"E_RECOVERABLE_ERROR", 4096}, {"E_DEPRECATED", 8192}, {"E_USER_DEPRECATED", 16384},
    {"E_ALL", 30719},
};

std::optional<int64_t> LookUpConstant(std::string_view name) {
  for (const Constant& c : kConstants) {
    if (c.name == name) return c.value;
  }
  return std::nullopt;
}

bool IsConstantName(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// PHP's INI expression: operands (integers, constants) joined by | & ^
// (one precedence, left to right, as PHP's grammar), prefix ~ and !, and
// parentheses. A non-numeric operand counts as its leading digits (0), as
// PHP's conversion does.
class Expression {
 public:
  explicit Expression(std::string_view text) : s_(text) {}

  std::optional<int64_t> Evaluate(std::string* error) {
    auto v = Binary(error);
    if (!v) return std::nullopt;
    SkipSpace();
    if (pos_ != s_.size()) {
      *error = std::string("syntax error, unexpected '") + s_[pos_] + "'";
      return std::nullopt;
    }
    return v;
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }

  std::optional<int64_t> Binary(std::string* error) {
    auto left = Unary(error);
    if (!left) return std::nullopt;
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size()) return left;
      const char op = s_[pos_];
      if (op != '|' && op != '&' && op != '^') return left;
      ++pos_;
      auto right = Unary(error);
      if (!right) return std::nullopt;
      left = op == '|' ? (*left | *right) : op == '&' ? (*left & *right) : (*left ^ *right);
    }
  }

  std::optional<int64_t> Unary(std::string* error) {
    // Each level is a stack frame; the bytes come from a file.
    if (++depth_ > kMaxExpressionDepth) {
      *error = "expression nested more than " + std::to_string(kMaxExpressionDepth) + " deep";
      return std::nullopt;
    }
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    SkipSpace();
    if (pos_ >= s_.size()) {
      *error = "syntax error, unexpected end of line";
      return std::nullopt;
    }
    const char c = s_[pos_];
    if (c == '~' || c == '!') {
      ++pos_;
      auto v = Unary(error);
      if (!v) return std::nullopt;
      return c == '~' ? ~*v : static_cast<int64_t>(*v == 0);
    }
    if (c == '(') {
      ++pos_;
      auto v = Binary(error);
      if (!v) return std::nullopt;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ')') {
        *error = "syntax error, expecting ')'";
        return std::nullopt;
      }
      ++pos_;
      return v;
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && !IsSpace(s_[pos_]) && std::string_view("|&^~!()").find(s_[pos_]) == std::string_view::npos) {
      ++pos_;
    }
    std::string_view word = s_.substr(start, pos_ - start);
    if (word.empty()) {
      *error = std::string("syntax error, unexpected '") + c + "'";
      return std::nullopt;
    }
    if (auto k = LookUpConstant(word)) return *k;
    return static_cast<int64_t>(std::strtoll(std::string(word).c_str(), nullptr, 10));
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// ${NAME} or ${NAME:-default} at `text` (which starts with "${"). Returns
// the length consumed, 0 if unterminated.
size_t ExpandVariable(std::string_view text, const char* (*getenv)(const char*), std::string* out,
                      std::vector<std::string>* unset) {
  const size_t close = text.find('}');
  if (close == std::string_view::npos) return 0;
  std::string_view inner = text.substr(2, close - 2);
  std::string_view fallback;
  bool has_fallback = false;
  if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
    fallback = inner.substr(sep + 2);
    inner = inner.substr(0, sep);
    has_fallback = true;
  }
  const char* v = getenv(std::string(inner).c_str());
  if (v != nullptr) {
    *out += v;
  } else if (has_fallback) {
    *out += fallback;
  } else {
    unset->emplace_back(inner);
  }
  return close + 1;
}

enum class SegmentKind { kPlain, kQuoted };
struct Segment {
  SegmentKind kind;
  std::string text;
};

struct Parser {
  Files& files;
  const ParseOptions& options;
  const char* (*getenv)(const char*);
  Document doc;
  int current_pool = -1;  // index into doc.pools; -1 = [global]
  int depth = 0;
  std::vector<std::string> pending_comments = {};  // ';' lines since the last blank or non-comment line

  std::string Resolve(const std::string& path) const {
    if (!path.empty() && path.front() == '/') return path;
    std::string prefix = options.prefix.empty() ? std::string(kDefaultPrefix) : options.prefix;
    return prefix + "/" + path;
  }

  Status ParseFile(const std::string& path) {
    auto text = files.Read(path);
    if (!text.ok()) {
      return Status::NotFound("failed to open configuration file '" + path + "': " +
                              text.status().message());
    }
    if (++depth > kMaxIncludeDepth) {
      return Status::InvalidArgument("failed to include more than 5 files recursively");
    }
    doc.files.push_back(path);
    pending_comments.clear();
    std::string_view rest = *text;
    int line = 0;
    while (!rest.empty()) {
      ++line;
      const size_t nl = rest.find('\n');
      std::string_view raw = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      Location at{path, line};
      if (Status st = ParseLine(raw, at); !st.ok()) {
        --depth;
        return st;
      }
    }
    --depth;
    pending_comments.clear();
    return Status::Ok();
  }

  // The comment lines collected so far belong to the line at `at`.
  void TakeComments(const Location& at) {
    if (pending_comments.empty()) return;
    if (doc.comments.size() < kMaxCommentBlocks) doc.comments.push_back(CommentBlock{at, std::move(pending_comments)});
    pending_comments.clear();
  }

  Status Fail(const Location& at, std::string_view what) {
    return Status::InvalidArgument(Where(at) + " " + std::string(what));
  }

  Status ParseLine(std::string_view raw, const Location& at) {
    std::string_view line = Trim(raw);
    if (line.empty()) {
      pending_comments.clear();  // a blank line ends a comment block
      return Status::Ok();
    }
    if (line.front() == ';' || line.front() == '#') {
      if (line.front() == '#') {
        doc.warnings.push_back(Where(at) + " '#' starts a comment here; php-fpm 8 rejects such a line "
                                           "(\"value is NULL for a ZEND_INI_PARSER_ENTRY\"): use ';'");
      }
      if (pending_comments.size() < kMaxCommentLines) pending_comments.emplace_back(line.substr(1));
      return Status::Ok();
    }
    TakeComments(at);
    if (line.front() == '[') return ParseSection(line, at);

    const size_t eq = line.find('=');
    const size_t bracket = line.find('[');
    Entry e;
    e.at = at;
    std::string_view value_text;
    if (bracket != std::string_view::npos && (eq == std::string_view::npos || bracket < eq)) {
      const size_t close = line.find(']', bracket);
      if (close == std::string_view::npos) {
        return Fail(at, "syntax error, unexpected end of line, expecting ']'");
      }
      e.name = std::string(Trim(line.substr(0, bracket)));
      e.array = true;
      e.key = std::string(Trim(line.substr(bracket + 1, close - bracket - 1)));
      std::string_view after = Trim(line.substr(close + 1));
      if (after.empty() || after.front() != '=') {
        return Fail(at, "expected '=' after '" + e.name + "[" + e.key + "]'");
      }
      value_text = after.substr(1);
    } else {
      if (eq == std::string_view::npos) {
        return Fail(at, "expected 'name = value', found '" + std::string(line) +
                            "' (php-fpm: value is NULL for a ZEND_INI_PARSER_ENTRY)");
      }
      e.name = std::string(Trim(line.substr(0, eq)));
      value_text = line.substr(eq + 1);
    }
    if (e.name.empty()) return Fail(at, "syntax error, unexpected '='");
    ValueResult v = ParseValue(value_text, getenv);
    if (!v.ok) return Fail(at, v.error);
    for (const std::string& name : v.unset_variables) {
      doc.warnings.push_back(Where(at) + " environment variable " + name +
                             " is not set; ${" + name + "} is empty (as in php-fpm)");
    }
    e.value = std::move(v.value);

    if (!e.array && e.name == "include") {
      return Include(e.value, at);
    }
    if (current_pool < 0) {
      doc.global.push_back(std::move(e));
    } else {
      doc.pools[static_cast<size_t>(current_pool)].entries.push_back(std::move(e));
    }
    return Status::Ok();
  }

  Status ParseSection(std::string_view line, const Location& at) {
    const size_t close = line.find(']');
    if (close == std::string_view::npos) {
      return Fail(at, "syntax error, unexpected end of line, expecting ']'");
    }
    std::string_view after = Trim(line.substr(close + 1));
    if (!after.empty() && after.front() != ';') {
      return Fail(at, "syntax error, unexpected '" + std::string(after) + "' after the section name");
    }
    ValueResult name = ParseValue(line.substr(1, close - 1), getenv);
    if (!name.ok) return Fail(at, name.error);
    if (name.value.empty()) return Fail(at, "a section needs a name ([global] or a pool name)");
    if (EqualsNoCase(name.value, "global")) {
      if (doc.global_at.line == 0) doc.global_at = at;
      current_pool = -1;
      return Status::Ok();
    }
    for (size_t i = 0; i < doc.pools.size(); ++i) {
      if (EqualsNoCase(doc.pools[i].name, name.value)) {
        current_pool = static_cast<int>(i);
        return Status::Ok();
      }
    }
    doc.pools.push_back(Pool{name.value, at, {}});
    current_pool = static_cast<int>(doc.pools.size() - 1);
    return Status::Ok();
  }

  Status Include(const std::string& pattern, const Location& at) {
    const std::string full = Resolve(pattern);
    auto matches = files.Glob(full);
    if (!matches.ok()) {
      return Fail(at, "Unable to globalize '" + full + "': " + matches.status().message());
    }
    if (matches->empty()) {
      doc.warnings.push_back("Nothing matches the include pattern '" + full + "' from " + at.file +
                             " at line " + std::to_string(at.line) + ".");
      return Status::Ok();
    }
    for (const std::string& file : *matches) {
      if (!file.empty() && file.back() == '/') continue;  // directories
      if (Status st = ParseFile(file); !st.ok()) {
        return Status::InvalidArgument(st.message() + "\nUnable to include " + file + " from " + at.file +
                                       " at line " + std::to_string(at.line));
      }
    }
    return Status::Ok();
  }
};

class SystemFilesImpl final : public Files {
 public:
  Result<std::string> Read(const std::string& path) override { return os::ReadFile(path); }
  Result<std::vector<std::string>> Glob(const std::string& pattern) override { return os::Glob(pattern); }
};

}  // namespace

Result<std::string> CheckedFiles::Read(const std::string& path) {
  return os::ReadRegularFile(path, max_bytes_, [&](const struct stat& st) { return accept_(path, st); });
}

Result<std::vector<std::string>> CheckedFiles::Glob(const std::string& pattern) { return os::Glob(pattern); }

std::string Where(const Location& at) { return "[" + at.file + ":" + std::to_string(at.line) + "]"; }

Files& SystemFiles() {
  static SystemFilesImpl files;
  return files;
}

ValueResult ParseValue(std::string_view text, const char* (*getenv)(const char*)) {
  if (getenv == nullptr) getenv = [](const char* n) -> const char* { return std::getenv(n); };
  ValueResult r;
  std::vector<Segment> segments;
  bool expression = false;
  bool only_plain = true;
  size_t i = 0;
  auto plain = [&]() -> std::string& {
    if (segments.empty() || segments.back().kind != SegmentKind::kPlain) {
      segments.push_back({SegmentKind::kPlain, ""});
    }
    return segments.back().text;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == ';') break;  // comment to the end of the line
    if (c == '\r' || c == '\n') break;
    if (c == '"') {
      only_plain = false;
      std::string s;
      size_t j = i + 1;
      bool closed = false;
      while (j < text.size()) {
        const char d = text[j];
        if (d == '"') {
          closed = true;
          break;
        }
        if (d == '\\' && j + 1 < text.size()) {
          const char n = text[j + 1];
          if (n == '"' || n == '\\' || n == '$') {
            s += n;
          } else {
            s += d;
            s += n;
          }
          j += 2;
          continue;
        }
        if (d == '$' && j + 1 < text.size() && text[j + 1] == '{') {
          const size_t used = ExpandVariable(text.substr(j), getenv, &s, &r.unset_variables);
          if (used == 0) {
            r.error = "syntax error, unterminated '${' (write \\${ for a literal one)";
            return r;
          }
          j += used;
          continue;
        }
        s += d;
        ++j;
      }
      if (!closed) {
        r.error = "syntax error, unterminated double-quoted string";
        return r;
      }
      segments.push_back({SegmentKind::kQuoted, std::move(s)});
      i = j + 1;
      continue;
    }
    if (c == '\'') {
      only_plain = false;
      const size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) {
        r.error = "syntax error, unterminated single-quoted string";
        return r;
      }
      segments.push_back({SegmentKind::kQuoted, std::string(text.substr(i + 1, close - i - 1))});
      i = close + 1;
      continue;
    }
    if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      only_plain = false;
      std::string s;
      const size_t used = ExpandVariable(text.substr(i), getenv, &s, &r.unset_variables);
      if (used == 0) {
        r.error = "syntax error, unterminated '${'";
        return r;
      }
      segments.push_back({SegmentKind::kQuoted, std::move(s)});
      i += used;
      continue;
    }
    if (c == '=') {
      r.error = "syntax error, unexpected '=' (quote a value that contains '=')";
      return r;
    }
    if (std::string_view("|&^~!()").find(c) != std::string_view::npos) expression = true;
    plain() += c;
    ++i;
  }

  if (expression) {
    if (!only_plain) {
      r.error = "syntax error: an expression (| & ^ ~ ! ( )) cannot be mixed with quotes or ${...}";
      return r;
    }
    std::string joined;
    for (const Segment& s : segments) joined += s.text;
    Expression e(Trim(joined));
    std::string error;
    auto v = e.Evaluate(&error);
    if (!v) {
      r.error = error;
      return r;
    }
    r.ok = true;
    r.value = std::to_string(*v);
    return r;
  }

  // Whitespace: trimmed at both ends, and where a plain run meets a quoted
  // one ("foo" bar is "foobar"); kept inside a plain run.
  for (size_t k = 0; k < segments.size(); ++k) {
    Segment& s = segments[k];
    if (s.kind != SegmentKind::kPlain) continue;
    std::string_view t = s.text;
    if (k == 0 || segments[k - 1].kind == SegmentKind::kQuoted) {
      while (!t.empty() && IsSpace(t.front())) t.remove_prefix(1);
    }
    if (k + 1 == segments.size() || segments[k + 1].kind == SegmentKind::kQuoted) {
      while (!t.empty() && IsSpace(t.back())) t.remove_suffix(1);
    }
    s.text = std::string(t);
  }
  std::string out;
  for (const Segment& s : segments) out += s.text;
  if (only_plain) {
    // PHP's INI keywords (a whole unquoted value) and constants.
    if (EqualsNoCase(out, "true") || EqualsNoCase(out, "on") || EqualsNoCase(out, "yes")) {
      out = "1";
    } else if (EqualsNoCase(out, "false") || EqualsNoCase(out, "off") || EqualsNoCase(out, "no") ||
               EqualsNoCase(out, "none") || EqualsNoCase(out, "null")) {
      out.clear();
    } else if (IsConstantName(out)) {
      if (auto k = LookUpConstant(out)) out = std::to_string(*k);
    }
  }
  r.ok = true;
  r.value = std::move(out);
  return r;
}

Result<Document> Parse(const std::string& path, Files& files, const ParseOptions& options) {
  Parser p{files, options, options.getenv, {}, -1, 0};
  if (p.getenv == nullptr) p.getenv = [](const char* n) -> const char* { return std::getenv(n); };
  p.doc.main_file = path;
  if (Status st = p.ParseFile(path); !st.ok()) return st;
  return std::move(p.doc);
}

}  // namespace tfpm::config::fpm
