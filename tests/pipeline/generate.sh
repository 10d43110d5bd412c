#!/bin/sh
# plan-cot and gen-tokens as a user runs them: schemas at each stage, bad
# records, a directory that is not Janus, determinism across batching.
# (Golden values against transformers: tests/golden/test_generate.c.)
. tests/pipeline/lib.sh
m=tests/golden/tiny-janus
head -n 3 tests/golden/streams/t2i-r1-prompts-head.jsonl | bicot-json > $tmp/p.msgpack

plan-cot --model $m -n 3 --max-tokens 16 < $tmp/p.msgpack > $tmp/plan.msgpack
check $? -eq 0 "plan-cot runs"
check "$(bicot-json -r < $tmp/plan.msgpack | wc -l)" -eq 9 "3 prompts x 3 samples"
bicot-validate -q schemas/plan.json < $tmp/plan.msgpack
check $? -eq 0 "plan-cot output is valid (schemas/plan.json)"
contains "$(bicot-json -r < $tmp/plan.msgpack | head -2 | tail -1)" '"id":"0#1","task_type":"spatial"' \
    "sample ids <id>#k, the prompt's keys passed on in order"
gen-tokens --model $m --batch 2 < $tmp/plan.msgpack > $tmp/tok.msgpack
check $? -eq 0 "gen-tokens runs on plan-cot's output"
bicot-validate -q schemas/tokens.json < $tmp/tok.msgpack
check $? -eq 0 "gen-tokens output is valid (schemas/tokens.json)"
gen-tokens --model $m --batch 5 --threads 1 < $tmp/plan.msgpack > $tmp/tok5.msgpack
same $tmp/tok.msgpack $tmp/tok5.msgpack "the same records give the same tokens with --batch 5 --threads 1"
gen-tokens --model $m --seed 1 < $tmp/plan.msgpack > $tmp/tok-s1.msgpack
check "$(cmp -s $tmp/tok.msgpack $tmp/tok-s1.msgpack && echo same)" != same "another --seed draws other tokens"

# a record without a prompt
printf '{"id":"a","prompt":"a cat"}\n{"id":"b","text":"no prompt"}\n{"id":"c","prompt":"a dog"}\n' | bicot-json > $tmp/bad.msgpack
gen-tokens --model $m < $tmp/bad.msgpack > $tmp/out.msgpack 2> $tmp/err; rc=$?
check $rc -eq 2 "a record without prompt: exit 2"
contains "$(cat $tmp/err)" "gen-tokens: record 1 (id \"b\"): missing key 'prompt'" "the message names record and key"
check "$(bicot-json -r < $tmp/out.msgpack | grep -c image_tokens) $(bicot-json -r < $tmp/out.msgpack | wc -l)" = "1 2" \
    "the record before it was generated, the bad one passed on, nothing after"
gen-tokens --model $m --keep-going < $tmp/bad.msgpack > $tmp/out.msgpack 2> /dev/null; rc=$?
check $rc -eq 3 "--keep-going: exit 3"
contains "$(bicot-json -r --brief < $tmp/out.msgpack | sed -n 2p)" '"errors":[{"tool":"gen-tokens","message":"missing key' \
    "--keep-going: the bad record carries errors"
check "$(bicot-json -r < $tmp/out.msgpack | grep -c image_tokens)" -eq 2 "--keep-going: the others are generated"
plan-cot --model $m -n 2 --max-tokens 4 < $tmp/bad.msgpack > /dev/null 2> $tmp/err
contains "$(cat $tmp/err)" "plan-cot: record 1 (id \"b\"): missing key 'prompt'" "plan-cot names it too"

# not a Janus model
gen-tokens --model tests/golden/safetensors/llama < $tmp/p.msgpack > /dev/null 2> $tmp/err; rc=$?
check $rc -eq 2 "a LLaMA directory: exit 2"
contains "$(cat $tmp/err)" "not a Janus-Pro model" "and says what it found"
gen-tokens < $tmp/p.msgpack > /dev/null 2>&1
check $? -eq 1 "no --model: usage error"
finish
