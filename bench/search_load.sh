#!/usr/bin/env bash
# Search latency and throughput of fhirhub at a million resources, the plans of its statements
# and the cost of its index writes, in one go.
#
# usage: bench/search_load.sh BUILD_DIR [RUNS [SECONDS]]
#        bench/search_load.sh BUILD_DIR smoke
#   BUILD_DIR: a Release tree configured with -DFHIRHUB_BENCH=ON in which fhirhub and search_load
#     are built; this script builds nothing:
#       cmake -S . -B build/bench-search -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRHUB_TESTS=OFF \
#         -DFHIRHUB_BENCH=ON
#       cmake --build build/bench-search -j2 --target fhirhub search_load
#   RUNS: how many times the searches and the create-cost comparison run (default 2); medians are
#     printed at the end.
#   SECONDS: length of each measurement (default 15).
#   PATIENTS (environment): Patients to generate, with 99 resources each beside them (default
#     10000: 1,000,220 resources with the stations and practitioners).
#   CONCURRENCY: clients of the searches and of pgbench (default 16).
#   LOAD_CONCURRENCY: transactions in flight while loading (default 4).
#   SEARCH_LOAD_DATA: a directory to keep the loaded cluster in, reused by later invocations with
#     the same PATIENTS (a million resources take a quarter of an hour to load on 2 cores).
#   smoke: 50 Patients, ANALYZE and a few searches of each kind (no pgbench), to keep the script
#     working.
#
# It starts `fhirhub serve --port 0` with its embedded PostgreSQL in a temporary data directory
# (or SEARCH_LOAD_DATA) on disk, loads the population (bench/search_load.cc) unless it is there
# already, runs VACUUM ANALYZE and loads auto_explain into every session of the cluster (inactive
# until asked), and restarts the server so that its pooled connections have it. Then:
#   - RUNS times, each search kind for SECONDS at CONCURRENCY clients (a CHECKPOINT before each
#     run), with the CPU time per search of fhirhub and of the whole PostgreSQL instance taken from
#     /proc as bench/rest_load.sh does;
#   - the plan of each kind's statements, as PostgreSQL ran them for fhirhub (auto_explain with
#     ANALYZE and BUFFERS, for one search of each kind, taken from the cluster's log): what runs is
#     the server's own SQL with its own parameters, not a hand-written copy of it;
#   - RUNS times, pgbench running fhirhub's create statement (server/store/pg/pg_store.cc,
#     kCreateSql) for one of the loaded Observations, once with its real index rows and once with
#     none, on the loaded tables, under a tenant of its own ('pgbench') that no search sees; those
#     rows are deleted afterwards.
# Exits non-zero when any request failed.
set -euo pipefail
build="$(cd "${1:?usage: search_load.sh BUILD_DIR [RUNS [SECONDS]]}" && pwd)"
runs="${2:-2}"
seconds="${3:-15}"
clients="${CONCURRENCY:-16}"
patients="${PATIENTS:-10000}"
load_clients="${LOAD_CONCURRENCY:-4}"
smoke=false
if [[ "$runs" == smoke ]]; then
  smoke=true
  patients=50
  load_clients=2
fi
for program in "$build/fhirhub" "$build/search_load"; do
  [[ -x "$program" ]] || { echo "search_load.sh: $program is not built" >&2; exit 2; }
done
for program in psql $($smoke || echo pgbench); do
  command -v "$program" >/dev/null || { echo "search_load.sh: $program not found" >&2; exit 2; }
done

# On the same file system as everything else (not a tmpfs), so that commits pay for their fsync
# as they would in production.
work="$(mktemp -d "${TMPDIR:-/tmp}/fhirhub-search-load.XXXXXX")"
# Run as root, the cluster runs as the postgres user, which must be able to reach its directory.
chmod 755 "$work"
data="$work"
if [[ -n "${SEARCH_LOAD_DATA:-}" ]] && ! $smoke; then
  mkdir -p "$SEARCH_LOAD_DATA"
  chmod 755 "$SEARCH_LOAD_DATA"
  data="$(cd "$SEARCH_LOAD_DATA" && pwd)"
fi
# shellcheck source=bench/fhirhub_server.sh
source "$(dirname "$0")/fhirhub_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

