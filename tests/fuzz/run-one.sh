#!/bin/sh
# One bounded libFuzzer run: target, corpus dir, seconds. Prints one TAP line
# with the number of executions; a crash (or leak, or sanitizer report) fails.
target=$1; corpus=$2; seconds=$3
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="${TMPDIR:-/tmp}/$(basename "$target")-" "$corpus" >"$out" 2>&1
rc=$?
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$')
if [ "$rc" -eq 0 ]; then
    echo "ok - $(basename "$target"): ${execs:-?} executions in ${seconds}s, no crash"
else
    tail -40 "$out"
    echo "not ok - $(basename "$target"): crashed (exit $rc) after ${execs:-?} executions"
fi
