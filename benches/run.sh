#!/usr/bin/env bash
# Reruns tempo's benchmarks and REWRITES benches/RESULTS.md.
#
# Steps: build every tempo-benches binary (release), run the suite (writes
# benches/results/suite.tsv), run the TCP echo benchmark (writes
# benches/results/echo.tsv and echo.md), then `report`, which rewrites
# benches/RESULTS.md and benches/results/ratios.svg from every
# benches/results/*.tsv. Only the text between `<!-- analysis -->` and
# `<!-- /analysis -->` in RESULTS.md survives (report copies it over).
#
# usage: bash benches/run.sh [--quick] [--skip-suite] [--skip-echo] [--no-build]
#
#   --quick       smaller loads: suite --quick --reps 3, echo --quick --reps 3
#                 (default: suite --reps 5, echo --reps 5)
#   --skip-suite  keep the existing results/suite.tsv
#   --skip-echo   keep the existing results/echo.tsv
#   --no-build    use the binaries already in target/release
#
# Extra arguments, appended after the defaults above (the last --reps wins),
# come from the environment:
#   SUITE_ARGS="--only 1-spawn,3-pingpong"  ECHO_ARGS="--configs 1,2"  REPORT_ARGS="--out /tmp/R.md"
#
# The benchmarks share the machine with whatever else runs on it: run this on
# a quiet machine (the load average is recorded in each TSV and in RESULTS.md).
# The suite also takes a host probe between its cases and warns at its end
# about the cases run in a slow phase of the host (benches/src/host.rs;
# RESULTS.md: "Host phases"): rerun those with SUITE_ARGS="--only ..." and
# --skip-echo, or the whole run once the probe reads its calm value again.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=0
skip_suite=0
skip_echo=0
build=1
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --skip-suite) skip_suite=1 ;;
        --skip-echo) skip_echo=1 ;;
        --no-build) build=0 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "run.sh: unknown argument '$arg' (see --help; extra benchmark flags go in SUITE_ARGS / ECHO_ARGS)" >&2
            exit 2
            ;;
    esac
done

if ((quick)); then
    suite_args=(--quick --reps 3)
    echo_args=(--quick --reps 3)
else
    suite_args=(--reps 5)
    echo_args=(--reps 5)
fi
# Word-split the environment's extra arguments on purpose (no quoting inside them).
read -r -a extra_suite <<<"${SUITE_ARGS:-}"
read -r -a extra_echo <<<"${ECHO_ARGS:-}"
read -r -a extra_report <<<"${REPORT_ARGS:-}"

started=$EPOCHREALTIME
# step NAME COMMAND...: runs COMMAND, then prints how long it took.
step() {
    local name=$1
    shift
    echo "== $name: $*" >&2
    local t0=$EPOCHREALTIME
    "$@"
    echo "== $name took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" >&2
}

if ((build)); then
    step build cargo build --release -p tempo-benches --bins
fi
if ((!skip_suite)); then
    step suite ./target/release/suite "${suite_args[@]}" "${extra_suite[@]}"
fi
if ((!skip_echo)); then
    step echo ./target/release/echo "${echo_args[@]}" "${extra_echo[@]}"
fi
step report ./target/release/report "${extra_report[@]}"

echo "== total $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" >&2
