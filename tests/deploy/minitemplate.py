"""A small renderer for the subset of Go templates (and Helm/Sprig functions) that
helm/fleetbond uses, so that tests/deploy/check_helm.py can look at rendered manifests on
machines without helm. It is NOT Helm: anything outside the subset raises TemplateError (so a
template that starts using more fails loudly here instead of rendering wrongly), and formatting
details may differ (numbers, quoting). Where helm is installed, check_helm.py runs the real
`helm template` too.

Supported: text with {{ }} actions and the trim markers {{- and -}}; comments {{/* */}};
define/include; if/else if/else/end; with/else/end; range over lists and maps (with $i, $v :=);
$var := pipeline; pipelines with |; field chains on ., $ and $var; string, number, true/false
literals; parentheses. Functions: include, printf, print, default, quote, squote, nindent,
indent, toYaml, toJson, toPrettyJson, sha256sum, trunc, trimSuffix, trimPrefix, replace,
contains, hasPrefix, int, toString, and, or, not, eq, ne, empty, required, lower, upper.
"""
import hashlib
import json
import re

import yaml


class TemplateError(Exception):
    pass


# --- lexing and parsing -------------------------------------------------------------------

ACTION_RE = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)


def _lex(text):
    """-> [("text", s) | ("action", body)] with the trim markers applied to the text."""
    out = []
    pos = 0
    for m in ACTION_RE.finditer(text):
        chunk = text[pos:m.start()]
        if m.group(1) == "-":
            chunk = chunk.rstrip(" \t\r\n")
        out.append(["text", chunk])
        out.append(["action", m.group(2).strip(), m.group(3) == "-"])
        pos = m.end()
    out.append(["text", text[pos:]])
    # a -}} trims the whitespace that follows
    for i, tok in enumerate(out):
        if tok[0] == "action" and tok[2] and i + 1 < len(out):
            out[i + 1][1] = out[i + 1][1].lstrip(" \t\r\n")
    return [(t[0], t[1]) for t in out if not (t[0] == "text" and t[1] == "")]


TOKEN_RE = re.compile(r'''\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(:=|=)|(\||\(|\))|([^\s|()]+))''')


def _tokens(expr):
    toks = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = TOKEN_RE.match(expr, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"cannot read {expr[pos:]!r}")
        pos = m.end()
        toks.append(next(g for g in m.groups() if g is not None))
    return toks


def _parse(tokens):
    """-> list of nodes; a node is ("text", s) | ("out", expr) | ("if", [(cond, body)...], else)
    | ("with", expr, body, else) | ("range", vars, expr, body, else) | ("define", name, body)
    | ("set", var, expr)."""
    pos = 0

    def block(stop):
        nonlocal pos
        nodes = []
        while pos < len(tokens):
            kind, body = tokens[pos]
            if kind == "text":
                nodes.append(("text", body))
                pos += 1
                continue
            if body.startswith("/*"):
                pos += 1
                continue
            word = body.split(None, 1)[0] if body else ""
            rest = body[len(word):].strip()
            if word in ("end", "else") and stop:
                return nodes, word, rest
            pos += 1
            if word == "if":
                branches, otherwise, cond = [], [], rest
                while True:
                    inner, ended, tail = block(True)
                    branches.append((cond, inner))
                    pos += 1  # the end or else
                    if ended == "end":
                        break
                    if tail.startswith("if "):
                        cond = tail[3:]
                        continue
                    otherwise, ended, _ = block(True)
                    pos += 1
                    if ended != "end":
                        raise TemplateError("if ... else ... else without end")
                    break
                nodes.append(("if", branches, otherwise))
            elif word in ("with", "range"):
                inner, ended, _ = block(True)
                pos += 1
                otherwise = []
                if ended == "else":
                    otherwise, ended, _ = block(True)
                    pos += 1
                    if ended != "end":
                        raise TemplateError(f"{word} ... else ... else without end")
                if word == "with":
                    nodes.append(("with", rest, inner, otherwise))
                else:
                    m = re.match(r"^(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*(.*)$", rest, re.S)
                    names = [v for v in (m.group(1), m.group(2)) if v] if m else []
                    nodes.append(("range", names, m.group(3) if m else rest, inner, otherwise))
            elif word == "define":
                inner, ended, _ = block(True)
                pos += 1
                nodes.append(("define", json.loads(rest), inner))
            elif word in ("end", "else"):
                raise TemplateError(f"{{{{ {word} }}}} without an open block")
            elif re.match(r"^\$\w+\s*:?=", body):
                var, expr = re.split(r":?=", body, 1)
                nodes.append(("set", var.strip(), expr.strip()))
            elif word in ("block", "template", "break", "continue"):
                raise TemplateError(f"{word} is outside the supported subset")
            else:
                nodes.append(("out", body))
        if stop:
            raise TemplateError("a block is not closed with {{ end }}")
        return nodes, None, ""

    nodes, _, _ = block(False)
    return nodes


