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

# The scorer benches (score-hps, score-det, score-vqa): model loading is left
# out on both sides. Ours is the difference between a run over $tmp/recs.msgpack
# (1 + N images) and one over $tmp/one.msgpack (its first), divided by N; the
# reference prints "seconds-per-image ..." after its own load and warm-up.
# The machine is shared and slow spells last minutes: R rounds, each ours
# and then the reference, so a spell that spans a round slows both sides.
#
# scorer_rounds R OURS REF MODEL: OURS is a command that reads records on
# stdin (its output is dropped), REF one that prints the reference's line,
# MODEL the model's file or directory. Round i leaves "seconds peak-KB" in
# $tmp/one$i.txt and $tmp/recs$i.txt, the reference's line in $tmp/ref$i.txt.
# On a failure prints "failed: ..." or "reference failed: ..." (the last line
# of its stderr) and returns 1.
# The model's files are read right before each of our runs: this machine
# pages out file pages left untouched for a minute (DAMON), and a load from
# disk in one run of a pair and from the page cache in the other made the
# difference of the two anything from half to twice the true time.
scorer_rounds() {
    i=0
    while [ $i -lt $1 ]; do
        for f in one recs; do
            find "$4" -type f -exec cat {} + > /dev/null
            /usr/bin/time -f "%e %M" -o $tmp/$f$i.txt sh -c "$2" < $tmp/$f.msgpack > /dev/null 2> $tmp/err ||
                { echo "failed: $(tail -n 1 $tmp/err)"; return 1; }
        done
        sh -c "$3" > $tmp/ref$i.txt 2> $tmp/err || { echo "reference failed: $(tail -n 1 $tmp/err)"; return 1; }
        i=$((i + 1))
    done
}

# scorer_stats R N: after scorer_rounds, prints "ours ref median peak-KB
# ratio...": the best of the rounds' ours (s/image), the best of the
# reference's, the median of the rounds' ratios (reference / ours of the same
# round), ours' peak RSS, then each round's ratio in order.
scorer_stats() {
    : > $tmp/ours.txt; : > $tmp/ratios.txt
    i=0
    while [ $i -lt $1 ]; do
        read -r a _ < $tmp/recs$i.txt; read -r o _ < $tmp/one$i.txt; read -r r _ < $tmp/ref$i.txt
        p=$(echo "($a - $o) / $2" | bc -l)
        echo "$p" >> $tmp/ours.txt
        echo "$r / $p" | bc -l >> $tmp/ratios.txt
        i=$((i + 1))
    done
    all=$(best $tmp/recs*.txt)
    echo "$(sort -n $tmp/ours.txt | head -n 1) $(cut -d' ' -f1 $tmp/ref*.txt | sort -n | head -n 1)" \
        "$(sort -n $tmp/ratios.txt | sed -n "$((($1 + 1) / 2))p") ${all#* }" $(xargs printf '%.2f ' < $tmp/ratios.txt)
}
