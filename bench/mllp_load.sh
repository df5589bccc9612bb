#!/usr/bin/env bash
# HL7 v2 over MLLP end to end beside the same data POSTed over REST as transaction Bundles, on
# one server, in one go.
#
# usage: bench/mllp_load.sh BUILD_DIR [RUNS [MESSAGES]]
#        bench/mllp_load.sh BUILD_DIR smoke
#   BUILD_DIR: a Release tree configured with -DFHIRHUB_BENCH=ON in which fhirhub and mllp_load
#     are built; this script builds nothing:
#       cmake -S . -B build/bench-rest -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRHUB_TESTS=OFF \
#         -DFHIRHUB_BENCH=ON
#       cmake --build build/bench-rest -j2 --target fhirhub mllp_load
#   RUNS: how many times both measurements run (default 2); medians are printed at the end.
#   MESSAGES: ORU^R01 messages per measurement (default 8000), each with OBSERVATIONS OBX
#     segments (environment, default 10), sent by CONCURRENCY senders (environment, default 8).
#   smoke: a few messages of each mode from 2 senders, to keep the script working.
#
# It starts `fhirhub serve --auth off --mllp-port 0` with its embedded PostgreSQL in a temporary
# data directory: authentication off, consent and audit on, as the connector runs in production.
# Each run measures
#   mllp: messages sent over MLLP, each parsed, mapped, written in one transaction through the
#     request pipeline and acknowledged (AA) after its commit;
#   rest: the transaction Bundles the mapping makes of the same kind of messages (new
#     identifiers), mapped beforehand by mllp_load and POSTed to the FHIR base, each sender on
#     one keep-alive connection;
# after a warm-up of 400 MLLP messages before the first run, whose rate it prints too: the first
# messages a new database receives, while its tables are young. Exits non-zero when any message
# was not accepted in the end (after the senders' retries).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: mllp_load.sh BUILD_DIR [RUNS [MESSAGES]]}" && pwd)"
runs="${2:-2}"
messages="${3:-8000}"
observations="${OBSERVATIONS:-10}"
senders="${CONCURRENCY:-8}"
if [[ "$runs" == smoke ]]; then
  runs=1
  messages=16
  senders=2
fi
for program in "$build/fhirhub" "$build/mllp_load"; do
  [[ -x "$program" ]] || { echo "mllp_load.sh: $program is not built" >&2; exit 2; }
done

# On the same file system as everything else (not a tmpfs), so that commits pay for their fsync
# as they would in production.
work="$(mktemp -d "${TMPDIR:-/tmp}/fhirhub-mllp-load.XXXXXX")"
chmod 755 "$work"
# shellcheck source=bench/fhirhub_server.sh
source "$here/fhirhub_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

start_server "$work/db" --auth off --mllp-port 0
mllp_url="$(grep -o 'mllp://[^ ]*' "$work/serve.out")"
mllp_port="${mllp_url##*:}"

load() {
  "$build/mllp_load" --host "$host" --port "$1" --base "$base" --mode "$2" --run "$3" \
    --messages "$messages" --concurrency "$senders" --observations "$observations"
}

warm=""
if [[ "$messages" -gt 400 ]]; then
  warm="$("$build/mllp_load" --host "$host" --port "$mllp_port" --mode mllp --run warm \
    --messages 400 --concurrency "$senders" --observations "$observations" 2>&1 |
    grep '^RESULT' || true)"
fi

: >"$work/results"
# Errors fail the script at the end, after every run was measured.
for run in $(seq "$runs"); do
  load "$mllp_port" mllp "m$run" | tee -a "$work/results" | grep -v '^RESULT' || true
  load "$port" rest "r$run" | tee -a "$work/results" | grep -v '^RESULT' || true
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { grep "^RESULT mode=$1 " "$work/results" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
echo
echo "medians of $runs run(s), $messages messages of $observations OBX, $senders senders:"
if [[ -n "$warm" ]]; then
  field_of() { tr ' ' '\n' <<<"$warm" | grep "^$1=" | cut -d= -f2; }
  printf '  new database, first 400 mllp messages: %s messages/s   p50 %s ms   p99 %s ms   errors %s\n' \
    "$(field_of rate)" "$(field_of p50_ms)" "$(field_of p99_ms)" "$(field_of errors)"
fi
for mode in mllp rest; do
  printf '  %-4s  %8.1f messages/s   p50 %6.2f ms   p99 %6.2f ms   retries %s   errors %s\n' \
    "$mode" "$(field "$mode" rate | median)" "$(field "$mode" p50_ms | median)" \
    "$(field "$mode" p99_ms | median)" "$(field "$mode" retries | median)" \
    "$(field "$mode" errors | median)"
done
errors="$(grep -o 'errors=[0-9]*' "$work/results" | awk -F= '{ s += $2 } END { print s + 0 }')"
[[ "$errors" -eq 0 ]]
