// The SAPI module table and the process/thread lifecycle: MINIT with the
// php.ini files chosen, the thread hooks, MSHUTDOWN. The request-facing
// callbacks are in php_sapi_callbacks.cc. Callbacks are thin adapters (STYLE.md §9): each reads the request from
// SG(server_context) and delegates to fastcgi::Exchange. They are noexcept and
// hold only trivially destructible locals, because PHP may longjmp
// (zend_bailout) through any frame that calls back into the engine. What our
// code throws in them is kept by Contain() (php_internal.h): the callback
// answers as if the client were gone, and the request fails after PHP's
// request shutdown, never the process.
#include <dlfcn.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "base/log.h"
#include "base/utf8.h"
#include "os/thread_cwd.h"
#include "sapi/php_execution_timer.h"
#include "sapi/php_ini_files.h"
#include "sapi/php_internal.h"
#include "sapi/php_sapi_callbacks.h"
#include "tfpm_build_config.h"

extern "C" {
#include <Zend/zend_extensions.h>
#include <ext/standard/info.h>
// main/php_ini.c's record of what it read (php_cli.c declares them too).
extern PHPAPI char* php_ini_opened_path;
extern PHPAPI char* php_ini_scanned_path;
extern PHPAPI char* php_ini_scanned_files;
#include <main/http_status_codes.h>
}

ZEND_TSRMLS_CACHE_DEFINE()

namespace tfpm::sapi {
namespace {

RuntimeOptions* g_options = nullptr;  // set once in Startup, before threads
std::string* g_ini_entries = nullptr;
std::string* g_sapi_name = nullptr;
std::string* g_extension_dir = nullptr;  // set once in Startup
constexpr char kBuiltinIniName[] = "(tfpm built-in php.ini)";

// TSRM calls this on every thread that gets a PHP context (ts_resource),
// right after it set the thread's TSRM storage and before the resource
// constructors and Zend's new-thread handler run. That handler re-runs
// every INI entry's on_modify (zend_ini_refresh_caches), so a setting that
// PHP reports at startup (session.sid_length's deprecation, say) reports it
// again on each new thread, through our log_message and ub_write, before
// PhpThreadScope's own code runs. Those callbacks reach SG() and PG()
// through this library's TSRM cache, a thread_local of ours that would still
// be null there (or point at a freed context after a recycle): refresh it
// first, so PHP's messages on a new thread find their context.
//
// What PHP says between the begin and the end of a new thread's context
// (Zend's end handler re-runs the on_modify handlers) repeats what MINIT
// said once in this process: a php.ini setting PHP 8.4 deprecates would be
// reported again by every new thread and every recycled interpreter. Those
// messages are dropped (ThreadStartErrorFilter).
tsrm_thread_begin_func_t g_previous_thread_begin = nullptr;
tsrm_thread_end_func_t g_previous_thread_end = nullptr;
thread_local bool t_thread_starting = false;

void OnNewPhpThread(THREAD_T thread_id) {
  ZEND_TSRMLS_CACHE_UPDATE();
  t_thread_starting = true;
  if (g_previous_thread_begin != nullptr) g_previous_thread_begin(thread_id);
}

void OnPhpThreadStarted(THREAD_T thread_id) {
  if (g_previous_thread_end != nullptr) g_previous_thread_end(thread_id);
  t_thread_starting = false;
}

void (*g_thread_error_next)(int, zend_string*, uint32_t, zend_string*) = nullptr;

void ThreadStartErrorFilter(int type, zend_string* file, uint32_t line, zend_string* message) {
  if (t_thread_starting) return;  // said once already, by MINIT
  g_thread_error_next(type, file, line, message);
}

int Startup(sapi_module_struct* module) noexcept {
  return php_module_startup(module, &tfpm_module_entry) == SUCCESS ? SUCCESS : FAILURE;
}

// Classic requests only: a worker script's requests keep the INI state the
// worker restores after each of them (php_worker.cc).
int Activate() noexcept {
  if (CurrentRequest() != nullptr && !InWorkerThread()) ActivatePerDirectoryIni();
  return SUCCESS;
}

int Deactivate() noexcept { return SUCCESS; }

sapi_module_struct g_module = {
    const_cast<char*>("fpm-fcgi"),                 // name (replaced in Startup)
    const_cast<char*>("tfpm FastCGI (threaded)"),  // pretty name
    Startup,                                       // startup
    php_module_shutdown_wrapper,                   // shutdown
    Activate,                                      // activate
    Deactivate,                                    // deactivate
    callbacks::UbWrite,                            // unbuffered write
    callbacks::Flush,                              // flush
    nullptr,                                       // get uid
    callbacks::GetEnv,                             // getenv
    php_error,                                     // error handler
    nullptr,                                       // header handler
    callbacks::SendHeaders,                        // send headers handler
    nullptr,                                       // send header handler
    callbacks::ReadPost,                           // read POST data
    callbacks::ReadCookies,                        // read Cookies
    callbacks::RegisterServerVariables,            // register server variables
    callbacks::LogMessage,                         // log message
    nullptr,                                       // get request time
    nullptr,                                       // terminate process
    STANDARD_SAPI_MODULE_PROPERTIES};

// Values go to PHP's INI parser as php.ini lines would, so constants and
// expressions work ("E_ALL & ~E_DEPRECATED"); anything the parser would cut
// or misread is quoted.
std::string IniValue(const std::string& value) {
  bool plain = !value.empty() && value.front() != ' ' && value.back() != ' ';
  for (char c : value) {
    if (c == ';' || c == '"' || c == '\n' || c == '=' || c == '$' || c == '{' || c == '}' ||
        c == '[' || c == ']' || c == '\'' || c == '#') {
      plain = false;
    }
  }
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

// php_admin_value: raise these entries to system level in the calling
// thread's own copy of the INI table, so ini_set() from a script fails.
void LockAdminEntries() {
  for (const auto& key : g_options->admin_keys) {
    auto* entry = static_cast<zend_ini_entry*>(
        zend_hash_str_find_ptr(EG(ini_directives), key.data(), key.size()));
    if (entry) entry->modifiable = ZEND_INI_SYSTEM;
  }
}

}  // namespace

const RuntimeOptions& Options() { return *g_options; }

namespace {

// PHP's extension directory, found relative to the libphp.so this process
// loaded: <dir of libphp.so>/php/extensions/<api dir>, the layout of both
// our build cache and the installed package (/usr/lib/tfpm). PHP's own
// compiled-in default names the prefix it was built in, which a package
// moves; fall back to it when the relative one does not exist.
std::string FindExtensionDir() {
  const std::string built = TFPM_PHP_EXTENSION_DIR;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&php_module_startup), &info) == 0 || info.dli_fname == nullptr) {
    return built;
  }
  std::string lib = info.dli_fname;
  const auto slash = lib.rfind('/');
  if (slash == std::string::npos) return built;
  const std::string api_dir = built.substr(built.rfind('/') + 1);
  std::string dir = lib.substr(0, slash) + "/php/extensions/" + api_dir;
  return ::access(dir.c_str(), R_OK | X_OK) == 0 ? dir : built;
}

