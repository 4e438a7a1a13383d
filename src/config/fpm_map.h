// php-fpm's directives mapped onto tfpm's configuration: one table
// (kRules in fpm_rules.cc) says, for every directive php-fpm 8.x knows, what
// tfpm does with it, and small functions turn a parsed fpm::Document into
// the equivalent tfpm YAML text. `tfpm --fpm-config` loads that text with
// the ordinary YAML loader; `pm-ctl import-fpm` writes it to a file. Both
// go through Import(), so they cannot disagree.
//
// Every directive tfpm does not honour as php-fpm does yields one Note
// ("[file:line] user = www-data: not yet supported: ..."), printed at start
// and written as a comment next to the YAML it produced.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/fpm_ini.h"

namespace tfpm::config::fpm {

// What tfpm does with a directive.
enum class Fate {
  kMapped,       // same meaning, a tfpm key
  kChanged,      // a tfpm key with a different meaning or unit (the reason says how)
  kIgnored,      // accepted, no effect needed (the reason says why)
  kUnsupported,  // no equivalent; the reason says what happens instead
  kNotYet,       // being built in another issue; reported as "not yet supported"
};
std::string_view FateName(Fate fate);

enum class Scope { kGlobal, kPool };

// How php-fpm reads the value (fpm_conf_set_*), with php-fpm's messages.
enum class ValueKind {
  kString,      // as written; $pool expanded in pools
  kInt,         // "-"? digits: "is not a valid number (greater or equal than zero)"
  kTime,        // digits with s/m/h/d: "unknown suffix used in time value"
  kBool,        // 1/yes/true/on, ""/0/no/none/false/off: "invalid boolean value"
  kLogLevel,    // debug/notice/warning/warn/error/alert
  kPm,          // static/dynamic/ondemand
  kRlimitCore,  // "unlimited" or an integer >= 0
  kArray,       // name[key] = value
  kInclude,     // read by the parser
};

// One row of the mapping table.
struct Rule {
  std::string_view directive;  // "pm.max_children"; arrays as "php_value[]"
  Scope scope;
  ValueKind kind;
  Fate fate;
  std::string_view tfpm;    // the tfpm key(s) it becomes, "" if none
  std::string_view reason;  // why, for every fate but kMapped (may be "" there)
};

// The whole table, in php-fpm's order (global, then pool directives).
std::span<const Rule> Rules();
const Rule* FindRule(Scope scope, std::string_view directive);

// How pm.max_children becomes processes x threads: at most this many
// threads per process; above it, more processes (rounded up evenly).
inline constexpr int kMaxThreadsPerProcess = 64;
struct Split {
  int processes = 1;
  int threads = 1;
};
// `processes` / `threads` are the pool's overrides (tfpm.processes,
// tfpm.threads); 0 = derive by the rule.
Split SplitChildren(int max_children, int processes, int threads);

// What the daemon's command line adds (php-fpm's options in compat mode).
struct ImportOptions {
  std::string prefix;         // -p
  std::string pid_file;       // -g (overrides `pid`)
  std::string php_ini;        // -c, resolved to a file ("" = none)
  // PHP's scan directory: "" = none given, PHP_INI_SCAN_DIR (inherited by
  // the workers) or nothing; else conf.d beside php.ini (Debian's layout).
  std::string scan_dir;
  std::vector<std::pair<std::string, std::string>> php_defines;  // -d name=value
  std::string control_socket; // "" = tfpm's default (or tfpm.control_socket)
  bool running_as_root = false;
  bool allow_root = false;    // -R
  bool for_file = false;      // pm-ctl import-fpm: no refusal that depends on how it runs
};

struct Note {
  Location at;
  std::string directive;  // "user"
  std::string text;       // "[file:line] user = www-data: not yet supported: <reason>"
};

struct Imported {
  std::string yaml;                 // the equivalent tfpm configuration
  std::vector<Location> yaml_lines; // origin of each YAML line (index = line - 1; line 0 = none)
  std::vector<Note> notes;          // one per directive not honoured as php-fpm does
  std::vector<std::string> warnings;  // the parser's (nothing matched an include, ...)
  bool daemonize = true;            // php-fpm's `daemonize`
};

// Maps a parsed document. Errors are php-fpm's own messages with the place:
// "[www.conf:7] unable to parse value for entry 'pm.max_children': is not a
// valid number (greater or equal than zero)", "[www.conf:9] unknown entry 'foo'",
// "[www.conf:3] [pool www] pm.max_children must be a positive value".
Result<Imported> Import(const Document& doc, const ImportOptions& options);

// Rewrites a YAML loader message for the imported text
// ("<source>:<yaml line>: <path>: <what>") to name the php-fpm file and
// line that produced that YAML line.
std::string TranslateYamlError(const Imported& imported, std::string_view source, std::string_view message);

// The table as Markdown (docs/migrating.md holds exactly this).
std::string RulesMarkdown();

}  // namespace tfpm::config::fpm
