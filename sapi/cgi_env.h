// The CGI environment of one request as PHP sees it, and php-fpm's rules
// for the script path. PHP-free (no PHP header), so the path rules are
// testable on their own.
//
// php-fpm keeps the FastCGI params in a table that its init_request_info()
// edits (FCGI_PUTENV): it rewrites SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO and
// PATH_TRANSLATED, keeps the originals as ORIG_*, and $_SERVER and getenv()
// show the edited table. CgiEnv is that table; ComputeScriptPaths() is that
// function, rewritten from its behaviour (sapi/fpm/fpm/fpm_main.c).
//
// Lookups go through a hash index: a request with many params costs
// linear time, never quadratic (one with 100,000 distinct names took 22 s
// with the scan this replaced), even with names chosen to collide (past 64
// names the hash is keyed per process; cgi_env.cc).
//
// Threading: one CgiEnv per PHP thread, used only by that thread.
#pragma once

#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fastcgi/exchange.h"

namespace tfpm::sapi {

class CgiEnv {
 public:
  // Starts over from the request's params. A name sent twice keeps its
  // first position and its last value (as php-fpm's table does).
  void Reset(std::span<const fastcgi::Exchange::Param> params);

  // Current value; values are NUL-terminated in memory and stay valid until
  // the next Reset(). Inline (below): a request looks up some 17 names,
  // most of them literals, whose tag, hash and compares then fold into
  // constants at the call site.
  std::optional<std::string_view> Get(std::string_view name) const;
  const char* GetCString(std::string_view name) const;

  // FCGI_PUTENV: replaces the value in place, or appends a new name.
  // Returns the stored copy.
  std::string_view Set(std::string_view name, std::string_view value);
  void Erase(std::string_view name);

  // Bytes of table the object keeps from one Reset() to the next. Reset()
  // keeps what ordinary requests need, not what one with 100,000 params
  // needed.
  size_t HeldBytes() const {
    return entries_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(uint32_t);
  }
  // Every live entry, in the order php-fpm registers them into $_SERVER
  // (its table is walked newest first).
  template <typename F>
  void ForEachForRegistration(F&& f) const {
    for (size_t i = count_; i-- > 0;) {
      if (!entries_[i].erased) f(entries_[i].name, entries_[i].value);
    }
  }

 private:
  struct Entry {
    std::string_view name;
    std::string_view value;
    bool erased = false;
    uint32_t tag = 0;  // Tag(name): a probe compares this before the name
  };
  // Length, first, middle and last byte: names that differ there (most
  // pairs of CGI names) are told apart by one compare, without memcmp. Up
  // to 64 entries it is also what the index hashes.
  static uint32_t Tag(std::string_view name) {
    if (name.empty()) return 0;
    const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(name[i])); };
    return (static_cast<uint32_t>(name.size()) << 24) ^ (b(0) << 16) ^ (b(name.size() / 2) << 8) ^
           b(name.size() - 1);
  }
  // a == b with no library call, so that a probe is a leaf its callers
  // inline (a memcmp call in its loop made every lookup save and restore
  // six registers). CGI names are short; most are compared in two
  // overlapping 8-byte loads.
  static bool SameName(std::string_view a, std::string_view b);
  // The live entry of `name`, or nullptr (never set, or erased).
  const Entry* Find(std::string_view name) const;
  Entry* Find(std::string_view name) {
    return const_cast<Entry*>(static_cast<const CgiEnv*>(this)->Find(name));
  }
  // A new entry at the end, indexed in `slot` (what Slot() answered for
  // its name: empty, or holding an erased entry of the name), unless the
  // table outgrows its index, which is then rebuilt (switching to the keyed
  // hash when the table outgrows an ordinary request's).
  void Append(std::string_view name, std::string_view value, uint32_t tag, size_t slot);
  // Append()'s rare parts: more room for entries; a larger index, or the
  // switch to the keyed hash.
  void Extend();
  void Grow();
  std::string_view Own(std::string_view s);

  // The slot of `name` (whose Tag() is `tag`) in slots_: the one holding
  // its newest entry, or the empty one where it would go.
  // Inline (below the class) where requests look names up; KeyedSlot() is
  // its keyed_ half, out of line (a call to the keyed hash);
  // Probe() the walk both take from a start slot.
  size_t Slot(std::string_view name, uint32_t tag) const;
  size_t KeyedSlot(std::string_view name, uint32_t tag) const;
  size_t Probe(std::string_view name, uint32_t tag, size_t start) const;
  // Points entries_[i]'s name at it (a later entry of a name replaces an
  // earlier one).
  void Place(size_t i);
  // A new index of `size` slots over every entry.
  void Rebuild(size_t size);

  // The table is entries_[0, count_). The vector's size is its room, kept
  // filled, so that a new entry is a store: push_back made GCC emit an
  // out-of-line call per param whenever Reset() grew past its inlining
  // budget.
  std::vector<Entry> entries_;
  size_t count_ = 0;
  // Name -> its newest entry (erased or not), open addressing with linear
  // probing: each slot holds an index in entries_ + 1, 0 = empty; the size
  // a power of two, at most half full; 128 slots for an ordinary request.
  // The hash: cheap up to 64 entries, keyed beyond (keyed_). The names
  // point into the request's params or into owned_, both stable.
  std::vector<uint32_t> slots_;
  size_t indexed_ = 0;  // slots in use
  bool keyed_ = false;
  std::deque<std::string> owned_;  // deque: element addresses stay put
};

