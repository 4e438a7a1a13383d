// Per-request INI from the file system, as php-fpm's sapi_cgi_activate does
// it: php.ini's [HOST=] and [PATH=] sections, and `.user.ini` files
// (user_ini.filename) from DOCUMENT_ROOT down to the script's directory,
// cached for user_ini.cache_ttl seconds.
//
// The cache is per thread (php-fpm's is per child process): each PHP thread
// keeps its own parsed files and never touches another thread's, so no lock
// is needed. Values parsed into it are persistent (malloc'ed) PHP strings,
// like php-fpm's; they are freed when the thread's cache goes away.
#include <fmt/format.h>

#include <cstring>
#include <ctime>
#include <string>
#include <unordered_map>

#include "sapi/php_internal.h"

namespace tfpm::sapi {
namespace {

struct UserIniEntry {
  time_t expires = 0;
  HashTable* config = nullptr;  // persistent; name -> value
};

class UserIniCache {
 public:
  UserIniCache() = default;
  UserIniCache(const UserIniCache&) = delete;
  UserIniCache& operator=(const UserIniCache&) = delete;
  ~UserIniCache() {
    Clear();
    if (scratch_.config != nullptr) Destroy(scratch_);
  }

  // Keyed by directory and document root: which files apply depends on
  // both (php-fpm keys by directory only). Both come from the request's
  // params, so the cache is bounded: a new key beyond
  // user_ini_cache_entries empties it first (amortized O(1); the entries
  // are read again as they are needed), and a document root of PATH_MAX
  // or more, which can hold no file PHP opens, is answered from an entry
  // that is not kept. The caller passes a directory shorter than PATH_MAX.
  // The key is built in a buffer kept across requests: a directory seen
  // before costs no allocation.
  UserIniEntry& Get(const std::string& dir, std::string_view doc_root) {
    if (doc_root.size() >= MAXPATHLEN) {
      if (scratch_.config == nullptr) Init(scratch_);
      scratch_.expires = 0;  // read again on every use
      return scratch_;
    }
    key_.assign(dir);
    key_.push_back('\0');
    key_.append(doc_root);
    auto it = entries_.find(key_);
    if (it == entries_.end()) {
      const size_t limit = Options().user_ini_cache_entries;
      if (entries_.size() >= limit) {
        Clear();
        if (const auto& full = Options().user_ini_cache_full) {
          full(fmt::format(".user.ini cache of a PHP thread full ({} directory and DOCUMENT_ROOT pairs, "
                           "user_ini_cache_entries): emptied",
                           limit));
        }
      }
      it = entries_.try_emplace(key_).first;
      Init(it->second);
    }
    return it->second;
  }

 private:
  static void Init(UserIniEntry& entry) {
    entry.config = static_cast<HashTable*>(pemalloc(sizeof(HashTable), 1));
    zend_hash_init(entry.config, 0, nullptr, config_zval_dtor, 1);
  }
  static void Destroy(UserIniEntry& entry) {
    zend_hash_destroy(entry.config);
    pefree(entry.config, 1);
    entry.config = nullptr;
  }
  void Clear() {
    for (auto& [key, entry] : entries_) Destroy(entry);
    entries_.clear();
  }

  std::unordered_map<std::string, UserIniEntry> entries_;
  UserIniEntry scratch_;
  std::string key_;  // at most 2 x PATH_MAX
};

thread_local UserIniCache t_user_ini_cache;
thread_local std::string t_dir;  // mutable buffer for php_ini_activate_per_dir_config

// php_cgi_ini_activate_user_config: `dir` ends with '/', `doc_root` does not.
void ActivateUserConfig(const std::string& dir, std::string_view doc_root) {
  const time_t now = sapi_get_request_time();
  UserIniEntry& entry = t_user_ini_cache.Get(dir, doc_root);
  if (now > entry.expires) {
    zend_hash_clean(entry.config);
    std::string path = dir;
    if (!IS_ABSOLUTE_PATH(path.c_str(), path.size())) {
      char* real = tsrm_realpath(path.c_str(), nullptr);
      if (real == nullptr) return;
      path = real;
      efree(real);
    }
    const char* name = PG(user_ini_filename);
    // Inside the document root: every directory from the root down to the
    // script's, so deeper files override. Outside: only the script's.
    const bool inside = path.size() > doc_root.size()
                            ? path.compare(0, doc_root.size(), doc_root) == 0
                            : doc_root.compare(0, path.size(), path) == 0;
    if (inside) {
      if (path.size() > doc_root.size()) {
        for (size_t slash = path.find('/', doc_root.size()); slash != std::string::npos;
             slash = path.find('/', slash + 1)) {
          php_parse_user_ini_file(path.substr(0, slash).c_str(), name, entry.config);
        }
      }
    } else {
      php_parse_user_ini_file(path.c_str(), name, entry.config);
    }
    entry.expires = now + PG(user_ini_cache_ttl);
  }
  php_ini_activate_config(entry.config, PHP_INI_PERDIR, PHP_INI_STAGE_HTACCESS);
}

}  // namespace

void ActivatePerDirectoryIni() {
  const char* script = SG(request_info).path_translated;
  if (script == nullptr) return;
  if (php_ini_has_per_host_config()) {
    if (const char* server_name = RequestEnv().GetCString("SERVER_NAME")) {
      std::string host(server_name);
      zend_str_tolower(host.data(), host.size());
      php_ini_activate_per_host_config(host.c_str(), host.size());
    }
  }
  const bool user_ini = PG(user_ini_filename) && *PG(user_ini_filename);
  if (!php_ini_has_per_dir_config() && !user_ini) return;

  // A script path of PATH_MAX or more names no file PHP can open (the
  // request ends in a 404): no directory's INI applies, and walking its
  // directories would cost O(n^2) for a path of up to max_params_size.
  const size_t script_len = strlen(script);
  if (script_len >= MAXPATHLEN) return;
  // The script's directory with a trailing '/'.
  t_dir.assign(script, script_len);
  t_dir.resize(zend_dirname(t_dir.data(), t_dir.size()));
  t_dir.push_back('/');
  php_ini_activate_per_dir_config(t_dir.data(), t_dir.size());

  if (user_ini) {
    if (const char* root = RequestEnv().GetCString("DOCUMENT_ROOT")) {
      std::string_view doc_root(root);
      if (!doc_root.empty() && doc_root.back() == '/') doc_root.remove_suffix(1);
      ActivateUserConfig(t_dir, doc_root);
    }
  }
}

}  // namespace tfpm::sapi