// PHP skips an extension built for an NTS PHP, or for another API, with a
// warning ("Unable to load dynamic library ... undefined symbol" when the
// .so needs NTS-only symbols; "Unable to initialize module ... These options
// need to match" when it loads but its build ID differs; for a
// zend_extension "it was built with configuration") and goes on without it. A worker must not serve without an extension the operator
// asked for: Startup fails with the names.
void (*g_php_error_cb)(int, zend_string*, uint32_t, zend_string*) = nullptr;
std::vector<std::string>* g_reported_ini_keys = nullptr;  // deprecated settings IniFileNotices() names
std::string* g_incompatible_extensions = new std::string;

void WatchStartupErrors(int type, zend_string* file, uint32_t line, zend_string* message) {
  // Another process of the pool reported PHP's startup deprecations.
  if (g_options->quiet_startup_deprecations && (type & E_ALL) == E_DEPRECATED) return;
  std::string_view text(ZSTR_VAL(message), ZSTR_LEN(message));
  // A deprecated php.ini setting IniFileNotices() names with its file and
  // line: PHP's own message ("in Unknown on line 0") would say it twice.
  if ((type & E_ALL) == E_DEPRECATED && g_reported_ini_keys != nullptr) {
    const std::string_view key = DeprecatedKeyInMessage(text);
    if (!key.empty() && std::find(g_reported_ini_keys->begin(), g_reported_ini_keys->end(), key) !=
                            g_reported_ini_keys->end()) {
      return;
    }
  }
  std::string_view name;
  if (size_t at = text.find(": Unable to initialize module"); at != std::string_view::npos) {
    name = text.substr(0, at);  // "[PHP Startup: ]NAME"
    if (size_t colon = name.rfind(": "); colon != std::string_view::npos) name.remove_prefix(colon + 2);
  } else if (size_t lib = text.find("Unable to load dynamic library '"); lib != std::string_view::npos &&
             text.find("undefined symbol") != std::string_view::npos) {
    // An NTS build: its .so needs symbols only an NTS PHP has.
    name = text.substr(lib + 32);
    name = name.substr(0, name.find('\''));
  } else if (size_t cannot = text.find("Cannot load "); cannot != std::string_view::npos &&
             text.find(" - it was built with configuration") != std::string_view::npos) {
    name = text.substr(cannot + 12);
    name = name.substr(0, name.find(" - "));
  }
  if (!name.empty()) {
    if (!g_incompatible_extensions->empty()) g_incompatible_extensions->append(", ");
    g_incompatible_extensions->append(name);
  }
  g_php_error_cb(type, file, line, message);
}

