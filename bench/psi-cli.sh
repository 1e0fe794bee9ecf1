#!/usr/bin/env bash
# PSI through the product path: a room and two CLI processes (psi serve, psi join), each under
# /usr/bin/time -v, on a generated fixture directory. Runs each engine in ENGINES (default: the
# room-counted native engine, then psi.js's exact count) against the same room, and prints each
# run's result, wall time and the peak RSS of every process, then the ratio.
#
#   bash bench/psi-cli.sh fixtures/large/1m        # after: npm run fixtures -- --rows 1000000 --out fixtures/large/1m
#   ENGINES=room bash bench/psi-cli.sh fixtures/large/1m
#   KEEP=/tmp/keep bash bench/psi-cli.sh …   # keeps the room's request log (timestamps per message) and serve's output
#   TRACE=/tmp/rss.tsv bash bench/psi-cli.sh …   # every second: RSS (MiB) of the room, psi serve and psi join, with
#                                                # each member's latest status line, to see which step peaks
#
# A psi.js 1M session runs for ~20 minutes, longer than the demo policy's sessionTtlSeconds (900),
# so the room here serves a copy of the demo policy with a 2-hour session life.
set -euo pipefail
fixtures=${1:?usage: bench/psi-cli.sh <fixture directory>}
engines=${ENGINES:-room exact}
port=${PORT:-18080}
url="http://127.0.0.1:$port"
work=$(mktemp -d)
trap 'kill "$room_pid" 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$work"/*.log "$KEEP"/; rm -rf "$work"' EXIT
mkdir -p "$work/policies" "$work/data" "$work/sql"
node -e '
  const policy = JSON.parse(require("fs").readFileSync("policies/demo.json", "utf8"));
  for (const rule of policy.psi) rule.sessionTtlSeconds = 7200;
  delete policy.$schema;
  require("fs").writeFileSync(process.argv[1], JSON.stringify(policy, null, 2));
' "$work/policies/demo.json"
cli() { npx tsx src/cli/main.ts "$@"; }

CLEANROOM_DATA_DIR="$work/data" CLEANROOM_POLICIES_DIR="$work/policies" CLEANROOM_SQL_DIR="$work/sql" \
  UV_THREADPOOL_SIZE=16 /usr/bin/time -v -o "$work/room.time" npx tsx src/cli/main.ts serve --port "$port" \
  >"$work/room.log" 2>&1 &
room_pid=$!
for _ in $(seq 1 100); do curl -sf "$url/v1/health" >/dev/null && break; sleep 0.2; done
policy_hash=$(cli status --json --collab demo --url "$url" --key fixtures/keys/acme-officer.key | jq -r .status.policyHash)
for officer in acme northwind; do cli accept --collab demo --url "$url" --hash "$policy_hash" --key "fixtures/keys/$officer-officer.key" >/dev/null; done

# The largest node process whose command line matches $1 (npx and tsx's loader run node under node).
rss_of() { ps -eo rss=,args= | awk -v pat="$1" 'index($0, pat) && /node/ && !/awk/ { if ($1 > m) m = $1 } END { printf "%d", m / 1024 }'; }
status_of() { tr '\r' '\n' 2>/dev/null <"$1" | grep -v '^\s*$' | tail -1 | cut -c1-60; }
trace() {
  printf 'seconds\troom_mib\tserve_mib\tjoin_mib\tserve_status\tjoin_status\n' >"$TRACE"
  local t0; t0=$(date +%s)
  while sleep 1; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' $(($(date +%s) - t0)) "$(rss_of "main.ts serve --port")" \
      "$(rss_of "main.ts psi serve")" "$(rss_of "main.ts psi join")" "$(status_of "$work/serve.log")" \
      "$(status_of "$work/join.log")" >>"$TRACE"
  done
}
if [ -n "${TRACE:-}" ]; then trace & trace_pid=$!; trap 'kill "$trace_pid" 2>/dev/null || true; kill "$room_pid" 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$work"/*.log "$KEEP"/; rm -rf "$work"' EXIT; fi
peak() { awk -F': ' '/Maximum resident/ { printf "%.2f GiB", $2 / 1048576 }' "$1"; }
declare -A wall
for engine in $engines; do
  flag=""
  [ "$engine" = exact ] && flag="--exact"
  : >"$work/serve.log"
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/serve.time" npx tsx src/cli/main.ts psi serve --collab demo --url "$url" --partner acme $flag \
    --file "$fixtures/psi_publisher_emails.csv" --column email --key fixtures/keys/northwind-provider.key >"$work/serve.log" 2>&1 &
  serve_pid=$!
  session=""
  for _ in $(seq 1 600); do
    session=$(sed -n 's/^session: \([^ ]*\).*/\1/p' "$work/serve.log" | head -1)
    [ -n "$session" ] && break
    sleep 1
  done
  [ -n "$session" ] || { cat "$work/serve.log"; exit 1; }
  echo "== $engine: session $session"
  /usr/bin/time -v -o "$work/join.time" npx tsx src/cli/main.ts psi join --collab demo --url "$url" --session "$session" \
    --file "$fixtures/psi_advertiser_emails.csv" --column email --key fixtures/keys/acme-analyst.key 2>"$work/join.log" | tail -2
  wait "$serve_pid"
  end=$(date +%s.%N)
  wall[$engine]=$(echo "$end - $start" | bc)
  echo "wall: ${wall[$engine]} s; peak RSS: psi serve $(peak "$work/serve.time"), psi join $(peak "$work/join.time")"
done
# GNU time ignores SIGINT, so the signal goes to the room's node process itself.
pkill -INT -f "loader.mjs src/cli/main.ts serve --port $port"; wait "$room_pid" || true
echo "fixtures: $fixtures (expected overlap: $(jq -r .overlap "$fixtures/manifest.json"))"
echo "peak RSS of the room over all runs: $(peak "$work/room.time")"
if [ -n "${wall[room]:-}" ] && [ -n "${wall[exact]:-}" ]; then
  echo "native room-counted vs psi.js exact: $(echo "scale=2; ${wall[exact]} / ${wall[room]}" | bc)x faster"
fi
