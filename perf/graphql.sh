#!/usr/bin/env bash
# GraphQL read throughput against PostGraphile 4 and 5 and against the SQL
# our server issues, on one PostgreSQL database holding the import
# benchmark's 100,000 occupants (30,000 clients, 40,000 addresses) loaded
# through the server's own import.
#   perf/graphql.sh [seconds] [rounds]   10 s, 3 rounds by default
#   PERF=1 perf/graphql.sh ...           then profiles our server (perf)
#   BIN=path perf/graphql.sh ...         that server binary, not a new build
# Two queries, the same data asked of every server: "nested" (100 clients,
# their addresses, their occupants) and "flat" (10 clients, two fields).
# Each is driven by wrk (2 threads, 16 connections), servers alternating
# round by round: ours, PostGraphile 4 and PostGraphile 5 (both as their
# users run them, NODE_ENV=production and GRAPHILE_ENV=production), and
# the limit of our own stack: examples/sql_floor.rs, axum + sqlx running
# the statements our server issued for one request and writing the same
# JSON. Then pgbench replays, 16 clients, those very statements (captured
# from PostgreSQL's statement log): the floor any server on this database
# pays. Our server answers an operation seen before with one statement
# that writes the JSON (src/graphql/compiled/), the first time with its
# resolvers' statements: both sets are captured and replayed, the first
# is the floor. Needs node/npm (PostGraphile 4 is installed in perf/.node,
# PostGraphile 5 with the Node 22 it needs in perf/.node5, on first run),
# wrk, pgbench, psql, jq and a PostgreSQL server where PGUSER may create
# databases and is superuser (default postgres@127.0.0.1:5432, trust auth;
# PGHOST/PGPORT/PGUSER override). The database is created for the run and
# dropped on exit. Loopback only; about 6 minutes with the defaults after
# the build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
rounds="${2:-3}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
# The bench profile (release settings) shares the build `cargo bench` makes.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flokon-api/target}"

# Debian keeps pgbench beside the server binaries, off the PATH.
for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/pgbench" ] && PATH="$PATH:$dir"; done
missing=""
for tool in node npm wrk pgbench psql createdb dropdb jq curl; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "missing:$missing (apt-get install nodejs npm wrk postgresql-client postgresql-contrib jq curl)" >&2
	exit 2
fi
pg_isready -q || { echo "no PostgreSQL at $PGHOST:$PGPORT" >&2; exit 2; }

# Built with the bench profile: with an example in the build, dependencies
# get the features `cargo bench` gives them, so its build serves (a plain
# release build's differ and would compile everything again).
# BIN=path: a server binary built already.
cargo build --profile bench --quiet --bin flokon-api --example sql_floor
bin="${BIN:-$CARGO_TARGET_DIR/release/flokon-api}"
floor_bin="$CARGO_TARGET_DIR/release/examples/sql_floor"
postgraphile=perf/.node/node_modules/.bin/postgraphile
[ -x "$postgraphile" ] || npm install --prefix perf/.node --no-audit --no-fund --silent postgraphile@4
# PostGraphile 5 needs Node 22 or later: the `node` package puts one beside it.
node22=perf/.node5/node_modules/.bin/node
postgraphile5=perf/.node5/node_modules/.bin/postgraphile
[ -x "$postgraphile5" ] || npm install --prefix perf/.node5 --no-audit --no-fund --silent node@22 postgraphile@5

work=$(mktemp -d)
db="flokon_bench_$$"
# Without TLS for every client alike: PostGraphile's driver does not use it
# unless asked, where sqlx and libpq (pgbench) prefer it.
url="postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=disable"
export PGSSLMODE=disable
port=$((20000 + RANDOM % 20000))
ours="http://127.0.0.1:$port"
pg4="http://127.0.0.1:$((port + 1))"
pg5="http://127.0.0.1:$((port + 2))"
stack="http://127.0.0.1:$((port + 3))"
server="" others="" created=""
stop_server() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
cleanup() {
	stop_server
	[ -z "$others" ] || kill $others 2>/dev/null || true
	[ -z "$created" ] || dropdb --if-exists --force "$db" || true
	rm -rf "$work"
}
trap cleanup EXIT
createdb "$db"
created=1
export DATABASE_URL="$url" BIND_ADDR="127.0.0.1:$port" GEOCODER=none RUST_LOG=warn
# The nested query is an expensive operation (its cost counts every list
# times its rows), of which an organization runs 4 at once by default, the
# rest refused at once; here one organization is every client, and the
# PostGraphiles have no such limit: all 16 connections run.
export MAX_EXPENSIVE_PER_ORG=16

