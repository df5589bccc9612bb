#!/usr/bin/env bash
# Station feed throughput of fhirhub beside the same Observations sent as FHIR batch and
# transaction Bundles, in one go against one server.
#
# usage: bench/feed_load.sh BUILD_DIR [RUNS [SECONDS]]
#        bench/feed_load.sh BUILD_DIR smoke
#   BUILD_DIR: a Release tree configured with -DFHIRHUB_BENCH=ON in which fhirhub and feed_load
#     are built; this script builds nothing:
#       cmake -S . -B build/bench-feed -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRHUB_TESTS=OFF \
#         -DFHIRHUB_BENCH=ON
#       cmake --build build/bench-feed -j2 --target fhirhub feed_load
#   RUNS: how many times the pair of measurements runs (default 2); medians are printed at the end.
#   SECONDS: length of each measurement (default 15).
#   CONCURRENCY (environment): connections of every measurement (default 4); BATCH: measurements
#     per batch (default 50); PIPELINE (environment): "off" (default: no authentication, consent
#     or audit) or "on" (authentication off, consent and audit on).
#   smoke: a few batches of each mode, to keep the script working.
#
# It starts `fhirhub serve` on a free port with its embedded PostgreSQL in a temporary data
# directory, creates the residents' Patients and warms up with 5 s of feed load, then runs VACUUM
# ANALYZE as bench/rest_load.sh does. Each run measures feed_load --mode feed (vendor batches to
# POST /station-feed), --mode batch and --mode transaction (the same Observations as a batch or
# transaction Bundle to POST /, the references), with a CHECKPOINT before each. Exits non-zero
# when any batch failed.
set -euo pipefail
build="$(cd "${1:?usage: feed_load.sh BUILD_DIR [RUNS [SECONDS]]}" && pwd)"
runs="${2:-2}"
seconds="${3:-15}"
clients="${CONCURRENCY:-4}"
batch="${BATCH:-50}"
smoke=false
[[ "$runs" == smoke ]] && smoke=true
for program in "$build/fhirhub" "$build/feed_load"; do
  [[ -x "$program" ]] || { echo "feed_load.sh: $program is not built" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/fhirhub-feed-load.XXXXXX")"
chmod 755 "$work"
# shellcheck source=bench/fhirhub_server.sh
source "$(dirname "$0")/fhirhub_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

if [[ "${PIPELINE:-off}" == on ]]; then
  start_server "$work/db" --auth off
else
  start_server "$work/db"
fi
load() {  # $1: mode; then feed_load's further options
  local mode=$1
  shift
  "$build/feed_load" --host "$host" --port "$port" --base "$base" --mode "$mode" \
    --concurrency "$clients" --batch "$batch" "$@"
}

if $smoke; then
  load feed --batches 4 --residents 20
  load batch --batches 4 --residents 20
  load transaction --batches 4 --residents 20
  exit 0
fi

checkpoint() {
  command -v psql >/dev/null || return 0
  psql -h "$work/db/socket" -p 5432 -U postgres -d postgres -qAtc CHECKPOINT >/dev/null
}
field() { awk -v k="$2" '/^RESULT / { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1"; }

# A warm-up that fills the tables, then statistics, as bench/rest_load.sh does.
load feed --duration 5 >"$work/warmup.out" 2>&1 || { cat "$work/warmup.out" >&2; exit 1; }
if command -v psql >/dev/null; then
  psql -h "$work/db/socket" -p 5432 -U postgres -d fhirhub -qAtc 'VACUUM ANALYZE' >/dev/null
fi

echo "fhirhub at $url; pipeline ${PIPELINE:-off}; $runs runs of ${seconds} s per measurement," \
  "$clients connections, batches of $batch; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
failed=0
for run in $(seq "$runs"); do
  for mode in feed batch transaction; do
    checkpoint
    load "$mode" --duration "$seconds" >"$work/$mode.out" 2>"$work/$mode.err" ||
      { failed=1; cat "$work/$mode.err" >&2; }
  done
  feed_mps="$(field "$work/feed.out" mps)"
  batch_mps="$(field "$work/batch.out" mps)"
  transaction_mps="$(field "$work/transaction.out" mps)"
  rows+=("$run $feed_mps $(field "$work/feed.out" p99_ms) $batch_mps $transaction_mps")
  echo "run $run: feed $feed_mps, batch Bundle $batch_mps, transaction Bundle $transaction_mps measurements/s"
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "| run | feed measurements/s | feed p99 ms per batch | batch Bundle measurements/s | transaction Bundle measurements/s | feed / batch Bundle | feed / transaction Bundle |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
  read -r r f fp b t <<<"$row"
  awk -v r="$r" -v f="$f" -v fp="$fp" -v b="$b" -v t="$t" \
    'BEGIN { printf "| %s | %.0f | %.1f | %.0f | %.0f | %.2f | %.2f |\n", r, f, fp, b, t, f / b, f / t }'
done
col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{ print $c }' | median; }
awk -v f="$(col 2)" -v fp="$(col 3)" -v b="$(col 4)" -v t="$(col 5)" \
  'BEGIN { printf "| median | %.0f | %.1f | %.0f | %.0f | %.2f | %.2f |\n", f, fp, b, t, f / b, f / t }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$failed"
