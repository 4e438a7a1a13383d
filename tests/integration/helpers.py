"""Shared machinery of the integration tests: starting tfpm and nginx, HTTP.

conftest.py turns these into fixtures; test modules import the helpers they
need directly (`from helpers import http_get, ...`).
"""
import atexit
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PHP_DIR = REPO / "tests" / "php"
NGINX_SNIPPET = REPO / "conf" / "nginx" / "tfpm.conf"
BUILD_DIR = Path(os.environ.get("TFPM_BUILD_DIR", str(REPO / "build"))).resolve()
TFPM = BUILD_DIR / "src" / "tfpm"
PM_CTL = BUILD_DIR / "tools" / "pm-ctl"
TSAN_SUPP = HERE / "tsan.supp"


def _detect_sanitizer():
    """"address", "thread" or None, from meson's record of the build dir."""
    try:
        with open(BUILD_DIR / "meson-info" / "intro-buildoptions.json") as f:
            for opt in json.load(f):
                if opt.get("name") == "b_sanitize":
                    value = str(opt.get("value", "none"))
                    if "address" in value:
                        return "address"
                    if "thread" in value:
                        return "thread"
                    return None
    except (OSError, ValueError):
        pass
    name = BUILD_DIR.name
    if "asan" in name:
        return "address"
    if "tsan" in name:
        return "thread"
    return None


SANITIZER = _detect_sanitizer()
# Deadlines and request counts scale with this: sanitizer builds are slower.
SLOW = {None: 1, "address": 3, "thread": 6}[SANITIZER]

# Lines that mean a process crashed or a sanitizer found something. A test
# that kills a worker on purpose produces "exited on signal 9 (SIGKILL)",
# which is deliberately not in this list.
CRASH_PATTERNS = [
    "AddressSanitizer",
    "ThreadSanitizer",
    "LeakSanitizer",
    "UndefinedBehaviorSanitizer",
    "zend_mm_heap corrupted",
    "Segmentation",
    "signal 11",
    "signal 6 ",
    "signal 7 ",
    "SIGSEGV",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGILL",
    "core dumped",
    "double free",
    "free(): invalid",
    "corrupted size",
    "malloc(): ",
    "exited with code 66 ",  # ThreadSanitizer's exit code with halt_on_error
]


def crash_lines(text):
    return [line for line in text.splitlines() if any(p in line for p in CRASH_PATTERNS)]


def php_fixture(case, name="index.php"):
    """Absolute path of tests/php/<case>/<name>."""
    p = PHP_DIR / case / name
    assert p.is_file(), f"missing PHP fixture {p}"
    return str(p)


