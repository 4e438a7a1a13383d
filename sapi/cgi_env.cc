#include "sapi/cgi_env.h"

#include <strings.h>
#include <sys/stat.h>

#include <sodium.h>

#include <array>
#include <cassert>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/scratch.h"

namespace tfpm::sapi {

// ---- CgiEnv ------------------------------------------------------------

namespace {

// An ordinary request's table (up to kSmallEntries names) is indexed under
// a cheap hash of each name's Tag(): std::hash of every name was 3,900 of
// tfpm's 47,000 instructions per hello request (tools/bench/instructions).
// Such a hash can be made to collide, but then at most kSmallEntries names
// probe each other. A larger table is indexed under SipHash-2-4 (libsodium's
// crypto_shorthash) with a key drawn once per process, so that a request
// cannot choose names that collide (std::hash, MurmurHash2 under a fixed
// seed, has collisions that hold for any seed).
constexpr size_t kSmallEntries = 64;
constexpr size_t kSmallSlots = 2 * kSmallEntries;

size_t KeyedHash(std::string_view s) {
  static const std::array<unsigned char, crypto_shorthash_KEYBYTES> key = [] {
    if (sodium_init() < 0) std::abort();  // no usable random source
    std::array<unsigned char, crypto_shorthash_KEYBYTES> k;
    crypto_shorthash_keygen(k.data());
    return k;
  }();
  static_assert(crypto_shorthash_BYTES == sizeof(uint64_t));
  uint64_t h;
  crypto_shorthash(reinterpret_cast<unsigned char*>(&h), reinterpret_cast<const unsigned char*>(s.data()),
                   s.size(), key.data());
  return static_cast<size_t>(h);
}

}  // namespace

// Out of line: the keyed hash is a call, and on the common path (not
// keyed) Slot() stays a leaf with nothing to save.
[[gnu::noinline]] size_t CgiEnv::KeyedSlot(std::string_view name, uint32_t tag) const {
  return Probe(name, tag, KeyedHash(name));
}

[[gnu::always_inline]] inline void CgiEnv::Append(std::string_view name, std::string_view value, uint32_t tag, size_t slot) {
  if (count_ == entries_.size()) [[unlikely]] Extend();
  entries_[count_++] = {name, value, false, tag};
  if ((!keyed_ && count_ > kSmallEntries) || 2 * (indexed_ + 1) > slots_.size()) {
    Grow();
    return;
  }
  if (slots_[slot] == 0) ++indexed_;
  slots_[slot] = static_cast<uint32_t>(count_);
}

[[gnu::noinline]] void CgiEnv::Extend() { entries_.resize(count_ == 0 ? 32 : 2 * count_); }

void CgiEnv::Grow() {
  if (!keyed_ && count_ > kSmallEntries) {
    keyed_ = true;
    size_t want = kSmallSlots;
    while (want < 4 * count_) want *= 2;
    Rebuild(want);
  } else {
    Rebuild(2 * slots_.size());
  }
}

void CgiEnv::Reset(std::span<const fastcgi::Exchange::Param> params) {
  count_ = 0;
  base::ReleaseIfLarge(entries_);  // one request's 100,000 params are not kept
  owned_.clear();
  keyed_ = false;
  indexed_ = 0;
  // An index left large by a request with many params is given back
  // (assign() alone would keep its capacity).
  base::ReleaseIfLarge(slots_, 8 * kSmallSlots * sizeof(uint32_t));
  slots_.assign(kSmallSlots, 0);
  for (const auto& [name, value] : params) {
    // One probe per param: the slot found is where a new name goes.
    const uint32_t tag = Tag(name);
    const size_t slot = Slot(name, tag);
    if (slots_[slot] != 0) {
      entries_[slots_[slot] - 1].value = value;
    } else {
      Append(name, value, tag, slot);
    }
  }
}

void CgiEnv::Place(size_t i) {
  const size_t slot = Slot(entries_[i].name, entries_[i].tag);
  if (slots_[slot] == 0) ++indexed_;
  slots_[slot] = static_cast<uint32_t>(i + 1);
}

void CgiEnv::Rebuild(size_t size) {
  slots_.assign(size, 0);
  indexed_ = 0;
  // In order: a later entry of a name takes its slot.
  for (size_t j = 0; j < count_; ++j) Place(j);
}

std::string_view CgiEnv::Own(std::string_view s) {
  const std::string& stored = owned_.emplace_back(s);
  return stored;
}

std::string_view CgiEnv::Set(std::string_view name, std::string_view value) {
  std::string_view v = Own(value);
  if (slots_.empty()) slots_.assign(kSmallSlots, 0);  // never Reset()
  const uint32_t tag = Tag(name);
  const size_t slot = Slot(name, tag);
  Entry* e = slots_[slot] == 0 ? nullptr : &entries_[slots_[slot] - 1];
  if (e != nullptr && !e->erased) {
    e->value = v;
  } else {
    // New, or erased before: a new entry at the end (php-fpm's table),
    // which takes the slot.
    Append(Own(name), v, tag, slot);
  }
  return v;
}

void CgiEnv::Erase(std::string_view name) {
  if (Entry* e = Find(name)) e->erased = true;
}

// ---- path rules ----------------------------------------------------------

namespace {

// A value of the table (a param as sent, or one the rules set), or a piece
// of one: the rules read and compare views and store what they change with
// CgiEnv::Set, whose copy the table keeps until its next Reset().
using OptView = std::optional<std::string_view>;

// FCGI_PUTENV with a possibly-missing value (missing = delete). Returns the
// table's copy.
OptView Put(CgiEnv& env, std::string_view name, const OptView& value) {
  if (value) return env.Set(name, *value);
  env.Erase(name);
  return std::nullopt;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// A path of PATH_MAX bytes or more names nothing (the kernel answers
// ENAMETOOLONG): answered without the system call, as the walk over a long
// SCRIPT_FILENAME (up to max_params_size) would make one per '/'.
class RealProbe final : public PathProbe {
 public:
  bool IsRegularFile(std::string_view path) const override {
    assert(path.data()[path.size()] == '\0');
    if (path.size() >= PATH_MAX) return false;
    struct stat st;
    return ::stat(path.data(), &st) == 0 && S_ISREG(st.st_mode);
  }
  bool Exists(std::string_view path) const override {
    assert(path.data()[path.size()] == '\0');
    if (path.size() >= PATH_MAX) return false;
    char buf[PATH_MAX];
    return ::realpath(path.data(), buf) != nullptr;
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
bool StripApachePrefix(std::string_view& script_filename, std::string_view prefix) {
  if (!StartsWithNoCase(script_filename, prefix)) return false;
  bool stripped = false;
  size_t slash = script_filename.find('/', prefix.size());
  if (slash != std::string_view::npos) {
    script_filename.remove_prefix(slash);
    stripped = true;
  }
  size_t q = script_filename.find('?');
  if (q != std::string_view::npos) script_filename = script_filename.substr(0, q);
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

namespace {

// php-fpm's init_request_info with cgi.fix_pathinfo=1, as steps over the
// values it reads, edits and compares with what the server sent (orig_*).
// Every value it holds is a view into the table (OptView): what it changes
// is stored with Set() first, so no string is copied but those it builds.
class PathFix {
 public:
  PathFix(CgiEnv& env, const PathProbe& fs, ScriptPaths& out) : env_(env), fs_(fs), out_(out) {}

  // Returns false if there is nothing to find (no SCRIPT_FILENAME and no
  // PATH_TRANSLATED).
  bool ReadParams() {
    script_filename_ = env_.Get("SCRIPT_FILENAME");
    path_translated_ = env_.Get("PATH_TRANSLATED");
    // Some servers send only PATH_TRANSLATED.
    if (!script_filename_ && !path_translated_) return false;
    path_info_ = env_.Get("PATH_INFO");
    script_name_ = env_.Get("SCRIPT_NAME");
    FixIisPathInfo();
    StripApachePrefixes();
    script_path_ = script_filename_ ? script_filename_ : path_translated_;
    return true;
  }

  // cgi.fix_pathinfo=0, "pre 4.3 behaviour": PHP_SELF from PATH_INFO, else
  // SCRIPT_NAME.
  void KeepPaths(bool discard_path) {
    out_.script_name = path_info_ ? path_info_ : script_name_;
    if (!discard_path && path_translated_) script_path_ = path_translated_;
  }

  void FixPaths(const std::string& doc_root) {
    document_root_ = env_.Get("DOCUMENT_ROOT");
    redirect_url_ = env_.Get("REDIRECT_URL");
    orig_path_translated_ = path_translated_;
    orig_path_info_ = path_info_;
    orig_script_name_ = script_name_;
    orig_script_filename_ = script_filename_;  // script_filename_ is not read again
    if (!document_root_ && !doc_root.empty()) {
      document_root_ = env_.Set("DOCUMENT_ROOT", doc_root);
    }
    // Apache mod_fastcgi/mod_cgi with Action: SCRIPT_FILENAME names the
    // interpreter, PATH_TRANSLATED the script.
    if (!apache_was_here_ && path_translated_ && redirect_url_ && script_path_ &&
        *path_translated_ != *script_path_) {
      script_path_ = path_translated_;
      script_name_ = redirect_url_;
      script_name_from_redirect_ = true;
    }
    const bool walk =
        script_path_ && !script_path_->empty() && (script_path_->back() == '/' || !fs_.Exists(*script_path_));
    if (walk) {
      Walk();
    } else {
      KeepExisting();
    }
  }

  void Finish() {
    if (script_path_ && IsValidScriptPath(*script_path_)) out_.script = script_path_;
  }

 private:
  // IIS sends PATH_INFO with SCRIPT_NAME in front.
  void FixIisPathInfo() {
    const OptView server_software = env_.Get("SERVER_SOFTWARE");
    if (server_software && script_name_ && path_info_ && server_software->starts_with("Microsoft-IIS") &&
        path_info_->starts_with(*script_name_)) {
      env_.Set("ORIG_PATH_INFO", *path_info_);
      path_info_ = path_info_->substr(script_name_->size());
      if (path_info_->empty()) path_info_.reset();
      path_info_ = Put(env_, "PATH_INFO", path_info_);
    }
  }

  void StripApachePrefixes() {
    // Both prefixes start so.
    if (!script_filename_ || !StartsWithNoCase(*script_filename_, "proxy:")) return;
    // php-fpm edits the value in place, so $_SERVER shows the stripped one.
    std::string_view stripped = *script_filename_;
    apache_was_here_ |= StripApachePrefix(stripped, "proxy:fcgi://");
    apache_was_here_ |= StripApachePrefix(stripped, "proxy:balancer://");
    if (stripped != *script_filename_) script_filename_ = env_.Set("SCRIPT_FILENAME", stripped);
  }

  // The path names no file (or ends in '/'): cut it back at '/' until it
  // names a regular file; the rest is path info.
  void Walk() {
    std::string pt(*script_path_);
    bool found = false;
    for (;;) {
      size_t cut = pt.rfind('/');
      if (cut == std::string::npos) cut = pt.rfind('\\');
      if (cut == std::string::npos) break;
      pt.resize(cut);
      if (!fs_.IsRegularFile(pt)) continue;
      found = true;
      Found(pt, script_path_->size() - pt.size());
      break;
    }
    if (!found) {
      // No file anywhere along the path: 404.
      if (orig_script_filename_) env_.Set("ORIG_SCRIPT_FILENAME", *orig_script_filename_);
      env_.Erase("SCRIPT_FILENAME");
      script_path_.reset();
    }
    if (out_.script_name) return;
    if (!orig_script_name_ || !script_name_ || *orig_script_name_ != *script_name_) {
      if (orig_script_name_) env_.Set("ORIG_SCRIPT_NAME", *orig_script_name_);
      out_.script_name = Put(env_, "SCRIPT_NAME", script_name_);
    } else {
      out_.script_name = orig_script_name_;
    }
  }

  // The script is `pt`; the `slen` characters after it in the path are
  // path info.
  void Found(const std::string& pt, size_t slen) {
    // php-fpm builds PATH_INFO from the tail of the sent PATH_INFO, or for
    // Apache from the tail of SCRIPT_FILENAME; pi_prefix is what precedes
    // that tail in the sent PATH_INFO.
    std::string_view pi_prefix;
    OptView new_path_info;
    bool tflag;
    if (apache_was_here_) {
      new_path_info = script_path_->substr(pt.size());
      tflag = slen != 0 && (!orig_path_info_ || *orig_path_info_ != *new_path_info);
      if (path_info_) pi_prefix = *path_info_;
    } else {
      // pilen > slen: never index before PATH_INFO's start
      // (CVE-2019-11043: an empty PATH_INFO underflowed here).
      const size_t pilen = path_info_ ? path_info_->size() : 0;
      if (path_info_ && pilen > slen) {
        new_path_info = path_info_->substr(pilen - slen);
        pi_prefix = path_info_->substr(0, pilen - slen);
      }
      tflag = new_path_info.has_value();
    }
    if (tflag) SetPathInfo(*new_path_info, pi_prefix, slen);
    if (!orig_script_filename_ || *orig_script_filename_ != pt) {
      if (orig_script_filename_) env_.Set("ORIG_SCRIPT_FILENAME", *orig_script_filename_);
      script_path_ = env_.Set("SCRIPT_FILENAME", pt);
    } else {
      script_path_ = orig_script_filename_;
    }
    SetPathTranslated(*script_path_);
  }

  void SetPathInfo(std::string_view new_path_info, std::string_view pi_prefix, size_t slen) {
    std::optional<std::string> decoded;
    if (orig_path_info_) {
      env_.Set("ORIG_PATH_INFO", *orig_path_info_);
      if (!orig_script_name_ || *orig_script_name_ != pi_prefix) {
        if (orig_script_name_) env_.Set("ORIG_SCRIPT_NAME", *orig_script_name_);
        out_.script_name = env_.Set("SCRIPT_NAME", pi_prefix);
      } else {
        out_.script_name = orig_script_name_;
      }
    } else if (apache_was_here_ && script_name_) {
      // ProxyPass: no PATH_INFO sent; the info is also at the end of
      // SCRIPT_NAME (maybe decoded there): cut it off.
      if (new_path_info.find('%') != std::string_view::npos) decoded = RawUrlDecode(new_path_info);
      CutScriptName(new_path_info, decoded, slen);
    }
    path_info_ = env_.Set("PATH_INFO", decoded ? std::string_view(*decoded) : new_path_info);
  }

  void CutScriptName(std::string_view new_path_info, const std::optional<std::string>& decoded, size_t slen) {
    const std::string_view script_name = *script_name_;
    const size_t snlen = script_name.size();
    std::optional<size_t> start;
    if (snlen > slen && script_name.substr(snlen - slen) == new_path_info) {
      start = snlen - slen;
    } else if (decoded && snlen > decoded->size() && script_name.substr(snlen - decoded->size()) == *decoded) {
      start = snlen - decoded->size();
    }
    if (!start) return;
    if (orig_script_name_) env_.Set("ORIG_SCRIPT_NAME", *orig_script_name_);
    script_name_ = env_.Set("SCRIPT_NAME", script_name.substr(0, *start));
    out_.script_name = script_name_;
  }

  // PATH_TRANSLATED = DOCUMENT_ROOT + PATH_INFO, or without a document
  // root: SCRIPT_FILENAME - SCRIPT_NAME + PATH_INFO.
  void SetPathTranslated(std::string_view pt) {
    std::optional<std::string> translated;
    const std::string_view info = path_info_ ? *path_info_ : std::string_view();
    if (document_root_) {
      std::string_view root = *document_root_;
      if (!root.empty() && root.back() == '/') root.remove_suffix(1);
      translated.emplace(root).append(info);
    } else if (script_name_ && pt.find(*script_name_) != std::string_view::npos) {
      translated.emplace(pt.substr(0, pt.size() - script_name_->size())).append(info);
    }
    if (!translated) return;
    if (orig_path_translated_) env_.Set("ORIG_PATH_TRANSLATED", *orig_path_translated_);
    env_.Set("PATH_TRANSLATED", *translated);
  }

  // The path names a file as sent.
  void KeepExisting() {
    if (!orig_script_filename_ || (script_path_ && *script_path_ != *orig_script_filename_)) {
      if (orig_script_filename_) env_.Set("ORIG_SCRIPT_FILENAME", *orig_script_filename_);
      script_path_ = Put(env_, "SCRIPT_FILENAME", script_path_);
    }
    if (!apache_was_here_ && redirect_url_) {
      if (orig_path_info_) {
        env_.Set("ORIG_PATH_INFO", *orig_path_info_);
        env_.Erase("PATH_INFO");
      }
      if (orig_path_translated_) {
        env_.Set("ORIG_PATH_TRANSLATED", *orig_path_translated_);
        env_.Erase("PATH_TRANSLATED");
      }
    }
    if (script_name_from_redirect_) {
      if (orig_script_name_) env_.Set("ORIG_SCRIPT_NAME", *orig_script_name_);
      script_name_ = Put(env_, "SCRIPT_NAME", script_name_);
    }
    out_.script_name = script_name_;
  }

  CgiEnv& env_;
  const PathProbe& fs_;
  ScriptPaths& out_;
  OptView script_filename_, path_translated_, path_info_, script_name_;
  OptView script_path_;  // the path being resolved: SCRIPT_FILENAME, else PATH_TRANSLATED
  OptView document_root_, redirect_url_;
  OptView orig_path_translated_, orig_path_info_, orig_script_name_, orig_script_filename_;
  bool apache_was_here_ = false;
  bool script_name_from_redirect_ = false;
};

}  // namespace

ScriptPaths ComputeScriptPaths(CgiEnv& env, const ScriptPathOptions& options) {
  ScriptPaths out;
  PathFix fix(env, options.fs != nullptr ? *options.fs : RealFileSystem(), out);
  if (!fix.ReadParams()) return out;
  if (options.fix_pathinfo) {
    fix.FixPaths(options.doc_root);
  } else {
    fix.KeepPaths(options.discard_path);
  }
  fix.Finish();
  return out;
}

}  // namespace tfpm::sapi
