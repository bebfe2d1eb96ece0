#!/usr/bin/env bash
# Hostile GraphQL against the release server: 10,000 occupants loaded
# (SQLite, or PostgreSQL with LOAD_DATABASE_URL), then each kind of hostile
# request sent N times (default 200) by 8 clients at once: alias flood,
# deep query, heavy lists, search-and-count flood, directive flood,
# 100-operation batch, 1 MB query, fragment fan-outs (2 and 3 a level, 30
# levels), a nested-list cycle, large unpaged lists, nested connections of
# 500 × 500 rows, a 15 MB body without a token, a million-vertex sector;
# then, over the websocket (perf/ws_hostile.py, `pip install websockets`),
# the alias flood, the fan-out of 3 and the cycle.
# Prints, for each kind, the answers' error codes (with counts when they
# mix; an answer without one fails the script), the slowest answer,
# `/health`'s p99 while the kind ran (polled every 20 ms) and the server's
# RSS after it.
#   perf/hostile.sh [N]   needs curl, jq, python3 (websockets) and xargs; a few minutes
#   KINDS="fanout2 vertices" perf/hostile.sh   only those kinds
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-200}"

. perf/server.sh
start_server "Hostile"
csv Hostile >"$work/data.csv"
upload "$work/data.csv" true | jq -e '.data.importSpreadsheet.committed' >/dev/null

# One body file per kind of hostile request.
repeat() { local s=""; for ((i = 0; i < $2; i++)); do s+="${1//%i/$i}"; done; printf '%s' "$s"; }
query() { jq -cn --arg q "$1" '{query: $q}'; }
query "{ $(repeat 'a%i: __typename ' 1000) }" >"$work/aliases.json"
level='servicePoints { edges { node { client { %s } } } }'
deep="externalId"
for _ in 1 2 3 4 5; do deep=$(printf "$level" "$deep"); done
query "{ clients { edges { node { $deep } } } }" >"$work/depth.json"
query "{ $(repeat 'l%i: clients(first: 500) { edges { node { externalId servicePoints { edges { node { occupants { phone } } } } } } } ' 20) }" >"$work/lists.json"
query "{ $(repeat 's%i: clients(first: 1, search: "rable") { totalCount } ' 100) }" >"$work/searches.json"
query "{ __typename$(repeat ' @skip(if: false)' 100) }" >"$work/directives.json"
jq -cn '[range(100) | {query: "{ clients { totalCount } }"}]' >"$work/batch.json"
{ printf '{"query":"{ __typename } # '; head -c 1000000 /dev/zero | tr '\0' x; printf '"}'; } >"$work/big.json"
fan_out() { # levels, spreads per level
	local q="query { ...F0 }"
	for ((l = 0; l < $1; l++)); do q+=" fragment F$l on Query {$(repeat " ...F$((l + 1))" "$2") }"; done
	printf '%s fragment F%s on Query { __typename }' "$q" "$1"
}
query "$(fan_out 30 2)" >"$work/fanout2.json"
query "$(fan_out 30 3)" >"$work/fanout3.json"
query "{ sectors { alertRecipients { servicePoint { sectors { alertRecipients { phone } } } } } }" >"$work/cycle.json"
query "{ sectors { alertRecipients { phone servicePoint { occupants { phone firstName } } } } }" >"$work/unpaged.json"
query "{ importRuns(first: 500) { edges { node { rows(first: 500) { edges { node { rowNumber } } } } } } }" >"$work/connections.json"
python3 -c 'import json,sys; json.dump({"query": "mutation($g: JSON!) { createSector(input: {name: \"X\", geometry: $g}) { id } }", "variables": {"g": {"type": "Polygon", "coordinates": [[[-71, 46]] * 1000000]}}}, sys.stdout)' >"$work/vertices.json"
head -c 15000000 /dev/zero | tr '\0' ' ' >"$work/anonymous.json"

send_ws() { # kind count: over the websocket, the same lines as `send`
	python3 perf/ws_hostile.py "${base/http/ws}/graphql/ws" "$token" "$work/${1#ws-}.json" "$2"
}

send() { # kind: the error code of the answer and its time, on one line
	local auth=(-H "Authorization: Bearer $token") out took
	[ "$1" = anonymous ] && auth=()
	out=$(mktemp -p "$work")
	took=$(curl -s -o "$out" -w '%{time_total}' "$base/graphql" "${auth[@]}" \
		-H 'Content-Type: application/json' --data-binary "@$work/$1.json")
	printf '%s %s\n' "$(jq -r 'if type == "array" then .[0] else . end | .errors[0].extensions.code // "none"' "$out" 2>/dev/null || echo unreadable)" "$took"
	rm -f "$out"
}
export -f send
export base token work

# /health's answer times, every 20 ms, until the file `stop` appears.
watch_health() {
	rm -f "$work/stop" "$work/health.times"
	while [ ! -e "$work/stop" ]; do
		curl -s -o /dev/null -w '%{time_total}\n' "$base/health" >>"$work/health.times"
		sleep 0.02
	done
}
p99() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.0f ms", a[i]*1000}'; }

echo "server RSS with 10,000 occupants loaded: $(rss)"
printf '%-12s %-16s %12s %14s %s\n' kind answer slowest health_p99 "RSS after $count"
for kind in ${KINDS:-aliases depth lists searches directives batch big fanout2 fanout3 cycle unpaged connections anonymous vertices ws-aliases ws-fanout3 ws-cycle}; do
	n=$count
	case $kind in anonymous | vertices) n=$((count / 10 > 0 ? count / 10 : 1)) ;; esac
	watch_health &
	watcher=$!
	case $kind in
	ws-*) answers=$(send_ws "$kind" "$n") ;;
	*) answers=$(seq "$n" | xargs -P 8 -I{} bash -c "send $kind") ;;
	esac
	touch "$work/stop"
	wait "$watcher"
	# Every answer an error with a code: nothing ran. Large bodies may also
	# be told OVERLOADED (two at a time), hence counts when they mix.
	codes=$(awk '{print $1}' <<<"$answers" | sort | uniq -c | awk '{print $2 "×" $1}' | paste -sd+)
	if grep -qE '(^|\+)(none|unreadable)×' <<<"$codes"; then echo "$kind: $codes" >&2; exit 1; fi
	[ "$(tr -cd + <<<"$codes" | wc -c)" -eq 0 ] && codes=${codes%×*}
	slowest=$(awk '{print $2}' <<<"$answers" | sort -n | tail -1)
	printf '%-12s %-16s %9.0f ms %14s %s\n' "$kind" "$codes" \
		"$(awk -v s="$slowest" 'BEGIN {print s * 1000}')" "$(p99 <"$work/health.times")" "$(rss)"
done