# Both servers get the 10 pool connections our server defaults to.
start_server() {
	"$bin" >>"$work/server.log" 2>&1 &
	server=$!
	for _ in $(seq 100); do curl -sf "$ours/health" >/dev/null && return; sleep 0.1; done
	echo "the server did not come up:" >&2; tail "$work/server.log" >&2; exit 1
}
token=$("$bin" org create "Banc" | sed -n 's/^token: //p')
start_server

# The data set of benches/import.rs, as a template CSV: addresses 0..20,000
# have three occupants, the others two; clients 0..10,000 have two
# addresses, the others one; coordinates given (no geocoding).
LC_ALL=C awk 'BEGIN {
	print "Prénom,Nom,Téléphone*,SMS/Appel*,Adresse*,Notes,Identifiant du client,Latitude,Longitude"
	row = 0
	for (a = 0; a < 40000; a++) {
		client = a < 20000 ? int(a / 2) : a - 10000
		for (o = 0; o < (a < 20000 ? 3 : 2); o++) {
			printf "Prénom%d,Tremblay,418-%d-%04d,%s,\"%d rue Banc-%d, Québec, QC, G1K 1A1\",,C-%d,%.3f,%.3f\n",
				row, 200 + int(row / 10000), row % 10000, row % 2 ? "appel" : "SMS",
				1 + a % 900, int(a / 900), client, 46.7 + (a % 200) * 0.001, -71.3 + int(a / 200) * 0.001
			row++
		}
	}
}' >"$work/data.csv"
echo "importing 100,000 occupants through the server..."
started=$(date +%s)
curl -sf "$ours/graphql" -H "Authorization: Bearer $token" \
	-F operations='{"query":"mutation($file: Upload!) { importSpreadsheet(file: $file, mode: MERGE_KEEP_MISSING, wait: true) { status committed summary { occupants { created } } } }","variables":{"file":null}}' \
	-F map='{"0":["variables.file"]}' -F "0=@$work/data.csv" >"$work/import.json"
jq -e '.data.importSpreadsheet.committed == true' "$work/import.json" >/dev/null ||
	{ echo "import failed: $(cat "$work/import.json")" >&2; exit 1; }
echo "import: $(jq -c .data.importSpreadsheet "$work/import.json") in $(($(date +%s) - started)) s"
# Fresh statistics for every planner that follows.
psql -qd "$db" -c "VACUUM ANALYZE"

# The two queries, for each server. Ours computes fullAddress from the four
# columns PostGraphile is asked for; both order clients by id (ours are
# UUIDv7: creation order).
q_ours_nested='{ clients(first: 100) { edges { node { externalId servicePoints { edges { node { fullAddress occupants { phone contactMethod } } } } } } } }'
q_theirs_nested='{ allClients(first: 100, orderBy: PRIMARY_KEY_ASC) { nodes { externalId servicePointsByClientId { nodes { addressLine1 city province postalCode occupantsByServicePointId { nodes { phone contactMethod } } } } } } }'
q_ours_flat='{ clients(first: 10) { edges { node { externalId name } } } }'
q_theirs_flat='{ allClients(first: 10, orderBy: PRIMARY_KEY_ASC) { nodes { externalId name } } }'
body() { jq -cn --arg q "$1" '{query: $q}'; }
ask() { # url, query, [token]
	curl -sf "$1/graphql" -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$(body "$2")"
}

