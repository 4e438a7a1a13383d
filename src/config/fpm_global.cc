// php-fpm's [global] section mapped onto tfpm's daemon: keys, and the php:
// section that the command line (-c, -d, PHP_INI_SCAN_DIR) decides.
#include <string>

#include "config/fpm_import.h"
#include "config/fpm_values.h"

namespace tfpm::config::fpm {

Status Importer::Global(const Values& g, const std::vector<Entry>& passthrough, Section* d, Section* php) {
  GlobalErrorLog(g, d);
  GlobalDaemon(g, d);
  TableNotes(Scope::kGlobal, g, d,
             {"error_log", "syslog.ident", "syslog.facility", "log_level", "pid", "log_limit",
              "emergency_restart_threshold", "emergency_restart_interval", "process_control_timeout", "daemonize",
              "rlimit_files", "rlimit_core", "process.max"});
  for (const Entry& e : passthrough) {
    // The YAML loader types and checks it (its errors point back here).
    d->items.push_back(Scalar(e.name.substr(5), PlainIfSafe(e.value), e.at, "tfpm's own key"));
  }
  GlobalPhp(php);
  return Status::Ok();
}

// error_log, and syslog.* (which tfpm does not do: stderr instead).
void Importer::GlobalErrorLog(const Values& g, Section* d) {
  const Location main{doc_.main_file, 0};
  const Seen* v = Get(g, "error_log");
  const bool syslog = v != nullptr && EqualsNoCase(v->value, "syslog");
  if (syslog) {
    AddNote(v->at, "error_log", v->value, "not supported: tfpm logs to stderr instead (journald under systemd)", d);
    d->items.push_back(Scalar("error_log", Quote("stderr"), v->at, "php-fpm: error_log = syslog"));
  } else if (v != nullptr) {
    d->items.push_back(Scalar("error_log", Quote(Resolve(v->value, "", "/var")), v->at));
  } else {
    d->items.push_back(Scalar("error_log", Quote(Resolve("log/php-fpm.log", "", "/var")), main,
                              "php-fpm's default"));
  }
  for (std::string_view k : {"syslog.ident", "syslog.facility"}) {
    const Seen* s = Get(g, k);
    if (s == nullptr) continue;
    AddNote(s->at, k, s->value,
            syslog ? "not supported: tfpm does not log to syslog" : "ignored: error_log is not syslog", d);
  }
}

// The daemon's own keys, in php-fpm's units; -g and the control socket
// from the command line.
void Importer::GlobalDaemon(const Values& g, Section* d) {
  const Location main{doc_.main_file, 0};
  if (const Seen* v = Get(g, "log_level")) {
    std::string l = v->value;
    for (char& c : l) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (l == "warn") l = "warning";
    d->items.push_back(Scalar("log_level", l, v->at));
  }
  if (!o_.pid_file.empty()) {
    d->items.push_back(Scalar("pid_file", Quote(o_.pid_file), main, "-g"));
  } else if (const Seen* v = Get(g, "pid")) {
    d->items.push_back(Scalar("pid_file", Quote(Resolve(v->value, "", "/var")), v->at));
  }
  if (!o_.control_socket.empty()) {
    d->items.push_back(Scalar("control_socket", Quote(o_.control_socket), main));
  }
  if (const Seen* v = Get(g, "log_limit")) d->items.push_back(Scalar("log_limit", v->value, v->at));
  if (const Seen* v = Get(g, "emergency_restart_threshold")) {
    d->items.push_back(Scalar("emergency_restart_threshold", std::to_string(ToInt(v->value)), v->at));
  }
  if (const Seen* v = Get(g, "emergency_restart_interval")) {
    d->items.push_back(Scalar("emergency_restart_interval", Seconds(*ToSeconds(v->value, &unused_)), v->at));
  }
  if (const Seen* v = Get(g, "process_control_timeout")) {
    d->items.push_back(Scalar("process_control_timeout", Seconds(*ToSeconds(v->value, &unused_)), v->at));
  } else {
    d->items.push_back(Scalar("process_control_timeout", "0", main, "php-fpm's default: no limit"));
  }
  if (const Seen* v = Get(g, "daemonize")) result_.daemonize = *ToBool(v->value);
  // php-fpm's 0 is "unset" for these.
  if (const Seen* v = Get(g, "rlimit_files"); v != nullptr && ToInt(v->value) > 0) {
    d->items.push_back(Scalar("rlimit_files", std::to_string(ToInt(v->value)), v->at));
  }
  if (const Seen* v = Get(g, "rlimit_core"); v != nullptr && v->value != "0") {
    d->items.push_back(Scalar("rlimit_core", RlimitCore(v->value), v->at));
  }
  if (const Seen* v = Get(g, "process.max"); v != nullptr && ToInt(v->value) > 0) {
    d->items.push_back(Scalar("process_max", std::to_string(ToInt(v->value)), v->at));
  }
}

// php: as php-fpm would run PHP. No php.ini found (or -n): PHP's built-in
// defaults, not tfpm's own php.ini.
void Importer::GlobalPhp(Section* php) {
  const Location main{doc_.main_file, 0};
  php->items.push_back(o_.php_ini.empty() ? Scalar("ini_file", "\"\"", main, "no php.ini, as php-fpm")
                                          : Scalar("ini_file", Quote(o_.php_ini), main, "php.ini"));
  if (!o_.scan_dir.empty()) php->items.push_back(Scalar("scan_dir", Quote(o_.scan_dir), main, "conf.d"));
  // Debian's php.ini and conf.d name PHP 8.2's extension files.
  php->items.push_back(Scalar("extensions_by_name", "true", main, "extension= lines name extensions of tfpm's PHP"));
  if (!o_.php_defines.empty()) {
    Item i;
    i.key = "ini";
    i.is_map = true;
    i.at = main;
    i.comment = "-d";
    for (const auto& [k, v] : o_.php_defines) i.map.emplace_back(k, v);
    php->items.push_back(std::move(i));
  }
}

}  // namespace tfpm::config::fpm
