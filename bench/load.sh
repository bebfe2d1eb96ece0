#!/usr/bin/env bash
# Load while an import runs: the release server on a fresh database
# (SQLite, or PostgreSQL with LOAD_DATABASE_URL), 10,000 occupants loaded,
# then 32 connections for 30 s (28 on mixed GraphQL reads, 4 on /health)
# while a 10,000-row import runs in the background. Prints wrk's latencies,
# the errors (any non-200 or GraphQL error counts), and the server's RSS
# before and after. Loopback only; stops by itself (about a minute, plus
# the release build when it is not cached).
#   bench/load.sh [seconds] [rounds]   needs wrk (apt-get install wrk)
# With several rounds the same load and import run again (the import then
# changes nothing): the RSS after each round tells a plateau from a leak.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
rounds="${2:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flokon-api/release}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }

cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/flokon-api"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export DATABASE_URL="${LOAD_DATABASE_URL:-sqlite://$work/load.db?mode=rwc}"
export BIND_ADDR="127.0.0.1:$port" GEOCODER=none RUST_LOG=warn
base="http://127.0.0.1:$port"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

token=$("$bin" org create "Charge" | sed -n 's/^token: //p')
"$bin" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

# A template CSV of 10,000 occupants, three to a client.
csv() {
	echo "Prénom,Nom,Téléphone*,SMS/Appel*,Adresse*,Notes,Identifiant du client"
	for ((i = 0; i < 10000; i++)); do
		printf 'P%d,%s,418555%04d,SMS,"%d rue %s, Québec, QC, G1P 0A0",,C-%d\n' "$i" "$1" "$i" "$((i + 1))" "$1" "$((i / 3))"
	done
}
upload() { # file, wait
	curl -sf "$base/graphql" -H "Authorization: Bearer $token" \
		-F operations="{\"query\":\"mutation(\$file: Upload!) { importSpreadsheet(file: \$file, mode: MERGE_KEEP_MISSING, wait: $2) { id status committed } }\",\"variables\":{\"file\":null}}" \
		-F map='{"0":["variables.file"]}' -F "0=@$1"
}
csv Loaded >"$work/loaded.csv"
csv Background >"$work/background.csv"
upload "$work/loaded.csv" true >/dev/null
rss() { awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$server/status"; }
echo "server RSS before: $(rss)"

cat >"$work/reads.lua" <<LUA
local bodies = {
  '{"query":"{ clients(first: 100) { edges { node { externalId servicePoints { edges { node { fullAddress occupants { phone contactMethod } } } } } } } }"}',
  '{"query":"{ clients(first: 10) { edges { node { externalId name } } } }"}',
}
local n = 0
errors = 0 -- global: done() reads each thread's through thread:get
local threads = {}
setup = function(thread) table.insert(threads, thread) end
request = function()
  n = n + 1
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token"}, bodies[(n % 2) + 1])
end
response = function(status, headers, body)
  if status ~= 200 or body:find('"errors"') then errors = errors + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("errors") end
  io.write(string.format("GraphQL errors or non-200 answers: %d\n", total))
end
LUA

for round in $(seq "$rounds"); do
	echo "==== round $round of $rounds"
	# The background import, queued when the load starts.
	( sleep 2; upload "$work/background.csv" false >"$work/background.json" ) &
	wrk -t2 -c4 -d"${seconds}s" --latency "$base/health" >"$work/health.txt" &
	health=$!
	echo "== mixed reads (nested 100 clients / flat 10 clients), 28 connections, ${seconds} s"
	wrk -t2 -c28 -d"${seconds}s" --latency -s "$work/reads.lua" "$base/graphql"
	wait "$health"
	echo "== /health, 4 connections at the same time"
	cat "$work/health.txt"
	run=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$work/background.json")
	for _ in $(seq 600); do
		state=$(curl -sf "$base/graphql" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
			-d "{\"query\":\"{ importRun(id: \\\"$run\\\") { status committed summary { occupants { created unchanged } } } }\"}")
		case "$state" in *FINISHED* | *FAILED*) break ;; esac
		sleep 0.5
	done
	echo "background import: $state"
	echo "server RSS after round $round: $(rss)"
done
