#!/usr/bin/env python3
"""check_dashboard.py: proves a Grafana dashboard without Grafana.

Two checks, either or both:

1. Schema (always): the dashboard JSON has the fields Grafana needs to load it (title, uid,
   schemaVersion, panels with id/type/title/gridPos and, for data panels, targets with refId,
   expr and datasource; templating.list entries with name/type/query/datasource; annotations.list
   entries with name/datasource/enable and, for Prometheus ones, expr), grid positions that fit
   the 24-column grid and do not overlap, and only variables the dashboard defines. With
   --provisioning DIR it also checks the provisioning files and that every datasource the
   dashboard names is the one provisioned (by uid).

2. Live (--prometheus URL): every panel target's PromQL, with the variables substituted
   (--var node=... --var peer=... --var link=..., and Grafana's $__rate_interval, $__interval,
   $__range), runs as an instant query against Prometheus's HTTP API (/api/v1/query) and must
   return at least one sample; every variable query (label_values(...)) runs against
   /api/v1/label/<label>/values and must return values including the one given with --var;
   every Prometheus annotation query runs as Grafana runs it, a range query (/api/v1/query_range)
   over the last --range with the annotation's step (else --interval), and must return at least
   one event. With
   --alerts FILE, each rule's expression of that Prometheus rule file is evaluated once and must
   be a valid query (it need not return anything).

Prints each expression with its result count; exits 1 listing the failures, 2 on bad usage.

  check_dashboard.py deploy/grafana/dashboards/fleetbond.json --provisioning deploy/grafana/provisioning
  check_dashboard.py DASH --prometheus http://127.0.0.1:9090 --var node=0123456789 \\
      --var peer=9876543210 --var link=eth0 --rate-interval 10s --interval 2s --range 2m

Python 3 standard library, plus python3-yaml for --provisioning and --alerts.
"""

import argparse
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Panel types Grafana 9/10 ships (core panels); a typo here is a panel Grafana cannot draw.
CORE_PANEL_TYPES = {
    "alertlist", "annolist", "barchart", "bargauge", "candlestick", "canvas", "dashlist",
    "flamegraph", "gauge", "geomap", "graph", "heatmap", "histogram", "logs", "news",
    "nodeGraph", "piechart", "row", "stat", "state-timeline", "status-history", "table", "text",
    "timeseries", "traces", "trend", "xychart",
}
# Panels that draw no query results.
NO_DATA_PANELS = {"row", "text", "news", "dashlist", "alertlist", "annolist"}
VARIABLE_TYPES = {"query", "custom", "constant", "datasource", "interval", "textbox", "adhoc"}
GRID_COLUMNS = 24
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# $name, ${name}, ${name:format}, [[name]] (Grafana's variable syntaxes).
VAR_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
BUILTINS = ("__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
            "__range_ms", "__dashboard", "__org", "__user")
LABEL_VALUES_RE = re.compile(r"^\s*label_values\(\s*(?:(.*?)\s*,\s*)?(\w+)\s*\)\s*$", re.S)
QUERY_RESULT_RE = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)


class Report:
    def __init__(self):
        self.failures = []
        self.checked = 0

    def fail(self, what):
        self.failures.append(what)
        print(f"FAIL {what}")

    def ok(self, what):
        self.checked += 1
        print(f"ok   {what}")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def query_text(q):
    """A variable's query: a string, or (Grafana 9+) an object with a `query` string."""
    if isinstance(q, str):
        return q
    if isinstance(q, dict) and isinstance(q.get("query"), str):
        return q["query"]
    return None


def check_datasource(ds, where, rep, want_uid=None):
    if not isinstance(ds, dict) or not ds.get("uid") or not ds.get("type"):
        rep.fail(f"{where}: datasource must be an object with type and uid, got {ds!r}")
        return
    if want_uid is not None and ds["type"] == "prometheus" and ds["uid"] != want_uid:
        rep.fail(f"{where}: datasource uid {ds['uid']!r} is not the provisioned {want_uid!r}")


