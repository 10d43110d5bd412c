#!/bin/sh
# make bench: runs every tests/bench/bench_*.sh. Each prints markdown table
# rows "| what | ours | reference | ratio |", measured in this run on this
# machine; the table is printed and written to build/bench.md.
export BICOT_ROOT=$(pwd)
export PATH="$BICOT_ROOT/bin:$PATH"
mkdir -p build
out=build/bench.md
{
    echo "# bicot benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m))"
    echo
    echo "| benchmark | bicot | reference | reference is | speed-up (ref time / ours) |"
    echo "|---|---|---|---|---|"
} > $out
for b in tests/bench/bench_*.sh; do
    sh "$b" >> $out || echo "| $(basename $b) | failed | | | |" >> $out
done
cat $out