// extensions_by_name: what the ini files read by ReadIniFiles asked for,
// and the lines for the extensions this PHP does not have.
IniFilesRead* g_files_read = nullptr;
std::vector<RequestedExtension>* g_maybe_builtin = nullptr;  // no .so of ours: built in, or absent
std::vector<std::string>* g_skipped_extensions = new std::vector<std::string>;
std::vector<std::string>* g_ini_notices = new std::vector<std::string>;

// Reads php.ini and the scan directories (PHP reads none itself) and turns
// each extension line into one of ours: loaded from our extension_dir,
// nothing (built in; checked after MINIT), or skipped with a line.
void ReadIniFilesByName(HashTable* configuration_hash) {
  IniReadLimits limits;
  limits.max_file_bytes = g_options->ini_max_file_size;
  limits.max_files = g_options->ini_max_files;
  g_files_read = new IniFilesRead(ReadIniFiles(g_options->ini_file, g_options->scan_dir, configuration_hash, limits));
  if (!g_files_read->opened.empty()) {
    zval tmp;
    ZVAL_NEW_STR(&tmp, zend_string_init(g_files_read->opened.data(), g_files_read->opened.size(), 1));
    zend_hash_str_update(configuration_hash, "cfg_file_path", sizeof("cfg_file_path") - 1, &tmp);
  }
  *g_ini_notices = g_files_read->problems;
  for (std::string& line : IniDeprecationLines(g_files_read->watched)) g_ini_notices->push_back(std::move(line));
  g_reported_ini_keys = new std::vector<std::string>;
  for (const IniSetting& s : g_files_read->watched) {
    if (IniDeprecation(s.key, s.value)) g_reported_ini_keys->push_back(s.key);
  }
  ResolvedExtensions resolved =
      ResolveExtensions(g_files_read->extensions, *g_extension_dir,
                        [](const std::string& file) { return ::access(file.c_str(), R_OK) == 0; });
  *g_skipped_extensions = std::move(resolved.skipped);
  g_maybe_builtin = new std::vector<RequestedExtension>(std::move(resolved.maybe_builtin));
  std::string lines;
  for (const RequestedExtension& e : resolved.load) {
    if (ExtensionName(e.value) == "opcache") {
      if (g_ini_entries->find("zend_extension=" + e.value + "\n") == std::string::npos) {
        g_skipped_extensions->push_back(SkipLine(e, "OPcache is not loaded in this build (sanitizers)"));
      }
      continue;
    }
    lines += std::string(e.zend ? "zend_extension=" : "extension=") + IniValue(e.value) + "\n";
  }
  // After the pool's values; then PATH/HOST sections PHP's own parser must
  // see once (they flag per-directory/per-host settings), at the very end.
  *g_ini_entries += lines;
  for (const std::string& section : g_files_read->special_sections) *g_ini_entries += "[" + section + "]\n";
  sapi_module.ini_entries = g_ini_entries->c_str();
  g_module.ini_entries = sapi_module.ini_entries;
}