// ---- CgiEnv's lookups, inline --------------------------------------------

[[gnu::always_inline]] inline bool CgiEnv::SameName(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  const auto load8 = [](const char* at) {
    uint64_t v;
    std::memcpy(&v, at, sizeof v);
    return v;
  };
  const auto load4 = [](const char* at) {
    uint32_t v;
    std::memcpy(&v, at, sizeof v);
    return v;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (load8(p + i) != load8(q + i)) return false;
    }
    return load8(p + n - 8) == load8(q + n - 8);
  }
  if (n >= 4) return load4(p) == load4(q) && load4(p + n - 4) == load4(q + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

// The probe from slot i on.
[[gnu::always_inline]] inline size_t CgiEnv::Probe(std::string_view name, uint32_t tag, size_t i) const {
  const size_t mask = slots_.size() - 1;
  for (i &= mask;; i = (i + 1) & mask) {
    const uint32_t e = slots_[i];
    if (e == 0 || (entries_[e - 1].tag == tag && SameName(entries_[e - 1].name, name))) return i;
  }
}

[[gnu::always_inline]] inline size_t CgiEnv::Slot(std::string_view name, uint32_t tag) const {
  return keyed_ ? KeyedSlot(name, tag)
                : Probe(name, tag, static_cast<size_t>((tag * 0x9E3779B97F4A7C15ULL) >> 32));
}

[[gnu::always_inline]] inline const CgiEnv::Entry* CgiEnv::Find(std::string_view name) const {
  if (slots_.empty()) return nullptr;  // never Reset()
  const uint32_t e = slots_[Slot(name, Tag(name))];
  if (e == 0) return nullptr;
  const Entry& entry = entries_[e - 1];
  return entry.erased ? nullptr : &entry;
}

[[gnu::always_inline]] inline std::optional<std::string_view> CgiEnv::Get(std::string_view name) const {
  const Entry* e = Find(name);
  if (e == nullptr) return std::nullopt;
  return e->value;
}

[[gnu::always_inline]] inline const char* CgiEnv::GetCString(std::string_view name) const {
  const Entry* e = Find(name);
  return e ? e->value.data() : nullptr;
}

// What the path rules ask the file system: the seam that lets unit tests
// and the fuzzer (tests/fuzz/cgi_path_fuzzer.cc) run them on a fake tree.
// A path passed is followed by a NUL in memory (a CgiEnv value or a
// std::string), so that path.data() goes to the system as it is.
class PathProbe {
 public:
  virtual ~PathProbe() = default;
  // stat(path) succeeds and names a regular file.
  virtual bool IsRegularFile(std::string_view path) const = 0;
  // realpath(path) succeeds: it exists, through any symlinks.
  virtual bool Exists(std::string_view path) const = 0;
};

// The real file system (stat(2), realpath(3)).
const PathProbe& RealFileSystem();

struct ScriptPathOptions {
  bool fix_pathinfo = true;   // cgi.fix_pathinfo
  bool discard_path = false;  // cgi.discard_path
  std::string doc_root;       // doc_root (php.ini), "" = unset
  const PathProbe* fs = nullptr;  // nullptr = RealFileSystem()
};

// Views into the CgiEnv the rules ran on (NUL-terminated), valid until its
// next Reset().
struct ScriptPaths {
  // SG(request_info).path_translated: the file to run; nullopt = none
  // ("Primary script unknown").
  std::optional<std::string_view> script;
  // SG(request_info).request_uri: what PHP_SELF is built from.
  std::optional<std::string_view> script_name;
};

// php-fpm's init_request_info path rules: Apache's proxy:fcgi:// and
// proxy:balancer:// SCRIPT_FILENAME prefixes (and their ?query) are
// stripped; with fix_pathinfo, a SCRIPT_FILENAME that is not a file is cut
// back at '/' until it names a regular file and the rest becomes PATH_INFO,
// with PATH_TRANSLATED, SCRIPT_NAME and ORIG_* adjusted as php-fpm does
// (including its guard against the PATH_INFO underflow of CVE-2019-11043).
// Edits `env` in place. Looks at the file system through `options.fs`.
ScriptPaths ComputeScriptPaths(CgiEnv& env, const ScriptPathOptions& options);

// False for a path with a ".." segment (php-fpm refuses to run those).
bool IsValidScriptPath(std::string_view path);

}  // namespace tfpm::sapi
