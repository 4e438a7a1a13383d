#include "config/fpm_yaml.h"

#include <algorithm>
#include <cstdio>

#include "base/utf8.h"

namespace tfpm::config::fpm {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '$':
        // The YAML loader expands ${VAR}; php-fpm's file was expanded already.
        out += (i + 1 < s.size() && s[i + 1] == '{') ? "$$" : "$";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Seconds(long s) { return std::to_string(s) + "s"; }

std::string PlainIfSafe(const std::string& v) {
  if (v.empty()) return "\"\"";
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '/';
    if (!ok) return Quote(v);
  }
  return v;
}

Item Scalar(std::string key, std::string scalar, const Location& at, std::string comment) {
  Item i;
  i.key = std::move(key);
  i.scalar = std::move(scalar);
  i.at = at;
  i.comment = std::move(comment);
  return i;
}

Item CommaList(std::string key, const std::string& text, const Location& at) {
  Item i;
  i.key = std::move(key);
  i.is_list = true;
  i.at = at;
  size_t p = 0;
  while (p <= text.size()) {
    size_t q = text.find(',', p);
    if (q == std::string::npos) q = text.size();
    size_t b = p, e = q;
    while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
    while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
    if (e > b) i.list.push_back(text.substr(b, e - b));
    p = q + 1;
  }
  return i;
}

void YamlWriter::Line(const std::string& text, const Location& at) {
  out_->yaml += text;
  out_->yaml += '\n';
  out_->yaml_lines.push_back(at);
}

// The php-fpm file's own comments above the line at `at`, once, as YAML
// comments (control characters and bytes that are not UTF-8 replaced).
void YamlWriter::Comments(const Location& at, const std::string& indent) {
  if (at.line <= 0) return;
  for (size_t b = 0; b < doc_.comments.size(); ++b) {
    const CommentBlock& block = doc_.comments[b];
    if (block.at.line != at.line || block.at.file != at.file || used_comments_.count(b) != 0) continue;
    used_comments_.insert(b);
    for (const std::string& text : block.lines) {
      std::string clean = base::ValidUtf8(text);
      for (char& c : clean) {
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
      }
      while (!clean.empty() && (clean.back() == ' ' || clean.back() == '\t')) clean.pop_back();
      Line(indent + "#" + clean, {});
    }
  }
}

void YamlWriter::EmitItem(const Item& i, const std::string& indent) {
  Comments(i.at, indent);
  std::string comment;
  if (i.at.line > 0) comment = "  # " + i.at.file + ":" + std::to_string(i.at.line);
  if (!i.comment.empty()) comment += (comment.empty() ? "  # " : ", ") + i.comment;
  if (i.is_map) {
    Line(indent + i.key + ":" + comment, i.at);
    for (const auto& [k, val] : i.map) Line(indent + "  " + Quote(k) + ": " + Quote(val), i.at);
  } else if (i.is_list) {
    std::string items;
    for (const std::string& x : i.list) items += (items.empty() ? "" : ", ") + Quote(x);
    Line(indent + i.key + ": [" + items + "]" + comment, i.at);
  } else {
    Line(indent + i.key + ": " + i.scalar + comment, i.at);
  }
}

void YamlWriter::EmitItems(const Section& s, const std::string& indent) {
  for (const auto& [n, at] : s.notes) {
    // The comments above a directive that became no key go with its note.
    const bool has_key = std::any_of(s.items.begin(), s.items.end(), [&at = at](const Item& i) {
      return i.at.line == at.line && i.at.file == at.file;
    });
    if (!has_key) Comments(at, indent);
    Line(indent + "# " + n, {});
  }
  for (const Item& i : s.items) EmitItem(i, indent);
}

void YamlWriter::Emit(const Section& daemon, const Section& php,
                      const std::vector<std::pair<std::string, Section>>& pools) {
  Line("# tfpm configuration imported from php-fpm's " + doc_.main_file, {});
  Line("# (tfpm --fpm-config runs the same; pm-ctl import-fpm writes this file).", {});
  Line("# Comments name the php-fpm file and line of each key; lines starting", {});
  Line("# with '# [' are directives tfpm does not honour as php-fpm does.", {});
  Comments(doc_.global_at, "");
  Line("daemon:", {});
  EmitItems(daemon, "  ");
  if (!php.items.empty()) {
    Line("php:", {});
    EmitItems(php, "  ");
  }
  Line("pools:", {});
  for (const auto& [name, s] : pools) {
    Location at;
    for (const Pool& p : doc_.pools) {
      if (p.name == name) at = p.at;
    }
    Comments(at, "  ");
    Line("  " + Quote(name) + ":  # " + at.file + ":" + std::to_string(at.line), at);
    EmitItems(s, "    ");
  }
}

}  // namespace tfpm::config::fpm