// After MINIT: an extension line with no .so of ours names a built-in
// extension (nothing to do), or one this PHP lacks (one line).
void CheckBuiltinExtensions() {
  if (g_maybe_builtin == nullptr) return;
  std::vector<std::string> seen;
  for (const RequestedExtension& e : *g_maybe_builtin) {
    const std::string name = ExtensionName(e.value);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    if (zend_hash_str_find_ptr(&module_registry, name.data(), name.size()) != nullptr) continue;
    if (zend_get_extension(name.c_str()) != nullptr) continue;
    g_skipped_extensions->push_back(SkipLine(e, "tfpm's PHP " PHP_VERSION " has no extension '" + name +
                                                    "' (not built in, no " + name + ".so in " + *g_extension_dir +
                                                    ")"));
  }
}

// One `key = value` of the built-in php.ini into PHP's configuration hash
// (section headers and anything else are not used: the text has none).
void BuiltinIniEntry(zval* key, zval* value, zval* /*index*/, int type, void* arg) {
  if (type != ZEND_INI_PARSER_ENTRY || value == nullptr) return;
  auto* hash = static_cast<HashTable*>(arg);
  zend_string* str = zval_try_get_string_func(value);
  if (str == nullptr) return;
  zval copy;
  ZVAL_NEW_STR(&copy, zend_string_init(ZSTR_VAL(str), ZSTR_LEN(str), 1));
  zend_string_release(str);
  zend_hash_str_update(hash, Z_STRVAL_P(key), Z_STRLEN_P(key), &copy);
}

// Defaults a php.ini may override (sapi_module.ini_defaults runs before
// PHP parses any ini file).
void IniDefaults(HashTable* configuration_hash) {
  // zend_startup() has installed PHP's error callback by now, and PHP loads
  // the extensions after reading the ini files: watch what it says about them.
  g_php_error_cb = zend_error_cb;
  zend_error_cb = WatchStartupErrors;
  zval tmp;
  ZVAL_NEW_STR(&tmp, zend_string_init(g_extension_dir->data(), g_extension_dir->size(), 1));
  zend_hash_str_update(configuration_hash, "extension_dir", sizeof("extension_dir") - 1, &tmp);
  if (!g_options->ini_text.empty()) {
    // tfpm's built-in php.ini, parsed by PHP's INI scanner (constants such
    // as E_ALL are evaluated as in a php.ini file).
    zend_parse_ini_string(g_options->ini_text.c_str(), /*unbuffered_errors=*/1, ZEND_INI_SCANNER_NORMAL,
                          BuiltinIniEntry, configuration_hash);
  }
  if (g_options->extensions_by_name) ReadIniFilesByName(configuration_hash);
}

// Where PHP reads its ini files. PHP takes the scan directory only from the
// environment (PHP_INI_SCAN_DIR) and scans only when php_ini_ignore is off;
// both are set here, while the process still has one thread (MINIT). With
// no php.ini file (none, or tfpm's built-in text, which IniDefaults feeds
// PHP as the defaults every file may override) PHP is pointed at /dev/null,
// so that it does not search its default places for a php.ini.
Status ChooseIniFiles(const RuntimeOptions& options) {
  if (options.extensions_by_name) {  // IniDefaults reads them (ReadIniFilesByName)
    g_module.php_ini_ignore = 1;
    ::unsetenv("PHP_INI_SCAN_DIR");
    return Status::Ok();
  }
  if (!options.ini_file.empty()) {
    g_module.php_ini_path_override = (new std::string(options.ini_file))->data();
  } else if (!options.ini_text.empty() || !options.scan_dir.empty()) {
    g_module.php_ini_path_override = const_cast<char*>("/dev/null");
  } else {
    g_module.php_ini_ignore = 1;
  }
  if (options.scan_dir.empty()) {
    ::unsetenv("PHP_INI_SCAN_DIR");
  } else {
    ::setenv("PHP_INI_SCAN_DIR", options.scan_dir.c_str(), 1);
  }
  return Status::Ok();
}

// After php_init_config: PHP's scan path pointed into the environment, which
// PHP code may change; the built-in php.ini is named as such.
void AfterIniFilesRead(const RuntimeOptions& options, bool builtin_ini) {
  if (php_ini_scanned_path != nullptr) {
    php_ini_scanned_path = (new std::string(php_ini_scanned_path))->data();
  }
  if (!options.scan_dir.empty()) ::unsetenv("PHP_INI_SCAN_DIR");
  if (g_files_read != nullptr) {  // read by ReadIniFilesByName, not by PHP
    free(php_ini_opened_path);
    php_ini_opened_path = g_files_read->opened.empty() ? nullptr : strdup(g_files_read->opened.c_str());
    php_ini_scanned_path = (new std::string(options.scan_dir))->data();
    free(php_ini_scanned_files);
    php_ini_scanned_files = nullptr;
    if (!g_files_read->scanned.empty()) {
      std::string all;
      for (const std::string& f : g_files_read->scanned) all += (all.empty() ? "" : ",\n") + f;
      php_ini_scanned_files = strdup((all + "\n").c_str());
    }
    return;
  }
  if (options.ini_file.empty()) {  // "/dev/null", or nothing
    free(php_ini_opened_path);
    php_ini_opened_path = builtin_ini ? strdup(kBuiltinIniName) : nullptr;
  }
}

}  // namespace