# --- evaluation ---------------------------------------------------------------------------

def truthy(v):
    """Go templates' truth: false, 0, nil and empty strings, lists and maps are false."""
    if v is None or v is False:
        return False
    if isinstance(v, bool):
        return True
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, list, dict, tuple)):
        return len(v) > 0
    return True


def to_string(v):
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        raise TemplateError(f"printing a {type(v).__name__} directly: {v!r}")
    return str(v)


def _go_json(v, indent=None):
    return json.dumps(v, indent=indent, sort_keys=True, separators=None if indent else (",", ":"))


class Renderer:
    def __init__(self, files, values, release=None, chart=None):
        """files: {name: text}; helpers and templates alike."""
        self.defines = {}
        self.trees = {}
        for name, text in files.items():
            tree = _parse(_lex(text))
            self.trees[name] = tree
            for node in tree:
                if node[0] == "define":
                    self.defines[node[1]] = node[2]
        self.root = {
            "Values": values,
            "Release": release or {"Name": "fleet", "Namespace": "fleet", "Service": "Helm"},
            "Chart": chart or {},
            "Template": {"BasePath": "fleetbond/templates"},
        }

    def render(self, name):
        return self._run(self.trees[name], self.root, {"$": self.root})

    # nodes
    def _run(self, nodes, dot, scope):
        out = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "define":
                continue
            elif kind == "out":
                out.append(to_string(self._pipeline(node[1], dot, scope)))
            elif kind == "set":
                scope[node[1]] = self._pipeline(node[2], dot, scope)
            elif kind == "if":
                for cond, body in node[1]:
                    if truthy(self._pipeline(cond, dot, scope)):
                        out.append(self._run(body, dot, dict(scope)))
                        break
                else:
                    out.append(self._run(node[2], dot, dict(scope)))
            elif kind == "with":
                v = self._pipeline(node[1], dot, scope)
                out.append(self._run(node[2], v, dict(scope)) if truthy(v)
                           else self._run(node[3], dot, dict(scope)))
            elif kind == "range":
                v = self._pipeline(node[2], dot, scope)
                if not truthy(v):
                    out.append(self._run(node[4], dot, dict(scope)))
                    continue
                items = sorted(v.items()) if isinstance(v, dict) else list(enumerate(v))
                for k, item in items:
                    s = dict(scope)
                    if len(node[1]) == 1:
                        s[node[1][0]] = item
                    elif len(node[1]) == 2:
                        s[node[1][0]], s[node[1][1]] = k, item
                    out.append(self._run(node[3], item, s))
        return "".join(out)

    # expressions
    def _pipeline(self, expr, dot, scope):
        toks = _tokens(expr)
        commands, cur, depth = [], [], 0
        for t in toks:
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
            if t == "|" and depth == 0:
                commands.append(cur)
                cur = []
            else:
                cur.append(t)
        commands.append(cur)
        value, piped = None, False
        for cmd in commands:
            value = self._command(cmd, dot, scope, value if piped else _NOTHING)
            piped = True
        return value

    def _command(self, toks, dot, scope, piped):
        args, i = [], 0
        while i < len(toks):
            t = toks[i]
            if t == "(":
                depth, j = 1, i + 1
                while depth:
                    depth += {"(": 1, ")": -1}.get(toks[j], 0)
                    j += 1
                args.append(("value", self._pipeline(" ".join(toks[i + 1:j - 1]), dot, scope)))
                i = j
                continue
            args.append(("tok", t))
            i += 1
        head = args[0]
        if head[0] == "tok" and head[1] in FUNCS:
            vals = [self._operand(a, dot, scope) for a in args[1:]]
            if piped is not _NOTHING:
                vals.append(piped)
            if head[1] == "include":
                return self._include(*vals)
            return FUNCS[head[1]](*vals)
        if len(args) > 1 or piped is not _NOTHING:
            raise TemplateError(f"{toks[0]!r} is not a supported function")
        return self._operand(head, dot, scope)

    def _operand(self, arg, dot, scope):
        kind, t = arg
        if kind == "value":
            return t
        if t.startswith('"'):
            return json.loads(t)
        if t.startswith("`"):
            return t[1:-1]
        if t in ("true", "false"):
            return t == "true"
        if t == "nil":
            return None
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        if re.fullmatch(r"-?\d+\.\d*", t):
            return float(t)
        if t == ".":
            return dot
        if t.startswith("$"):
            name, _, chain = t.partition(".")
            if name not in scope:
                raise TemplateError(f"undefined variable {name}")
            return _field(scope[name], chain)
        if t.startswith("."):
            return _field(dot, t[1:])
        if t in FUNCS:
            return FUNCS[t]()
        raise TemplateError(f"cannot evaluate {t!r}")

    def _include(self, name, dot):
        if name not in self.defines:
            raise TemplateError(f"include of an undefined template {name!r}")
        return self._run(self.defines[name], dot, {"$": self.root})


