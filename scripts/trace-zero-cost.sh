#!/usr/bin/env bash
# Shows that trace validation costs nothing in normal builds: the module
# `tempo::trace` and every call to it exist only under --features loom /
# shuttle (the `trace!` macro expands to nothing, `act!(..)` to `()`).
# Checks the symbols of the release library in both configurations.
set -euo pipefail
cd "$(dirname "$0")/.."
count() { nm -C "$1" 2>/dev/null | grep -c 'tempo::trace::' || true; }
cargo build -q --release --lib
normal=$(count target/release/libtempo.rlib)
cargo build -q --release --lib --features loom
checked=$(count target/release/libtempo.rlib)
echo "symbols of tempo::trace: normal build $normal, loom build $checked"
[ "$normal" -eq 0 ] || { echo "trace code leaked into the normal build" >&2; exit 1; }
[ "$checked" -gt 0 ] || { echo "the loom build has no trace code: is the recorder wired?" >&2; exit 1; }