Status PhpRuntime::Startup(const RuntimeOptions& options) {
  // Leaked on purpose: PHP keeps pointers into these for the process's life.
  g_options = new RuntimeOptions(options);
  g_sapi_name = new std::string(options.sapi_name);
  g_ini_entries = new std::string;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // PHP dlopen()s opcache.so with RTLD_DEEPBIND, which the sanitizer
  // runtimes refuse; sanitizer builds run without OPcache.
  const bool load_opcache = false;
#else
  const bool load_opcache = options.load_opcache;
#endif
  g_extension_dir = new std::string(FindExtensionDir());
  g_module.ini_defaults = IniDefaults;
  if (load_opcache) {
    const std::string opcache = *g_extension_dir + "/opcache.so";
    if (::access(opcache.c_str(), R_OK) == 0) *g_ini_entries += "zend_extension=" + opcache + "\n";
  }
  for (const auto& [key, value] : options.ini) {
    *g_ini_entries += key + "=" + IniValue(value) + "\n";
  }

  php_tsrm_startup();
  ZEND_TSRMLS_CACHE_UPDATE();
  g_previous_thread_begin =
      reinterpret_cast<tsrm_thread_begin_func_t>(tsrm_set_new_thread_begin_handler(OnNewPhpThread));
#ifdef ZEND_SIGNALS
  zend_signal_startup();
#endif
  sapi_startup(&g_module);
  // sapi_startup() resets these; set them afterwards (php_embed.c does too).
  g_module.name = g_sapi_name->data();
  g_module.ini_entries = g_ini_entries->c_str();
  g_module.php_ini_ignore_cwd = 1;
  const bool builtin_ini = !options.ini_text.empty();
  if (Status st = ChooseIniFiles(options); !st.ok()) return st;
  g_module.phpinfo_as_text = 0;
  callbacks::g_original_import_environment = php_import_environment_variables;
  php_import_environment_variables = callbacks::ImportEnvironment;
  php_load_environment_variables = callbacks::LoadEnvironment;

  // ImageMagick (imagick) starts OpenMP threads of its own per operation,
  // which fight with ours (FrankenPHP's known issues): one thread each,
  // unless the operator chose otherwise.
  const bool set_magick = std::getenv("MAGICK_THREAD_LIMIT") == nullptr;
  if (set_magick) ::setenv("MAGICK_THREAD_LIMIT", "1", 0);
  const bool started = g_module.startup(&g_module) != FAILURE;
  if (set_magick) ::unsetenv("MAGICK_THREAD_LIMIT");
  AfterIniFilesRead(options, builtin_ini);
  if (g_php_error_cb != nullptr) zend_error_cb = g_php_error_cb;  // our startup watcher is done
  if (!started) return Status::IoError("PHP startup (MINIT) failed; see the messages above");
  CheckBuiltinExtensions();
  // zend_startup() installed Zend's new-thread end handler: wrap it, and
  // PHP's error callback, so a new thread does not repeat MINIT's messages.
  g_previous_thread_end =
      reinterpret_cast<tsrm_thread_end_func_t>(tsrm_set_new_thread_end_handler(OnPhpThreadStarted));
  g_thread_error_next = zend_error_cb;
  zend_error_cb = ThreadStartErrorFilter;
  if (!g_incompatible_extensions->empty()) {
    return Status::InvalidArgument(
        "PHP refused to load extension(s) built for another PHP: " + *g_incompatible_extensions +
        " (tfpm's PHP is ZTS " PHP_VERSION "; Debian's php-*.deb extensions are NTS: build them for tfpm "
        "with tools/ext build NAME, see docs/install.md)");
  }
  LockAdminEntries();  // the main thread's context serves requests in tests
  InstallTimeoutHooks();
  return Status::Ok();
}

