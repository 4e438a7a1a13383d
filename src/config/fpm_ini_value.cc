// One INI value after '=' (fpm_ini.h: ParseValue): the rules of PHP's
// scanner in normal mode that php-fpm relies on: quoted and plain runs,
// ${VAR} and ${VAR:-default}, ; comments, the keywords (on/off/yes/no/
// none/null/true/false), E_* constants, and | & ^ ~ ! ( ) expressions.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/fpm_ini.h"
#include "config/fpm_values.h"

namespace tfpm::config::fpm {
namespace {

// Parentheses and ~ ! nest at most this deep in a value's expression.
constexpr int kMaxExpressionDepth = 64;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsSpace(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
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

// Reads a value left to right into plain and quoted segments; Finish()
// joins them (or evaluates the expression) as PHP does.
class ValueScanner {
 public:
  ValueScanner(std::string_view text, const char* (*getenv)(const char*)) : text_(text), getenv_(getenv) {}

  ValueResult Run() {
    size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == ';') break;  // comment to the end of the line
      if (c == '\r' || c == '\n') break;
      bool ok = true;
      if (c == '"') {
        ok = DoubleQuoted(&i);
      } else if (c == '\'') {
        ok = SingleQuoted(&i);
      } else if (c == '$' && i + 1 < text_.size() && text_[i + 1] == '{') {
        ok = Variable(&i);
      } else if (c == '=') {
        r_.error = "syntax error, unexpected '=' (quote a value that contains '=')";
        ok = false;
      } else {
        if (std::string_view("|&^~!()").find(c) != std::string_view::npos) expression_ = true;
        Plain() += c;
        ++i;
      }
      if (!ok) return std::move(r_);
    }
    return expression_ ? Evaluate() : Join();
  }

 private:
  std::string& Plain() {
    if (segments_.empty() || segments_.back().kind != SegmentKind::kPlain) {
      segments_.push_back({SegmentKind::kPlain, ""});
    }
    return segments_.back().text;
  }

  // "...": \" \\ \$ are escapes (other backslashes stay), ${VAR} expands.
  bool DoubleQuoted(size_t* i) {
    only_plain_ = false;
    std::string s;
    size_t j = *i + 1;
    bool closed = false;
    while (j < text_.size()) {
      const char d = text_[j];
      if (d == '"') {
        closed = true;
        break;
      }
      if (d == '\\' && j + 1 < text_.size()) {
        const char n = text_[j + 1];
        if (n == '"' || n == '\\' || n == '$') {
          s += n;
        } else {
          s += d;
          s += n;
        }
        j += 2;
        continue;
      }
      if (d == '$' && j + 1 < text_.size() && text_[j + 1] == '{') {
        const size_t used = ExpandVariable(text_.substr(j), getenv_, &s, &r_.unset_variables);
        if (used == 0) {
          r_.error = "syntax error, unterminated '${' (write \\${ for a literal one)";
          return false;
        }
        j += used;
        continue;
      }
      s += d;
      ++j;
    }
    if (!closed) {
      r_.error = "syntax error, unterminated double-quoted string";
      return false;
    }
    segments_.push_back({SegmentKind::kQuoted, std::move(s)});
    *i = j + 1;
    return true;
  }

  // '...': taken as written.
  bool SingleQuoted(size_t* i) {
    only_plain_ = false;
    const size_t close = text_.find('\'', *i + 1);
    if (close == std::string_view::npos) {
      r_.error = "syntax error, unterminated single-quoted string";
      return false;
    }
    segments_.push_back({SegmentKind::kQuoted, std::string(text_.substr(*i + 1, close - *i - 1))});
    *i = close + 1;
    return true;
  }

  // ${VAR} outside quotes: a quoted segment of its value.
  bool Variable(size_t* i) {
    only_plain_ = false;
    std::string s;
    const size_t used = ExpandVariable(text_.substr(*i), getenv_, &s, &r_.unset_variables);
    if (used == 0) {
      r_.error = "syntax error, unterminated '${'";
      return false;
    }
    segments_.push_back({SegmentKind::kQuoted, std::move(s)});
    *i += used;
    return true;
  }

  // An expression: plain text only; its value in decimal.
  ValueResult Evaluate() {
    if (!only_plain_) {
      r_.error = "syntax error: an expression (| & ^ ~ ! ( )) cannot be mixed with quotes or ${...}";
      return std::move(r_);
    }
    std::string joined;
    for (const Segment& s : segments_) joined += s.text;
    Expression e(Trim(joined));
    std::string error;
    auto v = e.Evaluate(&error);
    if (!v) {
      r_.error = error;
      return std::move(r_);
    }
    r_.ok = true;
    r_.value = std::to_string(*v);
    return std::move(r_);
  }

  // Whitespace: trimmed at both ends, and where a plain run meets a quoted
  // one ("foo" bar is "foobar"); kept inside a plain run. A whole unquoted
  // value may be a keyword or a constant.
  ValueResult Join() {
    for (size_t k = 0; k < segments_.size(); ++k) {
      Segment& s = segments_[k];
      if (s.kind != SegmentKind::kPlain) continue;
      std::string_view t = s.text;
      if (k == 0 || segments_[k - 1].kind == SegmentKind::kQuoted) {
        while (!t.empty() && IsSpace(t.front())) t.remove_prefix(1);
      }
      if (k + 1 == segments_.size() || segments_[k + 1].kind == SegmentKind::kQuoted) {
        while (!t.empty() && IsSpace(t.back())) t.remove_suffix(1);
      }
      s.text = std::string(t);
    }
    std::string out;
    for (const Segment& s : segments_) out += s.text;
    if (only_plain_) out = Keyword(std::move(out));
    r_.ok = true;
    r_.value = std::move(out);
    return std::move(r_);
  }

  // PHP's INI keywords (a whole unquoted value) and constants.
  static std::string Keyword(std::string out) {
    if (EqualsNoCase(out, "true") || EqualsNoCase(out, "on") || EqualsNoCase(out, "yes")) return "1";
    if (EqualsNoCase(out, "false") || EqualsNoCase(out, "off") || EqualsNoCase(out, "no") ||
        EqualsNoCase(out, "none") || EqualsNoCase(out, "null")) {
      return "";
    }
    if (IsConstantName(out)) {
      if (auto k = LookUpConstant(out)) return std::to_string(*k);
    }
    return out;
  }

  std::string_view text_;
  const char* (*getenv_)(const char*);
  ValueResult r_;
  std::vector<Segment> segments_;
  bool expression_ = false;
  bool only_plain_ = true;
};

}  // namespace

ValueResult ParseValue(std::string_view text, const char* (*getenv)(const char*)) {
  if (getenv == nullptr) getenv = [](const char* n) -> const char* { return std::getenv(n); };
  return ValueScanner(text, getenv).Run();
}

}  // namespace tfpm::config::fpm
