#!/usr/bin/env bash
# REST throughput of fhirhub beside pgbench on the same PostgreSQL instance, in one go.
#
# usage: bench/rest_load.sh BUILD_DIR [RUNS [SECONDS]]
#        bench/rest_load.sh BUILD_DIR smoke
#   BUILD_DIR: a Release tree configured with -DFHIRHUB_BENCH=ON in which fhirhub and rest_load
#     are built; this script builds nothing:
#       cmake -S . -B build/bench-rest -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRHUB_TESTS=OFF \
#         -DFHIRHUB_BENCH=ON
#       cmake --build build/bench-rest -j2 --target fhirhub rest_load
#   RUNS: how many times the whole series runs (default 2); medians are printed at the end.
#   SECONDS: length of each measurement (default 15).
#   CONCURRENCY (environment): clients of every measurement (default 16).
#   smoke: a few requests of each rest_load mode and no pgbench, to keep the script working.
#
# It starts `fhirhub serve` on a free port with its embedded PostgreSQL in a temporary data
# directory, and runs pgbench against that same cluster, through the unix socket in
# <data-dir>/socket. Each run measures, CONCURRENCY clients each:
#   pgbench select-only (-S) on a scale-1 pgbench database,
#   pgbench single-row insert (one 1 kB text row per transaction, bigserial primary key),
#   pgbench running fhirhub's own create transaction on its tables (rest_load_store_create.sql),
#   rest_load read, create and crud (see bench/rest_load.cc),
# with a CHECKPOINT before each, and samples the fhirhub process's resident memory (VmRSS) while
# rest_load runs. Before the first run, 5 s of crud load warm the server up and fill its tables,
# which are then vacuumed and analyzed as pgbench -i does for its own. Exits non-zero when any
# request failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: rest_load.sh BUILD_DIR [RUNS [SECONDS]]}" && pwd)"
runs="${2:-2}"
seconds="${3:-15}"
clients="${CONCURRENCY:-16}"
smoke=false
if [[ "$runs" == smoke ]]; then
  smoke=true
fi
for program in "$build/fhirhub" "$build/rest_load"; do
  [[ -x "$program" ]] || { echo "rest_load.sh: $program is not built" >&2; exit 2; }
done
if ! $smoke; then
  for program in pgbench psql; do
    command -v "$program" >/dev/null || { echo "rest_load.sh: $program not found" >&2; exit 2; }
  done
fi

# On the same file system as everything else (not a tmpfs), so that commits pay for their fsync
# as they would in production.
work="$(mktemp -d "${TMPDIR:-/tmp}/fhirhub-rest-load.XXXXXX")"
# Run as root, the cluster runs as the postgres user, which must be able to reach its directory.
chmod 755 "$work"
# shellcheck source=bench/fhirhub_server.sh
source "$(dirname "$0")/fhirhub_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

start_server "$work/db"

if $smoke; then
  "$build/rest_load" --host "$host" --port "$port" --base "$base" --mode read --concurrency 2 \
    --ids 20 --requests 100
  "$build/rest_load" --host "$host" --port "$port" --base "$base" --mode create \
    --concurrency 2 --requests 100
  "$build/rest_load" --host "$host" --port "$port" --base "$base" --mode crud --concurrency 2 \
    --requests 72
  exit 0
fi

# The embedded cluster's superuser, through its private socket directory.
pg=(-h "$work/db/socket" -p 5432 -U postgres)
psql "${pg[@]}" -d postgres -qAtc 'CREATE DATABASE rest_load_pgbench' >/dev/null
pgbench "${pg[@]}" -i -q rest_load_pgbench 2>/dev/null
psql "${pg[@]}" -d rest_load_pgbench -qAtc \
  'CREATE TABLE rest_load_insert (id bigserial PRIMARY KEY, payload text NOT NULL)' >/dev/null
cat >"$work/insert.sql" <<'SQL'
\set n random(1, 1000000000)
INSERT INTO rest_load_insert (payload) VALUES (repeat(md5(CAST(:n AS text)), 32));
SQL

checkpoint() { psql "${pg[@]}" -d postgres -qAtc CHECKPOINT >/dev/null; }

# CPU time, in clock ticks, of fhirhub and of the whole PostgreSQL instance: the postmaster, its
# live children and the children it has reaped (such as the backends of pgbench's connections).
# CPU per request depends much less on what else runs on the machine than requests per second.
clk_tck="$(getconf CLK_TCK)"
postmaster="$(head -1 "$work/db/pgdata/postmaster.pid")"
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

# Each measurement sets: rate (transactions or requests per second), p99 (ms), errors, rss (the
# highest fhirhub VmRSS seen, kB), server_us and pg_us (CPU per request, microseconds).
measure_begin() {
  checkpoint
  server_t0="$(server_ticks)"
  pg_t0="$(pg_ticks)"
}
measure_end() {  # $1: requests or transactions done
  server_us="$(per_request_us $(($(server_ticks) - server_t0)) "$1")"
  pg_us="$(per_request_us $(($(pg_ticks) - pg_t0)) "$1")"
}

pgbench_run() {  # $1: database; then pgbench's options
  local database=$1
  shift
  measure_begin
  pgbench "${pg[@]}" -n -c "$clients" -j 2 -T "$seconds" "$@" "$database" >"$work/pgbench.out" 2>&1 ||
    { cat "$work/pgbench.out" >&2; exit 1; }
  rate="$(awk '/^tps = / { print $3 }' "$work/pgbench.out")"
  measure_end "$(awk -F': ' '/^number of transactions actually processed/ { split($2, n, "/"); print n[1] }' "$work/pgbench.out")"
}

