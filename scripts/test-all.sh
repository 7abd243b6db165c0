#!/usr/bin/env bash
# Everything a maintainer (and CI) runs: unit + integration + doc tests, the
# example, the loom models, and the TLC check of every spec.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
echo "== cargo test (unit, integration, doc)"
cargo test --all-targets
cargo test --doc
echo "== examples"
cargo run --quiet --example hello
cargo run --quiet --release --example echo
cargo run --quiet --example http_hello -- --self-test
# Each model sets its own preemption bound (2, or 1 for the 3-thread model);
# LOOM_MAX_PREEMPTIONS, if set, overrides them all.
echo "== loom models (release)"
cargo test --release --features loom -- --nocapture
echo "== shuttle build (its scenarios come with the verification issue)"
cargo test --features shuttle
echo "== TLC"
bash tla/check.sh --all
echo "== all green in $((SECONDS - t0)) s"