# --- The SQL floor, part one: the statements of one request. With
# log_statement=all on this database only (new sessions: the server is
# restarted), PostgreSQL logs each statement with its parameters; the log
# is read back through pg_read_file, so its place on disk does not matter.
stop_server
psql -qd "$db" -c "ALTER DATABASE $db SET log_statement = 'all'"
logfile=$(psql -Atd postgres -c "SELECT coalesce(current_setting('data_directory') || '/' || pg_current_logfile(), '')")
# Without the logging collector stderr goes wherever the service put it:
# Debian's pg_ctlcluster writes it here.
[ -n "$logfile" ] || logfile="${PG_LOG:-/var/log/postgresql/postgresql-$(psql -Atd postgres -c "SELECT current_setting('server_version_num')::int / 10000")-main.log}"
logsize() { psql -Atd postgres -c "SELECT (pg_stat_file('$logfile')).size"; }
start_server
# The first time an operation is seen, the resolvers answer it (their
# statements: NAME_resolvers.sql); from the second, its one statement when
# it has one (NAME.sql, what the floors replay).
capture() { # name, query
	ask "$ours" '{ __typename }' "$token" >/dev/null # warm: pool connections open, token known
	capture_one "$1_resolvers" "$2"
	capture_one "$1" "$2"
}
capture_one() { # file name, query: that request's statements, one per line, parameters inlined
	local from
	from=$(logsize)
	ask "$ours" "$2" "$token" >/dev/null
	sleep 0.5
	psql -Atd postgres -c "SELECT pg_read_file('$logfile', $from, $(logsize) - $from)" >"$work/$1.log"
	# Only this database's lines; a statement is logged as "statement: SQL"
	# (simple protocol) or "execute NAME: SQL" followed by its parameters;
	# a statement on several lines is joined into one. The server's background passes (import worker every second, webhook
	# poller, alert dispatch) share the window: their transactions take an
	# advisory lock or touch import_run, webhook_delivery or alert_message,
	# which neither query touches; those are left out, per connection (pid).
	perl -ne '
		BEGIN { $db = shift; @s = () }
		# A line without a message prefix continues the last message.
		unless (/\[(\d+)\] (?:\S*\@\S* )?[A-Z]+:  /) { chomp; $cur->{sql} .= " $_" =~ s/\s+/ /gr if $cur; next }
		undef $cur;
		next unless /\[(\d+)\] \S*\@\Q$db\E /;
		my $pid = $1;
		if (/LOG:  (?:statement|execute [^:]*): (.*)$/) { push @s, $cur = { pid => $pid, sql => $1 }; next }
		if (@s && /DETAIL:  parameters: (.*)$/) {
			my ($list, %p) = ($1);
			$p{$1} = $2 while $list =~ /\$(\d+) = (NULL|\x27(?:[^\x27]|\x27\x27)*\x27)/g;
			my ($last) = grep { $_->{pid} eq $pid } reverse @s;
			$last->{sql} =~ s/\$(\d+)/exists $p{$1} ? $p{$1} : "\$$1"/ge;
		}
		END {
			my (%open, %since);
			for my $s (@s) {
				my $pid = $s->{pid};
				if ($s->{sql} =~ /^BEGIN/i) { $open{$pid} = []; delete $since{$pid} }
				push @{ $open{$pid} || ($since{$pid} ||= []) }, $s;
				next unless $s->{sql} =~ /^(COMMIT|ROLLBACK)/i;
				if ($open{$pid}) { my $t = delete $open{$pid}; $_->{tx} = $t for @$t }
				# Begun before the window: not this request, nor what ran before on that connection.
				else { $_->{drop} = 1 for @{ delete $since{$pid} } }
			}
			for my $t (values %open) { $_->{tx} = $t for @$t }
			for my $s (@s) {
				next if $s->{drop};
				my $text = join "\n", map { $_->{sql} } @{ $s->{tx} || [$s] };
				print "$s->{sql};\n" unless $text =~ /pg_advisory_xact_lock|"(import_run|webhook_delivery|alert_message)"/;
			}
		}
	' "$db" "$work/$1.log" >"$work/$1.sql"
}
capture nested "$q_ours_nested"
capture flat "$q_ours_flat"
stop_server
psql -qd "$db" -c "ALTER DATABASE $db RESET log_statement"
for q in nested flat nested_resolvers flat_resolvers; do
	[ -s "$work/$q.sql" ] || { echo "no statement captured for $q (is $logfile its log, PG_LOG=...? does log_line_prefix hold [%p] and %d?)" >&2; exit 1; }
	echo "== statements of one $q request ($(wc -l <"$work/$q.sql")), long IN lists shortened here:"
	perl -pe 's/IN \(((?:\x27[^\x27]*\x27(?:, )?)+)\)/"IN (<" . scalar(() = $1 =~ m{\x27[^\x27]*\x27}g) . " values>)"/ge' "$work/$q.sql"
done

# --- The servers: ours, both PostGraphiles (production mode, as their
# users run them), the stack floor.
start_server
NODE_ENV=production "$postgraphile" -c "$url" --schema public --host 127.0.0.1 --port "$((port + 1))" \
	--disable-query-log --disable-graphiql >"$work/postgraphile4.log" 2>&1 &
others="$!"
NODE_ENV=production GRAPHILE_ENV=production "$node22" "$postgraphile5" -P postgraphile/presets/amber \
	-c "$url" -s public -n 127.0.0.1 -p "$((port + 2))" >"$work/postgraphile5.log" 2>&1 &
