#!/usr/bin/env bash
# Instructions per GraphQL read, counted by callgrind: repeatable whatever
# else the machine is doing, so two builds can be compared where req/s on a
# busy two-core machine cannot tell 10 % apart.
#   perf/instructions.sh [BIN ...]   default: the release build
#   KEEP=folder perf/instructions.sh ...   keeps the dumps (callgrind_annotate)
#   CALLGRIND_OPTS=--separate-callers=3 ...   more of callgrind's options
# For each server binary: a fresh PostgreSQL database (the database's own
# work is in its processes, not counted) holding 10,000 occupants
# (perf/server.sh's CSV, imported at full speed), then the binary under
# callgrind answering the nested and the flat query of perf/graphql.sh one
# at a time after a warm-up; prints the instructions per request of each.
# Needs valgrind, curl and PostgreSQL (PGHOST/PGPORT/PGUSER as in
# perf/graphql.sh); about a minute a binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
for tool in valgrind callgrind_control curl psql; do
	command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install valgrind curl postgresql-client)" >&2; exit 2; }
done
if [ $# -eq 0 ]; then
	export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flokon-api/release}"
	cargo build --release --quiet
	set -- "$CARGO_TARGET_DIR/release/flokon-api"
fi
nested_count=20
flat_count=200
LOAD_DATABASE_URL=unused source perf/server.sh
export RUST_LOG=warn AUTH_CACHE_TTL=1h
nested='{"query":"{ clients(first: 100) { edges { node { externalId servicePoints { edges { node { fullAddress occupants { firstName phone } } } } } } } }"}'
flat='{"query":"{ clients(first: 10) { edges { node { externalId name } } } }"}'
csv Banc >"$work/occupants.csv"

ask() { # QUERY N: N requests, one at a time
	for ((i = 0; i < $2; i++)); do
		curl -sf "$base/graphql" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$1" >/dev/null
	done
}
instructions() { sed -n 's/^summary: \([0-9]*\).*/\1/p' "$1"; }
wait_healthy() {
	for _ in $(seq 600); do curl -sf "$base/health" >/dev/null && return; sleep 0.2; done
	echo "server did not start" >&2
	exit 1
}

printf '%-40s %18s %18s\n' binary nested_instr/req flat_instr/req
for bin in "$@"; do
	db="flokon_instr_$$_$RANDOM"
	psql -d postgres -qc "CREATE DATABASE $db"
	# No TLS, as perf/graphql.sh runs every server: its encryption is not the read's.
	export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=disable"
	token=$("$bin" org create Bench 2>/dev/null | sed -n 's/^token: //p')
	"$bin" >"$work/server.log" 2>&1 &
	server=$!
	wait_healthy
	upload "$work/occupants.csv" true >/dev/null
	kill "$server"
	wait "$server" 2>/dev/null || true

	# The background workers rest an hour: their passes (alert dispatch every
	# 500 ms, webhooks every 250 ms) were 8.7 % of a flat read's window.
	WEBHOOK_WORKER_INTERVAL=1h DISPATCH_WORKER_INTERVAL=1h \
		valgrind --tool=callgrind --instr-atstart=no ${CALLGRIND_OPTS:-} --callgrind-out-file="$work/cg.out" \
		"$bin" >"$work/server.log" 2>&1 &
	server=$!
	wait_healthy
	ask "$nested" 3
	ask "$flat" 10
	# Requests side by side open the pool's connections now: one opened
	# inside the window (a TLS handshake to PostgreSQL, ~3 M instructions)
	# would count as the reads' own work.
	seq 16 | xargs -P 8 -I{} curl -sf "$base/graphql" -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' -d "$flat" -o /dev/null
	callgrind_control -i on "$server" >/dev/null 2>&1
	callgrind_control -z "$server" >/dev/null 2>&1
	ask "$nested" "$nested_count"
	callgrind_control -d nested "$server" >/dev/null 2>&1
	ask "$flat" "$flat_count"
	callgrind_control -d flat "$server" >/dev/null 2>&1
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=""
	n=$(instructions "$(ls "$work"/cg.out.*1 | head -1)")
	f=$(instructions "$(ls "$work"/cg.out.*2 | head -1)")
	printf '%-40s %18d %18d\n' "$(basename "$bin")" $((n / nested_count)) $((f / flat_count))
	if [ -n "${KEEP:-}" ]; then # KEEP=folder: the dumps, for callgrind_annotate
		mkdir -p "$KEEP"
		cp "$(ls "$work"/cg.out.*1 | head -1)" "$KEEP/$(basename "$bin").nested.callgrind"
		cp "$(ls "$work"/cg.out.*2 | head -1)" "$KEEP/$(basename "$bin").flat.callgrind"
	fi
	rm -f "$work"/cg.out*
	psql -d postgres -qc "DROP DATABASE $db WITH (FORCE)"
done