_NOTHING = object()


def _field(value, chain):
    for part in [p for p in chain.split(".") if p]:
        if isinstance(value, dict):
            value = value.get(part)
        elif value is None:
            raise TemplateError(f"nil pointer evaluating .{part}")
        else:
            raise TemplateError(f"cannot take .{part} of {type(value).__name__}")
    return value


def _indent(n, s):
    return "\n".join((" " * int(n) + line) if line else line for line in str(s).split("\n"))


def _to_yaml(v):
    if v is None:
        return "null"
    return yaml.safe_dump(v, default_flow_style=False, sort_keys=True).rstrip("\n")


def _required(msg, v):
    if not truthy(v):
        raise TemplateError(msg)
    return v


FUNCS = {
    "include": None,  # handled by the renderer
    "printf": lambda fmt, *a: re.sub(r"%[sdv]", "{}", fmt).format(*[to_string(x) for x in a]),
    "print": lambda *a: "".join(to_string(x) for x in a),
    "default": lambda d, v=None: v if truthy(v) else d,
    "quote": lambda *a: " ".join(json.dumps(to_string(x)) for x in a),
    "squote": lambda *a: " ".join("'" + to_string(x) + "'" for x in a),
    "nindent": lambda n, s: "\n" + _indent(n, s),
    "indent": lambda n, s: _indent(n, s),
    "toYaml": _to_yaml,
    "toJson": lambda v: _go_json(v),
    "toPrettyJson": lambda v: _go_json(v, 2),
    "sha256sum": lambda s: hashlib.sha256(str(s).encode()).hexdigest(),
    "trunc": lambda n, s: str(s)[:int(n)],
    "trimSuffix": lambda suf, s: str(s)[:-len(suf)] if suf and str(s).endswith(suf) else str(s),
    "trimPrefix": lambda pre, s: str(s)[len(pre):] if pre and str(s).startswith(pre) else str(s),
    "replace": lambda old, new, s: str(s).replace(old, new),
    "contains": lambda sub, s: sub in str(s),
    "hasPrefix": lambda pre, s: str(s).startswith(pre),
    "int": lambda v: int(v or 0),
    "toString": to_string,
    "and": lambda *a: next((x for x in a if not truthy(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truthy(x)), a[-1]),
    "not": lambda v: not truthy(v),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "empty": lambda v: not truthy(v),
    "required": _required,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
}
