// A php-fpm pool's process manager mapped onto tfpm's: pm.max_children
// becomes processes x threads (SplitChildren, or tfpm.processes /
// tfpm.threads), the spare and start counts and the spawn rate are divided
// by the processes, and pm.max_requests applies per thread and per
// process. php-fpm's own pm checks and messages come first.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "config/fpm_import.h"
#include "config/fpm_values.h"

namespace tfpm::config::fpm {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

// A count for the whole pool as a count per process, rounded up.
int PerProcess(const Split& split, int n) {
  return static_cast<int>((static_cast<int64_t>(n) + split.processes - 1) / split.processes);
}

}  // namespace

Status Importer::PoolPm(PoolJob& job) {
  const Values& v = job.v;
  Section* s = job.s;
  const Seen* pm = Get(v, "pm");
  if (pm == nullptr) return Fail(job.ps.at, job.tag + "the process manager is missing (static, dynamic or ondemand)");
  const std::string pm_name = Lower(pm->value);
  const Seen* mc = Get(v, "pm.max_children");
  const int children = mc == nullptr ? 0 : ToInt(mc->value);
  if (children < 1) return Fail(mc ? mc->at : job.ps.at, job.tag + "pm.max_children must be a positive value");
  const Entry* override_processes = nullptr;
  const Entry* override_threads = nullptr;
  for (const Entry& e : job.ps.passthrough) {
    if (e.name == "tfpm.processes") override_processes = &e;
    if (e.name == "tfpm.threads") override_threads = &e;
  }
  const int want_processes = override_processes ? std::max(0, ToInt(override_processes->value)) : 0;
  const int want_threads = override_threads ? std::max(0, ToInt(override_threads->value)) : 0;
  const Split split = SplitChildren(children, want_processes, want_threads);
  job.split = split;
  s->items.push_back(Scalar("pm", pm_name, pm->at));
  // An override is written as given, so tfpm's own checks judge it.
  if (override_processes) {
    s->items.push_back(Scalar("processes", PlainIfSafe(override_processes->value), override_processes->at,
                              "tfpm.processes"));
  } else {
    s->items.push_back(Scalar("processes", std::to_string(split.processes), mc->at,
                              "pm.max_children = " + std::to_string(children)));
  }
  if (override_threads) {
    s->items.push_back(Scalar("threads", PlainIfSafe(override_threads->value), override_threads->at,
                              "tfpm.threads"));
  } else {
    s->items.push_back(Scalar("threads", std::to_string(split.threads), mc->at));
  }
  const int64_t total = static_cast<int64_t>(split.processes) * split.threads;
  if (total != children) {
    AddNote(mc->at, "pm.max_children", mc->value,
            "changed: " + std::to_string(split.processes) + " process(es) x " + std::to_string(split.threads) +
                " threads = " + std::to_string(total) + " PHP threads",
            s);
  }
  job.handled.insert(job.handled.end(), {"pm", "pm.max_children"});
  Status st = pm_name == "dynamic" ? PmDynamic(job, children) : PmOther(job, pm_name);
  if (!st.ok()) return st;
  job.handled.insert(job.handled.end(), {"pm.start_servers", "pm.min_spare_servers", "pm.max_spare_servers",
                                         "pm.max_spawn_rate", "pm.process_idle_timeout"});
  PmMaxRequests(job);
  return Status::Ok();
}

