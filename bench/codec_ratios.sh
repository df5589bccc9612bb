#!/usr/bin/env bash
# Builds the codec benchmark (release) and prints, for each codec operation, the median
# throughput of fhirhub and of the raw library measured in the same run, and their ratio.
#   bench/codec_ratios.sh [REPETITIONS [BUILD_DIR]]      (defaults: 5, build/bench)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
reps=${1:-5}
build=${2:-build/bench}
scripts/bootstrap
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRHUB_LIBRARY_ONLY=ON \
  -DFHIRHUB_BENCH=ON >/dev/null
cmake --build "$build" --target codec_bench >/dev/null
"$build/codec_bench" --benchmark_filter=-DefinitionsLoad --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_format=csv 2>/dev/null |
  awk -F, '
    /_median"?,/ {
      name = $1; gsub(/"/, "", name); sub(/_median$/, "", name)
      mbs[name] = $6 / 1e6
    }
    END {
      printf "%-28s %12s %12s %8s\n", "operation", "fhirhub MB/s", "raw MB/s", "ratio"
      split("JsonParse:RapidJson JsonWrite:RapidJson XmlParse:Libxml2 XmlWrite:Libxml2", ops, " ")
      for (i = 1; i <= 4; i++) {
        split(ops[i], p, ":")
        ours = mbs["BM_" p[1] "_Fhirhub"]; raw = mbs["BM_" p[1] "_" p[2]]
        printf "%-28s %12.1f %12.1f %7.0f%%\n", p[1] " vs " p[2], ours, raw, 100 * ours / raw
      }
    }'
# The definitions registry: load time and heap (its own run: the CSV reporter wants the same
# counters in every row).
"$build/codec_bench" --benchmark_filter=DefinitionsLoad --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true 2>/dev/null |
  awk '/_median/ { printf "%-28s %12s ms %12s\n", "definitions load (median)", $2, $NF }'
