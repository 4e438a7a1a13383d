// The daemon's configuration as plain values: what load_yaml.h produces and
// every other layer reads. No YAML types here; defaults live in the structs
// and match docs/config.md and conf/tfpm.yaml.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tfpm::config {

// php-fpm's log levels, most to least severe. YAML names: "alert", "error",
// "warning", "notice", "debug".
enum class LogLevel { kAlert, kError, kWarning, kNotice, kDebug };

// "classic": one request per PHP request lifecycle (php-fpm semantics).
// "worker": a long-running worker script serves requests (worker.script).
enum class PoolMode { kClassic, kWorker };

// php-fpm's `pm`, with threads as the unit. "static": every process runs
// `threads` threads from the start and the pool keeps `processes`
// processes. "dynamic": each process keeps between min_spare_threads and
// max_spare_threads idle threads (at most `threads`); a process is added
// (up to `processes`) when every process is full. "ondemand": a process
// starts with no PHP thread; one is started when a connection finds none
// idle, and a thread idle for idle_timeout exits.
enum class ProcessManager { kStatic, kDynamic, kOndemand };

// Ordered as in the file.
using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct DaemonConfig {
  std::string error_log = "stderr";  // "stderr" or a file path
  LogLevel log_level = LogLevel::kNotice;
  std::string pid_file;  // "" = none
  std::string control_socket = "/run/tfpm/tfpm.sock";
  // Graceful stop/reload drain limit; 0 = no limit.
  std::chrono::milliseconds process_control_timeout{10000};
  // A graceful stop (SIGQUIT, pm-ctl stop) first only announces itself for
  // this long: the pools keep serving while their status listeners' /ready
  // says "not ready", so a load balancer's health checks take the host out
  // before it stops accepting. 0 = drain at once (php-fpm).
  std::chrono::milliseconds drain_delay{0};
  // The control socket's file mode and owner; callers are also checked with
  // SO_PEERCRED (root, the daemon's uid, the owner, or the group as primary gid).
  uint32_t control_socket_mode = 0600;
  std::string control_socket_owner, control_socket_group;  // "" = the daemon's
  // php-fpm's emergency restart: this many workers dying on SIGSEGV/SIGBUS
  // within the interval start a new generation of every pool. 0 = off.
  int emergency_restart_threshold = 0;
  std::chrono::milliseconds emergency_restart_interval{0};
  // A new generation of workers (the first one at start, or a reload's) is
  // accepted only when each of its workers has stayed up this long after
  // it reported ready: only then does the daemon report ready (READY=1,
  // the daemonizing parent exits 0) or a reload drain the old generation.
  // A worker that exits before fails the start or rolls the reload back.
  // 0 = accept a generation as soon as its workers are ready.
  std::chrono::milliseconds startup_probation{1000};
  // php-fpm's log_limit: longest line, in bytes, that a PHP message or a
  // worker's captured output makes in the error log (longer ones are cut
  // or wrapped as php-fpm does).
  size_t log_limit = 1024;
  // php-fpm's rlimit_files: RLIMIT_NOFILE (soft and hard) of the daemon and
  // its workers. 0 (unset) = raise the soft limit to the hard one at start,
  // so a worker's connections are not capped by the inherited 1024.
  uint64_t rlimit_files = 0;
  // php-fpm's rlimit_core: RLIMIT_CORE (soft and hard) of the daemon and its
  // workers. 0 = unchanged (php-fpm's default); kRlimitUnlimited = "unlimited".
  uint64_t rlimit_core = 0;
  // php-fpm's process.max: at most this many worker processes at once, over
  // all pools and generations (a reload's new generation counts too). 0 = no limit.
  int process_max = 0;
  // Control socket clients (docs/security.md): how many may be connected at
  // once (a new one makes room by dropping the one that waited longest), and
  // how long one may take to send its request, and then to read its reply.
  int control_max_clients = 64;
  std::chrono::milliseconds control_timeout{10000};
};