// pm = dynamic: php-fpm's spare/start checks, then the counts per process.
Status Importer::PmDynamic(PoolJob& job, int children) {
  const Values& v = job.v;
  const std::string& tag = job.tag;
  const Seen* mins = Get(v, "pm.min_spare_servers");
  const Seen* maxs = Get(v, "pm.max_spare_servers");
  const Seen* start = Get(v, "pm.start_servers");
  const int min_spare = mins ? ToInt(mins->value) : 0;
  const int max_spare = maxs ? ToInt(maxs->value) : 0;
  if (min_spare <= 0) {
    return Fail(mins ? mins->at : job.ps.at,
                tag + "pm.min_spare_servers(" + std::to_string(min_spare) + ") must be a positive value");
  }
  if (max_spare <= 0) {
    return Fail(maxs ? maxs->at : job.ps.at,
                tag + "pm.max_spare_servers(" + std::to_string(max_spare) + ") must be a positive value");
  }
  if (min_spare > children || max_spare > children) {
    return Fail(maxs->at, tag + "pm.min_spare_servers(" + std::to_string(min_spare) + ") and pm.max_spare_servers(" +
                              std::to_string(max_spare) + ") cannot be greater than pm.max_children(" +
                              std::to_string(children) + ")");
  }
  if (max_spare < min_spare) {
    return Fail(maxs->at, tag + "pm.max_spare_servers(" + std::to_string(max_spare) +
                              ") must not be less than pm.min_spare_servers(" + std::to_string(min_spare) + ")");
  }
  int start_n = start ? ToInt(start->value) : 0;
  if (start_n <= 0) {
    start_n = min_spare + (max_spare - min_spare) / 2;
  } else if (start_n < min_spare || start_n > max_spare) {
    return Fail(start->at, tag + "pm.start_servers(" + std::to_string(start_n) +
                               ") must not be less than pm.min_spare_servers(" + std::to_string(min_spare) +
                               ") and not greater than pm.max_spare_servers(" + std::to_string(max_spare) + ")");
  }
  const Split& split = job.split;
  const int t_min = std::clamp(PerProcess(split, min_spare), 1, split.threads);
  const int t_max = std::clamp(PerProcess(split, max_spare), t_min, split.threads);
  const int t_start = std::clamp(PerProcess(split, start_n), t_min, t_max);
  Section* s = job.s;
  s->items.push_back(Scalar("min_spare_threads", std::to_string(t_min), mins->at));
  s->items.push_back(Scalar("max_spare_threads", std::to_string(t_max), maxs->at));
  s->items.push_back(Scalar("start_threads", std::to_string(t_start), start ? start->at : job.ps.at));
  if (const Seen* rate = Get(v, "pm.max_spawn_rate")) {
    const int n = ToInt(rate->value);
    if (n < 1) return Fail(rate->at, tag + "pm.max_spawn_rate must be a positive value");
    s->items.push_back(Scalar("max_spawn_rate", std::to_string(std::min(PerProcess(split, n), 1024)), rate->at));
  }
  if (const Seen* it = Get(v, "pm.process_idle_timeout")) {
    s->items.push_back(Scalar("idle_timeout", Seconds(std::max(1L, *ToSeconds(it->value, &unused_))), it->at));
  }
  return Status::Ok();
}

// pm = static or ondemand: the dynamic-only keys get a note; ondemand takes
// pm.process_idle_timeout (php-fpm's default 10s).
Status Importer::PmOther(PoolJob& job, const std::string& pm_name) {
  const Values& v = job.v;
  Section* s = job.s;
  for (std::string_view k : {"pm.start_servers", "pm.min_spare_servers", "pm.max_spare_servers",
                             "pm.max_spawn_rate"}) {
    if (const Seen* x = Get(v, k)) AddNote(x->at, k, x->value, "ignored: only used with pm = dynamic", s);
  }
  if (pm_name == "ondemand") {
    const Seen* it = Get(v, "pm.process_idle_timeout");
    const long secs = it ? *ToSeconds(it->value, &unused_) : 10;
    if (secs < 1) {
      return Fail(it->at, job.tag + "pm.process_idle_timeout(" + std::to_string(secs) + "s) must be greater than 0s");
    }
    s->items.push_back(Scalar("idle_timeout", Seconds(secs), it ? it->at : job.ps.at));
  } else if (const Seen* it = Get(v, "pm.process_idle_timeout")) {
    AddNote(it->at, "pm.process_idle_timeout", it->value, "ignored: only used with pm = ondemand or dynamic", s);
  }
  return Status::Ok();
}

// php-fpm replaces a child (one PHP interpreter, one process) after N
// requests: its interpreter state and whatever leaked outside the Zend
// heap go with it. Here a process holds `threads` interpreters: each
// thread's interpreter is replaced after N (max_requests), and the
// process after N x threads (process_max_requests), as many as its
// threads would have served as that many php-fpm children.
void Importer::PmMaxRequests(PoolJob& job) {
  const int threads = job.split.threads;
  if (const Seen* r = Get(job.v, "pm.max_requests"); r != nullptr && ToInt(r->value) > 0) {
    const int64_t n = ToInt(r->value);
    const int64_t per_process =
        n > std::numeric_limits<int64_t>::max() / threads ? std::numeric_limits<int64_t>::max() : n * threads;
    job.s->items.push_back(Scalar("max_requests", std::to_string(n), r->at));
    job.s->items.push_back(Scalar("process_max_requests", std::to_string(per_process), r->at));
    if (threads > 1) {
      AddNote(r->at, "pm.max_requests", r->value,
              "changed: a process is replaced after " + std::to_string(per_process) + " requests (" +
                  std::to_string(n) + " x " + std::to_string(threads) +
                  " threads, process_max_requests), each thread's interpreter after " + std::to_string(n) +
                  " (max_requests)",
              job.s);
    }
  }
  job.handled.push_back("pm.max_requests");
}

}  // namespace tfpm::config::fpm
