#include "sapi/php_ini_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fstream>
#include <string_view>

#include <Zend/zend_ini.h>
#include <Zend/zend_ini_scanner.h>
#include <main/php_ini.h>

namespace tfpm::sapi {
namespace {

// The parser's state while one file is read (php_ini.c keeps the same two
// statics, reset before each file).
struct ParseState {
  HashTable* target = nullptr;
  HashTable* active = nullptr;  // a [PATH=]/[HOST=] section's array, or null
  bool special = false;
  const std::string* file = nullptr;
  IniFilesRead* out = nullptr;
};
ParseState* g_state = nullptr;  // single-threaded: MINIT

// php_ini.c's config_zval_dtor.
void ConfigZvalDtor(zval* zv) {
  if (Z_TYPE_P(zv) == IS_ARRAY) {
    zend_hash_destroy(Z_ARRVAL_P(zv));
    free(Z_ARR_P(zv));
  } else if (Z_TYPE_P(zv) == IS_STRING) {
    zend_string_release_ex(Z_STR_P(zv), 1);
  }
}

bool IsName(zval* key, const char* name) {
  return Z_STRLEN_P(key) == std::strlen(name) && strncasecmp(Z_STRVAL_P(key), name, Z_STRLEN_P(key)) == 0;
}

// php_ini_parser_cb, except for the extension lines.
void Callback(zval* arg1, zval* arg2, zval* arg3, int type, void* /*arg*/) {
  ParseState& st = *g_state;
  HashTable* hash = st.active != nullptr ? st.active : st.target;
  switch (type) {
    case ZEND_INI_PARSER_ENTRY: {
      if (arg2 == nullptr) break;
      const bool php_ext = !st.special && IsName(arg1, "extension");
      const bool zend_ext = !st.special && IsName(arg1, "zend_extension");
      if (php_ext || zend_ext) {
        zend_string* value = zval_try_get_string_func(arg2);
        if (value == nullptr) break;
        st.out->extensions.push_back(RequestedExtension{std::string(ZSTR_VAL(value), ZSTR_LEN(value)), zend_ext,
                                                        *st.file, 0});
        zend_string_release(value);
        break;
      }
      zval* entry = zend_hash_update(hash, Z_STR_P(arg1), arg2);
      Z_STR_P(entry) = zend_string_dup(Z_STR_P(entry), 1);
      break;
    }
    case ZEND_INI_PARSER_POP_ENTRY: {
      if (arg2 == nullptr) break;
      zval* arr = zend_hash_find(hash, Z_STR_P(arg1));
      if (arr == nullptr || Z_TYPE_P(arr) != IS_ARRAY) {
        zval option_arr;
        ZVAL_NEW_PERSISTENT_ARR(&option_arr);
        zend_hash_init(Z_ARRVAL(option_arr), 8, nullptr, ConfigZvalDtor, 1);
        arr = zend_hash_update(hash, Z_STR_P(arg1), &option_arr);
      }
      zval* entry = arg3 != nullptr && Z_STRLEN_P(arg3) > 0 ? zend_symtable_update(Z_ARRVAL_P(arr), Z_STR_P(arg3), arg2)
                                                            : zend_hash_next_index_insert(Z_ARRVAL_P(arr), arg2);
      Z_STR_P(entry) = zend_string_dup(Z_STR_P(entry), 1);
      break;
    }
    case ZEND_INI_PARSER_SECTION: {
      std::string name(Z_STRVAL_P(arg1), Z_STRLEN_P(arg1));
      std::string key;
      const bool path = name.size() >= 4 && strncasecmp(name.c_str(), "PATH", 4) == 0;
      const bool host = !path && name.size() >= 4 && strncasecmp(name.c_str(), "HOST", 4) == 0;
      st.special = path || host;
      if (!st.special) break;  // an ordinary section changes nothing (as PHP)
      key = name.substr(4);
      if (host) std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
      while (!key.empty() && (key.back() == '/' || key.back() == '\\')) key.pop_back();
      size_t skip = 0;
      while (skip < key.size() && (key[skip] == '=' || key[skip] == ' ' || key[skip] == '\t')) ++skip;
      key.erase(0, skip);
      if (key.empty()) break;
      st.out->special_sections.push_back(name);
      zval* entry = zend_hash_str_find(st.target, key.data(), key.size());
      if (entry == nullptr) {
        zval section;
        ZVAL_NEW_PERSISTENT_ARR(&section);
        zend_hash_init(Z_ARRVAL(section), 8, nullptr, ConfigZvalDtor, 1);
        entry = zend_hash_str_update(st.target, key.data(), key.size(), &section);
      }
      if (Z_TYPE_P(entry) == IS_ARRAY) st.active = Z_ARRVAL_P(entry);
      break;
    }
  }
}

// The scanner's line number is not exported: the n-th extension line of a
// file is the n-th line that starts with `extension` or `zend_extension`
// and '=' (for the messages only).
void NumberExtensionLines(const std::string& path, std::vector<RequestedExtension>& all, size_t first) {
  std::ifstream in(path);
  std::string text;
  int line = 0;
  size_t next = first;
  while (next < all.size() && std::getline(in, text)) {
    ++line;
    std::string_view v(text);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    size_t n = 0;
    if (v.size() >= 14 && strncasecmp(v.data(), "zend_extension", 14) == 0) n = 14;
    else if (v.size() >= 9 && strncasecmp(v.data(), "extension", 9) == 0) n = 9;
    if (n == 0) continue;
    v.remove_prefix(n);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    if (!v.empty() && v.front() == '=') all[next++].line = line;
  }
}

bool IsRegularFile(const std::string& path) {
  struct stat sb{};
  return ::stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode);
}

bool ParseFile(const std::string& path, ParseState& st) {
  FILE* fp = std::fopen(path.c_str(), "r");
  if (fp == nullptr) return false;
  st.active = nullptr;
  st.special = false;
  st.file = &path;
  const size_t first = st.out->extensions.size();
  zend_file_handle fh;
  zend_stream_init_fp(&fh, fp, path.c_str());
  const bool ok = zend_parse_ini_file(&fh, /*unbuffered_errors=*/1, ZEND_INI_SCANNER_NORMAL, Callback, nullptr) ==
                  SUCCESS;
  zend_destroy_file_handle(&fh);
  if (st.out->extensions.size() > first) NumberExtensionLines(path, st.out->extensions, first);
  return ok;
}

}  // namespace

