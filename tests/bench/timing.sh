# Sourced by the benchmarks: best-of-N wall time of a shell command.
# best_time N 'command' -> prints seconds
best_time() {
    runs=$1; cmd=$2; best=""
    i=0
    while [ $i -lt $runs ]; do
        t0=$(date +%s.%N)
        sh -c "$cmd" || return 1
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
        i=$((i + 1))
    done
    printf '%.4f\n' "$best"
}
# best FILE...: of lines "seconds ..." (/usr/bin/time -f "%e %M"), the fastest
best() { cat "$@" | sort -n | head -n 1; }
# row what ours_seconds ref_seconds ref_name unit_count unit_name
row() {
    what=$1; ours=$2; ref=$3; refname=$4; count=$5; unit=$6
    if [ -n "$ref" ]; then
        printf '| %s | %.0f %s/s | %.0f %s/s | %s | %.2fx |\n' "$what" "$(echo "$count / $ours" | bc -l)" "$unit" \
            "$(echo "$count / $ref" | bc -l)" "$unit" "$refname" "$(echo "$ref / $ours" | bc -l)"
    else
        printf '| %s | %.0f %s/s | n/a | %s not installed | |\n' "$what" "$(echo "$count / $ours" | bc -l)" "$unit" "$refname"
    fi
}
