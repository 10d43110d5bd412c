# Helpers for the shell tests (sourced). Each check prints one TAP line.
# Run from the repository root with bin/ on PATH (tests/run.sh does both).
n=0
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check TEST-ARGS... "what": passes when `test TEST-ARGS` is true
check() {
    eval "what=\${$#}"
    n=$((n + 1))
    args=""
    i=1
    while [ $i -lt $# ]; do
        eval "a=\${$i}"
        args="$args '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
        i=$((i + 1))
    done
    if eval "test $args"; then
        echo "ok $n - $what"
    else
        echo "not ok $n - $what"
        echo "#   test$args"
        failures=$((failures + 1))
    fi
}

# same FILE1 FILE2 "what": byte-identical files
same() {
    n=$((n + 1))
    if cmp -s "$1" "$2"; then
        echo "ok $n - $3"
    else
        echo "not ok $n - $3"
        echo "#   $1 and $2 differ: $(cmp "$1" "$2" 2>&1 | head -1)"
        failures=$((failures + 1))
    fi
}

# contains "TEXT" "SUBSTRING" "what"
contains() {
    n=$((n + 1))
    case "$1" in
    *"$2"*) echo "ok $n - $3" ;;
    *)
        echo "not ok $n - $3"
        echo "#   wanted: $2"
        echo "#   got:    $(printf '%s' "$1" | head -5)"
        failures=$((failures + 1))
        ;;
    esac
}

finish() {
    [ "$failures" -eq 0 ]
    exit $?
}
