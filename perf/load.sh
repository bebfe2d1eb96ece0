#!/usr/bin/env bash
# Load while an import runs: the release server on a fresh database
# (SQLite, or PostgreSQL with LOAD_DATABASE_URL), 10,000 occupants loaded,
# then 32 connections for 30 s (28 on mixed GraphQL reads, 4 on /health)
# while a 10,000-row import runs in the background. Prints wrk's latencies,
# the errors (any non-200 or GraphQL error counts), and the server's RSS
# before and after. Loopback only; stops by itself (about a minute, plus
# the release build when it is not cached).
#   perf/load.sh [seconds] [rounds]   needs wrk (apt-get install wrk)
# With several rounds the same load and import run again (the import then
# changes nothing): the RSS after each round tells a plateau from a leak.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
rounds="${2:-1}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }

. perf/server.sh
start_server "Charge"

csv Loaded >"$work/loaded.csv"
csv Background >"$work/background.csv"
upload "$work/loaded.csv" true >/dev/null
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