// rlimit_core: "unlimited".
inline constexpr uint64_t kRlimitUnlimited = ~uint64_t{0};

struct PhpConfig {
  // The php.ini file. Absent: tfpm's own (conf/php.ini, compiled in:
  // php.ini-production values); "" = none, PHP's built-in defaults.
  std::optional<std::string> ini_file;
  // PHP's scan directory (PHP_INI_SCAN_DIR): its *.ini files are read after
  // php.ini, in name order. Absent: $PHP_INI_SCAN_DIR of the daemon's
  // environment, if set (clear_env does not wipe it before MINIT); "" = none.
  std::optional<std::string> scan_dir;
  // A php.ini and scan directory written for another PHP (Debian's PHP 8.2
  // conf.d): each `extension=` / `zend_extension=` line is taken as a name
  // (basename without ".so") and looked up in tfpm's own PHP: built in ->
  // nothing to load; in tfpm's extension_dir -> that file is loaded; else
  // skipped with one line. `tfpm --fpm-config` sets it.
  bool extensions_by_name = false;
  // extensions_by_name: tfpm reads the files itself, and skips (with one
  // line per pool start) a file larger than ini_max_file_size and the
  // scanned files beyond the first ini_max_files in name order.
  uint64_t ini_max_file_size = 4u << 20;
  int ini_max_files = 1000;
  KeyValues ini;         // INI defaults for all pools (YAML booleans -> "1"/"0")
};

