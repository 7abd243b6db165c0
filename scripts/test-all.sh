#!/usr/bin/env bash
# Everything a maintainer (and CI) runs: unit + integration + doc tests, the
# example, the loom models, and the TLC check of every spec.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
echo "== cargo test (unit, integration, doc)"
cargo test --all-targets
cargo test --doc
echo "== example"
cargo run --quiet --example hello
echo "== loom models (release; LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-2})"
LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}" cargo test --release --features loom
echo "== TLC"
bash tla/check.sh --all
echo "== all green in $((SECONDS - t0)) s"
