#!/usr/bin/env bash
# Messages per second of fhirhub's HL7 v2 parser beside the JavaScript parser of npm
# "@medplum/core" (Hl7Message), both parsing the same ORU^R01 with 10 OBX
# (bench/hl7v2_oru_r01.hl7) and reading every value of it.
#
# usage: bench/hl7v2_compare.sh BUILD_DIR [SECONDS] [REPETITIONS]
#   BUILD_DIR: a Release tree configured with -DFHIRHUB_BENCH=ON. Each side runs REPETITIONS
#   (default 5) times SECONDS (default 2) of CPU time; the figures are the medians.
# The npm package is installed once under .cache/medplum-js (git-ignored), or under
# $HL7V2_COMPARE_JS_DIR when set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: hl7v2_compare.sh BUILD_DIR [SECONDS]}"
seconds="${2:-2}"
js="${HL7V2_COMPARE_JS_DIR:-$root/.cache/medplum-js}"

if [[ ! -d "$js/node_modules/@medplum/core" ]]; then
  mkdir -p "$js"
  (cd "$js" && npm init -y >/dev/null && npm install --no-audit --no-fund @medplum/core@5.2.13 >/dev/null)
fi
ninja -C "$build" hl7v2_bench >/dev/null

repetitions="${3:-5}"
cpp="$("$build/hl7v2_bench" --benchmark_filter=BM_ParseAndReadAll --benchmark_min_time="$seconds" \
  --benchmark_repetitions="$repetitions" --benchmark_format=json | node -e '
    const runs = JSON.parse(require("fs").readFileSync(0, "utf8")).benchmarks
      .filter((b) => b.run_type === "iteration").map((b) => b.items_per_second).sort((a, b) => a - b);
    console.log(Math.round(runs[Math.floor(runs.length / 2)]));')"
ref="$(for _ in $(seq "$repetitions"); do
  NODE_PATH="$js/node_modules" node "$root/bench/hl7v2_reference.js" "$root/bench/hl7v2_oru_r01.hl7" "$seconds" | cut -f1
done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
echo "parse and read every value of an ORU^R01 with 10 OBX (median of $repetitions, CPU time)"
printf 'fhirhub          %10s messages/s\n' "$cpp"
printf '@medplum/core    %10s messages/s\n' "$ref"
node -e "console.log('ratio            ' + ($cpp / $ref).toFixed(1) + 'x')"