start_server "$data/db"
load_args=(--host "$host" --port "$port" --base "$base" --patients "$patients")
marker="$data/loaded"
if [[ "$(head -1 "$marker" 2>/dev/null)" != "patients=$patients" ]]; then
  echo "Loading $patients Patients' records, $load_clients transactions at a time"
  "$build/search_load" "${load_args[@]}" --mode load --concurrency "$load_clients" |
    tee "$work/load.out"
  printf 'patients=%s\n%s\n' "$patients" "$(grep '^LOAD ' "$work/load.out")" >"$marker"
else
  echo "Reusing the population loaded in $data: $(tail -1 "$marker")"
fi

# The embedded cluster's superuser, through its private socket directory.
pg=(-h "$data/db/socket" -p 5432 -U postgres)
sql() { psql "${pg[@]}" -d fhirhub -v ON_ERROR_STOP=1 -qAt "$@"; }

if $smoke; then
  # Without statistics, a sorted search of a patient's Observations ran for 40 s over these 5,000
  # resources; autovacuum would analyze the tables a minute later.
  sql -c ANALYZE
  "$build/search_load" "${load_args[@]}" --mode query --concurrency 2 --requests 14
  exit 0
fi

# auto_explain's settings exist in a session once the library is loaded there.
sql -c "LOAD 'auto_explain'" \
  -c "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'" \
  -c "ALTER SYSTEM SET auto_explain.log_min_duration = -1" \
  -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
  -c "ALTER SYSTEM SET auto_explain.log_buffers = on" >/dev/null
sql -c 'VACUUM ANALYZE'
stop_server
start_server "$data/db"
query_args=(--host "$host" --port "$port" --base "$base" --patients "$patients")

echo "fhirhub at $url; PostgreSQL $(sql -c 'SHOW server_version');" \
  "$(sql -c 'SELECT count(*) FROM resource_current') resources;" \
  "$runs runs of ${seconds} s per search kind, $clients clients; load average:" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
# CPU time, in clock ticks, of fhirhub and of the whole PostgreSQL instance: the postmaster, its
# live children and the children it has reaped (as in bench/rest_load.sh).
clk_tck="$(getconf CLK_TCK)"
postmaster="$(head -1 "$data/db/pgdata/postmaster.pid")"
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
pg_ticks() {
  # Processes may end between the glob and the read.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$postmaster" '
    $1 == pm { t += $14 + $15 + $16 + $17 }
    $4 == pm { t += $14 + $15 }
    END { print t + 0 }'
}
per_request_us() {
  awk -v ticks="$1" -v n="$2" -v hz="$clk_tck" 'BEGIN { printf "%.0f", (n > 0 ? ticks * 1e6 / hz / n : 0) }'
}

kinds=(identifier name-birthdate obs-code-date obs-include has revinclude count)
total_errors=0
for run in $(seq "$runs"); do
  sql -c CHECKPOINT
  out="$work/query.$run.out"
  : >"$out"
  for kind in "${kinds[@]}"; do
    server_t0="$(server_ticks)"
    pg_t0="$(pg_ticks)"
    "$build/search_load" "${query_args[@]}" --mode query --concurrency "$clients" \
      --duration "$seconds" --kinds "$kind" >>"$out" 2>"$work/query.err" || true
    cat "$work/query.err"
    requests="$(awk '/^RESULT / { for (i = 2; i <= NF; i++) if ($i ~ /^requests=/) print substr($i, 10) }' \
      "$out" | tail -1)"
    echo "CPU kind=$kind fhirhub_us=$(per_request_us $(($(server_ticks) - server_t0)) "$requests")" \
      "pg_us=$(per_request_us $(($(pg_ticks) - pg_t0)) "$requests")" >>"$out"
  done
  cat "$out"
  errors="$(awk '/^RESULT / { for (i = 2; i <= NF; i++) if ($i ~ /^errors=/) e += substr($i, 8) }
    END { print e + 0 }' "$out")"
  total_errors=$((total_errors + errors))
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The value of `field` in the RESULT or CPU lines of `kind`, one per run.
results() {
  cat "$work"/query.*.out | awk -v kind="$1" -v field="$2" '
    /^(RESULT|CPU) / && $2 == "kind=" kind {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == field) print kv[2] } }'
}

