"""conf/grafana-dashboard.json and conf/prometheus.yml against a real tfpm: every
metric name the dashboard's PromQL uses is in a real ?openmetrics scrape,
with the labels it matches on, rate()/increase() only on counters and
histogram_quantile() only on a histogram's buckets by `le`; the labels it
groups by are the scrape's or the scrape config's (docs/metrics.md)."""
import json
import re

import pytest
import yaml

import fcgi
from helpers import REPO, php_fixture

DASHBOARD = REPO / "conf" / "grafana-dashboard.json"
SCRAPE_CONFIG = REPO / "conf" / "prometheus.yml"
SLEEP = php_fixture("sleep")
STATUS_CODE = php_fixture("status")

# Labels Prometheus adds to every series of a target: `instance`, `job`,
# and the target labels conf/prometheus.yml sets (read from it below).
PROMETHEUS_LABELS = {"instance", "job"}
FUNCTIONS = {
    "rate", "irate", "increase", "sum", "max", "min", "avg", "count", "histogram_quantile", "label_values",
    "clamp_min", "topk", "abs", "delta", "deriv", "avg_over_time", "max_over_time",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset"}
COUNTER_FUNCTIONS = {"rate", "irate", "increase"}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')


class Scrape:
    """Sample names with their label names, and each family's type."""

    def __init__(self, text):
        self.labels = {}  # sample name -> set of label names
        self.types = {}   # family -> type
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, family, kind = line.split(" ", 3)
                self.types[family] = kind
                continue
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            assert m, f"not an OpenMetrics sample: {line!r}"
            self.labels.setdefault(m[1], set()).update(LABEL.findall(m[2] or ""))

    def kind(self, sample):
        """The type of a sample name's family (a histogram's _bucket is "histogram")."""
        for suffix in ("", "_total", "_bucket", "_sum", "_count", "_created"):
            if suffix and not sample.endswith(suffix):
                continue
            family = sample[: len(sample) - len(suffix)] if suffix else sample
            if family in self.types:
                return self.types[family]
        return None


def promql_uses(expr):
    """What a PromQL expression (with Grafana's $variables) uses: a list of
    (metric, matcher label names, enclosing function) and the set of labels
    in by/without/on/ignoring clauses. Unknown functions are an error."""
    assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), f"unbalanced: {expr}"
    text = re.sub(r"\[[^\]]*\]", " ", expr)  # range selectors ([5m], [$__rate_interval])
    uses, grouping = [], set()
    stack = []  # function names of the open parentheses
    i = 0
    token = re.compile(r'\s+|"(?:[^"\\]|\\.)*"|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[a-zA-Z_:][a-zA-Z0-9_:]*|\$\w+|.')
    pending = None  # the identifier just read
    while i < len(text):
        m = token.match(text, i)
        t = m[0]
        i = m.end()
        if t.isspace():
            continue
        if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", t):
            if t in ("by", "without", "on", "ignoring", "group_left", "group_right"):
                close = text.index(")", i)
                inner = text[text.index("(", i) + 1: close]
                grouping.update(x.strip() for x in inner.split(",") if x.strip())
                i = close + 1
                continue
            if t in KEYWORDS:
                continue
            rest = text[i:].lstrip()
            clause = re.match(r"(by|without)\s*\(([^)]*)\)\s*", rest)
            if t in FUNCTIONS and clause:
                # sum by (pool) (...): the clause, then the aggregation's argument.
                grouping.update(x.strip() for x in clause[2].split(",") if x.strip())
                i = len(text) - len(rest) + clause.end()
                rest = text[i:]
            if rest.startswith("("):
                assert t in FUNCTIONS, f"unknown function {t} in {expr}"
                stack.append(t)
                i = text.index("(", i) + 1
                continue
            labels = set()
            if rest.startswith("{"):
                start = text.index("{", i)
                close = text.index("}", start)
                labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"', text[start + 1: close]))
                i = close + 1
            uses.append((t, labels, stack[-1] if stack else None))
            continue
        if t == "(":
            stack.append(None)
        elif t == ")":
            stack.pop()
    return uses, grouping


def dashboard_exprs(dashboard):
    exprs = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                exprs.append((p["title"], t["expr"]))
            walk(p.get("panels", []))

    walk(dashboard["panels"])
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(("$" + var["name"], var["query"]["query"]))
    return exprs


def problems(dashboard, scrape, target_labels):
    """Every way the dashboard disagrees with the scrape; [] when it does not."""
    found = []
    known_labels = PROMETHEUS_LABELS | target_labels
    for title, expr in dashboard_exprs(dashboard):
        # label_values(metric{...}, label): the label must exist too.
        lv = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", expr)
        if lv:
            expr, wanted = lv[1], lv[2]
            if wanted not in known_labels:
                found.append(f"{title}: label_values of unknown label {wanted}")
        uses, grouping = promql_uses(expr)
        if not uses:
            found.append(f"{title}: no metric in {expr}")
        for metric, labels, function in uses:
            if metric not in scrape.labels:
                found.append(f"{title}: {metric} is not in the scrape")
                continue
            for label in labels - scrape.labels[metric] - known_labels:
                found.append(f"{title}: {metric} has no label {label}")
            kind = scrape.kind(metric)
            if function in COUNTER_FUNCTIONS and not (kind == "counter" or (kind == "histogram"
                                                                           and metric.endswith(("_bucket", "_sum", "_count")))):
                found.append(f"{title}: {function}() of {metric}, a {kind}")
            if function not in COUNTER_FUNCTIONS and kind == "counter" and function != "label_values" \
                    and not metric.startswith("phpfpm_max_"):
                # A counter is graphed as a rate or an increase (phpfpm_max_* are php-fpm's high-water marks).
                found.append(f"{title}: {metric} (a counter) outside rate()/increase()")
        metrics = {m for m, _, _ in uses}
        for label in grouping - known_labels:
            if not any(label in scrape.labels.get(m, set()) for m in metrics):
                found.append(f"{title}: groups by {label}, which none of {sorted(metrics)} has")
        if "histogram_quantile" in expr:
            for q in re.finditer(r"histogram_quantile\(\s*([0-9.]+)\s*,", expr):
                assert 0 <= float(q[1]) <= 1
            if "le" not in grouping or not any(m.endswith("_bucket") for m in metrics):
                found.append(f"{title}: histogram_quantile needs _bucket series summed by le")
    return found


