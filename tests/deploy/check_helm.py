#!/usr/bin/env python3
"""helm/fleetbond checked without helm, and with it when it is installed.

There is no helm binary on the project's machines, so this does what can be done without it:
1. values.yaml, and each helm/fleetbond/examples/*.yaml merged over it the way Helm merges
   values, must satisfy values.schema.json (JSON Schema draft-07, as Helm 3 checks it);
   tests/deploy/testdata/helm-bad-values.yaml, and single-key mutations of values.yaml, must be
   REJECTED, so the schema is known to bite;
2. every template, with its Go template actions removed ({{ ... }} inline becomes a placeholder,
   a line holding only actions disappears), must parse as YAML (every document of it), and
   every document must have apiVersion, kind and metadata.name; block actions (if/range/with/
   define) must be balanced by {{ end }};
3. every .Values.a.b the templates and NOTES.txt use must exist in values.yaml;
4. with --node BIN: the fleet settings of values.yaml and of every example must pass
   `fleetbond-node --check-config` (the validator the controller uses); with --node and
   --controller, every --flag the DaemonSet and the Deployment pass is a flag of that binary;
5. `helm lint` and `helm template` (values.yaml and each example; the rendered documents parsed
   and checked as in 2) when helm is on PATH; otherwise it prints
   "helm not installed: skipped lint/template";
6. without helm, the chart rendered by tests/deploy/minitemplate.py (a renderer of the subset of
   Go templates the chart uses; not Helm) for values.yaml and each example: the manifests parse,
   selectors match pod labels, mounts name volumes, probes name ports, the ServiceMonitor finds
   the Service, the ConfigMap carries the values' settings, flags are the binaries' flags, and
   each example renders what it is for (insecure, nodes only, ...).
Exit: 0 all passed, 1 a check failed, 77 python3-yaml or python3-jsonschema is missing.

usage: check_helm.py SOURCE_DIR [--node PATH/TO/fleetbond-node] [--controller PATH/TO/fleetbond-controller]
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
    import jsonschema
except ImportError as e:  # Debian: python3-yaml, python3-jsonschema (scripts/setup.sh --test)
    print(f"skip: {e.name} is not installed (Debian package python3-{e.name})")
    sys.exit(77)

PASSES = 0
FAILURES = 0


def check(ok, what, detail=""):
    global PASSES, FAILURES
    if ok:
        PASSES += 1
        print(f"ok   {what}")
    else:
        FAILURES += 1
        print(f"FAIL {what}")
        if detail:
            print("  " + str(detail).replace("\n", "\n  "))
    return ok


def merge(base, override):
    """Helm's merge of a user values file over the chart's values.yaml (maps merge, the rest
    replaces, null deletes)."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def schema_errors(validator, values):
    return sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))


def fmt(errors):
    return "\n".join(f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors)


# --- templates without helm ---------------------------------------------------------------

ACTION = re.compile(r"\{\{-?.*?-?\}\}", re.S)
BLOCK_OPEN = re.compile(r"\{\{-?\s*(if|range|with|define|block)\b")
BLOCK_END = re.compile(r"\{\{-?\s*end\s*-?\}\}")
COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.S)


def strip_actions(text):
    """Template text -> YAML text: comments and lines holding only actions go, inline actions
    become the scalar TEMPLATED (inside quotes: the text TEMPLATED)."""
    text = COMMENT.sub("", text)
    out = []
    for line in text.splitlines():
        if line.strip() and ACTION.sub("", line).strip() == "":
            continue  # control, include ... | nindent, toYaml ...: whole-line actions
        out.append(ACTION.sub("TEMPLATED", line))
    return "\n".join(out) + "\n"


def block_balance(text):
    text = COMMENT.sub("", text)
    return len(BLOCK_OPEN.findall(text)) - len(BLOCK_END.findall(text))


NINDENT = re.compile(r"\|\s*nindent\s+(\d+)\s*-?\}\}\s*$")


def nindent_mismatches(text):
    """Whole-line `... | nindent N }}` actions whose N is not the line's own indentation: what
    Helm inserts would land at another depth than the surrounding YAML (invisible once actions
    are stripped, so checked here)."""
    bad = []
    for no, line in enumerate(text.splitlines(), 1):
        m = NINDENT.search(line)
        if m and line.strip().startswith("{{") and ACTION.sub("", line).strip() == "":
            indent = len(line) - len(line.lstrip(" "))
            if int(m.group(1)) != indent:
                bad.append(f"line {no}: nindent {m.group(1)} on a line indented {indent}")
    return bad


