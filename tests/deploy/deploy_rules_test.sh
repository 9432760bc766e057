#!/usr/bin/env bash
# The deploy/ files that need no running fleet: the Prometheus scrape config and alert rules
# (promtool check config, check rules, test rules), what every alert carries (summary,
# description, a runbook link whose anchor docs/alerts.md has), that rules and dashboard use only
# metric names docs/metrics.md documents, and the Grafana dashboard and provisioning against the
# schema checker (which must also refuse broken dashboards).
#   deploy_rules_test.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: deploy_rules_test.sh SOURCE_DIR}
if ! command -v promtool >/dev/null; then
  echo "skipped: promtool is not installed (Debian package prometheus; scripts/setup.sh --test)"
  exit 77
fi
prom=$src/deploy/prometheus
dash=$src/deploy/grafana/dashboards/fleetbond.json
checker=$src/tests/deploy/check_dashboard.py
tmp=$(mktemp -d /tmp/fb-deploy-rules.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
# step NAME CMD...: CMD must exit 0; its output follows, indented.
step() {
  local name=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then pass=$((pass + 1)); echo "ok   $name"; else
    fail=$((fail + 1)); echo "FAIL $name"; fi
  grep -v '^$' "$tmp/out" | sed 's/^/  /' | head -60
}
# refused NAME FILE: the checker must exit 1 on FILE (a broken dashboard) and say why.
refused() {
  python3 "$checker" "$2" --provisioning "$src/deploy/grafana/provisioning" >"$tmp/out" 2>&1
  local rc=$?
  if [[ $rc -eq 1 ]] && grep -q "^FAIL" "$tmp/out"; then pass=$((pass + 1)); echo "ok   checker refuses $1: $(grep -m1 '^FAIL' "$tmp/out")"; else
    fail=$((fail + 1)); echo "FAIL checker accepted $1 (exit $rc)"; sed 's/^/  /' "$tmp/out" | head -20; fi
}

step "promtool check config prometheus.yml" promtool check config "$prom/prometheus.yml"
step "promtool check rules alerts.yml" promtool check rules "$prom/alerts.yml"
step "promtool test rules alerts_test.yml" promtool test rules "$prom/alerts_test.yml"

# Every alert: severity, summary, description, runbook_url docs/alerts.md#<lower-case name> with
# that anchor in docs/alerts.md, and a test in alerts_test.yml that expects it to fire.
step "every alert has annotations, a runbook section and a firing test" python3 - "$prom" "$src/docs/alerts.md" <<'PY'
import re, sys, yaml
prom, doc = sys.argv[1], open(sys.argv[2]).read()
rules = [r for g in yaml.safe_load(open(f"{prom}/alerts.yml"))["groups"] for r in g["rules"] if "alert" in r]
tests = yaml.safe_load(open(f"{prom}/alerts_test.yml"))["tests"]
fired = {c["alertname"] for t in tests for c in t.get("alert_rule_test", []) if c.get("exp_alerts")}
quiet = {c["alertname"] for t in tests for c in t.get("alert_rule_test", []) if not c.get("exp_alerts")}
anchors = set(re.findall(r'<a id="([^"]+)"></a>', doc)) | {
    re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", doc, re.M)}
bad = []
for r in rules:
    a, ann = r["alert"], r.get("annotations", {})
    for k in ("summary", "description", "runbook_url"):
        if not ann.get(k):
            bad.append(f"{a}: no {k}")
    if r.get("labels", {}).get("severity") not in ("warning", "critical"):
        bad.append(f"{a}: severity must be warning or critical")
    want = f"docs/alerts.md#{a.lower()}"
    if ann.get("runbook_url") != want:
        bad.append(f"{a}: runbook_url {ann.get('runbook_url')!r}, want {want!r}")
    if a.lower() not in anchors:
        bad.append(f"{a}: docs/alerts.md has no section #{a.lower()}")
    if a not in fired:
        bad.append(f"{a}: no test expects it to fire")
    if a not in quiet:
        bad.append(f"{a}: no test expects it to stay quiet")
print(f"{len(rules)} alerts; fire tests for {len(fired)}, quiet tests for {len(quiet)}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# Metric names in the rules and the dashboard are ones docs/metrics.md documents (it lists every
# series the node and controller export; up is Prometheus's own).
step "rules and dashboard use only documented metric names" python3 - "$prom/alerts.yml" "$dash" "$src/docs/metrics.md" <<'PY'
import json, re, sys, yaml
doc = open(sys.argv[3]).read()
documented = set(re.findall(r"`(fleetbond_[a-z_]+)", doc))
# `fleetbond_path_{tx,rx}_bytes_total` style rows
for m in re.finditer(r"`(fleetbond_[a-z_]*)\{([a-z,]+)\}([a-z_]*)", doc):
    for part in m.group(2).split(","):
        documented.add(m.group(1) + part + m.group(3))
exprs = [r["expr"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
d = json.load(open(sys.argv[2]))
panels = d["panels"] + [q for p in d["panels"] for q in p.get("panels", [])]
exprs += [t["expr"] for p in panels for t in p.get("targets", [])]
exprs += [a["expr"] for a in d["annotations"]["list"] if "expr" in a]
exprs += [v["query"]["query"] if isinstance(v["query"], dict) else v["query"] for v in d["templating"]["list"]]
used = {n for e in exprs for n in re.findall(r"\bfleetbond_[a-z_]+", e)}
missing = sorted(n for n in used
                 if n not in documented and re.sub(r"_(bucket|sum|count)$", "", n) not in documented)
print(f"{len(used)} metric names used, all documented" if not missing else "undocumented: " + ", ".join(missing))
sys.exit(1 if missing else 0)
PY

step "dashboard and provisioning pass the schema checker" python3 "$checker" "$dash" \
  --provisioning "$src/deploy/grafana/provisioning"

# The checker is not a rubber stamp: broken copies of the dashboard are refused.
mutate() {  # mutate NAME PYTHON (d is the dashboard)
  python3 - "$dash" "$tmp/$1.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
  refused "$1" "$tmp/$1.json"
}
mutate no-uid 'del d["uid"]'
mutate no-schema-version 'del d["schemaVersion"]'
mutate target-without-expr 'del [p for p in d["panels"] if p["type"] != "row"][0]["targets"][0]["expr"]'
mutate panel-without-gridpos 'del d["panels"][1]["gridPos"]'
mutate overlapping-panels 'd["panels"][2]["gridPos"] = dict(d["panels"][1]["gridPos"])'
mutate duplicate-panel-id 'd["panels"][2]["id"] = d["panels"][1]["id"]'
mutate unknown-datasource 'd["panels"][1]["datasource"] = {"type": "prometheus", "uid": "nope"}'
mutate undefined-variable 'd["panels"][1]["targets"][0]["expr"] += " + on() vector($nosuchvar)"'
mutate variable-without-query 'del d["templating"]["list"][0]["query"]'
mutate no-annotations 'del d["annotations"]'
mutate unknown-panel-type 'd["panels"][1]["type"] = "timeserie"'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
