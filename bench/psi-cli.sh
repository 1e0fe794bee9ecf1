#!/usr/bin/env bash
# PSI through the product path: a room and two CLI processes (psi serve, psi join), each under
# /usr/bin/time -v, on a generated fixture directory. Prints the joined result, wall time and the
# peak RSS of every process.
#
#   bash bench/psi-cli.sh fixtures/large/1m        # after: npm run fixtures -- --rows 1000000 --out fixtures/large/1m
#
# A 1M session runs for ~20 minutes, longer than the demo policy's sessionTtlSeconds (900), so the
# room here serves a copy of the demo policy with a 2-hour session life.
set -euo pipefail
fixtures=${1:?usage: bench/psi-cli.sh <fixture directory>}
port=${PORT:-18080}
url="http://127.0.0.1:$port"
work=$(mktemp -d)
trap 'kill "$room_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/policies" "$work/data" "$work/sql"
node -e '
  const policy = JSON.parse(require("fs").readFileSync("policies/demo.json", "utf8"));
  for (const rule of policy.psi) rule.sessionTtlSeconds = 7200;
  delete policy.$schema;
  require("fs").writeFileSync(process.argv[1], JSON.stringify(policy, null, 2));
' "$work/policies/demo.json"
cli() { npx tsx src/cli/main.ts "$@"; }

CLEANROOM_DATA_DIR="$work/data" CLEANROOM_POLICIES_DIR="$work/policies" CLEANROOM_SQL_DIR="$work/sql" \
  /usr/bin/time -v -o "$work/room.time" npx tsx src/cli/main.ts serve --port "$port" >"$work/room.log" 2>&1 &
room_pid=$!
for _ in $(seq 1 100); do curl -sf "$url/v1/health" >/dev/null && break; sleep 0.2; done
policy_hash=$(cli status --collab demo --url "$url" --key fixtures/keys/acme-officer.key | jq -r .status.policyHash)
for officer in acme northwind; do cli accept --collab demo --url "$url" --hash "$policy_hash" --key "fixtures/keys/$officer-officer.key" >/dev/null; done

start=$(date +%s)
/usr/bin/time -v -o "$work/serve.time" npx tsx src/cli/main.ts psi serve --collab demo --url "$url" --partner acme \
  --file "$fixtures/psi_publisher_emails.csv" --column email --key fixtures/keys/northwind-provider.key >"$work/serve.log" 2>&1 &
serve_pid=$!
session=""
for _ in $(seq 1 600); do
  session=$(sed -n 's/^session: \([^ ]*\).*/\1/p' "$work/serve.log" | head -1)
  [ -n "$session" ] && break
  sleep 1
done
[ -n "$session" ] || { cat "$work/serve.log"; exit 1; }
/usr/bin/time -v -o "$work/join.time" npx tsx src/cli/main.ts psi join --collab demo --url "$url" --session "$session" \
  --file "$fixtures/psi_advertiser_emails.csv" --column email --key fixtures/keys/acme-analyst.key | tr '\r' '\n' | grep -v '^\s*$' | tail -3
wait "$serve_pid"
end=$(date +%s)
# GNU time ignores SIGINT, so the signal goes to the room's node process itself.
pkill -INT -f "loader.mjs src/cli/main.ts serve --port $port"; wait "$room_pid" || true

peak() { awk -F': ' '/Maximum resident/ { printf "%.2f GiB", $2 / 1048576 }' "$1"; }
echo "fixtures: $fixtures (expected overlap: $(jq -r .overlap "$fixtures/manifest.json"))"
echo "wall: $((end - start)) s"
echo "peak RSS: room $(peak "$work/room.time"), psi serve $(peak "$work/serve.time"), psi join $(peak "$work/join.time")"
