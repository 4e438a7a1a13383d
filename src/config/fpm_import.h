// The importer's state and steps, shared by the files that map one part of
// php-fpm's configuration each: fpm_map.cc (reading and checking every
// directive, the notes, Import()), fpm_global.cc (the [global] section:
// daemon: and php:), fpm_pool.cc (a pool's users, listen keys, paths,
// limits and arrays) and fpm_pm.cc (a pool's process manager: pm.* becomes
// processes x threads). Internal to the fpm_* files.
//
// Errors are php-fpm's messages with the place ("[www.conf:7] ..."); every
// directive tfpm does not honour as php-fpm does yields one note.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/fpm_ini.h"
#include "config/fpm_map.h"
#include "config/fpm_yaml.h"

namespace tfpm::config::fpm {

// The last value of a scalar directive and where it was set.
struct Seen {
  std::string value;
  Location at;
};
using Values = std::map<std::string, Seen>;  // directive -> last value

struct PoolState {
  std::string name;
  Location at;
  Values values;  // last value of each scalar directive
  // arrays in file order: (directive, key) -> value
  std::vector<std::pair<std::string, Entry>> arrays;
  std::vector<Entry> passthrough;  // tfpm.X
};

// One pool being mapped: its input, its output section and what the steps
// share (the prefix, the "[pool www] " tag, the directives already mapped).
struct PoolJob {
  const PoolState& ps;
  const Values& v;
  Section* s;
  std::string prefix;                    // the pool's `prefix`, resolved ("" = none)
  std::string tag;                       // "[pool <name>] "
  std::vector<std::string_view> handled; // directives mapped (no table note)
  Split split;                           // set by the process manager step
};

const Seen* Get(const Values& v, std::string_view name);

class Importer {
 public:
  Importer(const Document& doc, const ImportOptions& o) : doc_(doc), o_(o) {}
  Result<Imported> Run();

 private:
  // fpm_map.cc: reading.
  Status Fail(const Location& at, std::string what);
  void AddNote(const Location& at, std::string_view directive, std::string_view value, std::string_view what,
               Section* section);
  Status Take(Scope scope, const Entry& e, const std::string& pool, Values* values,
              std::vector<std::pair<std::string, Entry>>* arrays, std::vector<Entry>* passthrough);
  Status TakeArray(Scope scope, const Entry& e, const std::string& pool,
                   std::vector<std::pair<std::string, Entry>>* arrays);
  Status TakePools(std::vector<PoolState>* pools);
  Status MapPools(std::vector<PoolState>& pools, std::vector<std::pair<std::string, Section>>* out);
  void TableNotes(Scope scope, const Values& values, Section* s, const std::vector<std::string_view>& handled);
  std::string Resolve(const std::string& path, const std::string& pool_prefix, std::string_view fallback) const;

  // fpm_global.cc: the [global] section.
  Status Global(const Values& g, const std::vector<Entry>& passthrough, Section* d, Section* php);
  void GlobalErrorLog(const Values& g, Section* d);
  void GlobalDaemon(const Values& g, Section* d);
  void GlobalPhp(Section* php);

  // fpm_pool.cc: one pool.
  Status PoolOut(PoolState& ps, Section* s);
  void PoolUsers(PoolJob& job);
  Status PoolListen(PoolJob& job);
  void ListenAccess(const Values& v, bool unix_socket, Section* s);
  void PoolPaths(PoolJob& job);
  void PoolLimits(PoolJob& job);
  void PoolTimesAndFlags(PoolJob& job);
  void PoolLimitExtensions(PoolJob& job);
  void PoolArrays(PoolJob& job);

  // fpm_pm.cc: the pool's process manager.
  Status PoolPm(PoolJob& job);
  Status PmDynamic(PoolJob& job, int children);
  Status PmOther(PoolJob& job, const std::string& pm_name);
  void PmMaxRequests(PoolJob& job);

  const Document& doc_;
  const ImportOptions& o_;
  Imported result_;
  const char* unused_ = nullptr;  // ToSeconds' error, for values already checked
};

}  // namespace tfpm::config::fpm
