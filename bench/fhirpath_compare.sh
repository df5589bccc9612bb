#!/usr/bin/env bash
# Evaluations per second of fhirhub's FHIRPath engine beside the HL7 JavaScript implementation
# (npm "fhirpath") on the same expressions (bench/fhirpath_cases.json) and inputs.
#
# usage: bench/fhirpath_compare.sh BUILD_DIR [SECONDS_PER_CASE]
#   BUILD_DIR: a Release tree configured with -DFHIRHUB_BENCH=ON (fhirpath_bench is built).
# The npm package is installed once under .cache/fhirpath-js (git-ignored).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: fhirpath_compare.sh BUILD_DIR [SECONDS_PER_CASE]}"
seconds="${2:-1}"
package="$root/.cache/fhir/hl7.fhir.r4.examples-4.0.1/package"
js="$root/.cache/fhirpath-js"

if [[ ! -d "$js/node_modules/fhirpath" ]]; then
  mkdir -p "$js"
  (cd "$js" && npm init -y >/dev/null && npm install --no-audit --no-fund fhirpath@3.18.0 >/dev/null)
fi
ninja -C "$build" fhirpath_bench >/dev/null

cpp="$(mktemp)"
ref="$(mktemp)"
trap 'rm -f "$cpp" "$ref"' EXIT
"$build/fhirpath_bench" --benchmark_min_time="$seconds" --benchmark_format=json >"$cpp"
NODE_PATH="$js/node_modules" node "$root/bench/fhirpath_reference.js" "$package" "$seconds" >"$ref"

node - "$cpp" "$ref" <<'JS'
const fs = require('fs');
const cpp = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')).benchmarks;
const ref = Object.fromEntries(fs.readFileSync(process.argv[3], 'utf8').trim().split('\n')
  .map((l) => l.split('\t')).map(([name, rate, result]) => [name, {rate: Number(rate), result}]));
console.log('case                   fhirhub evals/s   fhirpath.js evals/s   ratio   results');
for (const b of cpp) {
  const name = b.name.replace('BM_Fhirpath/', '');
  const r = ref[name];
  const same = r.result === b.label ? 'same' : `DIFFER: ${b.label} vs ${r.result}`;
  console.log(`${name.padEnd(22)} ${Math.round(b.items_per_second).toString().padStart(15)}` +
              `   ${String(r.rate).padStart(19)}   ${(b.items_per_second / r.rate).toFixed(1).padStart(5)}x` +
              `   ${same}`);
}
JS