void PhpRuntime::Shutdown() {
  php_module_shutdown();
  sapi_shutdown();
  tsrm_shutdown();
}

std::vector<std::string> PhpRuntime::SkippedExtensions() { return *g_skipped_extensions; }

std::vector<std::string> PhpRuntime::IniFileNotices() { return *g_ini_notices; }

std::vector<std::string> PhpRuntime::LoadedModules() {
  std::vector<std::string> out;
  void* module;
  ZEND_HASH_MAP_FOREACH_PTR(&module_registry, module) {
    out.emplace_back(static_cast<zend_module_entry*>(module)->name);
  }
  ZEND_HASH_FOREACH_END();
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return strcasecmp(a.c_str(), b.c_str()) < 0;
  });
  return out;
}

PhpRuntime::IniFiles PhpRuntime::LoadedIniFiles() {
  IniFiles out;
  if (php_ini_opened_path != nullptr) out.loaded = php_ini_opened_path;
  if (php_ini_scanned_path != nullptr) out.scan_dir = php_ini_scanned_path;
  if (php_ini_scanned_files != nullptr) {
    std::string all = php_ini_scanned_files;
    size_t start = 0;
    while (start < all.size()) {
      size_t end = all.find_first_of(",\n", start);
      if (end == std::string::npos) end = all.size();
      if (end > start) out.scanned.push_back(all.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

void PhpRuntime::PrintInfo() {
  sapi_module.phpinfo_as_text = 1;  // PHP's copy of g_module since MINIT
  callbacks::g_print_to_stdout = true;
  zend_first_try {
    if (php_request_startup() == SUCCESS) {
      SG(headers_sent) = 1;
      SG(request_info).no_headers = 1;
      php_print_info(PHP_INFO_ALL & ~PHP_INFO_CREDITS);
      php_request_shutdown(nullptr);
    }
  }
  zend_end_try();
  std::fflush(stdout);
  callbacks::g_print_to_stdout = false;
}

std::vector<std::string> PhpRuntime::ZendExtensions() {
  std::vector<std::string> out;
  for (zend_llist_element* e = zend_extensions.head; e; e = e->next) {
    out.emplace_back(static_cast<zend_extension*>(static_cast<void*>(e->data))->name);
  }
  return out;
}

PhpThreadScope::PhpThreadScope(int index) {
  // Our libphp has no virtual working directory (the ZTS patch in
  // tools/lib/php-patches): PHP chdir()s for real, so each PHP thread needs
  // a cwd of its own before it runs any PHP. Without it one request's
  // directory would resolve another request's relative paths: no PHP then.
  if (Status st = os::OwnWorkingDirectory(); !st.ok()) {
    throw std::runtime_error("a PHP thread needs its own working directory: " + st.message());
  }
  (void)ts_resource(0);  // OnNewPhpThread has set this library's TSRM cache
  ZEND_TSRMLS_CACHE_UPDATE();
  // PHP sets the process's LC_CTYPE at MINIT and records whether it is
  // ASCII-compatible in CG(), which is per thread in ZTS: a new thread's
  // copy starts at "not compatible", and basename() and pathinfo() then
  // take their mblen() path on every call (14,000 instructions of a
  // Symfony request; php-fpm's children inherit the master's flags).
  zend_update_current_locale();
  LockAdminEntries();
  RegisterThread(index);
}

PhpThreadScope::~PhpThreadScope() {
  UnregisterThread();
  DeleteExecutionTimer();
  // The thread's persistent resources (pfsockopen() sockets, persistent
  // database links): PHP 8.4's executor_globals_dtor never destroys a
  // thread's persistent_list (only zend_shutdown() does, for the main
  // thread's), so each recycled or retired interpreter would keep their
  // descriptors and memory forever. What zend_destroy_rsrc_list() does (not
  // exported), while this thread's globals still exist for the destructors.
  zend_try { zend_hash_graceful_reverse_destroy(&EG(persistent_list)); }
  zend_end_try();
  ts_free_thread();
  ZEND_TSRMLS_CACHE_UPDATE();  // null now: never a pointer into the freed context
}

void DeleteExecutionTimer() {
  if (EG(pid) != 0 && EG(pid) == ::getpid()) {
    ::timer_delete(EG(max_execution_timer_timer));
    EG(pid) = 0;
  }
}

}  // namespace tfpm::sapi