echo
echo "| kind | req/s | p50 ms | p95 ms | p99 ms | matches per answer | included per answer | total | errors | p95 per run | fhirhub CPU µs | PostgreSQL CPU µs |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
for kind in "${kinds[@]}"; do
  printf '| %s | %.0f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %d | %s | %.0f | %.0f |\n' "$kind" \
    "$(results "$kind" rps | median)" "$(results "$kind" p50_ms | median)" \
    "$(results "$kind" p95_ms | median)" "$(results "$kind" p99_ms | median)" \
    "$(results "$kind" matches | median)" "$(results "$kind" includes | median)" \
    "$(results "$kind" total | median)" "$(results "$kind" errors | awk '{ s += $1 } END { print s + 0 }')" \
    "$(results "$kind" p95_ms | paste -sd/)" "$(results "$kind" fhirhub_us | median)" \
    "$(results "$kind" pg_us | median)"
done

echo
echo "Plans (auto_explain, ANALYZE and BUFFERS) of one search of each kind, after the runs:"
sql -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
for kind in "${kinds[@]}"; do
  offset="$(stat -c %s "$data/db/postgres.log")"
  "$build/search_load" "${query_args[@]}" --mode query --concurrency 1 --requests 1 \
    --kinds "$kind" | grep -v '^RESULT '
  # The backend writes its plan before the answer leaves the server; the log is written through.
  sleep 0.5
  echo '```'
  tail -c +"$((offset + 1))" "$data/db/postgres.log" | sed -e 's/^[0-9-]* [0-9:.]* UTC \[[0-9]*\] //'
  echo '```'
done
sql -c "ALTER SYSTEM SET auto_explain.log_min_duration = -1" -c "SELECT pg_reload_conf()" >/dev/null

