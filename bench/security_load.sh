#!/usr/bin/env bash
# What the request pipeline costs: reads and searches with authentication, consent and audit on,
# against the same requests with the pipeline off, on the same data, in the same run.
#
# usage: bench/security_load.sh BUILD_DIR [RUNS [SECONDS]]
#        bench/security_load.sh BUILD_DIR smoke
#   BUILD_DIR: a Release tree configured with -DFHIRHUB_BENCH=ON in which fhirhub, rest_load and
#     search_load are built; this script builds nothing:
#       cmake -S . -B build/bench-rest -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRHUB_TESTS=OFF \
#         -DFHIRHUB_BENCH=ON
#       cmake --build build/bench-rest -j2 --target fhirhub rest_load search_load
#   RUNS: how many times each configuration is measured (default 2); medians are printed.
#   SECONDS: length of each measurement (default 15).
#   PATIENTS (environment): Patients of the search population, with 99 resources each (default
#     300: about 30,000 resources).
#   CONCURRENCY: clients (default 16).
#
# One embedded cluster on disk holds the search population (bench/search_load.cc). Each run
# measures, for each configuration:
#   off  `--auth off --consent off --audit off`: the router alone;
#   on   `--auth dev`: every request carries a development token of a clinician acting for an
#        organization, is authorized by its scopes and role, has every resource it returns checked
#        against the residents' Consents (read in the request's transaction) and leaves an audit
#        record committed before its answer.
#   consent, audit  reads only, with authentication off and only that step on (`--audit off`,
#        `--consent off`): what each step costs on its own.
# The read load (bench/rest_load.cc, GET Patient/{id}) creates its Patients first; where consent
# is on, each of them gets a Consent that denies another organization, so every read is decided by
# a Consent that permits it. The searches are those of bench/search_load.sh except
# `_summary=count`, which consent filtering refuses (docs/security.md); the tables are analyzed
# before them.
# Needs psql (postgresql-client). Exits non-zero when any request failed.
set -euo pipefail
build="$(cd "${1:?usage: security_load.sh BUILD_DIR [RUNS [SECONDS]]}" && pwd)"
smoke=false
if [[ "${2:-}" == smoke ]]; then
  smoke=true
  runs=1
else
  runs="${2:-2}"
  seconds="${3:-15}"
fi
patients="${PATIENTS:-300}"
clients="${CONCURRENCY:-16}"
$smoke && patients=20

work="$(mktemp -d "${TMPDIR:-/tmp}/fhirhub-security-load.XXXXXX")"
# Run as root, the cluster runs as the postgres user, which must be able to reach its directory.
chmod 755 "$work"
# shellcheck source=bench/fhirhub_server.sh
source "$(dirname "$0")/fhirhub_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

data="$work/db"
kinds=identifier,name-birthdate,obs-code-date,obs-include,has,revinclude
errors=0

start_server "$data"
"$build/search_load" --host "$host" --port "$port" --base "$base" --patients "$patients" \
  --mode load --concurrency 4 | grep '^LOAD '
# Without statistics the planner walks whole tables (as bench/search_load.sh notes).
psql -h "$data/socket" -p 5432 -U postgres -d fhirhub -qAtc 'VACUUM ANALYZE'
stop_server

# One configuration: "off", "consent" (consent alone), "audit" (audit alone) or "on"; appends
# "RATE <config> <kind> <requests per second>" lines to $work/rates. The single-step
# configurations measure reads only.
measure() {
  local config="$1" auth=() consent=() out="$work/$1.out"
  if [[ "$config" == consent ]]; then
    start_server "$data" --auth off --audit off
    consent=(--consent-deny Organization/bench-other)
  elif [[ "$config" == audit ]]; then
    start_server "$data" --auth off --consent off
  elif [[ "$config" == on ]]; then
    start_server "$data" --auth dev
    local token
    token="$("$build/fhirhub" token --data-dir "$data" --role clinician \
      --organization Organization/bench-reader --purpose TREAT)"
    auth=(--token "$token")
    consent=(--consent-deny Organization/bench-other)
  else
    start_server "$data"
  fi
  local common=(--host "$host" --port "$port" --base "$base" --concurrency "$clients")
  if $smoke; then
    "$build/rest_load" "${common[@]}" "${auth[@]}" "${consent[@]}" --mode read --ids 20 \
      --requests 100 >"$out"
    "$build/search_load" "${common[@]}" "${auth[@]}" --patients "$patients" --mode query \
      --kinds "$kinds" --requests 12 >>"$out" || errors=$((errors + 1))
  else
    "$build/rest_load" "${common[@]}" "${auth[@]}" "${consent[@]}" --mode read --ids 1000 \
      --duration "$seconds" >"$out"
    if [[ "$config" == on || "$config" == off ]]; then
      # Fresh statistics after the Patients (and Consents) the reads created, for stable plans.
      psql -h "$data/socket" -p 5432 -U postgres -d fhirhub -qAtc ANALYZE
      "$build/search_load" "${common[@]}" "${auth[@]}" --patients "$patients" --mode query \
        --kinds "$kinds" --duration "$seconds" >>"$out" || errors=$((errors + 1))
    fi
  fi
  stop_server
  cat "$out"
  grep -q '^RESULT mode=read .* errors=0 ' "$out" || errors=$((errors + 1))
  awk -v c="$config" '
    /^RESULT / { delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
                 print "RATE", c, ("kind" in f ? f["kind"] : f["mode"]), f["rps"] }' \
    "$out" >>"$work/rates"
}

for run in $(seq "$runs"); do
  echo "== run $run of $runs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  measure off
  $smoke || measure consent
  $smoke || measure audit
  measure on
done

echo
echo "Requests per second, medians of $runs runs; on/off is the pipeline's throughput ratio:"
awk '
  BEGIN { steps["consent"] = 1; steps["audit"] = 1 }
  $1 == "RATE" { key = $3; rates[$2, key] = rates[$2, key] " " $4; kinds[key] = 1 }
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  END {
    printf "%-16s %10s %10s %8s\n", "", "off", "on", "on/off"
    for (k in kinds) {
      off = median(rates["off", k]); on = median(rates["on", k])
      printf "%-16s %10.0f %10.0f %8.2f\n", k, off, on, (off > 0 ? on / off : 0)
    }
    for (step in steps) {
      if (!((step, "read") in rates)) continue
      r = median(rates[step, "read"]); off = median(rates["off", "read"])
      printf "read, %-10s %10.0f %10.0f %8.2f\n", step " only", off, r, (off > 0 ? r / off : 0)
    }
  }' "$work/rates"
[[ "$errors" -eq 0 ]] || { echo "security_load.sh: $errors measurements had errors" >&2; exit 1; }