def variables_in(text):
    for m in VAR_RE.finditer(text):
        yield m.group(1) or m.group(2) or m.group(3)


def check_schema(dash, rep, ds_uid=None):
    """Fields Grafana needs to load and draw the dashboard."""
    for key, typ in (("title", str), ("uid", str), ("schemaVersion", int), ("panels", list),
                     ("templating", dict), ("annotations", dict), ("time", dict)):
        if not isinstance(dash.get(key), typ) or (typ is str and not dash[key].strip()):
            rep.fail(f"dashboard: {key} missing or not a {typ.__name__}")
    if isinstance(dash.get("uid"), str) and not UID_RE.match(dash["uid"]):
        rep.fail(f"dashboard: uid {dash['uid']!r} must be 1-40 characters of A-Z a-z 0-9 _ -")
    if is_int(dash.get("schemaVersion")) and dash["schemaVersion"] < 27:
        rep.fail(f"dashboard: schemaVersion {dash['schemaVersion']} predates the panel formats used "
                 "(timeseries, state-timeline need 27+)")
    if "id" in dash and dash["id"] is not None:
        rep.fail("dashboard: id must be null or absent in a provisioned dashboard (Grafana assigns it)")
    t = dash.get("time") or {}
    if not (isinstance(t, dict) and t.get("from") and t.get("to")):
        rep.fail("dashboard: time.from and time.to are required")

    variables = (dash.get("templating") or {}).get("list")
    if not isinstance(variables, list):
        rep.fail("dashboard: templating.list missing")
        variables = []
    names = set()
    for i, v in enumerate(variables):
        where = f"templating.list[{i}] ({v.get('name', '?')})"
        for key in ("name", "type"):
            if not isinstance(v.get(key), str) or not v[key]:
                rep.fail(f"{where}: {key} missing")
        if v.get("name") in names:
            rep.fail(f"{where}: variable defined twice")
        names.add(v.get("name"))
        if v.get("type") not in VARIABLE_TYPES:
            rep.fail(f"{where}: unknown variable type {v.get('type')!r}")
        if v.get("type") == "query":
            if not query_text(v.get("query")):
                rep.fail(f"{where}: query missing (a string or an object with a query string)")
            check_datasource(v.get("datasource"), where, rep, ds_uid)
            if "refresh" in v and v["refresh"] not in (0, 1, 2):
                rep.fail(f"{where}: refresh must be 0, 1 or 2")
    defined = names | set(BUILTINS)

    annotations = (dash.get("annotations") or {}).get("list")
    if not isinstance(annotations, list):
        rep.fail("dashboard: annotations.list missing")
        annotations = []
    for i, a in enumerate(annotations):
        where = f"annotations.list[{i}] ({a.get('name', '?')})"
        if not a.get("name"):
            rep.fail(f"{where}: name missing")
        if not isinstance(a.get("enable"), bool):
            rep.fail(f"{where}: enable (true/false) missing")
        check_datasource(a.get("datasource"), where, rep,
                         None if a.get("builtIn") else ds_uid)
        if (a.get("datasource") or {}).get("type") == "prometheus":
            if not isinstance(a.get("expr"), str) or not a["expr"].strip():
                rep.fail(f"{where}: a Prometheus annotation needs expr")
            else:
                for name in variables_in(a["expr"]):
                    if name not in defined:
                        rep.fail(f"{where}: expr uses ${name}, which the dashboard does not define")

    panels = dash.get("panels") if isinstance(dash.get("panels"), list) else []
    flat = []
    for p in panels:
        flat.append(p)
        if p.get("type") == "row":
            flat.extend(p.get("panels") or [])  # a collapsed row keeps its panels inside
    ids = set()
    cells = {}
    data_panels = 0
    for p in flat:
        where = f"panel {p.get('id', '?')} ({p.get('title', '?')!r})"
        if not is_int(p.get("id")):
            rep.fail(f"{where}: id must be an integer")
        elif p["id"] in ids:
            rep.fail(f"{where}: id used twice")
        ids.add(p.get("id"))
        if not isinstance(p.get("title"), str):
            rep.fail(f"{where}: title missing")
        if p.get("type") not in CORE_PANEL_TYPES:
            rep.fail(f"{where}: unknown panel type {p.get('type')!r}")
        gp = p.get("gridPos")
        if not (isinstance(gp, dict) and all(is_int(gp.get(k)) for k in "hwxy")):
            rep.fail(f"{where}: gridPos needs integer h, w, x, y")
        elif gp["h"] <= 0 or gp["w"] <= 0 or gp["x"] < 0 or gp["y"] < 0 or gp["x"] + gp["w"] > GRID_COLUMNS:
            rep.fail(f"{where}: gridPos {gp} does not fit the {GRID_COLUMNS}-column grid")
        else:
            for x in range(gp["x"], gp["x"] + gp["w"]):
                for y in range(gp["y"], gp["y"] + gp["h"]):
                    if (x, y) in cells:
                        rep.fail(f"{where}: gridPos overlaps panel {cells[(x, y)]}")
                        break
                    cells[(x, y)] = p.get("id")
                else:
                    continue
                break
        if p.get("type") in NO_DATA_PANELS:
            continue
        data_panels += 1
        check_datasource(p.get("datasource"), where, rep, ds_uid)
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            rep.fail(f"{where}: targets missing or empty")
            continue
        refs = set()
        for t in targets:
            twhere = f"{where} target {t.get('refId', '?')}"
            if not t.get("refId") or t["refId"] in refs:
                rep.fail(f"{twhere}: refId missing or used twice in the panel")
            refs.add(t.get("refId"))
            if not isinstance(t.get("expr"), str) or not t["expr"].strip():
                rep.fail(f"{twhere}: expr missing")
                continue
            check_datasource(t.get("datasource"), twhere, rep, ds_uid)
            for name in variables_in(t["expr"]):
                if name not in defined:
                    rep.fail(f"{twhere}: expr uses ${name}, which the dashboard does not define")
    for p in flat:
        for name in variables_in(p.get("title") or ""):
            if name not in defined:
                rep.fail(f"panel {p.get('id')}: title uses ${name}, which the dashboard does not define")
    rep.ok(f"schema: {dash.get('title')!r} uid {dash.get('uid')!r}, schemaVersion "
           f"{dash.get('schemaVersion')}, {len(flat)} panels ({data_panels} with queries), "
           f"{len(variables)} variables, {len(annotations)} annotations")


