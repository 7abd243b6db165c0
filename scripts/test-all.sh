#!/usr/bin/env bash
# Everything a maintainer (and CI) runs: unit + integration + doc tests and
# the proptest model, the examples, the loom models and shuttle scenarios
# (trace-validated), TLC on the recorded traces, and TLC on every spec.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
# Prints the time the previous section took, then the next header.
last=$SECONDS
section() {
  if [ -n "${cur:-}" ]; then echo "== [$cur: $((SECONDS - last)) s]"; fi
  cur=$1
  last=$SECONDS
  echo "== $1"
}
section "cargo test (unit, integration, doc)"
cargo test --all-targets
cargo test --doc
section "lints and docs: clippy clean, every intra-doc link resolves (public and private items)"
cargo clippy --quiet --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --document-private-items
section "examples"
cargo run --quiet --example hello
cargo run --quiet --release --example echo
cargo run --quiet --example http_hello -- --self-test
# Each model sets its own preemption bound (2, or 1 for the 3-thread model);
# LOOM_MAX_PREEMPTIONS, if set, overrides them all.
# Every loom and shuttle execution is checked as it runs by the Rust port of
# the spec (src/trace); a sample of the traces is written for TLC below.
traces=$PWD/target/traces
rm -rf "$traces"
section "benchmark crate: builds, unit tests, every server echoes (no timing)"
cargo test --release -p tempo-benches
cargo run --quiet --release -p tempo-benches --bin suite -- --quick --reps 1 --no-write > /dev/null
section "loom models (release), trace-validated"
TEMPO_TRACE_DIR=$traces cargo test --release --features loom -- --nocapture
section "shuttle scenarios (release), trace-validated"
TEMPO_TRACE_DIR=$traces cargo test --release --features shuttle -- --nocapture
section "recorded traces against the TLA+ text (TLC)"
bash tla/check_traces.sh "$traces"
section "trace validation costs nothing in normal builds"
bash scripts/trace-zero-cost.sh
section "TLC"
bash tla/check.sh --all
section done
echo "== all green in $((SECONDS - t0)) s"
