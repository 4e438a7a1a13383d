#!/usr/bin/env python3
"""tfpm's test runner: every suite, in every build, with one total.

Suites:
  unit         doctest, no libphp            (build, build-asan, build-tsan)
  sapi         doctest against real libphp   (build, build-asan, build-tsan)
  integration  pytest: real daemon, nginx, DokuWiki, WordPress (build: all tests;
               sanitizer builds: the tests marked `sanitize`)
  fuzz         each libFuzzer target of tests/fuzz for --fuzz-seconds on its
               seeds (tools/fuzz; its own clang build, --fuzz-build), once,
               not per build; one test per target

The last line is "N passed, N failed" from these totals; CI reads it.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SANITIZER_ENV = {
    "address": {
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0",
        "USE_ZEND_ALLOC": "0",  # PHP's allocations through malloc, so ASan checks them
    },
    "thread": {
        "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1:suppressions="
        + os.path.join(ROOT, "tests", "tsan.supp"),
    },
}


def run_doctest(name, binary, env):
    t0 = time.time()
    proc = subprocess.run([binary, "--no-intro=true"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout
    m = re.search(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed", out)
    if not m:
        print(out[-4000:])
        print(f"  {name}: no doctest summary (exit {proc.returncode}): counted as 1 failure")
        return 0, 1, 0
    passed, failed = int(m.group(2)), int(m.group(3))
    if proc.returncode != 0 and failed == 0:
        failed = 1  # crashed after its summary (sanitizer report at exit)
    if failed:
        print(out[-8000:])
    print(f"  {name}: {passed} passed, {failed} failed ({time.time() - t0:.0f} s)")
    return passed, failed, int(m.group(1))


def run_pytest(name, build_dir, env, marker=None, extra=(), ids=None):
    """Runs the integration suite; adds the ids of the tests it ran to `ids`.

    pytest's exit 5 (no tests collected) is a failure unless `extra` narrowed
    the selection (e.g. -k NAME): a suite that silently collects nothing
    (an import error hidden by a marker, a renamed directory) must not pass.
    """
    t0 = time.time()
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as f:
        xml_path = f.name
    cmd = [sys.executable, "-m", "pytest", os.path.join(ROOT, "tests", "integration"),
           "-q", "-p", "no:cacheprovider", f"--junitxml={xml_path}", "-o", "junit_family=xunit2"]
    if marker:
        cmd += ["-m", marker]
    cmd += list(extra)
    env = dict(env, TFPM_BUILD_DIR=build_dir)
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    try:
        suite = ET.parse(xml_path).getroot()
        if suite.tag == "testsuites":
            suite = suite[0]
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        if ids is not None:
            for case in suite.iter("testcase"):
                if case.find("skipped") is None:
                    ids.add(f"{case.get('classname')}::{case.get('name')}")
    except (ET.ParseError, FileNotFoundError, IndexError):
        print(f"  {name}: pytest wrote no report (exit {proc.returncode}): counted as 1 failure")
        return 0, 1, 0
    finally:
        if os.path.exists(xml_path):
            os.unlink(xml_path)
    passed = total - failed - skipped
    if proc.returncode == 5 and not extra:
        print(f"  {name}: pytest collected no tests (exit 5): counted as 1 failure")
        failed = max(failed, 1)
    elif proc.returncode not in (0, 5) and failed == 0:
        failed = 1
    print(f"  {name}: {passed} passed, {failed} failed, {skipped} skipped ({time.time() - t0:.0f} s)")
    return passed, failed, skipped


def run_fuzz(build_dir, seconds):
    """Each fuzz target for `seconds` (tools/fuzz builds build_dir first);
    one test per target: passed unless it found something."""
    t0 = time.time()
    tool = os.path.join(ROOT, "tools", "fuzz")
    listed = subprocess.run([tool, "--list"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    targets = listed.stdout.split()
    if listed.returncode != 0 or not targets:
        print(f"  fuzz: tools/fuzz --list failed (exit {listed.returncode}): counted as 1 failure")
        return 0, 1
    passed = failed = 0
    for target in targets:
        proc = subprocess.run([tool, "--build", build_dir, "--nice", target, str(seconds)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        summary = [l for l in proc.stdout.splitlines() if l.startswith(f"fuzz {target}:")]
        if proc.returncode == 0 and summary:
            passed += 1
        else:
            failed += 1
            print(proc.stdout[-6000:])
        print("  " + (summary[-1] if summary else f"fuzz {target}: no summary (exit {proc.returncode})"))
    print(f"  fuzz: {passed} passed, {failed} failed ({time.time() - t0:.0f} s)")
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--builds", default="build,build-asan:address,build-tsan:thread",
                    help="comma list of DIR[:sanitizer]")
    ap.add_argument("--suites", default="unit,sapi,integration,fuzz")
    ap.add_argument("--fuzz-build", default=os.path.join(ROOT, "build-fuzz"),
                    help="the fuzz build directory (set up by tools/fuzz if missing)")
    ap.add_argument("--fuzz-seconds", type=int, default=12, help="seconds per fuzz target")
    # Anything else goes to pytest (e.g. -k dokuwiki).
    args, pytest_args = ap.parse_known_args()

    passed = failed = skipped = 0
    # Distinct tests over all builds: a doctest binary counts once (its
    # largest run), an integration test once whichever builds ran it.
    doctest_cases = {}
    integration_ids = set()
    for spec in args.builds.split(","):
        build, _, sanitizer = spec.partition(":")
        build_dir = build if os.path.isabs(build) else os.path.join(ROOT, build)
        env = dict(os.environ)
        env.update(SANITIZER_ENV.get(sanitizer, {}))
        print(f"== {build} ({sanitizer or 'no sanitizer'})", flush=True)
        if not os.path.isdir(build_dir):
            print(f"  {build_dir} does not exist: counted as 1 failure")
            failed += 1
            continue
        suites = args.suites.split(",")
        if "unit" in suites:
            p, f, n = run_doctest(f"{build} unit", os.path.join(build_dir, "tests", "unit_tests"), env)
            passed, failed = passed + p, failed + f
            doctest_cases["unit"] = max(doctest_cases.get("unit", 0), n)
        if "sapi" in suites:
            p, f, n = run_doctest(f"{build} sapi", os.path.join(build_dir, "tests", "sapi", "sapi_tests"), env)
            passed, failed = passed + p, failed + f
            doctest_cases["sapi"] = max(doctest_cases.get("sapi", 0), n)
        if "integration" in suites:
            p, f, s = run_pytest(f"{build} integration", build_dir, env,
                                 marker="sanitize" if sanitizer else None, extra=pytest_args,
                                 ids=integration_ids)
            passed, failed, skipped = passed + p, failed + f, skipped + s
    if "fuzz" in args.suites.split(","):
        print("== fuzz (libFuzzer, ASan + UBSan)", flush=True)
        p, f = run_fuzz(args.fuzz_build, args.fuzz_seconds)
        passed, failed = passed + p, failed + f
        doctest_cases["fuzz targets"] = p + f
    distinct = sum(doctest_cases.values()) + len(integration_ids)
    parts = [f"{k} {v}" for k, v in doctest_cases.items()] + [f"integration {len(integration_ids)}"]
    print(f"{distinct} distinct tests ({', '.join(parts)}); {skipped} skipped")
    # CI reads this last line; it is exactly "N passed, N failed".
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
