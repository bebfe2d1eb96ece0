#!/usr/bin/env bash
# Fuzzes the spreadsheet readers: each cargo-fuzz target (xlsx, xls, ods,
# csv) for SECONDS seconds (default 60), one after the other, through
# `import::parse` as the server calls it. Usage: scripts/fuzz.sh [SECONDS]
# [TARGET...]. Stable Rust is enough (RUSTC_BOOTSTRAP=1 gives cargo-fuzz its
# nightly flags); cargo-fuzz is installed once when missing.
#
# New inputs and crash files go under $FUZZ_WORK (outside the repository);
# the committed seeds in fuzz/corpus/<target> are read, never written. A
# crash, out-of-memory (over 1 GB RSS, or one allocation over 256 MB) or a
# 10-second input stops that target and fails the script, naming the file
# to rerun: `cargo fuzz run <target> <file>` in fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xlsx xls ods csv)

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/flokon-api/fuzz-target}"
export CARGO_TERM_COLOR=never
work="${FUZZ_WORK:-$HOME/.cache/flokon-api/fuzz}"

command -v cargo-fuzz >/dev/null ||
	CARGO_TARGET_DIR="$HOME/.cache/flokon-api/cargo-fuzz-build" \
		nice -n 19 cargo install cargo-fuzz --locked --quiet

start=$(date +%s)
mkdir -p "$work"
if ! nice -n 19 cargo fuzz build >"$work/build.log" 2>&1; then
	tail -30 "$work/build.log"
	exit 1
fi
echo "build: $(($(date +%s) - start)) s"

failed=0
for target in "${targets[@]}"; do
	mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
	log="$work/$target.log"
	dict=()
	[ -f "dicts/$target.dict" ] && dict=("-dict=dicts/$target.dict")
	if nice -n 19 cargo fuzz run "$target" "$work/corpus/$target" "corpus/$target" -- \
		-max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" "${dict[@]}" \
		>"$log" 2>&1; then
		status=ok
	else
		status=FAILED
		failed=1
	fi
	runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
	speed=$(grep -oE '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
	coverage=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || echo '?')
	echo "$target: $status, $runs executions, $speed exec/s, $coverage (log: $log)"
	if [ "$status" = FAILED ]; then
		grep -E 'ERROR: libFuzzer|SUMMARY|panicked at|Test unit written to' "$log" | head -5
	fi
done
echo "total: $(($(date +%s) - start)) s"
exit "$failed"