def stop_process(proc, sig, timeout=10):
    """Sends `sig` to a running `proc`, waits, and kills it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def read_logs(directory, names):
    """The concatenated text of the files `names` in `directory` that exist."""
    out = ""
    for name in names:
        try:
            out += (Path(directory) / name).read_text(errors="replace")
        except OSError:
            pass
    return out


def connects(address):
    """True if a TCP (host, port) or unix socket path accepts a connection."""
    try:
        if isinstance(address, str):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(address)
        else:
            socket.create_connection(address, timeout=1).close()
        return True
    except OSError:
        return False


FPM_BIN = shutil.which("php-fpm8.2") or "/usr/sbin/php-fpm8.2"

# Debian 12's stock php-fpm configuration (package php8.2-fpm).
DEBIAN_FPM = Path("/etc/php/8.2/fpm")
_debian_fpm_copy = None


def debian_fpm_dir():
    """The directory holding Debian's stock php-fpm.conf and pool.d/www.conf:
    /etc/php/8.2/fpm when php8.2-fpm is installed, else the same files
    unpacked from the php8.2-fpm .deb (`apt-get download`, once per run)."""
    global _debian_fpm_copy
    if (DEBIAN_FPM / "php-fpm.conf").is_file() and (DEBIAN_FPM / "pool.d" / "www.conf").is_file():
        return DEBIAN_FPM
    if _debian_fpm_copy is None:
        tmp = Path(tempfile.mkdtemp(prefix="tfpm-it-deb-", dir="/tmp"))
        atexit.register(shutil.rmtree, tmp, True)
        try:
            subprocess.run(["apt-get", "download", "php8.2-fpm"], cwd=tmp, check=True, capture_output=True,
                           timeout=120)
            deb = next(tmp.glob("php8.2-fpm_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp / "root")], check=True, capture_output=True,
                           timeout=60)
        except (OSError, subprocess.SubprocessError, StopIteration) as e:
            raise AssertionError(f"Debian's php-fpm configuration: {DEBIAN_FPM} is missing and the "
                                 f"php8.2-fpm .deb could not be unpacked ({e}); tools/setup installs php8.2-fpm")
        _debian_fpm_copy = tmp / "root" / "etc" / "php" / "8.2" / "fpm"
    return _debian_fpm_copy


def debian_fpm_files(listen="{dir}/www.sock"):
    """Debian's stock php-fpm.conf and pool.d/www.conf, for a test's own
    directory ("{dir}", see TfpmInstance's fpm_config). Only what would
    touch the system or another server is changed, each string asserted to be
    there: the pid file, the error log, the include directory (pool.d) and
    the listen socket. Everything else (user/group www-data, listen.owner/
    group/mode, pm = dynamic with max_children 5, ...) is as shipped."""
    src = debian_fpm_dir()
    conf = (src / "php-fpm.conf").read_text()
    www = (src / "pool.d" / "www.conf").read_text()
    moves = [
        ("conf", "/run/php/php8.2-fpm.pid", "{dir}/php-fpm.pid"),
        ("conf", "/var/log/php8.2-fpm.log", "{dir}/php-fpm.log"),
        ("conf", "/etc/php/8.2/fpm/pool.d/", "{dir}/pool.d/"),
        ("www", "/run/php/php8.2-fpm.sock", listen),
    ]
    for which, old, new in moves:
        if which == "conf":
            assert old in conf, old
            conf = conf.replace(old, new)
        else:
            assert old in www, old
            www = www.replace(old, new)
    return conf, {"pool.d/www.conf": www}


class PhpFpm:
    """Debian's php-fpm 8.2, the yardstick of the differential tests: in the
    foreground (-F) as root (-R) with the generated `conf` (php-fpm.conf
    text, written to `directory`), never the system service. `ini` is the
    php.ini path (None: -n, no php.ini). Waits until `ready()` is true."""

    def __init__(self, directory, conf, ready, ini=None):
        if not os.path.exists(FPM_BIN):
            raise AssertionError(f"{FPM_BIN} is missing: tools/setup installs php8.2-fpm")
        self.dir = Path(directory)
        (self.dir / "php-fpm.conf").write_text(conf)
        self._out = open(self.dir / "php-fpm.stdout", "ab")
        args = [FPM_BIN, "-F", "-R", "-y", str(self.dir / "php-fpm.conf")]
        args += ["-c", str(ini)] if ini else ["-n"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, env={"PATH": os.environ["PATH"]})

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("php-fpm exited:\n" + self.log())
            return ready()

        wait_until(up, 20 * SLOW, what="php-fpm to start")

    def log(self):
        return read_logs(self.dir, ("php-fpm.log", "php-fpm.stdout"))

    def stop(self):
        stop_process(self.proc, signal.SIGQUIT)
        self._out.close()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(predicate, timeout, interval=0.02, what="condition"):
    """Polls predicate() until it returns a truthy value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def _all_traced(pid):
    for task in Path(f"/proc/{pid}/task").iterdir():
        with open(task / "status") as f:
            if any(line.startswith("TracerPid:") and line.split()[1] == "0" for line in f):
                return False
    return True


def syscalls_during(pid, names, load):
    """({name: calls}, strace's summary) of every thread of `pid` while
    load() runs: strace -c attaches first, load() runs once every thread
    is traced."""
    out = subprocess.Popen(["strace", "-f", "-qq", "-c", "-e", "trace=" + ",".join(names), "-p", str(pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: _all_traced(pid), 10 * SLOW, what="strace to attach to every thread")
    try:
        load()
    finally:
        out.send_signal(signal.SIGINT)  # detach and print the summary
        _, err = out.communicate(timeout=30)
    counts = {}
    for name in names:
        m = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?" + name + r"\s*$", err, re.M)
        counts[name] = int(m.group(1)) if m else 0
    return counts, err


# ----------------------------------------------------------------- /proc ---

def proc_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def live_pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


# ----------------------------------------------------------------- YAML ---

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if _PLAIN.fullmatch(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def to_yaml(value, indent=0):
    """Block-style YAML for dicts of dicts/lists/scalars (enough for tfpm)."""
    pad = "  " * indent
    out = []
    for k, v in value.items():
        key = _scalar(k)
        if isinstance(v, dict):
            if v:
                out.append(f"{pad}{key}:")
                out.append(to_yaml(v, indent + 1))
            else:
                out.append(f"{pad}{key}: {{}}")
        elif isinstance(v, (list, tuple)):
            out.append(f"{pad}{key}: [{', '.join(_scalar(x) for x in v)}]")
        else:
            out.append(f"{pad}{key}: {_scalar(v)}")
    return "\n".join(line for line in out if line)


# ----------------------------------------------------------------- tfpm ---

# The suite runs as root; its pools name no `user` (their files live in
# root's temporary directories), so tfpm needs --allow-root to start them
# (docs/security.md "Isolation"). Tests of the isolation itself name users.
ALLOW_ROOT = ["--allow-root"] if os.geteuid() == 0 else []

# Tfpm(ini_file=BUILTIN): no ini_file key, tfpm's compiled-in php.ini.
BUILTIN = object()

# php.ini-production's error handling.
PRODUCTION_INI = {
    "display_errors": "0",
    "display_startup_errors": "0",
    "log_errors": "1",
    "error_reporting": "E_ALL",
    "html_errors": "0",
    "output_buffering": "4096",
}

DAEMON_KEYS = {"error_log", "log_level", "pid_file", "control_socket", "process_control_timeout",
               "control_socket_mode", "control_socket_owner", "control_socket_group",
               "emergency_restart_threshold", "emergency_restart_interval", "log_limit",
               "startup_probation", "rlimit_files", "control_max_clients", "control_timeout", "drain_delay"}


def _merge_options(existing, wanted):
    """"a=1:b=2" options: keeps what the caller (tests/run.py) set, adds the
    keys it did not set."""
    have = dict(kv.split("=", 1) for kv in existing.split(":") if "=" in kv)
    for kv in wanted.split(":"):
        k, v = kv.split("=", 1)
        have.setdefault(k, v)
    return ":".join(f"{k}={v}" for k, v in have.items())


def _tsan_suppressions():
    """One file with the suppressions the caller named (tests/run.py points
    at tests/tsan.supp) followed by ours (tests/integration/tsan.supp):
    TSAN_OPTIONS takes a single suppressions file."""
    texts = []
    given = dict(kv.split("=", 1) for kv in os.environ.get("TSAN_OPTIONS", "").split(":")
                 if "=" in kv).get("suppressions")
    for path in (given, str(TSAN_SUPP)):
        if path and os.path.isfile(path):
            texts.append(f"# --- {path}\n" + Path(path).read_text())
    combined = Path(tempfile.gettempdir()) / f"tfpm-tsan-{os.getpid()}.supp"
    if not combined.exists():
        combined.write_text("\n".join(texts))
        atexit.register(lambda: combined.unlink(missing_ok=True))
    return str(combined)


def sanitizer_env():
    env = {}
    if SANITIZER == "address":
        env["ASAN_OPTIONS"] = _merge_options(os.environ.get("ASAN_OPTIONS", ""),
                                             "detect_leaks=0:abort_on_error=1")
        env["USE_ZEND_ALLOC"] = "0"
    elif SANITIZER == "thread":
        opts = _merge_options(os.environ.get("TSAN_OPTIONS", ""),
                              "halt_on_error=1:second_deadlock_stack=1")
        opts = ":".join(kv for kv in opts.split(":") if not kv.startswith("suppressions="))
        env["TSAN_OPTIONS"] = opts + ":suppressions=" + _tsan_suppressions()
        env["USE_ZEND_ALLOC"] = "0"
    return env


def _replace_dir(value, directory):
    if isinstance(value, str):
        return value.replace("{dir}", directory)
    if isinstance(value, dict):
        return {k: _replace_dir(v, directory) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_dir(v, directory) for v in value]
    return value


class Tfpm:
    """One tfpm daemon (supervisor + workers) in its own temporary directory.

    Overrides: any pool key (processes, threads, php_value, ...) applies to
    the pool "www"; `ini` is merged into php.ini; `daemon` (or a bare daemon
    key such as process_control_timeout) into the daemon section; `pools`
    adds or replaces whole pools. In every string value "{dir}" stands for
    the instance's directory (e.g. listen: "{dir}/other.sock"). `wait_ready=False`
    returns without waiting; `process_env` adds environment variables;
    `process_prefix` (a command list) runs in front of tfpm, with `pass_fds`.
    `ini_file` loads that php.ini (php.ini_file) and replaces the harness's
    production defaults (PRODUCTION_INI): only `ini` is applied on top of it.
    Without `ini_file` the config says `ini_file: ""` (PHP's built-in
    defaults + PRODUCTION_INI), unless `ini_file=BUILTIN`: no key, so tfpm's
    compiled-in php.ini (conf/php.ini). `scan_dir` sets php.scan_dir. `run_as` (a
    user name) runs the whole daemon as that user instead of root; its
    directory is given to that user.
    """

    def __init__(self, **overrides):
        self.dir = Path(tempfile.mkdtemp(prefix="tfpm-it-", dir="/tmp"))
        self.sock = str(self.dir / "www.sock")
        self.ctl_sock = str(self.dir / "ctl.sock")
        self.config_path = self.dir / "tfpm.yaml"
        self.log_path = self.dir / "tfpm.log"
        self.proc = None
        self._log = None
        self.returncode = None
        self.allowed_crash_patterns = []  # log lines a test expects (see close())
        overrides = dict(overrides)
        wait_ready = overrides.pop("wait_ready", True)
        extra_env = overrides.pop("process_env", {})
        self._popen_user = {}
        run_as = overrides.pop("run_as", None)
        # allow_root=False: start without --allow-root, as an operator would.
        self.allow_root = overrides.pop("allow_root", True)
        # Socket activation tests: a command in front of tfpm (e.g. a shell
        # that sets LISTEN_PID) and descriptors to pass to it.
        self.process_prefix = list(overrides.pop("process_prefix", []))
        self.pass_fds = tuple(overrides.pop("pass_fds", ()))
        # php-fpm compatibility mode: `fpm_config` is php-fpm.conf text
        # ("{dir}" = this directory), run as `tfpm -F -y php-fpm.conf
        # <fpm_args>` with the control socket from $TFPM_CONTROL_SOCKET;
        # `expected_processes` is what wait_ready() waits for.
        self.command = None
        fpm_config = overrides.pop("fpm_config", None)
        if fpm_config is not None:
            # `fpm_files`: more files (pool.d/www.conf, php.ini, ...) by
            # relative path, written before the start.
            for rel, text in overrides.pop("fpm_files", {}).items():
                target = self.dir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text.replace("{dir}", str(self.dir)))
            # Debian's www.conf runs PHP as www-data, which must read the
            # php.ini here: the directory is traversable (names only).
            self.dir.chmod(0o711)
            fpm_path = self.dir / "php-fpm.conf"
            fpm_path.write_text(fpm_config.replace("{dir}", str(self.dir)))
            self.config_path = fpm_path
            self.config = None
            self.expected_processes = overrides.pop("expected_processes", 1)
            # `fpm_options`: how tfpm is told it is php-fpm's file (Debian's
            # ExecStart says --nodaemonize --fpm-config).
            fpm_options = overrides.pop("fpm_options", ["-F", "-y"])
            self.command = [str(TFPM), *fpm_options, str(fpm_path),
                            *[a.replace("{dir}", str(self.dir)) for a in overrides.pop("fpm_args", [])]]
            assert not overrides, f"unused overrides with fpm_config: {overrides}"
            self.env = dict(os.environ)
            self.env.update(sanitizer_env())
            self.env["TFPM_CONTROL_SOCKET"] = self.ctl_sock
            self.env.update(extra_env)
            self.start(wait_ready=wait_ready)
            return

        # startup_probation: shorter than the default 1 s, so that the many
        # daemons the suite starts are ready sooner; test_crash_loop.py
        # tests the default.
        daemon = {"error_log": "stderr", "log_level": "notice", "control_socket": self.ctl_sock,
                  "process_control_timeout": "10s", "startup_probation": "300ms"}
        daemon.update(overrides.pop("daemon", {}))
        for k in list(overrides):
            if k in DAEMON_KEYS:
                daemon[k] = overrides.pop(k)
        ini_file = overrides.pop("ini_file", None)
        scan_dir = overrides.pop("scan_dir", None)
        if ini_file:
            ini = {}
        else:
            ini = dict(PRODUCTION_INI)
            ini["session.save_path"] = str(self.dir / "sessions")
            ini["upload_tmp_dir"] = str(self.dir / "uploads")
            ini["sys_temp_dir"] = str(self.dir)
        ini.update(overrides.pop("ini", {}))
        (self.dir / "sessions").mkdir()
        (self.dir / "uploads").mkdir()
        pools = overrides.pop("pools", None)
        www = {"listen": self.sock, "processes": 2, "threads": 4}
        www.update(overrides)
        env = dict(www.get("env", {}))
        if SANITIZER:
            # clear_env empties the workers' environment before PHP starts
            # its per-thread allocators: pass USE_ZEND_ALLOC through the pool.
            env["USE_ZEND_ALLOC"] = "0"
        if env:
            www["env"] = env
        all_pools = {"www": www}
        if pools:
            all_pools.update(pools)
        php = {"ini": ini} if ini else {}
        if ini_file is None:
            php["ini_file"] = ""
        elif ini_file is not BUILTIN:
            php["ini_file"] = str(ini_file)
        if scan_dir is not None:
            php["scan_dir"] = str(scan_dir)
        config = {"daemon": daemon, "php": php, "pools": all_pools}
        if not php:
            del config["php"]
        self.config = _replace_dir(config, str(self.dir))
        self.config_path.write_text(to_yaml(self.config) + "\n")
        # pm dynamic/ondemand pools start with one process.
        self.expected_processes = sum(int(p.get("processes", 1)) if p.get("pm", "static") == "static" else 1
                                      for p in all_pools.values())
        self.env = dict(os.environ)
        self.env.update(sanitizer_env())
        # The workers' stderr is /dev/null (without catch_workers_output):
        # sanitizer reports go to files here, which log_text() includes.
        for var in ("ASAN_OPTIONS", "TSAN_OPTIONS"):
            if SANITIZER and var in self.env:
                self.env[var] += f":log_path={self.dir}/sanitizer"
        self.env.update(extra_env)
        if run_as:
            pw = pwd.getpwnam(run_as)
            for path in [self.dir, *self.dir.rglob("*")]:
                os.chown(path, pw.pw_uid, pw.pw_gid)
            self._popen_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.start(wait_ready=wait_ready)

    # -- lifecycle --------------------------------------------------------

    def start(self, wait_ready=True):
        self._log = open(self.log_path, "ab")
        command = self.command or [str(TFPM), "--config", str(self.config_path), "--foreground",
                                   *(ALLOW_ROOT if self.allow_root else [])]
        self.proc = subprocess.Popen(
            self.process_prefix + command,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=self.env, cwd=str(self.dir), pass_fds=self.pass_fds, **self._popen_user)
        self.pid = self.proc.pid
        if wait_ready:
            self.wait_ready()

    def restart(self, wait_ready=True):
        """Starts the daemon again, with the same config, after it exited
        (stopped or killed): a host coming back."""
        assert self.proc.poll() is not None, "restart() of a tfpm that is still running"
        if self._log:
            self._log.close()
            self._log = None
        self.start(wait_ready=wait_ready)

    def wait_ready(self, timeout=None):
        timeout = timeout or 20 * SLOW

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"tfpm exited with {self.proc.returncode} during startup:\n"
                                     + self.log_text())
            st = self.try_status()
            if not st:
                return False
            procs = [p for pool in st["pools"] for p in pool["processes"]]
            if len(procs) != self.expected_processes:
                return False
            if any(p["state"] != "ready" for p in procs):
                return False
            # The daemon accepted its first generation (startup_probation):
            # a worker that dies from now on is replaced, not a failed start.
            if not st.get("ready", True):
                return False
            # Every thread has its interpreter (not "Starting" any more).
            return all(t["state"] != "Starting" for p in procs for t in p["threads"])

        wait_until(ready, timeout, interval=0.05, what="tfpm to be ready\n" + self.log_text())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGQUIT, timeout=None):
        """Sends `sig` and waits for the daemon to exit; returns its exit code."""
        timeout = timeout or 20 * SLOW
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"tfpm did not exit within {timeout}s of signal {sig}")
        return self.returncode

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def worker_pids(self):
        """Live tfpm-worker processes of this daemon: its children, plus any
        orphan whose command line names this instance's config."""
        marker = str(self.config_path)
        out = []
        for pid in live_pids():
            if pid == self.pid:
                continue
            cmd = proc_cmdline(pid)
            if "tfpm-worker" not in cmd:
                continue
            if (proc_ppid(pid) == self.pid or marker in cmd) and proc_alive(pid):
                out.append(pid)
        return sorted(out)

    def close(self):
        """Teardown: stop (SIGQUIT, then SIGKILL), then check that nothing is
        left behind and that the log shows no crash. Returns problems found."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15 * SLOW)
            except subprocess.TimeoutExpired:
                problems.append("tfpm did not stop on SIGQUIT; killed")
                self.proc.kill()
                self.proc.wait(10)
        try:
            wait_until(lambda: not self.worker_pids(), 5 * SLOW, interval=0.05)
        except AssertionError:
            left = self.worker_pids()
            problems.append(f"tfpm-worker processes left behind: {left}")
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self._log:
            self._log.close()
            self._log = None
        bad = [line for line in crash_lines(self.log_text())
               if not any(p in line for p in self.allowed_crash_patterns)]
        if bad:
            problems.append("crash lines in the tfpm log:\n" + "\n".join(bad[:40]))
        return problems

    def cleanup_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- observation ------------------------------------------------------

    def log_text(self):
        """The daemon's log, followed by any sanitizer report files."""
        parts = []
        for path in [self.log_path] + sorted(self.dir.glob("sanitizer*")):
            try:
                parts.append(path.read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)

    def ctl(self, *args, check=True, timeout=None):
        r = subprocess.run([str(PM_CTL), "--socket", self.ctl_sock, *args], capture_output=True,
                           text=True, timeout=timeout or 10 * SLOW)
        if check and r.returncode != 0:
            raise AssertionError(f"pm-ctl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def try_status(self):
        if not os.path.exists(self.ctl_sock):
            return None
        r = self.ctl("status", "--json", check=False)
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def write_config(self):
        """Writes self.config (after a test changed it) to the config file,
        e.g. before `pm-ctl reload`."""
        self.config_path.write_text(to_yaml(_replace_dir(self.config, str(self.dir))) + "\n")
        self.expected_processes = sum(int(p.get("processes", 1)) for p in self.config["pools"].values())

    def served(self):
        return sum(pool["requests"] for pool in self.status()["pools"])


# ---------------------------------------------------------------- nginx ---

NGINX_CONF = """\
# Test nginx in front of tfpm; generated by tests/integration/helpers.py.
user root root;
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    fastcgi_temp_path {prefix}/fastcgi_temp;
    proxy_temp_path {prefix}/proxy_temp;
    uwsgi_temp_path {prefix}/uwsgi_temp;
    scgi_temp_path {prefix}/scgi_temp;
    default_type application/octet-stream;
    sendfile off;
    keepalive_timeout 30;
{http_extra}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        index index.php;
        client_max_body_size 64m;

{extra}

{snippet}
    }}
}}
"""


def nginx_snippet(tfpm_sock):
    """conf/nginx/tfpm.conf with its socket path replaced by ours."""
    text = NGINX_SNIPPET.read_text()
    replaced, n = re.subn(r"fastcgi_pass\s+unix:[^;]+;", f"fastcgi_pass unix:{tfpm_sock};", text)
    assert n == 1, "conf/nginx/tfpm.conf must contain exactly one 'fastcgi_pass unix:...;'"
    return replaced


class NginxURL(str):
    """The base URL ("http://127.0.0.1:PORT"), with .nginx the Nginx object."""
    nginx = None


class Nginx:
    """nginx in front of one tfpm socket. With upstream_keepalive=N, nginx
    keeps up to N idle FastCGI connections to tfpm (an `upstream` block with
    `keepalive N` and `fastcgi_keep_conn on`), as a busy site would.
    fastcgi_params names a file the snippet includes instead of
    /etc/nginx/fastcgi_params. Several hosts: `upstream_servers` lists the
    upstream's `server` lines (e.g. "10.0.0.1:9000 max_fails=1"; needs
    upstream_keepalive), `pass_extra` adds directives next to its
    fastcgi_pass, `http_extra` to the http block (relative paths are under
    the instance's directory)."""

    def __init__(self, tfpm_sock, root, extra_location="", upstream_keepalive=0,
                 fastcgi_params=None, upstream_servers=None, pass_extra="", http_extra=""):
        assert not upstream_servers or upstream_keepalive, "upstream_servers needs upstream_keepalive"
        tfpm_sock = tfpm_sock or "/nonexistent/tfpm.sock"  # replaced by the upstream below
        self.dir = Path(tempfile.mkdtemp(prefix="tfpm-it-nginx-", dir="/tmp"))
        self.proc = None
        self._log = None
        for attempt in range(5):
            self.port = free_port()
            snippet = nginx_snippet(tfpm_sock)
            if fastcgi_params:  # a replacement for /etc/nginx/fastcgi_params
                snippet, n = re.subn(r"include\s+/etc/nginx/fastcgi_params;",
                                     f"include {fastcgi_params};", snippet)
                assert n == 1, "conf/nginx/tfpm.conf must include /etc/nginx/fastcgi_params once"
            http_block = http_extra
            if upstream_keepalive:
                servers = upstream_servers or [f"unix:{tfpm_sock}"]
                lines = "".join(f"        server {server};\n" for server in servers)
                http_block += (f"    upstream tfpm_backend {{\n{lines}"
                               f"        keepalive {upstream_keepalive};\n    }}\n")
                snippet = snippet.replace(f"fastcgi_pass unix:{tfpm_sock};",
                                          f"fastcgi_pass tfpm_backend;\n    fastcgi_keep_conn on;\n{pass_extra}")
            conf = NGINX_CONF.format(prefix=self.dir, port=self.port, root=root, extra=extra_location,
                                     snippet=snippet, http_extra=http_block)
            (self.dir / "nginx.conf").write_text(conf)
            self._log = open(self.dir / "stderr.log", "ab")
            self.proc = subprocess.Popen(
                ["nginx", "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c",
                 str(self.dir / "nginx.conf"), "-g", "daemon off; master_process on;"],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
            if self._wait_listening():
                break
            self.stop()
            if "Address already in use" not in self.error_log():
                raise AssertionError("nginx did not start:\n" + self.error_log())
        else:
            raise AssertionError("nginx could not find a free port")
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def error_log(self):
        return read_logs(self.dir, ("error.log", "stderr.log"))

    def stop(self):
        stop_process(self.proc, signal.SIGQUIT)
        if self._log:
            self._log.close()
            self._log = None

    def cleanup_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)


HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", ""))

HAPROXY_CONF = """\
# Test HAProxy in front of tfpm hosts; generated by tests/integration/helpers.py.
global
    log stdout format raw local0 info
    maxconn 4096
    stats socket {dir}/admin.sock mode 600 level admin

defaults
    mode http
    log global
    log-format "%ST %s %rc %Tr %{{+Q}}r"
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check 1s
{defaults_extra}

frontend web
    bind 127.0.0.1:{port}
    default_backend tfpm

backend tfpm
    use-fcgi-app tfpm
{backend_extra}
{servers}

fcgi-app tfpm
    docroot {root}
    index index.php
    path-info ^(/.+\\.php)(/.*)?$
    option keep-conn
"""


class Haproxy:
    """HAProxy (Debian's haproxy, 2.6) in the foreground, speaking FastCGI
    to the tfpm `servers` (["name address:port [options]"]) through one
    fcgi-app whose docroot is `root`. `defaults_extra` and `backend_extra`
    are config lines for those sections. Its log (the format in
    HAPROXY_CONF) is in log(); the URL is .url; command() speaks to its
    runtime API (level admin)."""

    def __init__(self, servers, root, backend_extra="", defaults_extra=""):
        if not HAPROXY:
            raise AssertionError("haproxy is missing: tools/setup installs it (TFPM_PACKAGES)")
        self.dir = Path(tempfile.mkdtemp(prefix="tfpm-it-haproxy-", dir="/tmp"))
        self.proc = None
        self._log = None
        for attempt in range(5):
            self.port = free_port()
            conf = HAPROXY_CONF.format(port=self.port, root=root, backend_extra=backend_extra, dir=self.dir,
                                       defaults_extra=defaults_extra,
                                       servers="\n".join(f"    server {s}" for s in servers))
            path = self.dir / "haproxy.cfg"
            path.write_text(conf)
            check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(path)], capture_output=True, text=True)
            if check.returncode != 0:
                raise AssertionError(f"haproxy -c refused {path}:\n{check.stdout}{check.stderr}\n{conf}")
            self._log = open(self.dir / "haproxy.log", "ab")
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(path)], stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT)
            if Nginx._wait_listening(self):
                break
            self.stop()
            if "Address already in use" not in self.log():
                raise AssertionError("haproxy did not start:\n" + self.log())
        else:
            raise AssertionError("haproxy could not find a free port")
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        return read_logs(self.dir, ("haproxy.log",))

    def command(self, line):
        """One runtime API command ("show stat", "set server b/s state drain");
        returns the answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(self.dir / "admin.sock"))
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode(errors="replace")

    def server_stat(self, backend, server, field):
        """A field of `show stat` (e.g. "scur", "status") for one server."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == backend and row.get("svname") == server:
                return row[field]
        raise AssertionError(f"no server {backend}/{server} in show stat")

    error_log = log
    cleanup_dir = Nginx.cleanup_dir

    def stop(self):
        stop_process(self.proc, signal.SIGUSR1)  # soft stop: finish what is in flight
        if self._log:
            self._log.close()
            self._log = None