rest_load_run() {  # $1: mode
  measure_begin
  "$build/rest_load" --host "$host" --port "$port" --base "$base" --mode "$1" \
    --concurrency "$clients" --duration "$seconds" >"$work/$1.out" 2>"$work/$1.err" &
  local load=$! now
  rss=0
  while kill -0 "$load" 2>/dev/null; do
    now="$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")"
    ((now > rss)) && rss=$now
    sleep 0.25
  done
  if ! wait "$load"; then
    echo "rest_load.sh: rest_load --mode $1 failed:" >&2
    cat "$work/$1.err" >&2
  fi
  local result
  result="$(awk '/^RESULT / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
      print r["rps"], r["p99_ms"], r["errors"], r["requests"]
    }' "$work/$1.out")"
  local requests
  read -r rate p99 errors requests <<<"${result:-0 0 1 0}"
  measure_end "$requests"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Prints the table rows given on stdin followed by their medians; $1: printf formats of the
# columns after "run".
with_medians() {
  local rows
  rows="$(cat)"
  echo "$rows"
  awk -F'|' -v formats="$1" '
    { for (c = 3; c < NF; c++) v[c - 2, NR] = $c; columns = NF - 3 }
    END {
      split(formats, f, " ")
      line = "| median"
      for (c = 1; c <= columns; c++) {
        n = 0
        for (r = 1; r <= NR; r++) x[++n] = v[c, r] + 0
        for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
        m = (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
        line = line " | " sprintf(f[c], m)
      }
      print line " |"
    }' <<<"$rows"
}

# pgbench -i leaves its tables vacuumed and analyzed; fhirhub's get the same after a warm-up that
# fills them. Without statistics the planner may pick, for the prepared row lock of every write, an
# index on (tenant, type, last_updated) and filter by id, so that each write scans every current
# resource of its type until autovacuum first analyzes the tables (docs/performance.md).
"$build/rest_load" --host "$host" --port "$port" --base "$base" --mode crud \
  --concurrency "$clients" --duration 5 >"$work/warmup.out" 2>&1 ||
  { cat "$work/warmup.out" >&2; exit 1; }
psql "${pg[@]}" -d fhirhub -qAtc 'VACUUM ANALYZE' >/dev/null

echo "fhirhub at $url; PostgreSQL $(psql "${pg[@]}" -d postgres -qAtc 'SHOW server_version');" \
  "$runs runs of ${seconds} s per measurement, $clients clients; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
cpu_rows=()
total_errors=0
for run in $(seq "$runs"); do
  pgbench_run rest_load_pgbench -S
  select_tps=$rate select_pg=$pg_us
  pgbench_run rest_load_pgbench -f "$work/insert.sql"
  insert_tps=$rate insert_pg=$pg_us
  pgbench_run fhirhub -M prepared -f "$here/rest_load_store_create.sql"
  store_tps=$rate store_pg=$pg_us
  rest_load_run read
  read_rps=$rate read_p99=$p99 read_errors=$errors read_rss=$rss read_us=$server_us read_pg=$pg_us
  rest_load_run create
  create_rps=$rate create_p99=$p99 create_errors=$errors create_rss=$rss create_us=$server_us
  create_pg=$pg_us
  rest_load_run crud
  crud_rps=$rate crud_p99=$p99 crud_errors=$errors crud_rss=$rss crud_us=$server_us crud_pg=$pg_us
  run_errors=$((read_errors + create_errors + crud_errors))
  total_errors=$((total_errors + run_errors))
  max_rss=$(printf '%s\n' "$read_rss" "$create_rss" "$crud_rss" | sort -n | tail -1)
  rows+=("$(awk -v run="$run" -v st="$select_tps" -v it="$insert_tps" -v sc="$store_tps" -v r="$read_rps" \
    -v rp="$read_p99" -v c="$create_rps" -v cp="$create_p99" -v u="$crud_rps" -v up="$crud_p99" \
    -v rss="$max_rss" -v e="$run_errors" 'BEGIN {
      printf "| %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %.2f | %.2f | %.2f | %.0f | %s |\n",
        run, st, it, sc, r, rp, c, cp, u, up, r / st, c / it, c / sc, rss / 1024, e }')")
  cpu_rows+=("| $run | $select_pg | $insert_pg | $store_pg | $read_us | $read_pg | $create_us | $create_pg | $crud_us | $crud_pg |")
  echo "${rows[-1]}"
  echo "${cpu_rows[-1]}"
done

echo
echo "| run | pgbench select tps | pgbench insert tps | pgbench store create tps | read req/s | read p99 ms | create req/s | create p99 ms | crud req/s | crud p99 ms | read / select | create / insert | create / store create | fhirhub max RSS MB | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}" | with_medians "%.0f %.0f %.0f %.0f %.2f %.0f %.2f %.0f %.2f %.2f %.2f %.2f %.0f %.0f"
echo
echo "CPU per transaction or request, microseconds (fhirhub: the server process; PostgreSQL: the whole instance):"
echo "| run | pgbench select: PostgreSQL | pgbench insert: PostgreSQL | pgbench store create: PostgreSQL | read: fhirhub | read: PostgreSQL | create: fhirhub | create: PostgreSQL | crud: fhirhub | crud: PostgreSQL |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${cpu_rows[@]}" | with_medians "%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f"
echo
echo "rest_load's own report, last run:"
cat "$work/read.out" "$work/create.out" "$work/crud.out"
echo "fhirhub VmHWM (peak resident memory since start):" \
  "$(awk '/^VmHWM:/ { printf "%.0f MB", $2 / 1024 }' "/proc/$server_pid/status");" \
  "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((total_errors > 0)); then
  echo "rest_load.sh: $total_errors requests failed" >&2
  exit 1
fi