def scrape_config_labels():
    cfg = yaml.safe_load(SCRAPE_CONFIG.read_text())
    labels = set()
    jobs = cfg["scrape_configs"]
    tfpm_job = next(j for j in jobs if j["job_name"] == "tfpm")
    assert tfpm_job["params"] == {"openmetrics": [""]}, "asks the status page for OpenMetrics"
    for sc in tfpm_job["static_configs"]:
        assert sc["targets"], sc
        assert sc["labels"]["pool"], "each target names its pool"
        assert sc["labels"]["__metrics_path__"].startswith("/"), "each target is its pool's status page"
        labels.update(k for k in sc["labels"] if not k.startswith("__"))
    return labels


def scrape(tfpm, sock, path):
    r = fcgi.request(sock, "/srv/nonexistent" + path, query="openmetrics",
                     params={"SCRIPT_NAME": path, "REQUEST_URI": path + "?openmetrics="})
    assert r.status == 200, r.body
    text = r.body.decode()
    assert text.endswith("# EOF\n")
    return Scrape(text)


@pytest.fixture(scope="module")
def real_scrape(module_tfpm_factory):
    tfpm = module_tfpm_factory(processes=1, threads=2, status_path="/status/www",
                               status_listen="{dir}/www-status.sock",
                               pools={"api": {"listen": "{dir}/api.sock", "processes": 1, "threads": 2,
                                              "status_path": "/status/api",
                                              "status_listen": "{dir}/api-status.sock"}})
    for q in ("ms=0", "ms=5"):
        assert fcgi.request(tfpm.sock, SLEEP, query=q).status == 200
    assert fcgi.request(tfpm.sock, STATUS_CODE, query="code=404").status == 404
    www = scrape(tfpm, tfpm.sock, "/status/www")
    api = scrape(tfpm, str(tfpm.dir / "api.sock"), "/status/api")
    assert set(www.labels) == set(api.labels), "every pool's page has the same metrics"
    # conf/prometheus.yml scrapes each pool's status listener (/metrics,
    # no PHP thread): the same metrics as the status page.
    for pool, page in (("www", www), ("api", api)):
        listener = scrape(tfpm, str(tfpm.dir / f"{pool}-status.sock"), "/metrics")
        assert set(listener.labels) == set(page.labels), pool
    return www


def test_every_metric_the_dashboard_uses_is_in_a_real_scrape(real_scrape):
    dashboard = json.loads(DASHBOARD.read_text())
    assert len(dashboard_exprs(dashboard)) >= 20
    assert problems(dashboard, real_scrape, scrape_config_labels()) == []


def test_the_dashboard_covers_the_issue_list(real_scrape):
    """Request rate, latency quantiles, queue wait, status classes, threads,
    listen queue, restarts by cause and memory each have a panel."""
    used = set()
    for _, expr in dashboard_exprs(json.loads(DASHBOARD.read_text())):
        used.update(m for m, _, _ in promql_uses(expr)[0])
    for metric in ("tfpm_requests_total", "tfpm_request_duration_seconds_bucket", "tfpm_queue_wait_seconds_bucket",
                   "phpfpm_active_processes", "phpfpm_idle_processes", "phpfpm_listen_queue",
                   "phpfpm_memory_peak", "tfpm_resident_bytes_max", "tfpm_restarts_crash", "tfpm_restarts_recycle"):
        assert metric in used, metric


def test_the_check_finds_what_is_wrong(real_scrape):
    """The checker itself: a renamed metric, a label the metric does not have,
    rate() of a gauge and a quantile without `le` are each reported."""
    labels = scrape_config_labels()

    def one(expr):
        return {"panels": [{"title": "t", "targets": [{"expr": expr}]}], "templating": {"list": []}}

    assert problems(one('sum by (pool) (rate(tfpm_requests_total{pool=~"$pool"}[5m]))'), real_scrape, labels) == []
    assert problems(one("rate(tfpm_request_total[5m])"), real_scrape, labels) \
        == ["t: tfpm_request_total is not in the scrape"]
    assert problems(one('rate(tfpm_requests_total{code="5xx"}[5m])'), real_scrape, labels) \
        == ["t: tfpm_requests_total has no label code"]
    assert problems(one("rate(phpfpm_active_processes[5m])"), real_scrape, labels) \
        == ["t: rate() of phpfpm_active_processes, a gauge"]
    assert problems(one("phpfpm_slow_requests"), real_scrape, labels) \
        == ["t: phpfpm_slow_requests (a counter) outside rate()/increase()"]
    assert problems(one("histogram_quantile(0.9, sum by (pool) (rate(tfpm_request_duration_seconds_bucket[5m])))"),
                    real_scrape, labels) == ["t: histogram_quantile needs _bucket series summed by le"]
    assert problems(one("sum by (status) (rate(tfpm_requests_total[5m]))"), real_scrape, labels) \
        == ["t: groups by status, which none of ['tfpm_requests_total'] has"]
    with pytest.raises(AssertionError, match="unknown function"):
        problems(one("histogram_quantil(0.9, x)"), real_scrape, labels)
