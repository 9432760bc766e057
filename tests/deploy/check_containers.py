#!/usr/bin/env python3
"""deploy/container/Containerfile checked without a container engine (there is none here).

What is checked, statically:
- every base image is Debian bookworm (debian:bookworm or debian:bookworm-slim), and the build is
  multi-stage: a builder that runs the project's own scripts/setup.sh and scripts/build.sh
  release, and final stages `controller` and `node` that copy only binaries from it;
- the paths copied out of build/release/ are where scripts/build.sh and CMake put the binaries;
- the controller stage ends as a numeric non-root USER; the node stage documents NET_ADMIN and
  /dev/net/tun, and neither stage names CAP_SYS_ADMIN or --privileged;
- every package the runtime stage installs exists in Debian: `apt-cache policy` shows a
  candidate (skipped, exit 77, when apt-cache is missing or has no package lists);
- when built binaries are given, every shared library they link comes from a package the
  runtime stage installs or the base image has (ldd + dpkg -S), sanitizer runtimes excepted.
A deliberately wrong Containerfile (root controller, a package that does not exist, one stage)
must be rejected by the same checks, so they cannot pass vacuously.

usage: check_containers.py SOURCE_DIR [BUILD_DIR]
"""
import os
import re
import shutil
import subprocess
import sys

# In debian:bookworm-slim already (Priority: required/essential, or their dependencies).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
# Libraries only a sanitizer build links; the image is built from the release flavour.
SANITIZER_PACKAGES = {"libasan8", "libubsan1", "liblsan0", "libtsan2"}


def parse(text):
    """Containerfile text -> list of stages {image, name, lines} (continuations joined)."""
    joined = re.sub(r"\\\n", " ", text)
    stages = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(?i)FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$", line)
        if m:
            stages.append({"image": m.group(1), "name": (m.group(2) or "").lower(), "lines": []})
            continue
        if not stages:
            if not re.match(r"(?i)ARG\s", line):
                raise ValueError(f"instruction before the first FROM: {line}")
            continue
        stages[-1]["lines"].append(line)
    return stages


def apt_packages(stage):
    pkgs = []
    for line in stage["lines"]:
        for cmd in re.findall(r"apt-get\s+install\s+([^&;|]*)", line):
            pkgs += [w for w in cmd.split() if not w.startswith("-")]
    return pkgs


def final_user(stage):
    users = [l.split(None, 1)[1] for l in stage["lines"] if re.match(r"(?i)USER\s", l)]
    return users[-1] if users else None


def static_problems(text, src):
    """Every problem of a Containerfile that needs no tool; [] when it is fine."""
    problems = []
    try:
        stages = parse(text)
    except ValueError as e:
        return [str(e)]
    names = {s["name"]: s for s in stages if s["name"]}
    if len(stages) < 2:
        problems.append(f"not multi-stage: {len(stages)} FROM")
    for s in stages:
        img = s["image"]
        if img.lower() in names:
            continue  # FROM an earlier stage
        if not re.fullmatch(r"debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?", img):
            problems.append(f"base image {img} is not debian:bookworm or debian:bookworm-slim")
    builder = names.get("builder")
    if builder is None:
        problems.append("no stage named builder")
    else:
        body = "\n".join(builder["lines"])
        if "scripts/setup.sh" not in body:
            problems.append("the builder does not install the build dependencies with scripts/setup.sh")
        if "scripts/build.sh release" not in body:
            problems.append("the builder does not run scripts/build.sh release")
        for rel in re.findall(r"build/release/\S+", body):
            target = os.path.basename(rel)
            cm = os.path.join(src, os.path.dirname(rel[len("build/release/"):]), "CMakeLists.txt")
            if not (os.path.exists(cm) and f"add_executable({target} " in open(cm).read()):
                problems.append(f"{rel}: no add_executable({target}) in {os.path.relpath(cm, src)}")
    for want in ("controller", "node"):
        s = names.get(want)
        if s is None:
            problems.append(f"no stage named {want}")
            continue
        body = "\n".join(s["lines"])
        if re.search(r"(?i)CAP_SYS_ADMIN|--privileged", body):
            problems.append(f"{want}: asks for CAP_SYS_ADMIN or --privileged")
        copies = [l for l in s["lines"] if re.match(r"(?i)COPY\s", l)]
        if not copies or any("--from=builder" not in l for l in copies):
            problems.append(f"{want}: must COPY only --from=builder (binaries, not sources)")
        if not any(f"fleetbond-{want}" in l for l in copies):
            problems.append(f"{want}: does not copy fleetbond-{want}")
    ctl = names.get("controller")
    if ctl is not None:
        user = final_user(ctl)
        uid = (user or "").split(":")[0]
        if user is None:
            problems.append("controller: no USER (it would run as root)")
        elif not uid.isdigit() or int(uid) == 0:
            problems.append(f"controller: USER {user} is not a numeric non-root uid")
    node = names.get("node")
    if node is not None:
        # What the node needs is documented in the file itself: its comments and LABEL.
        section = text[text.find("AS node") - 900:] if "AS node" in text else ""
        for need in ("NET_ADMIN", "/dev/net/tun"):
            if need not in section:
                problems.append(f"node: does not document that it needs {need}")
    return problems