APACHE_SNIPPET = REPO / "conf" / "apache" / "tfpm.conf"
APACHE_MODULES = Path("/usr/lib/apache2/modules")

APACHE_CONF = """\
# Test Apache in front of tfpm; generated by tests/integration/helpers.py.
ServerRoot "{prefix}"
DefaultRuntimeDir "{prefix}"
PidFile "{prefix}/apache2.pid"
Listen 127.0.0.1:{port}
ServerName localhost
User {user}
Group {group}
ErrorLog "{prefix}/error.log"
LogLevel warn
TypesConfig /etc/mime.types
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule dir_module {modules}/mod_dir.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_fcgi_module {modules}/mod_proxy_fcgi.so
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog "{prefix}/access.log" common
DocumentRoot "{root}"
DirectoryIndex index.php
<Directory "{root}">
    Require all granted
    AllowOverride None
</Directory>

{snippet}
"""


def apache_snippet(tfpm_sock):
    """conf/apache/tfpm.conf with its socket path replaced by ours."""
    text = APACHE_SNIPPET.read_text()
    replaced, n = re.subn(r'"proxy:unix:[^|"]+\|', f'"proxy:unix:{tfpm_sock}|', text)
    assert n == 1, "conf/apache/tfpm.conf must contain exactly one SetHandler \"proxy:unix:...|...\""
    return replaced


