#!/usr/bin/env bash
# Seeded bugs as patches (VERIFICATION.md, "Seeded bugs as patches"): applies
# each patch of tests/mutants/ to a scratch worktree of HEAD and runs the one
# test that `mutants.txt` names for it, expecting it to FAIL. Modelled on
# `tla/check.sh --mutants`: a mutant that passes its test is a harness that
# lost its bite; a patch that no longer applies must be regenerated.
#
#   bash tests/mutants/run.sh              every mutant of mutants.txt
#   bash tests/mutants/run.sh NAME ...     only these
#
# Uncommitted changes are not in the scratch tree (it is HEAD). Builds go to
# $CARGO_TARGET_DIR (default target/mutant-patches): dependencies are built
# once, tempo once per mutant. Exits non-zero if a mutant is missed or a
# patch does not apply.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/mutant-patches}
limit=${MUTANT_TIMEOUT:-300}
scratch=$(mktemp -d)
git worktree add -q --detach "$scratch/wt" HEAD || exit 1
trap 'git worktree remove --force "$scratch/wt"; rm -rf "$scratch"' EXIT
wt=$scratch/wt

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  echo "${s%"${s##*[![:space:]]}"}"
}

bad=0
t0=$SECONDS
while IFS='|' read -r name cargs filter; do
  name=$(trim "$name")
  case $name in '' | '#'*) continue ;; esac
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  cargs=$(trim "$cargs")
  filter=$(trim "$filter")
  log=$CARGO_TARGET_DIR/$name.log
  mkdir -p "$CARGO_TARGET_DIR"
  git -C "$wt" checkout -q -- .
  if ! git -C "$wt" apply "$root/tests/mutants/$name.patch"; then
    echo "$name: the patch does not apply to HEAD (regenerate it)"
    bad=1
    continue
  fi
  # Build first (not timed against the limit).
  # shellcheck disable=SC2086
  (cd "$wt" && cargo test -q $cargs --no-run) >"$log" 2>&1 || {
    echo "$name: does not build (log: $log)"
    bad=1
    continue
  }
  start=$SECONDS
  # shellcheck disable=SC2086
  (cd "$wt" && timeout "$limit" cargo test -q $cargs -- $filter) >>"$log" 2>&1
  rc=$?
  secs=$((SECONDS - start))
  if [ $rc -eq 0 ]; then
    echo "$name: MISSED by \`cargo test $cargs -- $filter\` (log: $log)"
    bad=1
  elif [ $rc -eq 124 ]; then
    echo "$name: caught (hang past ${limit} s) by $filter"
  else
    echo "$name: caught in ${secs} s by $filter"
  fi
done <tests/mutants/mutants.txt
git -C "$wt" checkout -q -- .
echo "$((SECONDS - t0)) s in all"
exit $bad