struct PoolConfig {
  std::string name;
  int line = 0;  // 1-based line of the pool's key, for later messages
  // "/run/tfpm/www.sock" | "127.0.0.1:9000" | "[::1]:9000" | "9000", kept
  // exactly as given (a bare port means all addresses, as in php-fpm).
  std::string listen;
  uint32_t listen_mode = 0660;             // octal string in YAML: "0660"
  std::string listen_owner, listen_group;  // "" = unchanged
  int listen_backlog = 511;                // >= 1
  // Who may connect (docs/security.md "Who may connect to a pool").
  // TCP: the peers allowed, as addresses or CIDR networks (php-fpm's
  // listen.allowed_clients); empty = every peer. Any other peer's
  // connection is closed right after accept and counted (clients_refused).
  std::vector<std::string> listen_allowed_clients;
  // Unix sockets: users and groups (names or numeric ids) given read and
  // write through POSIX ACL entries on the socket file (php-fpm's
  // listen.acl_users / listen.acl_groups). Set, listen_owner/listen_group
  // are not allowed (php-fpm ignores them then); listen_mode still applies.
  std::vector<std::string> listen_acl_users, listen_acl_groups;
  int processes = 1;                       // 1..256
  int threads = 4;                         // 1..1024 per process
  PoolMode mode = PoolMode::kClassic;
  ProcessManager pm = ProcessManager::kStatic;
  // dynamic only, per process (see docs/config.md): validated
  // 1 <= min_spare_threads <= start_threads <= max_spare_threads <= threads.
  int start_threads = 0;      // 0 = min + (max - min) / 2, as php-fpm (validation fills it in)
  int min_spare_threads = 1;
  int max_spare_threads = 0;  // 0 = `threads`
  // dynamic only: at most this many threads started per process in one
  // 1 s period (php-fpm's pm.max_spawn_rate, default 32); 1..1024.
  int max_spawn_rate = 32;
  // dynamic and ondemand: a surplus process is stopped after the pool has
  // not needed it for this long; ondemand: a thread idle this long exits.
  std::chrono::milliseconds idle_timeout{10000};
  uint64_t max_requests = 0;              // per thread; 0 = unlimited
  // Process recycling (docs/config.md "Recycling"): a worker process that
  // has served process_max_requests requests in total (all its threads;
  // each process draws its own threshold in [N, N + N/4] so a pool's
  // processes do not all recycle at once) or whose resident memory is over
  // process_memory_limit asks the supervisor for a replacement and drains
  // once that one is ready. 0 = off.
  uint64_t process_max_requests = 0;
  uint64_t process_memory_limit = 0;      // bytes of RSS
  // Classic threads: the request's Zend heap peak over this recycles the
  // thread's interpreter after the request. Worker mode: the default of
  // worker.memory_recycle. 0 = off.
  uint64_t memory_recycle = 0;
  // A PHP thread that has served no request for this long since its last
  // one gives its free memory back to the kernel, once (docs/config.md
  // "Idle memory trimming"): classic threads the Zend heap's cached chunks
  // and free pages, worker mode only the heap's empty pages; then malloc's
  // free memory. The next request pays the page faults. 0 = off.
  std::chrono::milliseconds idle_trim{1000};
  // Classic threads: a busy thread gives back the free pages a request's
  // peak left in its Zend heap once a busy_trim period went by without
  // needing them (worker/idle_trim.h; 0 = never).
  std::chrono::milliseconds busy_trim{1000};
  KeyValues php_value, php_admin_value;   // user / system INI (bools -> "1"/"0")
  KeyValues env;                          // extra environment for PHP
  bool clear_env = true;
  std::vector<std::string> limit_extensions = {".php"};  // empty = any
  bool catch_workers_output = false;
  bool decorate_workers_output = true;
  std::string chdir;                   // "" = none; absolute if set (inside `chroot` if set)
  // Isolation (docs/security.md "Isolation"), php-fpm's meanings. With the
  // daemon running as root, the worker switches to `user` (a name or a
  // numeric id; primary group from the password database unless `group` is
  // set, supplementary groups with initgroups) before PHP's MINIT, after
  // chroot. Without root they are ignored, with a warning, as php-fpm does.
  // "" = none: PHP runs as the daemon's user, which under root needs
  // --allow-root (-R).
  std::string user, group;
  std::string chroot;                  // "" = none; absolute if set
  uint64_t rlimit_files = 0;           // RLIMIT_NOFILE of the pool's workers; 0 = the daemon's
  uint64_t rlimit_core = 0;            // RLIMIT_CORE; 0 = the daemon's; kRlimitUnlimited
  bool process_dumpable = false;       // PR_SET_DUMPABLE after the user switch (core dumps, ptrace)
  std::optional<int> process_priority; // nice value -19..20 (root only); unset = the daemon's
  int user_line = 0, chroot_line = 0;  // lines of those keys, for later messages (0 = not set)
  int acl_users_line = 0, acl_groups_line = 0;  // likewise, listen_acl_users / listen_acl_groups
  // Kernel-enforced filesystem confinement (Landlock), applied by each
  // worker after the user switch and before PHP's MINIT (docs/security.md
  // "Filesystem confinement"): PHP may then read only under `read` (and
  // the paths tfpm adds for PHP itself) and write only under `write`.
  struct FsConfine {
    bool enabled = false;             // the `confine` key is present
    std::vector<std::string> read;    // absolute paths: read and execute
    std::vector<std::string> write;   // absolute paths: read, write, create, remove
    // The kernel lacks Landlock (or an ABI it needs): true = the worker
    // refuses to start; false = it starts unconfined, with a warning.
    bool required = true;
    int line = 0;                     // of the `confine` key
  } confine;
  std::string sapi_name = "fpm-fcgi";  // php_sapi_name(); non-empty
  size_t thread_stack_size = 8 << 20;  // bytes; 256K..1G
  std::string worker_script;           // `worker: {script: ...}`; mode worker only
  struct Worker {
    uint64_t max_requests = 0;          // per thread and run of the script; 0 = unlimited
    int max_consecutive_failures = 6;   // then the thread answers 503 (failed)
    uint64_t memory_recycle = 0;        // bytes of Zend heap in use; 0 = off
    std::vector<std::string> watch;     // paths (inotify); a change restarts the scripts
    // State-leak detector (docs/worker-mode.md): off (no code runs), log
    // (one line per changed item), strict (also 500 on the next request).
    enum class LeakCheck { kOff, kLog, kStrict } leak_check = LeakCheck::kOff;
    uint64_t leak_warmup = 5;             // first requests of each run not reported
    std::vector<std::string> leak_allow;  // item names; a trailing '*' matches a prefix
  } worker;
  // A worker that exits unexpectedly before it is ready, or less than
  // failure_window after it became ready, is a quick failure; this many
  // in a row (no worker of the pool staying up failure_window in between)
  // mark the pool failed: the supervisor answers its new connections with
  // 503 while no worker is ready, and keeps restarting workers with backoff
  // until one stays up failure_window. 0 = never mark the pool failed.
  int failure_threshold = 5;
  std::chrono::milliseconds failure_window{10000};
  std::chrono::milliseconds request_terminate_timeout{0};  // 0 = off
  std::chrono::milliseconds max_wait_time{0};  // 503 after waiting this long for a thread; 0 = off
  bool request_terminate_timeout_track_finished = false;   // count time after fastcgi_finish_request()
  std::chrono::milliseconds request_slowlog_timeout{0};    // 0 = off
  int request_slowlog_trace_depth = 20;                    // frames per slowlog entry
  std::string slowlog;                 // "" = none
  std::string access_log;              // "" = none
  std::string access_format = "%R - %u %t \"%m %r\" %s";  // php-fpm's access.format
  std::vector<std::string> access_suppress_path;  // URIs not logged on success
  std::string status_path, ping_path;  // "" = off; start with '/'
  std::string ping_response = "pong";
  // A second socket the SUPERVISOR serves without PHP (php-fpm's
  // pm.status_listen; supervisor/status_listen.h): this pool's status page,
  // ping, /metrics, /ready and /live, answered while every PHP thread is
  // busy. Same address forms as `listen`, same listen_mode/owner/group/ACL
  // and listen_allowed_clients. "" = none.
  std::string status_listen;
  int status_listen_max_clients = 64;                      // connections held at once on it
  std::chrono::milliseconds status_listen_timeout{5000};   // accept to a complete request
  size_t status_listen_max_request = 16 * 1024;            // bytes received for one request (its records)
  // /ready answers 503 while this many connections wait in the listen
  // queue (or more). 0 = processes x threads.
  int status_ready_backlog = 0;
  // Per-process connection limits (docs/security.md "Limits"): what one
  // client may hold of a worker process. Each trip is logged (rate-limited)
  // and counted in the status page.
  int max_connections = 1024;                               // open FastCGI connections per process
  std::chrono::milliseconds connection_idle_timeout{75000};  // parked with no request; > nginx's 60 s
  std::chrono::milliseconds request_header_timeout{30000};   // BEGIN_REQUEST to the end of PARAMS
  size_t max_params_size = 1 << 20;                         // bytes of PARAMS per request
  int max_params = 10000;                                   // params per request
  size_t max_connection_output = 1 << 20;                   // bytes buffered for a client that does not read
  // (directory, DOCUMENT_ROOT) pairs whose .user.ini result a PHP thread
  // keeps (sapi/php_user_ini.cc); a new one beyond it empties the cache.
  int user_ini_cache_entries = 1024;
};

struct Config {
  std::string source;  // file name used in messages ("<built-in>" for the default)
  DaemonConfig daemon;
  PhpConfig php;
  std::vector<PoolConfig> pools;  // in file order; at least one
  // The ${NAME} variables expanded while loading, as (name, value): messages
  // about this config pass through HideEnvironment() (validate.h), so that
  // no error (pm-ctl config-test runs as root) echoes a variable's value.
  std::vector<std::pair<std::string, std::string>> environment_used;
};

}  // namespace tfpm::config