class Apache:
    """Apache 2.4 (Debian's apache2, mpm_event + mod_proxy_fcgi) in the
    foreground with a generated config. Its children run as `user`, which
    must be able to reach the tfpm socket and read the docroot."""

    def __init__(self, tfpm_sock, root, user="www-data", group="www-data"):
        self.dir = Path(tempfile.mkdtemp(prefix="tfpm-it-apache-", dir="/tmp"))
        self.proc = None
        self._log = None
        for attempt in range(5):
            self.port = free_port()
            conf = APACHE_CONF.format(prefix=self.dir, port=self.port, root=root, user=user,
                                      group=group, modules=APACHE_MODULES,
                                      snippet=apache_snippet(tfpm_sock))
            (self.dir / "apache2.conf").write_text(conf)
            self._log = open(self.dir / "stderr.log", "ab")
            self.proc = subprocess.Popen(
                ["apache2", "-f", str(self.dir / "apache2.conf"), "-DFOREGROUND"],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
            if self._wait_listening():
                break
            self.stop()
            if "Address already in use" not in self.error_log():
                raise AssertionError("apache2 did not start:\n" + self.error_log())
        else:
            raise AssertionError("apache2 could not find a free port")
        self.url = f"http://127.0.0.1:{self.port}"

    _wait_listening = Nginx._wait_listening
    error_log = Nginx.error_log
    cleanup_dir = Nginx.cleanup_dir

    def stop(self):
        stop_process(self.proc, signal.SIGTERM)  # apache2: TERM = stop now
        if self._log:
            self._log.close()
            self._log = None


# --------------------------------------------------------------- MariaDB ---

MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", ""))
MARIADB_INSTALL_DB = shutil.which("mariadb-install-db", path="/usr/bin:/usr/sbin")
MARIADB_CLIENT = shutil.which("mariadb", path="/usr/bin:/usr/sbin")


class MariaDB:
    """A private MariaDB server (Debian's mariadb-server binaries, never the
    system service): a fresh data directory under /tmp, a Unix socket there,
    no TCP port. The root account authenticates by socket peer credentials,
    so only this machine's root can administer it; applications get their
    own database and password user from create_database()."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="tfpm-it-mariadb-", dir="/tmp"))
        self.datadir = self.dir / "data"
        self.sock = str(self.dir / "mysql.sock")
        self.proc = None
        self._log = open(self.dir / "stderr.log", "ab")
        subprocess.run(
            [MARIADB_INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}", "--user=root",
             "--auth-root-authentication-method=socket", "--skip-test-db"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, check=True,
            timeout=120 * SLOW)
        self.proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.sock}",
             "--skip-networking", "--user=root", f"--pid-file={self.dir}/mariadbd.pid",
             f"--log-error={self.dir}/error.log", "--innodb-buffer-pool-size=32M"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._answers, 60 * SLOW, interval=0.05, what="mariadbd to accept connections")
        except AssertionError:
            self.stop()
            raise AssertionError("mariadbd did not start:\n" + self.error_log())

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"mariadbd exited with {self.proc.returncode}:\n" + self.error_log())
        if not os.path.exists(self.sock):
            return False
        return subprocess.run([MARIADB_CLIENT, "--no-defaults", "-S", self.sock, "-u", "root",
                               "-e", "SELECT 1"], capture_output=True).returncode == 0

    def sql(self, statements, database=None):
        """Runs SQL as root; returns the tab-separated rows (no header)."""
        cmd = [MARIADB_CLIENT, "--no-defaults", "-S", self.sock, "-u", "root", "-N", "-B"]
        if database:
            cmd.append(database)
        r = subprocess.run(cmd, input=statements, capture_output=True, text=True, timeout=60 * SLOW)
        assert r.returncode == 0, f"mariadb failed: {r.stderr}\n{statements}"
        return [line.split("\t") for line in r.stdout.splitlines()]

    def create_database(self, name=None, user=None, password=None):
        """A new database and a user with all rights on it, reachable through
        self.sock. Returns (database, user, password)."""
        name = name or "db_" + uuid.uuid4().hex[:12]
        user = user or "u_" + uuid.uuid4().hex[:12]
        password = password or uuid.uuid4().hex
        self.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4;\n"
                 f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}';\n"
                 f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'localhost';\n")
        return name, user, password

    def error_log(self):
        return read_logs(self.dir, ("error.log", "stderr.log"))

    def stop(self):
        stop_process(self.proc, signal.SIGTERM, timeout=60 * SLOW)  # SIGTERM: clean shutdown
        if self._log:
            self._log.close()
            self._log = None

    def cleanup_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ----------------------------------------------------------------- HTTP ---

class HttpResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.header_list = headers  # [(name, value)], names as sent
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def get_all(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"<HttpResponse {self.status} {self.body[:120]!r}>"


def http_request(base_url, path, method="GET", body=None, headers=None, timeout=None):
    """One HTTP/1.1 request on a fresh connection; never follows redirects."""
    timeout = timeout or 60 * SLOW
    host, port = base_url.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return HttpResponse(resp.status, resp.getheaders(), data)
    finally:
        conn.close()


def http_get(base_url, path, **kw):
    return http_request(base_url, path, "GET", **kw)


def multipart(fields, files):
    """fields: {name: str}; files: {name: (filename, bytes, content_type)}."""
    boundary = "----tfpm" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + value.encode() + b"\r\n")
    for name, (filename, data, ctype) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def sha256(data):
    return hashlib.sha256(data).hexdigest()
