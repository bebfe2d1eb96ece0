# Sourced by perf/load.sh and perf/hostile.sh: the release server on a
# fresh database (SQLite in a temporary folder, or PostgreSQL with
# LOAD_DATABASE_URL), an organization and its token, and what both do with
# them. Stopped, and the folder removed, when the script exits.
#   start_server NAME   builds, creates the organization NAME, starts, waits
#   csv LABEL           a template CSV of 10,000 occupants, three to a client
#   upload FILE WAIT    imports FILE (MERGE_KEEP_MISSING); prints the run
#   rss                 the server's resident memory
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flokon-api/release}"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export DATABASE_URL="${LOAD_DATABASE_URL:-sqlite://$work/bench.db?mode=rwc}"
export BIND_ADDR="127.0.0.1:$port" GEOCODER=none RUST_LOG=warn
base="http://127.0.0.1:$port"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start_server() {
	cargo build --release --quiet
	local bin="$CARGO_TARGET_DIR/release/flokon-api"
	token=$("$bin" org create "$1" | sed -n 's/^token: //p')
	"$bin" >"$work/server.log" 2>&1 &
	server=$!
	for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
}
csv() {
	echo "Prénom,Nom,Téléphone*,SMS/Appel*,Adresse*,Notes,Identifiant du client"
	for ((i = 0; i < 10000; i++)); do
		printf 'P%d,%s,418555%04d,SMS,"%d rue %s, Québec, QC, G1P 0A0",,C-%d\n' "$i" "$1" "$i" "$((i + 1))" "$1" "$((i / 3))"
	done
}
upload() {
	curl -sf "$base/graphql" -H "Authorization: Bearer $token" \
		-F operations="{\"query\":\"mutation(\$file: Upload!) { importSpreadsheet(file: \$file, mode: MERGE_KEEP_MISSING, wait: $2) { id status committed } }\",\"variables\":{\"file\":null}}" \
		-F map='{"0":["variables.file"]}' -F "0=@$1"
}
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server/status"; }
