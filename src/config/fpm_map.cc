// Import(): reads every directive of a parsed php-fpm document, checks its
// value as php-fpm does, and hands the sections to the steps that map them
// (fpm_global.cc, fpm_pool.cc, fpm_pm.cc); then the YAML writer
// (fpm_yaml.cc). Also SplitChildren and TranslateYamlError.
#include "config/fpm_map.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>

#include "config/fpm_import.h"
#include "config/fpm_values.h"

namespace tfpm::config::fpm {

const Seen* Get(const Values& v, std::string_view name) {
  auto it = v.find(std::string(name));
  return it == v.end() ? nullptr : &it->second;
}

Result<Imported> Importer::Run() {
  Values global;
  std::vector<Entry> global_passthrough;
  for (const Entry& e : doc_.global) {
    if (Status st = Take(Scope::kGlobal, e, "", &global, nullptr, &global_passthrough); !st.ok()) return st;
  }
  std::vector<PoolState> pools;
  if (Status st = TakePools(&pools); !st.ok()) return st;
  if (pools.empty()) {
    return Status::InvalidArgument("[" + doc_.main_file + "] at least one pool section must be specified in config file");
  }
  Section daemon, php;
  if (Status st = Global(global, global_passthrough, &daemon, &php); !st.ok()) return st;
  std::vector<std::pair<std::string, Section>> out_pools;
  if (Status st = MapPools(pools, &out_pools); !st.ok()) return st;
  YamlWriter(doc_, &result_).Emit(daemon, php, out_pools);
  result_.warnings = doc_.warnings;
  return std::move(result_);
}

Status Importer::TakePools(std::vector<PoolState>* pools) {
  for (const Pool& p : doc_.pools) {
    PoolState ps;
    ps.name = p.name;
    ps.at = p.at;
    for (const Entry& e : p.entries) {
      if (Status st = Take(Scope::kPool, e, p.name, &ps.values, &ps.arrays, &ps.passthrough); !st.ok()) {
        return st;
      }
    }
    pools->push_back(std::move(ps));
  }
  return Status::Ok();
}

// Maps each pool; two pools may not listen on one address (php-fpm's check).
Status Importer::MapPools(std::vector<PoolState>& pools, std::vector<std::pair<std::string, Section>>* out) {
  std::map<std::string, std::string> listens;
  for (PoolState& ps : pools) {
    Section s;
    if (Status st = PoolOut(ps, &s); !st.ok()) return st;
    for (const Item& i : s.items) {
      if (i.key != "listen") continue;
      if (auto it = listens.find(i.scalar); it != listens.end()) {
        return Status::InvalidArgument(Where(i.at) + " [pool " + ps.name +
                                       "] unable to set listen address as it's already used in another pool '" +
                                       it->second + "'");
      }
      listens[i.scalar] = ps.name;
    }
    out->emplace_back(ps.name, std::move(s));
  }
  return Status::Ok();
}

Status Importer::Fail(const Location& at, std::string what) {
  return Status::InvalidArgument(Where(at) + " " + what);
}

void Importer::AddNote(const Location& at, std::string_view directive, std::string_view value,
                       std::string_view what, Section* section) {
  std::string text = Where(at) + " " + std::string(directive) + " = " + std::string(value) + ": " +
                     std::string(what);
  result_.notes.push_back(Note{at, std::string(directive), text});
  section->notes.emplace_back(text, at);
}

// name[key] = value: checked as php-fpm does; flags become 1/0, $pool is
// expanded in the others.
Status Importer::TakeArray(Scope scope, const Entry& e, const std::string& pool,
                           std::vector<std::pair<std::string, Entry>>* arrays) {
  if (scope == Scope::kGlobal) return Fail(e.at, "Array are not allowed in the global section");
  const std::string row = e.name + "[]";
  if (FindRule(Scope::kPool, row) == nullptr) return Fail(e.at, "unknown directive '" + e.name + "'");
  if (e.name == "access.suppress_path") {
    if (!e.key.empty()) return Fail(e.at, "Keys provided to field 'access.suppress_path' are ignored");
    if (e.value.empty() || e.value.front() != '/') {
      return Fail(e.at, "Values provided to field 'access.suppress_path' must begin with '/'");
    }
  } else if (e.key.empty()) {
    return Fail(e.at, "You must provide a key for field '" + e.name + "'");
  }
  if (e.name == "env" && e.value.empty()) return Fail(e.at, "empty value");
  Entry copy = e;
  if (e.name == "php_flag" || e.name == "php_admin_flag") {
    auto b = ToBool(e.value);
    if (!b) {
      return Fail(e.at, "error while parsing '" + e.name + "[" + e.key + "]' : invalid boolean value");
    }
    copy.value = *b ? "1" : "0";
  } else {
    copy.value = ExpandPool(e.value, pool);
  }
  arrays->emplace_back(e.name, std::move(copy));
  return Status::Ok();
}

// One directive: an array entry, a tfpm.X passthrough or a row of the table
// whose value php-fpm would accept.
Status Importer::Take(Scope scope, const Entry& e, const std::string& pool, Values* values,
                      std::vector<std::pair<std::string, Entry>>* arrays, std::vector<Entry>* passthrough) {
  if (e.array) return TakeArray(scope, e, pool, arrays);
  if (e.name.rfind("tfpm.", 0) == 0 && e.name.size() > 5) {
    Entry copy = e;
    copy.value = ExpandPool(e.value, pool);
    passthrough->push_back(std::move(copy));
    return Status::Ok();
  }
  const Rule* rule = nullptr;
  for (const Rule& r : Rules()) {
    if (r.scope == scope && r.kind != ValueKind::kArray && EqualsNoCase(r.directive, e.name)) rule = &r;
  }
  if (rule == nullptr) return Fail(e.at, "unknown entry '" + e.name + "'");
  std::string value = e.value;
  if (rule->kind == ValueKind::kString && value.find("$pool") != std::string::npos) {
    if (scope == Scope::kGlobal) {
      return Fail(e.at, "unable to parse value for entry '" + std::string(rule->directive) +
                            "': Can't use '$pool' when the pool is not defined");
    }
    value = ExpandPool(value, pool);
  }
  if (const char* why = CheckValue(rule->kind, value)) {
    return Fail(e.at, "unable to parse value for entry '" + std::string(rule->directive) + "': " + why);
  }
  (*values)[std::string(rule->directive)] = Seen{value, e.at};
  return Status::Ok();
}

// Unconditional notes for rows that are not honoured.
void Importer::TableNotes(Scope scope, const Values& values, Section* s,
                          const std::vector<std::string_view>& handled) {
  for (const auto& [name, seen] : values) {
    if (std::find(handled.begin(), handled.end(), name) != handled.end()) continue;
    const Rule* r = FindRule(scope, name);
    if (r == nullptr) continue;
    if (r->fate == Fate::kUnsupported) AddNote(seen.at, name, seen.value, "not supported: " + std::string(r->reason), s);
    if (r->fate == Fate::kNotYet) AddNote(seen.at, name, seen.value, "not yet supported: " + std::string(r->reason), s);
    if (r->fate == Fate::kIgnored) AddNote(seen.at, name, seen.value, "ignored: " + std::string(r->reason), s);
  }
}

std::string Importer::Resolve(const std::string& path, const std::string& pool_prefix,
                              std::string_view fallback) const {
  if (path.empty() || path.front() == '/') return path;
  std::string prefix = !pool_prefix.empty() ? pool_prefix
                       : !o_.prefix.empty() ? o_.prefix
                                            : std::string(fallback);
  return prefix + "/" + path;
}

Split SplitChildren(int max_children, int processes, int threads) {
  // 64-bit arithmetic: max_children may be INT_MAX (tfpm's limits then
  // refuse the result with the php-fpm line).
  Split s;
  const int64_t n = std::max(1, max_children);
  auto up = [](int64_t a, int64_t b) { return static_cast<int>(std::min<int64_t>((a + b - 1) / b, INT_MAX)); };
  if (processes > 0 && threads > 0) {
    s.processes = processes;
    s.threads = threads;
  } else if (processes > 0) {
    s.processes = processes;
    s.threads = std::max(1, up(n, processes));
  } else {
    const int64_t per = threads > 0 ? threads : kMaxThreadsPerProcess;
    s.processes = up(n, per);
    s.threads = threads > 0 ? threads : up(n, s.processes);
  }
  return s;
}

Result<Imported> Import(const Document& doc, const ImportOptions& options) {
  Importer importer(doc, options);
  return importer.Run();
}

std::string TranslateYamlError(const Imported& imported, std::string_view source, std::string_view message) {
  // "<source>:<line>: rest"
  if (message.substr(0, source.size()) != source || message.size() <= source.size() + 1 ||
      message[source.size()] != ':') {
    return std::string(message);
  }
  std::string_view rest = message.substr(source.size() + 1);
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::string(message);
  const int line = std::atoi(std::string(rest.substr(0, colon)).c_str());
  if (line < 1 || static_cast<size_t>(line) > imported.yaml_lines.size()) return std::string(message);
  const Location& at = imported.yaml_lines[static_cast<size_t>(line - 1)];
  std::string what(rest.substr(colon + 1));
  while (!what.empty() && what.front() == ' ') what.erase(0, 1);
  if (at.line == 0) return "[" + std::string(source) + "] (imported) " + what;
  return Where(at) + " " + what;
}

}  // namespace tfpm::config::fpm