def check_documents(docs, where):
    docs = [d for d in docs if d is not None]
    ok = True
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            ok = check(False, f"{where}: document {i} is a mapping", repr(d)[:200])
            continue
        missing = [k for k in ("apiVersion", "kind", "metadata") if not d.get(k)]
        name = (d.get("metadata") or {}).get("name") if isinstance(d.get("metadata"), dict) else None
        if missing or not name:
            ok = check(False, f"{where}: document {i} ({d.get('kind')}) has apiVersion, kind, metadata.name",
                       f"missing: {missing or ['metadata.name']}")
    return ok, docs


def values_paths(text):
    return sorted(set(re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text)))


def exists(values, dotted):
    node = values
    for part in dotted.strip(".").split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def known_flags(binary):
    if not (binary and os.access(binary, os.X_OK)):
        return None
    r = subprocess.run([binary, "--helpfull"], capture_output=True, text=True)
    return set(re.findall(r"^\s+--([a-z0-9_]+)", r.stdout + r.stderr, re.M))


def render_checks(chart, values, merged, binaries):
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import minitemplate as mt
    files = {os.path.basename(p): open(p).read() for p in glob.glob(os.path.join(chart, "templates", "*"))}
    meta = yaml.safe_load(open(os.path.join(chart, "Chart.yaml")))
    chart_meta = {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta["appVersion"]}
    flags = {who: known_flags(binaries.get(who)) for who in ("node", "controller")}
    node_bin = binaries.get("node")

    # The renderer refuses what it does not know rather than guessing.
    for what, text in (("an unsupported function", "{{ lookup \"v1\" \"Secret\" \"x\" \"y\" }}"),
                       ("a missing end", "{{ if .Values.x }}a"),
                       ("a field of a missing value", "{{ .Values.nothing.here }}")):
        try:
            mt.Renderer({"t.yaml": text}, values, chart=chart_meta).render("t.yaml")
            check(False, f"minitemplate refuses {what}")
        except mt.TemplateError:
            check(True, f"minitemplate refuses {what}")

    for name, vals in merged.items():
        try:
            r = mt.Renderer(files, vals, chart=chart_meta)
            rendered = {f: r.render(f) for f in sorted(files) if not f.startswith("_")}
        except mt.TemplateError as e:
            check(False, f"{name}: the chart renders (minitemplate)", e)
            continue
        docs = []
        for f, text in rendered.items():
            if f.endswith(".txt"):
                continue
            try:
                docs += [d for d in yaml.safe_load_all(text) if d is not None]
            except yaml.YAMLError as e:
                check(False, f"{name}: rendered {f} parses as YAML", f"{e}\n{text}")
        ok, docs = check_documents(docs, f"{name} rendered")
        ids = [(d["kind"], d["metadata"]["name"]) for d in docs]
        check(ok and len(ids) == len(set(ids)),
              f"{name}: renders {len(docs)} manifests ({', '.join(sorted({k for k, _ in ids}))}), each named once")
        by_kind = {}
        for d in docs:
            by_kind.setdefault(d["kind"], []).append(d)
        problems = []
        for d in by_kind.get("Deployment", []) + by_kind.get("DaemonSet", []) + by_kind.get("Job", []):
            tmpl = d["spec"]["template"]
            labels = tmpl["metadata"].get("labels") or {}
            sel = (d["spec"].get("selector") or {}).get("matchLabels") or {}
            if d["kind"] != "Job" and (not sel or any(labels.get(k) != v for k, v in sel.items())):
                problems.append(f"{d['kind']} {d['metadata']['name']}: selector {sel} does not match pod labels {labels}")
            pod = tmpl["spec"]
            volumes = {v["name"] for v in pod.get("volumes") or []}
            for c in (pod.get("initContainers") or []) + pod["containers"]:
                for m in c.get("volumeMounts") or []:
                    if m["name"] not in volumes:
                        problems.append(f"{c['name']}: mounts undefined volume {m['name']}")
                ports = {p.get("name") for p in c.get("ports") or []}
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    pr = c.get(probe) or {}
                    for how in ("httpGet", "tcpSocket"):
                        port = (pr.get(how) or {}).get("port")
                        if isinstance(port, str) and port not in ports:
                            problems.append(f"{c['name']}: {probe} names port {port}, not one of {ports}")
                for a in (c.get("args") or []) + (c.get("command") or [])[1:]:
                    if not isinstance(a, str):
                        problems.append(f"{c['name']}: argument {a!r} is not a string")
                who = "node" if c["name"] in ("node", "identity") else "controller" if c["name"] == "controller" else None
                if who and flags[who] is not None:
                    for a in c.get("args") or []:
                        flag = str(a).split("=", 1)[0]
                        if flag.startswith("--") and flag[2:].replace("-", "_") not in flags[who]:
                            problems.append(f"{c['name']}: {flag} is not a flag of fleetbond-{who}")
        for svc in by_kind.get("Service", []):
            sel = svc["spec"]["selector"]
            if not any(all((d["spec"]["template"]["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())
                       for d in by_kind.get("Deployment", [])):
                problems.append(f"Service {svc['metadata']['name']}: selector {sel} matches no Deployment's pods")
        for sm in by_kind.get("ServiceMonitor", []):
            sel = sm["spec"]["selector"]["matchLabels"]
            svcs = [s for s in by_kind.get("Service", [])
                    if all(s["metadata"]["labels"].get(k) == v for k, v in sel.items())]
            ports = {p["name"] for s in svcs for p in s["spec"]["ports"]}
            if not svcs or any(e["port"] not in ports for e in sm["spec"]["endpoints"]):
                problems.append(f"ServiceMonitor selects services {[s['metadata']['name'] for s in svcs]} with ports {ports}")
        for cm in by_kind.get("ConfigMap", []):
            for key, want in (("fleet.conf", vals["settings"]["fleet"]), ("local.conf", vals["settings"]["nodeLocal"])):
                if json.loads(cm["data"][key]) != want:
                    problems.append(f"ConfigMap {key} is not settings' value")
        check(not problems, f"{name}: rendered manifests are consistent (selectors, volumes, probes, flags, settings)",
              "\n".join(problems))

        # What each values file is for.
        def args_of(kind, container):
            for d in by_kind.get(kind, []):
                for c in d["spec"]["template"]["spec"]["containers"]:
                    if c["name"] == container:
                        return [str(a) for a in (c.get("args") or c.get("command") or [])]
            return None
        node_args = args_of("DaemonSet", "node")
        ctl_args = args_of("Deployment", "controller")
        c, n = vals["controller"], vals["node"]
        check((ctl_args is not None) == bool(c["enabled"]) and (node_args is not None) == bool(n["enabled"]),
              f"{name}: controller {'on' if c['enabled'] else 'off'}, nodes {'on' if n['enabled'] else 'off'} as the values say")
        if ctl_args is not None:
            check(("--insecure" in ctl_args) == bool(c["insecure"]) and
                  (any(a.startswith("--tls-key=") for a in ctl_args)) != bool(c["insecure"]),
                  f"{name}: controller {'--insecure' if c['insecure'] else 'TLS flags'}")
        if node_args is not None:
            want_ctl = n["controllerAddress"] or f"fleet-fleetbond-controller.fleet.svc:{c['grpcPort']}"
            check(f"--controller={want_ctl}" in node_args, f"{name}: nodes join {want_ctl}")
            check(all(f"--label={k}={v}" in node_args for k, v in n["labels"].items()),
                  f"{name}: nodes report labels {n['labels']}")
            check(("--insecure" in node_args) == bool(n["insecure"]), f"{name}: node TLS as the values say")
        check(bool(by_kind.get("ServiceMonitor")) == bool(c["enabled"] and vals["serviceMonitor"]["enabled"]),
              f"{name}: ServiceMonitor only when serviceMonitor.enabled")
        check(bool(by_kind.get("Job")) == bool(c["enabled"] and vals["settings"]["applyJob"]["enabled"]),
              f"{name}: settings-apply Job only when settings.applyJob.enabled")
        if node_bin and os.access(node_bin, os.X_OK) and by_kind.get("ConfigMap"):
            with tempfile.TemporaryDirectory() as tmp:
                f = os.path.join(tmp, "fleet.conf")
                open(f, "w").write(by_kind["ConfigMap"][0]["data"]["fleet.conf"])
                r = subprocess.run([node_bin, "--check-config", f], capture_output=True, text=True)
                check(r.returncode == 0, f"{name}: the rendered fleet.conf passes fleetbond-node --check-config",
                      r.stdout + r.stderr)
        notes = rendered.get("NOTES.txt", "")
        check("fleetbond-cli" in notes and "<no value>" not in notes, f"{name}: NOTES.txt renders and shows fleetbond-cli")


def main():
    args = sys.argv[1:]
    binaries = {}
    for opt in ("--node", "--controller"):
        if opt in args:
            i = args.index(opt)
            binaries[opt[2:]] = args[i + 1]
            del args[i:i + 2]
    node = binaries.get("node")
    src = args[0]
    chart = os.path.join(src, "helm/fleetbond")
    values = yaml.safe_load(open(os.path.join(chart, "values.yaml")))
    schema = json.load(open(os.path.join(chart, "values.schema.json")))

    # 1. Values against the schema.
    check(schema.get("$schema", "").startswith("http://json-schema.org/draft-07/"),
          "values.schema.json declares JSON Schema draft-07")
    try:
        jsonschema.Draft7Validator.check_schema(schema)
        check(True, "values.schema.json is a valid draft-07 schema")
    except jsonschema.SchemaError as e:
        check(False, "values.schema.json is a valid draft-07 schema", e.message)
        return 1
    validator = jsonschema.Draft7Validator(schema)
    errs = schema_errors(validator, values)
    check(not errs, "values.yaml satisfies values.schema.json", fmt(errs))
    examples = sorted(glob.glob(os.path.join(chart, "examples", "*.yaml")))
    check(len(examples) >= 3, f"{len(examples)} example values files in helm/fleetbond/examples")
    merged = {"values.yaml": values}
    for path in examples:
        name = "examples/" + os.path.basename(path)
        override = yaml.safe_load(open(path)) or {}
        errs = schema_errors(validator, merged.setdefault(name, merge(values, override)))
        check(not errs, f"{name} (merged over values.yaml) satisfies the schema", fmt(errs))

    bad_path = os.path.join(src, "tests/deploy/testdata/helm-bad-values.yaml")
    bad = merge(values, yaml.safe_load(open(bad_path)))
    errs = schema_errors(validator, bad)
    bad_keys = {".".join(map(str, e.absolute_path)) for e in errs}
    check(len(errs) >= 8, f"helm-bad-values.yaml is REJECTED ({len(errs)} errors)", fmt(errs))
    for key in ("controller.replicas", "controller.grpcPort", "controller.tls.secretName",
                "node.controllerAddress", "node.labels.site", "node.tun", "serviceMonitor.enabled"):
        check(key in bad_keys, f"helm-bad-values.yaml: {key} is one of the rejected values")
    # Keys the schema must refuse one at a time (an unknown key anywhere; broken rules).
    mutations = {
        "an unknown top-level key": {"contoller": {}},
        "an unknown nested key": {"node": {"tls": {"certificate": "/x"}}},
        "controller.insecure without node.insecure": {"controller": {"insecure": True}},
        "applyJob without a token secret": {"settings": {"applyJob": {"enabled": True}}},
        "a metrics interval below 1 s": {"controller": {"metricsIntervalMs": 10}},
        "an extraArgs entry that is not a flag": {"node": {"extraArgs": ["rm -rf /"]}},
        "fleet settings that are not a local.conf": {"settings": {"fleet": {"policies": {}}}},
    }
    for what, override in mutations.items():
        check(schema_errors(validator, merge(values, override)) != [], f"the schema refuses {what}")

    # 2. Templates parse as YAML without their actions.
    templates = sorted(glob.glob(os.path.join(chart, "templates", "*")))
    names = {os.path.basename(t) for t in templates}
    for want in ("_helpers.tpl", "NOTES.txt", "controller-deployment.yaml", "controller-service.yaml",
                 "servicemonitor.yaml", "node-daemonset.yaml", "settings-configmap.yaml"):
        check(want in names, f"templates/{want} exists")
    helpers = open(os.path.join(chart, "templates/_helpers.tpl")).read()
    for h in ("name", "fullname", "chart", "labels", "selectorLabels"):
        check(f'define "fleetbond.{h}"' in helpers, f"_helpers.tpl defines fleetbond.{h}")
    kinds = {}
    all_text = ""
    for t in templates:
        name = os.path.basename(t)
        text = open(t).read()
        all_text += text
        check(block_balance(text) == 0, f"{name}: if/range/with/define balanced by end",
              f"{block_balance(text)} unclosed")
        if not name.endswith(".yaml"):
            continue
        mism = nindent_mismatches(text)
        check(not mism, f"{name}: every whole-line nindent matches its line's indentation", "\n".join(mism))
        stripped = strip_actions(text)
        try:
            docs = list(yaml.safe_load_all(stripped))
        except yaml.YAMLError as e:
            check(False, f"{name}: parses as YAML once template actions are removed",
                  f"{e}\n--- stripped text ---\n{stripped}")
            continue
        ok, docs = check_documents(docs, name)
        check(ok and docs, f"{name}: parses as YAML without actions; {len(docs)} document(s) with "
              "apiVersion, kind, metadata.name")
        for d in docs:
            kinds.setdefault(d.get("kind"), []).append((name, d))
    for kind in ("Deployment", "Service", "DaemonSet", "ConfigMap", "ServiceMonitor"):
        check(kind in kinds, f"the chart has a {kind}")

    # What the stripped documents say about privileges and ports.
    ds = kinds.get("DaemonSet", [(None, {})])[0][1]
    pod = ds.get("spec", {}).get("template", {}).get("spec", {})
    ctr = next((c for c in pod.get("containers") or [] if c.get("name") == "node"), {})
    caps = (ctr.get("securityContext") or {}).get("capabilities") or {}
    check(pod.get("hostNetwork") is True, "node DaemonSet: hostNetwork")
    check(caps.get("add") == ["NET_ADMIN"] and caps.get("drop") == ["ALL"],
          "node DaemonSet: capabilities drop ALL, add NET_ADMIN only", caps)
    check((ctr.get("securityContext") or {}).get("privileged") is False, "node DaemonSet: not privileged")
    mounts = {m.get("mountPath") for m in ctr.get("volumeMounts") or []}
    check("/dev/net/tun" in mounts, "node DaemonSet: mounts /dev/net/tun")
    vols = {v.get("name"): v for v in pod.get("volumes") or []}
    check((vols.get("tun", {}).get("hostPath") or {}).get("path") == "/dev/net/tun",
          "node DaemonSet: /dev/net/tun is a hostPath")
    check("hostPath" in vols.get("state", {}), "node DaemonSet: state directory is a hostPath")
    check(any(str(a).startswith("--controller=") for a in ctr.get("args") or []),
          "node DaemonSet: passes the controller address")
    dep = kinds.get("Deployment", [(None, {})])[0][1]
    dpod = dep.get("spec", {}).get("template", {}).get("spec", {})
    psc = dpod.get("securityContext") or {}
    check(psc.get("runAsNonRoot") is True and isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] != 0,
          "controller Deployment: runs as a non-root uid", psc)
    svc_ports = {p.get("name"): p.get("port") for _, d in kinds.get("Service", [])
                 for p in d.get("spec", {}).get("ports") or []}
    check(set(svc_ports) >= {"grpc", "metrics"}, "controller Service: grpc and metrics ports", svc_ports)
    check(values["controller"]["grpcPort"] == 9900 and values["controller"]["metricsPort"] == 9902,
          "values.yaml: gRPC port 9900, metrics port 9902 (the controller's defaults)")
    check(values["serviceMonitor"]["enabled"] is False, "values.yaml: ServiceMonitor off by default")
    sm_text = open(os.path.join(chart, "templates/servicemonitor.yaml")).read()
    check("monitoring.coreos.com/v1" in sm_text and ".Values.serviceMonitor.enabled" in sm_text,
          "servicemonitor.yaml: monitoring.coreos.com/v1, only when serviceMonitor.enabled")
    check(not re.search(r"BEGIN [A-Z ]*PRIVATE KEY|BEGIN CERTIFICATE", open(os.path.join(chart, "values.yaml")).read() + all_text),
          "no key material in the chart")

    # The stripping is honest: a template with broken indentation fails it.
    broken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n labels: {}\n"
    try:
        list(yaml.safe_load_all(strip_actions(broken)))
        check(False, "a template with broken indentation is caught")
    except yaml.YAMLError:
        check(True, "a template with broken indentation is caught")
    check(block_balance("{{- if .Values.x }}\na: 1\n") == 1, "a template missing {{ end }} is caught")
    check(nindent_mismatches("  labels:\n    {{- include \"x\" . | nindent 6 }}\n") != [],
          "a whole-line nindent at the wrong depth is caught")

    # 3. Every .Values path used exists in values.yaml.
    used = values_paths(all_text)
    missing = [p for p in used if not exists(values, p)]
    check(not missing, f"all {len(used)} .Values paths in the templates exist in values.yaml",
          "missing: " + ", ".join(missing))
    check(not exists(values, ".controller.nonexistent"), "a path that is not in values.yaml is caught")
    # ... and the other way round: no value in values.yaml that no template reads.
    refs = [p.strip(".") for p in used]

    def unused(node, prefix):
        out = []
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else k
            if any(r == path or path.startswith(r + ".") for r in refs):
                continue  # read whole (toYaml, toJson) or exactly
            if isinstance(v, dict) and v and any(r.startswith(path + ".") for r in refs):
                out += unused(v, path)
            else:
                out.append(path)
        return out
    dead = unused(values, "")
    check(not dead, "every value in values.yaml is read by a template", "unread: " + ", ".join(dead))

    # 4. The fleet settings are valid settings.
    if node and os.access(node, os.X_OK):
        with tempfile.TemporaryDirectory() as tmp:
            for name, v in merged.items():
                for key in ("fleet",):
                    f = os.path.join(tmp, "fleet.conf")
                    json.dump(v["settings"][key], open(f, "w"))
                    r = subprocess.run([node, "--check-config", f], capture_output=True, text=True)
                    check(r.returncode == 0, f"{name}: settings.{key} passes fleetbond-node --check-config",
                          r.stdout + r.stderr)
    else:
        print("note: no fleetbond-node given (--node): settings.fleet not judged by the validator")

    # The flags the workloads pass are flags of the binaries.
    for who, template in (("node", "node-daemonset.yaml"), ("controller", "controller-deployment.yaml")):
        binary = binaries.get(who)
        if not (binary and os.access(binary, os.X_OK)):
            print(f"note: no fleetbond-{who} given: the flags of {template} not compared with it")
            continue
        helpfull = subprocess.run([binary, "--helpfull"], capture_output=True, text=True)
        known = set(re.findall(r"^\s+--([a-z0-9_]+)", helpfull.stdout + helpfull.stderr, re.M))
        text = open(os.path.join(chart, "templates", template)).read()
        flags = sorted(set(re.findall(r"^\s*- (--[a-z][a-z0-9-]*)", text, re.M)))
        unknown = [f for f in flags if f[2:].replace("-", "_") not in known]
        check(flags and not unknown, f"{template}: its {len(flags)} flags are flags of fleetbond-{who}",
              "unknown: " + ", ".join(unknown))

    # 6. Rendered without helm.
    render_checks(chart, values, merged, binaries)

    # 5. helm itself, when it is there.
    helm = shutil.which("helm")
    if helm is None:
        print("helm not installed: skipped lint/template")
    else:
        r = subprocess.run([helm, "lint", "--strict", chart], capture_output=True, text=True)
        check(r.returncode == 0, "helm lint --strict", r.stdout + r.stderr)
        for path in [None] + examples:
            extra = ["-f", path] if path else []
            name = os.path.basename(path) if path else "values.yaml"
            r = subprocess.run([helm, "template", "t", chart, "--namespace", "fleet", *extra],
                               capture_output=True, text=True)
            if not check(r.returncode == 0, f"helm template ({name})", r.stderr):
                continue
            try:
                docs = list(yaml.safe_load_all(r.stdout))
                ok, docs = check_documents(docs, f"helm template ({name})")
                check(ok and docs, f"helm template ({name}): {len(docs)} documents parse and have "
                      "apiVersion, kind, metadata.name")
            except yaml.YAMLError as e:
                check(False, f"helm template ({name}) output parses as YAML", e)
        r = subprocess.run([helm, "template", "t", chart, "-f", bad_path], capture_output=True, text=True)
        check(r.returncode != 0, "helm template refuses helm-bad-values.yaml", r.stdout[:500])

    print(f"{PASSES} passed, {FAILURES} failed")
    return 0 if FAILURES == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
