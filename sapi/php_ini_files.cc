#include "sapi/php_ini_files.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <queue>
#include <string_view>
#include <unordered_set>

#include <Zend/zend_ini.h>
#include <Zend/zend_ini_scanner.h>
#include <main/php_ini.h>

#include "base/utf8.h"
#include "os/bounded_read.h"

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
      if (!st.special && IsDeprecatedIniKey(std::string_view(Z_STRVAL_P(arg1), Z_STRLEN_P(arg1)))) {
        st.out->watched.push_back(IniSetting{std::string(Z_STRVAL_P(arg1), Z_STRLEN_P(arg1)),
                                             std::string(Z_STRVAL_P(arg2), Z_STRLEN_P(arg2)), *st.file, 0});
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

// The line of each record, found in the text: the n-th record is on the
// n-th line, at or after the previous record's, whose key (before '=',
// blanks trimmed, any case) is the record's. PHP's scanner counts lines
// but its count at callback time depends on the token after the value; the
// text is in memory anyway. For the messages only.
std::string_view LineKey(std::string_view v) {
  const size_t eq = v.find('=');
  if (eq == std::string_view::npos) return {};
  v = v.substr(0, eq);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

template <typename Record, typename KeyOf>
void NumberLines(std::string_view text, std::vector<Record>& all, size_t first, KeyOf key_of) {
  int line = 0;
  size_t pos = 0;
  size_t next = first;
  while (next < all.size() && pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line;
    const std::string_view key = LineKey(text.substr(pos, end - pos));
    const std::string_view want = key_of(all[next]);
    if (!key.empty() && key.size() == want.size() && strncasecmp(key.data(), want.data(), key.size()) == 0) {
      all[next++].line = line;
    }
    pos = end + 1;
  }
}

std::string ForLog(std::string_view s) {
  constexpr size_t kMax = 200;
  std::string out = base::EscapeForLog(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out;
}

// Reads `path` into memory within the limits and parses it from there:
// false (and a line in `problems`, unless it is simply absent) when it was
// not read; PHP's own parse errors go to stderr as PHP prints them.
bool ParseFile(const std::string& path, ParseState& st, const IniReadLimits& limits, bool* parsed_ok) {
  os::BoundedRead read = os::ReadBounded(path, limits.max_file_bytes);
  switch (read.result) {
    case os::BoundedRead::Result::kOk: break;
    case os::BoundedRead::Result::kNotRegular:
      return false;  // as PHP: only regular files are read, silently
    case os::BoundedRead::Result::kTooLarge:
      st.out->problems.push_back("php.ini " + ForLog(path) + ": skipped: larger than php.ini_max_file_size (" +
                                 std::to_string(limits.max_file_bytes) + " bytes)");
      return false;
    case os::BoundedRead::Result::kError:
      if (read.error != ENOENT) {
        st.out->problems.push_back("php.ini " + ForLog(path) + ": skipped: " + std::strerror(read.error));
      }
      return false;
  }
  st.active = nullptr;
  st.special = false;
  st.file = &path;
  const size_t first_ext = st.out->extensions.size();
  const size_t first_set = st.out->watched.size();
  // The scanner reads ZEND_MMAP_AHEAD bytes past the end: they must be
  // zero, as zend_stream_fixup() leaves them. The handle owns the buffer.
  zend_file_handle fh;
  zend_stream_init_filename(&fh, path.c_str());
  fh.buf = static_cast<char*>(emalloc(read.data.size() + ZEND_MMAP_AHEAD));
  std::memcpy(fh.buf, read.data.data(), read.data.size());
  std::memset(fh.buf + read.data.size(), 0, ZEND_MMAP_AHEAD);
  fh.len = read.data.size();
  *parsed_ok = zend_parse_ini_file(&fh, /*unbuffered_errors=*/1, ZEND_INI_SCANNER_NORMAL, Callback, nullptr) ==
               SUCCESS;
  zend_destroy_file_handle(&fh);
  NumberLines(read.data, st.out->extensions, first_ext, [](const RequestedExtension& e) -> std::string_view {
    return e.zend ? "zend_extension" : "extension";
  });
  NumberLines(read.data, st.out->watched, first_set, [](const IniSetting& s) -> std::string_view { return s.key; });
  return true;
}

// The names of the *.ini entries of `dir`, the `keep` first in name order
// (php_alphasort in the C locale); `*more` = how many more there were.
// Memory stays O(keep) however many entries the directory has.
std::vector<std::string> IniNames(const std::string& dir, size_t keep, size_t* more, std::error_code& ec) {
  std::priority_queue<std::string> first;  // the largest kept name on top
  *more = 0;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= 4 || name.compare(name.size() - 4, 4, ".ini") != 0) continue;
    if (first.size() < keep) {
      first.push(std::move(name));
    } else {
      ++*more;
      if (keep > 0 && name < first.top()) {
        first.pop();
        first.push(std::move(name));
      }
    }
  }
  std::vector<std::string> names;
  while (!first.empty()) {
    names.push_back(first.top());
    first.pop();
  }
  std::reverse(names.begin(), names.end());
  return names;
}

}  // namespace

