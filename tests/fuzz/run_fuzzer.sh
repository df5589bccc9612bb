#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: run_fuzzer.sh BINARY SEED_DIR SECONDS.
# New inputs go to a scratch corpus; a crash, leak or sanitizer report fails the test and leaves
# the reproducer in the scratch folder, whose path is printed.
set -euo pipefail
binary=$1 seeds=$2 seconds=$3
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fhirhub-fuzz.XXXXXX")
cd "$scratch"
mkdir corpus
if "$binary" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 corpus "$seeds" >fuzz.log 2>&1; then
  tail -n 15 fuzz.log
  rm -rf "$scratch"
else
  tail -n 60 fuzz.log
  echo "fuzzer failed; reproducer and log in $scratch" >&2
  exit 1
fi