others="$others $!"
"$floor_bin" "$url" "127.0.0.1:$((port + 3))" "$work/flat.sql" "$work/nested.sql" >"$work/sql_floor.log" 2>&1 &
others="$others $!"
for name in pg4 pg5 stack; do
	for _ in $(seq 300); do ask "${!name}" '{ __typename }' >/dev/null 2>&1 && break; sleep 0.1; done
	ask "${!name}" '{ __typename }' >/dev/null || { echo "$name did not come up:" >&2; tail "$work"/*.log >&2; exit 1; }
done

# Same answers before any load: no "errors", and the same clients,
# addresses and occupants counted on every side; the stack floor's flat
# answer is ours, to the byte once both are compacted.
ask "$ours" "$q_ours_nested" "$token" >"$work/ours_nested.json"
ask "$ours" "$q_ours_flat" "$token" >"$work/ours_flat.json"
# Sent again, each is answered by its one statement: the same bytes.
for q in nested flat; do
	q_ours="q_ours_$q"
	ask "$ours" "${!q_ours}" "$token" | cmp -s - "$work/ours_$q.json" ||
		{ echo "our second $q answer (one statement) differs from the first (the resolvers)" >&2; exit 1; }
done
ask "$stack" "$q_ours_nested" >"$work/stack_nested.json"
ask "$stack" "$q_ours_flat" >"$work/stack_flat.json"
for pg in pg4 pg5; do
	ask "${!pg}" "$q_theirs_nested" >"$work/${pg}_nested.json"
	ask "${!pg}" "$q_theirs_flat" >"$work/${pg}_flat.json"
done
for f in "$work"/*_nested.json "$work"/*_flat.json; do
	jq -e 'has("errors") | not' "$f" >/dev/null || { echo "errors in $(basename "$f"): $(head -c 500 "$f")" >&2; exit 1; }
done
counts_of_ours='.data.clients.edges | [length, ([.[].node.servicePoints.edges[]] | length), ([.[].node.servicePoints.edges[].node.occupants[]] | length), (map(.node.externalId) | join(","))]'
counts_ours=$(jq -c "$counts_of_ours" "$work/ours_nested.json")
[ "$counts_ours" = "$(jq -c "$counts_of_ours" "$work/stack_nested.json")" ] || { echo "the stack floor's nested answer differs" >&2; exit 1; }
[ "$(jq -c . "$work/ours_flat.json")" = "$(jq -c . "$work/stack_flat.json")" ] || { echo "the stack floor's flat answer differs: $(head -c 300 "$work/stack_flat.json")" >&2; exit 1; }
for pg in pg4 pg5; do
	counts_theirs=$(jq -c '.data.allClients.nodes | [length, ([.[].servicePointsByClientId.nodes[]] | length), ([.[].servicePointsByClientId.nodes[].occupantsByServicePointId.nodes[]] | length), (map(.externalId) | join(","))]' "$work/${pg}_nested.json")
	[ "$counts_ours" = "$counts_theirs" ] || { echo "the nested answers differ: $counts_ours vs $pg's $counts_theirs" >&2; exit 1; }
	[ "$(jq -c '[.data.clients.edges[].node]' "$work/ours_flat.json")" = "$(jq -c .data.allClients.nodes "$work/${pg}_flat.json")" ] ||
		{ echo "the flat answers differ ($pg)" >&2; exit 1; }
done
echo "nested: clients, addresses, occupants on every server: $(jq -c '.[0:3]' <<<"$counts_ours"); flat: 10 same clients"

# One wrk script per (server, query). done() prints one line: req/s, p50,
# p99 in ms, non-200 answers, answers carrying "errors", socket errors
# (connect, read, write, timeout).
wrk_script() { # file, query, [token]
	local auth=""
	[ -z "${3:-}" ] || auth="wrk.headers[\"Authorization\"] = \"Bearer $3\""
	cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = [==[$(body "$2")]==]
wrk.headers["Content-Type"] = "application/json"
$auth
non200, gqlerrors = 0, 0 -- globals: done() sums them over the threads
local threads = {}
setup = function(thread) table.insert(threads, thread) end
response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 elseif body:find('"errors"', 1, true) then gqlerrors = gqlerrors + 1 end
end
done = function(summary, latency, requests)
  local n, g = 0, 0
  for _, t in ipairs(threads) do n = n + t:get("non200"); g = g + t:get("gqlerrors") end
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d %d %d %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, n, g, e.connect, e.read, e.write, e.timeout))
end
LUA
}
for q in nested flat; do
	ours_q="q_ours_$q" theirs_q="q_theirs_$q"
	wrk_script "$work/ours_$q.lua" "${!ours_q}" "$token"
	wrk_script "$work/stack_$q.lua" "${!ours_q}"
	wrk_script "$work/pg4_$q.lua" "${!theirs_q}"
	wrk_script "$work/pg5_$q.lua" "${!theirs_q}"
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "wrk -t2 -c16 -d${seconds}s, $rounds round(s), servers alternating"
printf '%-7s %-15s %5s %10s %9s %9s %7s\n' query server round req/s p50_ms p99_ms errors
declare -A label=([ours]=flokon-api [pg4]=PostGraphile4 [pg5]=PostGraphile5 [stack]=axum+sqlx)
for q in nested flat; do
	for r in $(seq "$rounds"); do
		for s in ours pg4 pg5 stack; do
			base="${!s}"
			name="${label[$s]}"
			line=$(wrk -t2 -c16 -d"${seconds}s" -s "$work/${s}_$q.lua" "$base/graphql" | grep '^RESULT')
			read -r _ rps p50 p99 non200 gql connect read write timeout <<<"$line"
			sock=$((connect + read + write + timeout))
			printf '%-7s %-15s %5s %10s %9s %9s %7s\n' "$q" "$name" "$r" "$rps" "$p50" "$p99" "$((non200 + gql + sock))"
			echo "$rps" >>"$work/rps_${s}_$q"
			echo "$p99" >>"$work/p99_${s}_$q"
			[ $((non200 + gql + sock)) -eq 0 ] || echo "   ($non200 non-200, $gql with errors; sockets: $connect connect, $read read, $write write, $timeout timeout (wrk's 2 s))"
		done
	done
done

# --- The SQL floor, part two: one pgbench transaction = one request's
# statements, prepared once per connection as the server's driver does.
echo
echo "median req/s (median p99 ms); SQL floor = pgbench -M prepared -c16 -j2 -T${seconds} of one request's statements (its one statement; resolvers': the statements of the first time, the resolvers'); stack floor = axum + sqlx, the same statements and JSON"
printf '%-7s %18s %18s %18s %9s %9s %18s %12s %10s %11s %16s %13s\n' query flokon-api PostGraphile4 PostGraphile5 ours/pg4 ours/pg5 stack_floor SQL_floor_tx/s ours/SQL ours/stack resolvers_tx/s ours/resolvers
for q in nested flat; do
	mo=$(median <"$work/rps_ours_$q")
	m4=$(median <"$work/rps_pg4_$q")
	m5=$(median <"$work/rps_pg5_$q")
	ms=$(median <"$work/rps_stack_$q")
	p99() { median <"$work/p99_$1_$q"; }
	for f in "$q" "${q}_resolvers"; do
		pgbench -n -M prepared -c 16 -j 2 -T "$seconds" -f "$work/$f.sql" "$db" >"$work/pgbench_$f.txt" 2>&1 ||
			{ echo "pgbench failed on $f:" >&2; cat "$work/pgbench_$f.txt" >&2; exit 1; }
		failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench_$f.txt")
		[ "${failed:-0}" -eq 0 ] || echo "   pgbench: $failed failed transactions ($f)"
	done
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench_$q.txt")
	tps_r=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench_${q}_resolvers.txt")
	awk -v q="$q" -v mo="$mo" -v m4="$m4" -v m5="$m5" -v ms="$ms" -v tps="$tps" -v tpsr="$tps_r" \
		-v po="$(p99 ours)" -v p4="$(p99 pg4)" -v p5="$(p99 pg5)" -v ps="$(p99 stack)" \
		'BEGIN { printf "%-7s %18s %18s %18s %9.2f %9.2f %18s %12.1f %10.2f %11.2f %16.1f %13.2f\n", q, mo " (" po ")", m4 " (" p4 ")", m5 " (" p5 ")", mo / m4, mo / m5, ms " (" ps ")", tps, mo / tps, mo / ms, tpsr, mo / tpsr }'
done

# --- Where our server's time goes (PERF=1): perf samples the server, call
# graphs included, through one more nested round; the top symbols, by the
# time spent in them and below them.
if [ -n "${PERF:-}" ]; then
	command -v perf >/dev/null || { echo "PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 2; }
	perf record -q -F 499 --call-graph dwarf -p "$server" -o "$work/perf.data" -- sleep "$seconds" 2>/dev/null &
	recorder=$!
	wrk -t2 -c16 -d"${seconds}s" -s "$work/ours_nested.lua" "$ours/graphql" >/dev/null
	wait "$recorder" || true
	for view in --no-children --children; do
		echo
		echo "== perf report $view (nested query, our server)"
		perf report -i "$work/perf.data" $view --stdio --sort dso,symbol --percent-limit 1.5 -g none 2>/dev/null |
			grep -E '^ +[0-9]' | head -40
	done
fi