std::string ExtensionName(std::string_view value) {
  if (const size_t slash = value.find_last_of('/'); slash != std::string_view::npos) value.remove_prefix(slash + 1);
  if (value.size() > 3 && value.substr(value.size() - 3) == ".so") value.remove_suffix(3);
  std::string name(value);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

bool IsExtensionName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

std::string SkipLine(const RequestedExtension& e, std::string_view why) {
  return "php.ini " + ForLog(e.file) + ":" + std::to_string(e.line) + ": " +
         (e.zend ? "zend_extension=" : "extension=") +
         ForLog(e.value) + ": skipped: " + std::string(why);
}

ResolvedExtensions ResolveExtensions(const std::vector<RequestedExtension>& lines, const std::string& dir,
                                     const std::function<bool(const std::string& path)>& has_file) {
  ResolvedExtensions out;
  std::unordered_set<std::string> seen;
  for (const RequestedExtension& e : lines) {
    const std::string name = ExtensionName(e.value);
    if (!IsExtensionName(name)) {
      out.skipped.push_back(SkipLine(e, "names no extension (a name is 1-64 characters of a-z 0-9 _ . -)"));
      continue;
    }
    if (!seen.insert(name).second) continue;
    const std::string file = dir + "/" + name + ".so";
    if (has_file(file)) {
      RequestedExtension load = e;
      load.value = file;
      out.load.push_back(std::move(load));
    } else {
      out.maybe_builtin.push_back(e);
    }
  }
  return out;
}

IniFilesRead ReadIniFiles(const std::string& ini_file, const std::string& scan_dirs, HashTable* configuration_hash,
                          const IniReadLimits& limits) {
  IniFilesRead out;
  ParseState st;
  st.target = configuration_hash;
  st.out = &out;
  g_state = &st;
  bool parsed_ok = false;
  // As PHP: the file counts as opened even when a line in it is wrong.
  if (!ini_file.empty() && ParseFile(ini_file, st, limits, &parsed_ok)) out.opened = ini_file;
  size_t files = 0;
  size_t start = 0;
  while (start <= scan_dirs.size()) {
    const size_t colon = scan_dirs.find(':', start);
    const std::string dir = scan_dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    start = colon == std::string::npos ? scan_dirs.size() + 1 : colon + 1;
    if (dir.empty()) continue;  // PHP's compiled-in scan directory: ours has none
    size_t more = 0;
    std::error_code ec;
    const std::vector<std::string> names = IniNames(dir, limits.max_files - files, &more, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      out.problems.push_back("scan_dir " + ForLog(dir) + ": " + ec.message() +
                             (names.empty() ? ": skipped" : ": read in part"));
    }
    if (more > 0) {
      out.problems.push_back("scan_dir " + ForLog(dir) + ": " + std::to_string(more) +
                             " *.ini file(s) not read: more than php.ini_max_files (" +
                             std::to_string(limits.max_files) + ") in all scan directories");
    }
    for (const std::string& name : names) {
      const std::string path = dir.back() == '/' ? dir + name : dir + "/" + name;
      ++files;
      if (ParseFile(path, st, limits, &parsed_ok) && parsed_ok) out.scanned.push_back(path);
    }
  }
  g_state = nullptr;
  return out;
}

}  // namespace tfpm::sapi
