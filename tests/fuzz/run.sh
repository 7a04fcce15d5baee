#!/bin/sh
# Runs each fuzz target for a bounded time: tests/fuzz/run.sh BUILD SECONDS TARGET...
# Each starts from the corpus in the tree and one of its own under
# BUILD/corpus/TARGET (where what it finds is kept); a crash stops the run,
# leaves its input in BUILD/crash-TARGET-*, and exits 1.
set -e
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
for t in "$@"; do
  mkdir -p "$build/corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -print_final_stats=1 \
      -artifact_prefix="$build/crash-$t-" "$build/corpus/$t" "$src/corpus/$t" \
      >"$build/fuzz-$t.log" 2>&1; then
    tail -n 40 "$build/fuzz-$t.log" >&2
    echo "fuzz: $t crashed; the input is in $build/crash-$t-*, the log in $build/fuzz-$t.log" >&2
    exit 1
  fi
  # the last status line: runs, coverage, features, corpus size
  grep -E '^#[0-9]+' "$build/fuzz-$t.log" | tail -n 1
done