std::string ExtensionName(std::string_view value) {
  if (const size_t slash = value.find_last_of('/'); slash != std::string_view::npos) value.remove_prefix(slash + 1);
  if (value.size() > 3 && value.substr(value.size() - 3) == ".so") value.remove_suffix(3);
  std::string name(value);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

IniFilesRead ReadIniFiles(const std::string& ini_file, const std::string& scan_dirs, HashTable* configuration_hash) {
  IniFilesRead out;
  ParseState st;
  st.target = configuration_hash;
  st.out = &out;
  g_state = &st;
  if (!ini_file.empty() && IsRegularFile(ini_file)) {
    // As PHP: the file counts as opened even when a line in it is wrong.
    if (std::FILE* probe = std::fopen(ini_file.c_str(), "r"); probe != nullptr) {
      std::fclose(probe);
      ParseFile(ini_file, st);
      out.opened = ini_file;
    }
  }
  size_t start = 0;
  while (start <= scan_dirs.size()) {
    const size_t colon = scan_dirs.find(':', start);
    const std::string dir = scan_dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    start = colon == std::string::npos ? scan_dirs.size() + 1 : colon + 1;
    if (dir.empty()) continue;  // PHP's compiled-in scan directory: ours has none
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".ini") == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());  // php_alphasort in the C locale
    for (const std::string& name : names) {
      const std::string path = dir.back() == '/' ? dir + name : dir + "/" + name;
      if (IsRegularFile(path) && ParseFile(path, st)) out.scanned.push_back(path);
    }
  }
  g_state = nullptr;
  return out;
}

}  // namespace tfpm::sapi
