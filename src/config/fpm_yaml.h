// The importer's output model and its YAML writer: an Imported's text is
// built from Sections of Items (one tfpm key each, with the php-fpm place
// it came from), written with the php-fpm file's own comments above each
// key and "# [file:line] ..." notes for directives tfpm does not honour.
// Internal to the fpm_* files. Every line written records its php-fpm
// origin in Imported::yaml_lines (TranslateYamlError reads them).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/fpm_ini.h"
#include "config/fpm_map.h"

namespace tfpm::config::fpm {

// One key of the output, with where it came from.
struct Item {
  std::string key;
  std::string scalar;  // YAML scalar text (already quoted when a string)
  std::vector<std::pair<std::string, std::string>> map;  // key -> value (strings), when is_map
  std::vector<std::string> list;                         // strings, when is_list
  bool is_map = false, is_list = false;
  Location at;
  std::string comment;  // trailing comment
};

struct Section {
  std::vector<std::pair<std::string, Location>> notes;  // comment lines before the items, and their place
  std::vector<Item> items;
};

// `s` as a double-quoted YAML scalar; "${" becomes "$${" (the YAML loader
// expands ${VAR}; php-fpm's file was expanded already).
std::string Quote(std::string_view s);

// "<s>s", a tfpm duration.
std::string Seconds(long s);

// tfpm.X values are typed by the YAML loader: numbers, booleans and
// durations stay plain; anything else is quoted.
std::string PlainIfSafe(const std::string& v);

Item Scalar(std::string key, std::string scalar, const Location& at, std::string comment = "");

// php-fpm's comma-separated lists, items trimmed, empty ones dropped.
Item CommaList(std::string key, const std::string& text, const Location& at);

// Writes the whole YAML document into *out (yaml, yaml_lines).
class YamlWriter {
 public:
  YamlWriter(const Document& doc, Imported* out) : doc_(doc), out_(out) {}
  void Emit(const Section& daemon, const Section& php, const std::vector<std::pair<std::string, Section>>& pools);

 private:
  void Line(const std::string& text, const Location& at);
  void Comments(const Location& at, const std::string& indent);
  void EmitItems(const Section& s, const std::string& indent);
  void EmitItem(const Item& i, const std::string& indent);

  const Document& doc_;
  Imported* out_;
  std::set<size_t> used_comments_;  // doc_.comments already written
};

}  // namespace tfpm::config::fpm
