#!/bin/sh
# tests/pipeline/batch.sh: the tools that process records in parallel batches
# (lib/batch.c: vq-decode, score-hps, score-det, score-vqa) give the same
# bytes whatever --batch and --threads (also when, at the end of the stream,
# the worker left with a record takes the idle one's thread for its ops),
# write records in input order, and report a bad record in the middle of the
# stream in its place (or stop there).
. tests/pipeline/lib.sh

# 6 prompts x 2 samples -> 12 noise images from the tiny test models.
head -n 6 tests/golden/streams/t2i-r1-prompts-head.jsonl | bicot-json \
    | plan-cot --model tests/golden/tiny-janus -n 2 --max-tokens 8 \
    | gen-tokens --model tests/golden/tiny-janus > "$tmp/toks"
check $? -eq 0 "12 token records from the tiny Janus"

vq-decode --model tests/golden/tiny-janus --batch 1 --threads 1 < "$tmp/toks" > "$tmp/img1"
vq-decode --model tests/golden/tiny-janus --batch 5 --threads 2 < "$tmp/toks" > "$tmp/img5"
same "$tmp/img1" "$tmp/img5" "vq-decode: --batch 5 --threads 2 gives the bytes of --batch 1 --threads 1"

for s in "score-hps tests/golden/tiny-clip" "score-det tests/golden/owlv2/model" "score-vqa tests/golden/git/model"; do
    tool=${s% *}
    model=${s#* }
    $tool --model "$model" --batch 1 --threads 1 < "$tmp/img1" > "$tmp/$tool.1"
    check $? -eq 0 "$tool --batch 1 exits 0"
    $tool --model "$model" --batch 5 --threads 2 < "$tmp/img1" > "$tmp/$tool.5"
    same "$tmp/$tool.1" "$tmp/$tool.5" "$tool: --batch 5 --threads 2 gives the bytes of --batch 1 --threads 1"
    $tool --model "$model" < "$tmp/img1" > "$tmp/$tool.d"
    same "$tmp/$tool.1" "$tmp/$tool.d" "$tool: the default batch gives the same bytes"
    # 7 records on 2 workers: the one left with the last record runs its
    # ops on both threads once the other has gone
    bicot-json -r < "$tmp/img1" | head -n 7 | bicot-json > "$tmp/seven"
    $tool --model "$model" --batch 1 --threads 1 < "$tmp/seven" > "$tmp/$tool.s1"
    $tool --model "$model" --batch 2 --threads 2 < "$tmp/seven" > "$tmp/$tool.s2"
    same "$tmp/$tool.s1" "$tmp/$tool.s2" "$tool: the last record (its ops on every thread) gives the same bytes"
done

# Record 3 of 12 loses its image: with --keep-going it passes through in
# its place with an error, the others are scored as before.
bicot-json -r < "$tmp/img1" | awk 'NR == 4 { sub(/"image":"[^"]*"/, "\"image\":\"bm90IGEgcG5n\"") } { print }' \
    | bicot-json > "$tmp/bad"
score-hps --model tests/golden/tiny-clip --batch 5 --threads 2 --keep-going < "$tmp/bad" > "$tmp/bad.out" 2> "$tmp/bad.err"
check $? -eq 3 "a bad image in a batch: exit 3 under --keep-going"
ids=$(bicot-json -r --brief < "$tmp/bad.out" | sed 's/^{"id":"\([^"]*\)".*/\1/' | tr '\n' ' ')
want=$(bicot-json -r --brief < "$tmp/img1" | sed 's/^{"id":"\([^"]*\)".*/\1/' | tr '\n' ' ')
check "$ids" = "$want" "every record comes out, in input order"
check "$(bicot-json -r --brief < "$tmp/bad.out" | sed -n 4p | grep -c '"errors"')" -eq 1 "the bad record carries errors"
check "$(bicot-json -r --brief < "$tmp/bad.out" | grep -c '"hps"')" -eq 11 "the 11 others are scored"

# Without --keep-going the tool stops at the bad record, after the workers
# finish the records they hold: the 3 before it come out scored, then it.
score-hps --model tests/golden/tiny-clip --batch 5 --threads 2 < "$tmp/bad" > "$tmp/stop.out" 2> "$tmp/stop.err"
check $? -eq 2 "a bad image without --keep-going: exit 2"
ids=$(bicot-json -r --brief < "$tmp/stop.out" | sed 's/^{"id":"\([^"]*\)".*/\1/' | tr '\n' ' ')
want=$(bicot-json -r --brief < "$tmp/img1" | head -n 4 | sed 's/^{"id":"\([^"]*\)".*/\1/' | tr '\n' ' ')
check "$ids" = "$want" "the records up to the bad one come out, in order, and no more"
check "$(bicot-json -r --brief < "$tmp/stop.out" | grep -c '"hps"')" -eq 3 "the 3 before it are scored"
check "$(grep -c 'stopped' "$tmp/stop.err")" -eq 1 "stderr says the tool stopped"
finish
