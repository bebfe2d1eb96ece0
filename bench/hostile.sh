#!/usr/bin/env bash
# Hostile GraphQL against the release server, for memory: 10,000 occupants
# loaded (SQLite, or PostgreSQL with LOAD_DATABASE_URL), then each kind of
# hostile request sent N times (default 200) by 8 clients at once: alias
# flood, deep query, heavy lists, search-and-count flood, directive flood,
# 100-operation batch, 1 MB query. Prints, for each kind, the answer's
# error code (the same for every request, or the script fails) and the
# server's RSS after it: refused requests should leave memory flat.
#   bench/hostile.sh [N]   needs curl, jq and xargs; about a minute
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-200}"

. bench/server.sh
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

send() { # kind: the error code of every answer, one line each
	curl -s "$base/graphql" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		--data-binary "@$work/$1.json" | jq -r 'if type == "array" then .[0] else . end | .errors[0].extensions.code // "none"'
}
export -f send
export base token work

echo "server RSS with 10,000 occupants loaded: $(rss)"
printf '%-11s %-16s %s\n' kind answer "RSS after $count"
for kind in aliases depth lists searches directives batch big; do
	codes=$(seq "$count" | xargs -P 8 -I{} bash -c "send $kind" | sort | uniq -c)
	[ "$(wc -l <<<"$codes")" -eq 1 ] || { echo "$kind: mixed answers: $codes" >&2; exit 1; }
	printf '%-11s %-16s %s\n' "$kind" "$(awk '{print $2}' <<<"$codes")" "$(rss)"
done