# fhirhub's create statement (kCreateSql) for a copy of one loaded Observation under a new id:
# $1 the file, $2 "indexed" for the Observation's own index rows or "empty" for none.
observation=p1-o0
create_script() {
  local arrays=()
  # One array per column, each in the rows' physical order so that the columns stay aligned.
  column() {  # $1 table, $2 column expression
    if [[ "$mode" == indexed ]]; then
      arrays+=("$(sql -c "SELECT quote_literal(coalesce(array_agg($2 ORDER BY ctid)::text, '{}'))
        FROM $1 WHERE tenant = 'default' AND type = 'Observation' AND id = '$observation'")")
    else
      arrays+=("'{}'")
    fi
  }
  local mode=$2
  local micros='CASE WHEN isfinite(%s) THEN (extract(epoch FROM %s) * 1000000)::bigint END'
  column search_string param; column search_string normalized; column search_string exact
  for c in param system code text type_system type_code; do column search_token "$c"; done
  column search_date param
  # shellcheck disable=SC2059
  column search_date "$(printf "$micros" '"from"' '"from"')"
  # shellcheck disable=SC2059
  column search_date "$(printf "$micros" before before)"
  column search_number param; column search_number value
  for c in param value system code unit canonical_value canonical_code; do
    column search_quantity "$c"
  done
  for c in param target_type target_id url version identifier_system identifier_value; do
    column search_reference "$c"
  done
  column search_uri param; column search_uri value
  column search_text param; column search_text doc
  local json
  json="$(sql -c "SELECT quote_literal(json) FROM resource_version WHERE tenant = 'default'
    AND type = 'Observation' AND id = '$observation' ORDER BY version DESC LIMIT 1")"
  local a=("${arrays[@]}")
  cat >"$1" <<SQL
\\set n random(1, 1000000000000)
WITH cur AS (
  INSERT INTO resource_current (tenant, type, id, version, deleted, last_updated)
  VALUES ('pgbench', 'Observation', 'o' || :n, 1, false, now())
  ON CONFLICT DO NOTHING RETURNING tenant, type, id, version, deleted, last_updated),
 ver AS (INSERT INTO resource_version (tenant, type, id, version, last_updated, deleted, json, method)
  SELECT tenant, type, id, version, last_updated, deleted, $json, 'POST' FROM cur RETURNING seq),
 i_string AS (INSERT INTO search_string (tenant, type, id, param, normalized, exact)
  SELECT k.tenant, k.type, k.id, u.* FROM cur k, unnest(${a[0]}::text[], ${a[1]}::text[], ${a[2]}::text[]) AS u),
 i_token AS (INSERT INTO search_token (tenant, type, id, param, system, code, text, type_system, type_code)
  SELECT k.tenant, k.type, k.id, u.* FROM cur k, unnest(${a[3]}::text[], ${a[4]}::text[], ${a[5]}::text[],
  ${a[6]}::text[], ${a[7]}::text[], ${a[8]}::text[]) AS u),
 i_date AS (INSERT INTO search_date (tenant, type, id, param, "from", before)
  SELECT k.tenant, k.type, k.id, u.p,
  COALESCE(timestamptz 'epoch' + u.f * interval '1 microsecond', '-infinity'),
  COALESCE(timestamptz 'epoch' + u.b * interval '1 microsecond', 'infinity')
  FROM cur k, unnest(${a[9]}::text[], ${a[10]}::bigint[], ${a[11]}::bigint[]) AS u(p, f, b)),
 i_number AS (INSERT INTO search_number (tenant, type, id, param, value)
  SELECT k.tenant, k.type, k.id, u.* FROM cur k, unnest(${a[12]}::text[], ${a[13]}::numeric[]) AS u),
 i_quantity AS (INSERT INTO search_quantity
  (tenant, type, id, param, value, system, code, unit, canonical_value, canonical_code)
  SELECT k.tenant, k.type, k.id, u.* FROM cur k, unnest(${a[14]}::text[], ${a[15]}::numeric[],
  ${a[16]}::text[], ${a[17]}::text[], ${a[18]}::text[], ${a[19]}::numeric[], ${a[20]}::text[]) AS u),
 i_reference AS (INSERT INTO search_reference (tenant, type, id, param, target_type, target_id, url,
  version, identifier_system, identifier_value)
  SELECT k.tenant, k.type, k.id, u.* FROM cur k, unnest(${a[21]}::text[], ${a[22]}::text[],
  ${a[23]}::text[], ${a[24]}::text[], ${a[25]}::text[], ${a[26]}::text[], ${a[27]}::text[]) AS u),
 i_uri AS (INSERT INTO search_uri (tenant, type, id, param, value)
  SELECT k.tenant, k.type, k.id, u.* FROM cur k, unnest(${a[28]}::text[], ${a[29]}::text[]) AS u),
 i_text AS (INSERT INTO search_text (tenant, type, id, param, doc)
  SELECT k.tenant, k.type, k.id, u.* FROM cur k, unnest(${a[30]}::text[], ${a[31]}::tsvector[]) AS u)
SELECT seq FROM ver;
SQL
}
create_script "$work/create_indexed.sql" indexed
create_script "$work/create_empty.sql" empty
index_rows=0
for table in search_string search_token search_date search_number search_quantity search_reference \
  search_uri search_text; do
  index_rows=$((index_rows + $(sql -c "SELECT count(*) FROM $table
    WHERE tenant = 'default' AND type = 'Observation' AND id = '$observation'")))
done

create_rows=()
for run in $(seq "$runs"); do
  row="| $run"
  for mode in indexed empty; do
    sql -c CHECKPOINT
    pgbench "${pg[@]}" -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$work/create_$mode.sql" \
      fhirhub >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out" >&2; exit 1; }
    row+=" | $(awk '/^tps = / { printf "%.0f", $3 }' "$work/pgbench.out")"
  done
  create_rows+=("$row |")
  echo "create statement, run $run, tps with and without index rows: ${create_rows[-1]}"
done
for table in search_string search_token search_date search_number search_quantity search_reference \
  search_uri search_text resource_version resource_current; do
  sql -c "DELETE FROM $table WHERE tenant = 'pgbench'"
done

echo
echo "Create statement for $observation ($index_rows index rows) under pgbench, $clients clients, tps:"
echo "| run | with its index rows | without index rows | cost ratio (without / with) |"
echo "|---|---:|---:|---:|"
for row in "${create_rows[@]}"; do
  awk -F'|' '{ printf "%s %.2f |\n", $0, $4 / $3 }' <<<"$row"
done
indexed_median="$(printf '%s\n' "${create_rows[@]}" | awk -F'|' '{ print $3 }' | median)"
empty_median="$(printf '%s\n' "${create_rows[@]}" | awk -F'|' '{ print $4 }' | median)"
awk -v i="$indexed_median" -v e="$empty_median" \
  'BEGIN { printf "| median | %.0f | %.0f | %.2f |\n", i, e, e / i }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((total_errors > 0)); then
  echo "search_load.sh: $total_errors searches failed" >&2
  exit 1
fi
