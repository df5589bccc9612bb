# Starting and stopping `fhirhub serve` for the benchmark scripts, which source this file. They
# set $build (the build tree holding fhirhub) and $work (a scratch directory for its output).

server_pid=""

# Starts `fhirhub serve --port 0` with its embedded cluster in the data directory $1 and the
# further arguments given (the request pipeline's options; without any, the pipeline is off:
# no authentication, consent or audit), and waits for the URL it prints; sets server_pid, url,
# host, port and base. Exits the script, showing the server's errors, when it does not start.
start_server() {
  local dir="$1"
  shift
  local pipeline=("$@")
  [[ ${#pipeline[@]} -eq 0 ]] && pipeline=(--auth off --consent off --audit off)
  : >"$work/serve.out"
  "$build/fhirhub" serve --port 0 --data-dir "$dir" "${pipeline[@]}" >"$work/serve.out" \
    2>"$work/serve.err" &
  server_pid=$!
  url=""
  for _ in $(seq 600); do
    url="$(grep -o 'http://[^ ]*' "$work/serve.out" || true)"
    [[ -n "$url" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [[ -z "$url" ]]; then
    echo "$(basename "$0"): fhirhub serve did not start:" >&2
    cat "$work/serve.err" >&2
    exit 1
  fi
  local hostport="${url#http://}"
  hostport="${hostport%%/*}"
  host="${hostport%:*}"
  port="${hostport##*:}"
  base="/${url#http://*/}"
}

# Stops the server start_server started, if it runs.
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
