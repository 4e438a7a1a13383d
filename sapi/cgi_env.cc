#include "sapi/cgi_env.h"

#include <strings.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

namespace tfpm::sapi {

// ---- CgiEnv ------------------------------------------------------------

void CgiEnv::Reset(std::span<const fastcgi::Exchange::Param> params) {
  entries_.clear();
  owned_.clear();
  index_.clear();
  index_.reserve(params.size());
  for (const auto& [name, value] : params) {
    auto [it, added] = index_.try_emplace(name, entries_.size());
    if (added) {
      entries_.push_back({name, value, false});
    } else {
      entries_[it->second].value = value;
    }
  }
}

CgiEnv::Entry* CgiEnv::Find(std::string_view name) {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const CgiEnv::Entry* CgiEnv::Find(std::string_view name) const {
  return const_cast<CgiEnv*>(this)->Find(name);
}

std::optional<std::string_view> CgiEnv::Get(std::string_view name) const {
  const Entry* e = Find(name);
  if (e == nullptr) return std::nullopt;
  return e->value;
}

const char* CgiEnv::GetCString(std::string_view name) const {
  const Entry* e = Find(name);
  return e ? e->value.data() : nullptr;
}

std::string_view CgiEnv::Own(std::string_view s) {
  const std::string& stored = owned_.emplace_back(s);
  return stored;
}

std::string_view CgiEnv::Set(std::string_view name, std::string_view value) {
  std::string_view v = Own(value);
  if (Entry* e = Find(name)) {
    e->value = v;
  } else {
    const std::string_view owned = Own(name);
    index_[owned] = entries_.size();
    entries_.push_back({owned, v, false});
  }
  return v;
}

void CgiEnv::Erase(std::string_view name) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  entries_[it->second].erased = true;
  index_.erase(it);
}

// ---- path rules ----------------------------------------------------------

namespace {

using OptStr = std::optional<std::string>;

OptStr Copy(const CgiEnv& env, std::string_view name) {
  auto v = env.Get(name);
  return v ? OptStr(std::string(*v)) : std::nullopt;
}

// FCGI_PUTENV with a possibly-missing value (missing = delete).
void Put(CgiEnv& env, std::string_view name, const OptStr& value) {
  if (value) {
    env.Set(name, *value);
  } else {
    env.Erase(name);
  }
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

class RealProbe final : public PathProbe {
 public:
  bool IsRegularFile(const std::string& path) const override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }
  bool Exists(const std::string& path) const override {
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) != nullptr;
  }
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// php_raw_url_decode: %XX only ('+' stays).
std::string RawUrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Apache mod_proxy_fcgi / mod_proxy_balancer send
// "proxy:fcgi://host:port/docroot/x.php/info?query": keep the path.
bool StripApachePrefix(std::string& script_filename, std::string_view prefix) {
  if (!StartsWithNoCase(script_filename, prefix)) return false;
  bool stripped = false;
  size_t slash = script_filename.find('/', prefix.size());
  if (slash != std::string::npos) {
    script_filename.erase(0, slash);
    stripped = true;
  }
  size_t q = script_filename.find('?');
  if (q != std::string::npos) script_filename.resize(q);
  return stripped;
}

}  // namespace

const PathProbe& RealFileSystem() {
  static const RealProbe probe;
  return probe;
}

bool IsValidScriptPath(std::string_view path) {
  size_t p = path.find("..");
  if (p == std::string_view::npos) return true;
  auto slash_or_end = [&](size_t i) { return i >= path.size() || path[i] == '/'; };
  if ((p == 0 || path[p - 1] == '/') && slash_or_end(p + 2)) return false;
  while ((p = path.find("..", p + 1)) != std::string_view::npos) {
    if (path[p - 1] == '/' && slash_or_end(p + 2)) return false;
  }
  return true;
}

ScriptPaths ComputeScriptPaths(CgiEnv& env, const ScriptPathOptions& options) {
  ScriptPaths out;
  const PathProbe& fs = options.fs != nullptr ? *options.fs : RealFileSystem();
  OptStr script_filename = Copy(env, "SCRIPT_FILENAME");
  OptStr path_translated = Copy(env, "PATH_TRANSLATED");
  // Some servers send only PATH_TRANSLATED.
  if (!script_filename && !path_translated) return out;

  OptStr path_info = Copy(env, "PATH_INFO");
  OptStr script_name = Copy(env, "SCRIPT_NAME");

  // IIS sends PATH_INFO with SCRIPT_NAME in front.
  OptStr server_software = Copy(env, "SERVER_SOFTWARE");
  if (server_software && script_name && path_info &&
      server_software->starts_with("Microsoft-IIS") && path_info->starts_with(*script_name)) {
    env.Set("ORIG_PATH_INFO", *path_info);
    path_info = path_info->substr(script_name->size());
    if (path_info->empty()) path_info.reset();
    Put(env, "PATH_INFO", path_info);
  }

  bool apache_was_here = false;
  if (script_filename) {
    // php-fpm edits the value in place, so $_SERVER shows the stripped one.
    const std::string before = *script_filename;
    apache_was_here |= StripApachePrefix(*script_filename, "proxy:fcgi://");
    apache_was_here |= StripApachePrefix(*script_filename, "proxy:balancer://");
    if (*script_filename != before) env.Set("SCRIPT_FILENAME", *script_filename);
  }
  OptStr script_path = script_filename ? script_filename : path_translated;

  if (!options.fix_pathinfo) {
    // "pre 4.3 behaviour": PHP_SELF from PATH_INFO, else SCRIPT_NAME.
    out.script_name = path_info ? path_info : script_name;
    if (!options.discard_path && path_translated) script_path = path_translated;
    if (script_path && IsValidScriptPath(*script_path)) out.script = script_path;
    return out;
  }

  OptStr document_root = Copy(env, "DOCUMENT_ROOT");
  const OptStr redirect_url = Copy(env, "REDIRECT_URL");
  const OptStr orig_path_translated = path_translated;
  const OptStr orig_path_info = path_info;
  const OptStr orig_script_name = script_name;
  const OptStr orig_script_filename = script_filename;
  bool script_name_from_redirect = false;

  if (!document_root && !options.doc_root.empty()) {
    document_root = options.doc_root;
    env.Set("DOCUMENT_ROOT", *document_root);
  }

  // Apache mod_fastcgi/mod_cgi with Action: SCRIPT_FILENAME names the
  // interpreter, PATH_TRANSLATED the script.
  if (!apache_was_here && path_translated && redirect_url && script_path &&
      *path_translated != *script_path) {
    script_path = path_translated;
    script_name = redirect_url;
    script_name_from_redirect = true;
  }

  const bool walk = script_path && !script_path->empty() &&
                    (script_path->back() == '/' || !fs.Exists(*script_path));
  if (walk) {
    std::string pt = *script_path;
    const size_t len = pt.size();
    bool found = false;
    for (;;) {
      size_t cut = pt.rfind('/');
      if (cut == std::string::npos) cut = pt.rfind('\\');
      if (cut == std::string::npos) break;
      pt.resize(cut);
      if (!fs.IsRegularFile(pt)) continue;
      // The script is `pt`; the `slen` characters after it are path info.
      found = true;
      const size_t ptlen = pt.size();
      const size_t slen = len - ptlen;
      const size_t pilen = path_info ? path_info->size() : 0;
      OptStr new_path_info;
      // php-fpm builds PATH_INFO from the tail of the sent PATH_INFO, or
      // for Apache from the tail of SCRIPT_FILENAME; pi_prefix is what
      // precedes that tail in the sent PATH_INFO.
      std::string pi_prefix;
      bool tflag;
      if (apache_was_here) {
        new_path_info = script_path->substr(ptlen);
        tflag = slen != 0 && (!orig_path_info || *orig_path_info != *new_path_info);
        if (path_info) pi_prefix = *path_info;
      } else {
        // pilen > slen: never index before PATH_INFO's start
        // (CVE-2019-11043: an empty PATH_INFO underflowed here).
        if (path_info && pilen > slen) {
          new_path_info = path_info->substr(pilen - slen);
          pi_prefix = path_info->substr(0, pilen - slen);
        }
        tflag = new_path_info.has_value();
      }

      if (tflag) {
        OptStr decoded;
        if (orig_path_info) {
          env.Set("ORIG_PATH_INFO", *orig_path_info);
          if (!orig_script_name || *orig_script_name != pi_prefix) {
            if (orig_script_name) env.Set("ORIG_SCRIPT_NAME", *orig_script_name);
            env.Set("SCRIPT_NAME", pi_prefix);
            out.script_name = pi_prefix;
          } else {
            out.script_name = orig_script_name;
          }
        } else if (apache_was_here && script_name) {
          // ProxyPass: no PATH_INFO sent; the info is also at the end of
          // SCRIPT_NAME (maybe decoded there): cut it off.
          if (new_path_info->find('%') != std::string::npos) decoded = RawUrlDecode(*new_path_info);
          const size_t snlen = script_name->size();
          std::optional<size_t> start;
          if (snlen > slen && script_name->compare(snlen - slen, std::string::npos, *new_path_info) == 0) {
            start = snlen - slen;
          } else if (decoded && snlen > decoded->size() &&
                     script_name->compare(snlen - decoded->size(), std::string::npos, *decoded) == 0) {
            start = snlen - decoded->size();
          }
          if (start) {
            if (orig_script_name) env.Set("ORIG_SCRIPT_NAME", *orig_script_name);
            script_name->resize(*start);
            env.Set("SCRIPT_NAME", *script_name);
            out.script_name = script_name;
          }
        }
        path_info = decoded ? decoded : new_path_info;
        env.Set("PATH_INFO", *path_info);
      }

      if (!orig_script_filename || *orig_script_filename != pt) {
        if (orig_script_filename) env.Set("ORIG_SCRIPT_FILENAME", *orig_script_filename);
        env.Set("SCRIPT_FILENAME", pt);
      }
      script_path = pt;

      // PATH_TRANSLATED = DOCUMENT_ROOT + PATH_INFO, or without a document
      // root: SCRIPT_FILENAME - SCRIPT_NAME + PATH_INFO.
      OptStr translated;
      if (document_root) {
        std::string_view root = *document_root;
        if (!root.empty() && root.back() == '/') root.remove_suffix(1);
        translated = std::string(root) + (path_info ? *path_info : "");
      } else if (script_name && pt.find(*script_name) != std::string::npos) {
        translated = pt.substr(0, pt.size() - script_name->size()) + (path_info ? *path_info : "");
      }
      if (translated) {
        if (orig_path_translated) env.Set("ORIG_PATH_TRANSLATED", *orig_path_translated);
        env.Set("PATH_TRANSLATED", *translated);
      }
      break;
    }
    if (!found) {
      // No file anywhere along the path: 404.
      if (orig_script_filename) env.Set("ORIG_SCRIPT_FILENAME", *orig_script_filename);
      env.Erase("SCRIPT_FILENAME");
      script_path.reset();
    }
    if (!out.script_name) {
      if (!orig_script_name || !script_name || *orig_script_name != *script_name) {
        if (orig_script_name) env.Set("ORIG_SCRIPT_NAME", *orig_script_name);
        Put(env, "SCRIPT_NAME", script_name);
        out.script_name = script_name;
      } else {
        out.script_name = orig_script_name;
      }
    }
  } else {
    if (!orig_script_filename || (script_path && *script_path != *orig_script_filename)) {
      if (orig_script_filename) env.Set("ORIG_SCRIPT_FILENAME", *orig_script_filename);
      Put(env, "SCRIPT_FILENAME", script_path);
    }
    if (!apache_was_here && redirect_url) {
      if (orig_path_info) {
        env.Set("ORIG_PATH_INFO", *orig_path_info);
        env.Erase("PATH_INFO");
      }
      if (orig_path_translated) {
        env.Set("ORIG_PATH_TRANSLATED", *orig_path_translated);
        env.Erase("PATH_TRANSLATED");
      }
    }
    if (script_name_from_redirect) {
      if (orig_script_name) env.Set("ORIG_SCRIPT_NAME", *orig_script_name);
      Put(env, "SCRIPT_NAME", script_name);
    }
    out.script_name = script_name;
  }

  if (script_path && IsValidScriptPath(*script_path)) out.script = script_path;
  return out;
}

}  // namespace tfpm::sapi