def runtime_packages(text):
    pkgs = []
    for s in parse(text):
        if s["name"] != "builder":
            pkgs += apt_packages(s)
    return pkgs


def candidates(pkgs):
    """package -> candidate version (None: none)."""
    out = subprocess.run(["apt-cache", "policy", *pkgs], capture_output=True, text=True).stdout
    result, current = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = line[:-1]
            result[current] = None
        elif current and line.strip().startswith("Candidate:"):
            v = line.split(":", 1)[1].strip()
            result[current] = None if v == "(none)" else v
    return {p: result.get(p) for p in pkgs}


def owning_packages(paths):
    """library path -> Debian package (None: no package owns it), with one dpkg -S for all
    (dpkg reads its whole database per call). Debian 12 merges /usr: a library found as
    /lib/x86_64-linux-gnu/X may be registered under /usr/lib/... or the reverse."""
    forms = {}
    for path in paths:
        real = os.path.realpath(path)
        alt = real[4:] if real.startswith("/usr/") else "/usr" + real
        forms[path] = (real, alt)
    queries = sorted({f for pair in forms.values() for f in pair})
    out = subprocess.run(["dpkg", "-S", *queries], capture_output=True, text=True).stdout
    owner = {}
    for line in out.splitlines():
        pkgs, _, file = line.partition(": ")
        if file:
            owner.setdefault(file.strip(), pkgs.split(",")[0].split(":")[0].strip())
    return {path: owner.get(real) or owner.get(alt) for path, (real, alt) in forms.items()}


def main():
    src = sys.argv[1]
    build = sys.argv[2] if len(sys.argv) > 2 else ""
    path = os.path.join(src, "deploy/container/Containerfile")
    text = open(path).read()
    failures = 0
    passes = 0

    def check(ok, what):
        nonlocal failures, passes
        if ok:
            passes += 1
            print(f"ok   {what}")
        else:
            failures += 1
            print(f"FAIL {what}")

    problems = static_problems(text, src)
    for p in problems:
        check(False, p)
    check(not problems, "Containerfile: bookworm bases, multi-stage builder/runtime/controller/node, "
          "non-root controller, node needs documented")

    # The same checks reject a wrong file, each for its own reason.
    wrong = {
        "controller as root": text.replace("USER 10001:10001", "USER root"),
        "one stage": "FROM debian:bookworm\nCOPY . .\nUSER 10001\n",
        "another distribution": text.replace("debian:bookworm-slim AS runtime", "ubuntu:22.04 AS runtime"),
        "node needs undocumented": re.sub(r"NET_ADMIN", "NET_X", text),
    }
    for what, body in wrong.items():
        check(static_problems(body, src) != [], f"a Containerfile with {what} is rejected")

    if os.path.exists(os.path.join(src, ".dockerignore")):
        ignore = open(os.path.join(src, ".dockerignore")).read().split()
        check("build-*" in ignore and ".git" in ignore, ".dockerignore leaves out build trees and .git")

    pkgs = runtime_packages(text)
    check(len(pkgs) > 0, f"the runtime stage installs {len(pkgs)} packages")
    if not shutil.which("apt-cache"):
        print("skip: apt-cache is not installed: Debian package names not checked")
        return 77 if failures == 0 else 1
    have = candidates(pkgs + ["libthis-package-does-not-exist0"])
    if all(v is None for v in have.values()):
        print("skip: apt-cache knows no packages (run apt-get update): names not checked")
        return 77 if failures == 0 else 1
    codename = ""
    if os.path.exists("/etc/os-release"):
        m = re.search(r"^VERSION_CODENAME=(\S+)", open("/etc/os-release").read(), re.M)
        codename = m.group(1) if m else ""
    if codename != "bookworm":
        print(f"note: this machine is {codename or 'not Debian'}: candidates are from its lists, not bookworm's")
    for p in pkgs:
        check(have.get(p) is not None, f"runtime package {p} exists in Debian (candidate {have.get(p)})")
    check(have["libthis-package-does-not-exist0"] is None, "a package that does not exist has no candidate")

    # Every library the binaries link is in the image.
    bins = [os.path.join(build, b) for b in
            ("node/fleetbond-node", "node/fleetbond-cli", "controller/fleetbond-controller")]
    if build and all(os.access(b, os.X_OK) for b in bins) and shutil.which("ldd") and shutil.which("dpkg"):
        libs = set()
        for b in bins:
            out = subprocess.run(["ldd", b], capture_output=True, text=True).stdout
            libs |= set(re.findall(r"=>\s+(/\S+)", out))
        installed = set(pkgs) | BASE_PACKAGES
        by_owner = {}
        for lib, owner in sorted(owning_packages(libs).items()):
            by_owner.setdefault(owner, []).append(os.path.basename(lib))
        for owner, names in sorted(by_owner.items(), key=lambda kv: str(kv[0])):
            if owner in SANITIZER_PACKAGES:
                print(f"note: {owner} ({len(names)} libraries) is a sanitizer runtime: not in the release image")
                continue
            check(owner in installed, f"{owner} ({len(names)} linked libraries, e.g. {names[0]}) is in the runtime image")
    else:
        print("note: no built binaries given: linked libraries not compared with the runtime stage")

    print(f"{passes} passed, {failures} failed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