def check_provisioning(directory, dash_path, rep):
    """The provisioning files; returns the provisioned Prometheus datasource's uid."""
    import os
    import yaml
    ds_file = os.path.join(directory, "datasources", "prometheus.yml")
    db_file = os.path.join(directory, "dashboards", "fleetbond.yml")
    uid = None
    try:
        ds = yaml.safe_load(open(ds_file))
        sources = ds.get("datasources") if isinstance(ds, dict) else None
        if ds.get("apiVersion") != 1 or not isinstance(sources, list) or not sources:
            rep.fail(f"{ds_file}: needs apiVersion: 1 and a datasources list")
        else:
            proms = [s for s in sources if s.get("type") == "prometheus"]
            for s in sources:
                for key in ("name", "type", "uid", "url", "access"):
                    if not s.get(key):
                        rep.fail(f"{ds_file}: datasource {s.get('name', '?')}: {key} missing")
            if len(proms) != 1:
                rep.fail(f"{ds_file}: expected one Prometheus datasource, found {len(proms)}")
            else:
                uid = proms[0].get("uid")
                rep.ok(f"provisioning: datasource {proms[0].get('name')!r} uid {uid!r} url {proms[0].get('url')}")
    except (OSError, yaml.YAMLError, AttributeError) as e:
        rep.fail(f"{ds_file}: {e}")
    try:
        db = yaml.safe_load(open(db_file))
        providers = db.get("providers") if isinstance(db, dict) else None
        if db.get("apiVersion") != 1 or not isinstance(providers, list) or not providers:
            rep.fail(f"{db_file}: needs apiVersion: 1 and a providers list")
        else:
            for p in providers:
                if not p.get("name") or p.get("type") != "file" or not (p.get("options") or {}).get("path"):
                    rep.fail(f"{db_file}: provider {p.get('name', '?')} needs name, type: file and options.path")
                else:
                    rep.ok(f"provisioning: dashboard provider {p['name']!r} loads {p['options']['path']} "
                           f"(the directory {os.path.dirname(os.path.abspath(dash_path))} goes there)")
    except (OSError, yaml.YAMLError, AttributeError) as e:
        rep.fail(f"{db_file}: {e}")
    return uid


