# shellcheck shell=bash
# report.sh: counting and printing a test's checks (sourced by the controller tests, through
# ctl_test.sh). The test ends with its own summary line and `((fail == 0))`.
#
#   ok "node 1 joined"                # a pass, printed as "ok   node 1 joined" (no name: silent)
#   bad "node 1 joined no replica"    # a failure, printed as "FAIL ..."
#   section "(2) kill -9"             # a heading with the seconds since the start
#   check NAME PYTHON_BOOL [DETAIL]   # ok or bad on a python3 boolean expression
#   wait_for 30 CMD...                # until CMD succeeds, its output discarded (bounded)
#   jget FILE PYEXPR                  # a value from a JSON document (j)
#
# PY names the python3 to use (default: python3 from PATH); WAIT_FOR_POLL wait_for's pause
# between tries (default 0.3 s).

pass=0
fail=0

# ok [NAME]: count a pass; print it when it has a name.
ok() {
  pass=$((pass + 1))
  if (($#)); then echo "ok   $*"; fi
}
# bad NAME: count a failure and print it.
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# section TITLE: a heading, with the seconds the test has run.
section() { echo "--- $* (${SECONDS}s)"; }

# check NAME PYTHON_BOOL [DETAIL]: ok when the expression is true, else bad (with the expression).
check() {
  if "${PY:-python3}" -c "import sys; sys.exit(0 if ($2) else 1)" 2>/dev/null; then ok "$1 ${3:+($3)}"; else
    bad "$1 ${3:+($3)} [expected: $2]"; fi
}

# wait_for SECONDS CMD...: until CMD succeeds, trying every WAIT_FOR_POLL seconds (bounded);
# CMD's output is discarded.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while ((SECONDS < deadline)); do "$@" >/dev/null 2>&1 && return 0; sleep "${WAIT_FOR_POLL:-0.3}"; done
  return 1
}

# jget FILE PYEXPR: the value of a Python expression over j = json.load(FILE) ("" on error).
jget() { "${PY:-python3}" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
