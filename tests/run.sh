#!/bin/sh
# tests/run.sh: runs the whole suite and prints "N passed, N failed".
#   - every test program built from tests/unit and tests/golden ($BUILD/tests/...)
#   - every shell test in tests/pipeline (each prints TAP lines like the C ones)
#   - a bounded run of every fuzz target (build/fuzz/*), FUZZ_SECONDS each
# A check is a line "ok ..." or "not ok ...". A program that exits non-zero
# without printing a failing check counts as one failure (a crash, say).
# Run from the repository root. TEST=pattern runs only matching programs.
BUILD=${BUILD:-build/rel}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
TEST=${TEST:-}
export BICOT_ROOT=$(pwd)
export PATH="$BICOT_ROOT/bin:$PATH"
export BUILD
passed=0; failed=0; failed_names=""
log=$(mktemp); trap 'rm -f "$log"' EXIT

run_one() {  # name, command...
    name=$1; shift
    case "$name" in *"$TEST"*) ;; *) return ;; esac
    echo "== $name"
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $name exited with status $rc"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -gt 0 ] && failed_names="$failed_names $name"
}

for t in $(find "$BUILD/tests" -type f -perm -u+x 2>/dev/null | sort); do
    run_one "$t" "$t"
done
for t in $(ls tests/pipeline/*.sh 2>/dev/null | grep -v '/lib.sh$' | sort); do
    run_one "$t" sh "$t"
done
for t in $(ls build/fuzz/fuzz_* 2>/dev/null | sort); do
    target=$(basename "$t")
    corpus=tests/fuzz/corpus/${target#fuzz_}
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
    run_one "$t" sh tests/fuzz/run-one.sh "$t" "$work" "$FUZZ_SECONDS"
    rm -rf "$work"
done

echo
[ -n "$failed_names" ] && echo "failed in:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