def substitute(expr, values):
    """Grafana's variable interpolation for one value per variable (Prometheus escaping aside)."""
    missing = []

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in values:
            return values[name]
        missing.append(name)
        return m.group(0)

    out = VAR_RE.sub(repl, expr)
    return out, missing


class Prometheus:
    def __init__(self, url, timeout):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, path, params, post=True):
        data = urllib.parse.urlencode(params, doseq=True)
        if post:
            req = urllib.request.Request(self.url + path, data=data.encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            req = urllib.request.Request(self.url + path + "?" + data)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except ValueError:
                return None, f"HTTP {e.code}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            return None, f"cannot reach {self.url}: {e}"
        if body.get("status") != "success":
            return None, f"{body.get('errorType', 'error')}: {body.get('error', body)}"
        return body.get("data"), None


def sample_count(data):
    """(series, samples, NaN samples) of a query result."""
    rt, result = data.get("resultType"), data.get("result")
    if rt == "vector":
        vals = [r["value"][1] for r in result]
    elif rt == "matrix":
        vals = [v[1] for r in result for v in r["values"]]
    elif rt == "scalar":
        vals = [result[1]]
    else:
        vals = []
    nan = sum(1 for v in vals if isinstance(v, str) and math.isnan(float(v)))
    return len(result) if isinstance(result, list) else 1, len(vals), nan


def parse_duration(s):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"{s!r} is not a duration like 10s, 2m, 500ms")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def run_live(dash, args, rep):
    prom = Prometheus(args.prometheus, args.timeout)
    rng = parse_duration(args.range)
    interval = parse_duration(args.interval)
    values = dict(args.var)
    values.update({
        "__rate_interval": args.rate_interval,
        "__interval": args.interval,
        "__interval_ms": str(int(interval * 1000)),
        "__range": args.range,
        "__range_s": str(int(rng)),
        "__range_ms": str(int(rng * 1000)),
    })
    now = time.time()

    for v in (dash.get("templating") or {}).get("list", []):
        if v.get("type") != "query":
            continue
        q, missing = substitute(query_text(v.get("query")) or "", values)
        where = f"variable {v.get('name')}: {q}"
        if missing:
            rep.fail(f"{where}: no value given for {', '.join('$' + n for n in missing)}")
            continue
        m = LABEL_VALUES_RE.match(q)
        qr = QUERY_RESULT_RE.match(q)
        if m:
            params = {"match[]": m.group(1)} if m.group(1) else {}
            params.update({"start": str(now - rng), "end": str(now)})
            data, err = prom.call(f"/api/v1/label/{m.group(2)}/values", params, post=False)
            if err:
                rep.fail(f"{where}: {err}")
            elif not data:
                rep.fail(f"{where}: no values")
            elif v.get("name") in args.var and args.var[v["name"]] not in data:
                rep.fail(f"{where}: {len(data)} values {data}, but not the given {args.var[v['name']]!r}")
            else:
                rep.ok(f"{where}: {len(data)} values {data}")
        elif qr:
            data, err = prom.call("/api/v1/query", {"query": qr.group(1), "time": str(now)})
            if err or not sample_count(data)[1]:
                rep.fail(f"{where}: {err or 'empty result'}")
            else:
                rep.ok(f"{where}: {sample_count(data)[0]} series")
        else:
            rep.fail(f"{where}: not a label_values() or query_result() query; cannot check it")

    flat = []
    for p in dash.get("panels", []):
        flat.append(p)
        if p.get("type") == "row":
            flat.extend(p.get("panels") or [])
    for p in flat:
        if p.get("type") in NO_DATA_PANELS:
            continue
        for t in p.get("targets") or []:
            expr, missing = substitute(t.get("expr", ""), values)
            where = f"panel {p.get('id')} {p.get('title')!r} [{t.get('refId')}]: {expr}"
            if missing:
                rep.fail(f"{where}: no value given for {', '.join('$' + n for n in missing)}")
                continue
            data, err = prom.call("/api/v1/query", {"query": expr, "time": str(now)})
            if err:
                rep.fail(f"{where}: {err}")
                continue
            series, samples, nan = sample_count(data)
            if samples == 0:
                rep.fail(f"{where}: empty result")
            else:
                rep.ok(f"{where}: {series} series" + (f" ({nan} NaN)" if nan else ""))

    for a in (dash.get("annotations") or {}).get("list", []):
        if (a.get("datasource") or {}).get("type") != "prometheus":
            continue
        expr, missing = substitute(a.get("expr", ""), values)
        step = a.get("step") or args.interval  # Grafana's step: the annotation's own, else auto
        where = f"annotation {a.get('name')!r}: {expr} (range query over the last {args.range}, step {step})"
        if missing:
            rep.fail(f"{where}: no value given for {', '.join('$' + n for n in missing)}")
            continue
        try:
            step_s = parse_duration(step)
        except argparse.ArgumentTypeError as e:
            rep.fail(f"{where}: step: {e}")
            continue
        data, err = prom.call("/api/v1/query_range", {"query": expr, "start": str(now - rng),
                                                      "end": str(now), "step": str(step_s)})
        if err:
            rep.fail(f"{where}: {err}")
            continue
        series, samples, _ = sample_count(data)
        if samples == 0:
            rep.fail(f"{where}: no events")
        else:
            rep.ok(f"{where}: {series} series, {samples} event steps")

    if args.alerts:
        import yaml
        doc = yaml.safe_load(open(args.alerts))
        for g in doc.get("groups", []):
            for r in g.get("rules", []):
                name = r.get("alert") or r.get("record")
                data, err = prom.call("/api/v1/query", {"query": r["expr"], "time": str(now)})
                where = f"rule {name}: {' '.join(r['expr'].split())}"
                if err:
                    rep.fail(f"{where}: {err}")
                else:
                    rep.ok(f"{where}: valid, {sample_count(data)[0]} series now")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dashboard")
    ap.add_argument("--provisioning", help="deploy/grafana/provisioning: check it and the datasource uid")
    ap.add_argument("--prometheus", help="Prometheus base URL: run every query against it")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="a dashboard variable's value (repeatable)")
    ap.add_argument("--rate-interval", default="1m", help="value of $__rate_interval (default 1m)")
    ap.add_argument("--interval", default="15s", help="value of $__interval and the annotation step (default 15s)")
    ap.add_argument("--range", default="1h", help="value of $__range and the annotation window (default 1h)")
    ap.add_argument("--alerts", help="a Prometheus rule file: evaluate every rule's expr once")
    ap.add_argument("--timeout", type=float, default=10, help="seconds per HTTP request")
    args = ap.parse_args()
    try:
        args.var = dict(v.split("=", 1) for v in args.var)
        for d in (args.rate_interval, args.interval, args.range):
            parse_duration(d)
    except (ValueError, argparse.ArgumentTypeError) as e:
        ap.error(f"bad --var or duration: {e}")

    rep = Report()
    try:
        dash = json.load(open(args.dashboard))
    except (OSError, ValueError) as e:
        print(f"FAIL {args.dashboard}: {e}")
        return 1
    ds_uid = check_provisioning(args.provisioning, args.dashboard, rep) if args.provisioning else None
    check_schema(dash, rep, ds_uid)
    if args.prometheus:
        run_live(dash, args, rep)
    if rep.failures:
        print(f"\n{len(rep.failures)} failure(s), {rep.checked} passed:")
        for f in rep.failures:
            print(f"  - {f}")
        return 1
    print(f"\nall {rep.checked} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
