#!/bin/sh
# bicot-json and bicot-validate, end to end, against the reference streams of
# tests/golden/make_streams.py (msgpack-python, zstandard, Python's json).
. tests/pipeline/lib.sh
g=tests/golden/streams

# records -> JSON Lines is exactly what Python's json module writes
for f in records.msgpack records.msgpack.zst records.2frames.zst; do
    bicot-json -r < $g/$f > $tmp/out.jsonl
    same "$tmp/out.jsonl" "$g/records.jsonl" "bicot-json -r < $f matches Python's JSON"
done

# JSON Lines -> records is exactly what msgpack-python packs
bicot-json $g/prompts.jsonl > $tmp/p.msgpack
same $tmp/p.msgpack $g/prompts.msgpack "bicot-json prompts.jsonl (ids added, blank line skipped, \\u escapes) gives msgpack-python's bytes"
bicot-json < $g/prompts.jsonl > $tmp/p2.msgpack
same $tmp/p2.msgpack $g/prompts.msgpack "reading stdin gives the same"

# the full round trip, bins included: JSONL -> records -> JSONL is the identity
bicot-json --no-id --bin image,big_bin,bin_empty < $g/records.jsonl > $tmp/r.msgpack
same $tmp/r.msgpack $g/records.msgpack "JSONL with base64 bins -> records is byte-identical to the reference stream"
bicot-json -r < $tmp/r.msgpack > $tmp/r.jsonl
same $tmp/r.jsonl $g/records.jsonl "JSONL -> records -> JSONL is the identity"

# zstd output reads back to the same records
bicot-json --zstd $g/prompts.jsonl > $tmp/p.zst
check "$(head -c 4 $tmp/p.zst | od -An -tx1 | tr -d ' ')" = "28b52ffd" "--zstd writes a zstd frame"
bicot-json -r < $tmp/p.zst > $tmp/a.jsonl
bicot-json -r < $g/prompts.msgpack > $tmp/b.jsonl
same $tmp/a.jsonl $tmp/b.jsonl "zstd and plain streams give the same records"

# a JSON array file reads like JSON Lines
printf '[{"prompt":"a"},\n {"prompt":"b","id":"x"}]\n' > $tmp/arr.json
check "$(bicot-json $tmp/arr.json | bicot-json -r | tr '\n' ' ')" = '{"id":"0","prompt":"a"} {"prompt":"b","id":"x"} ' \
    "a JSON array of objects is read too"

# bad JSON: records before the bad line are written, then exit 2 naming the line
printf '{"prompt":"a"}\n{"prompt":"b"}\n{"prompt": oops}\n{"prompt":"d"}\n' > $tmp/bad.jsonl
bicot-json $tmp/bad.jsonl > $tmp/bad.msgpack 2> $tmp/err; rc=$?
check $rc -eq 2 "invalid JSON line: exit 2"
check "$(bicot-json -r < $tmp/bad.msgpack | wc -l)" -eq 2 "the 2 records before it were written"
contains "$(cat $tmp/err)" "bad.jsonl:3: invalid JSON" "the message names file and line"
bicot-json --keep-going $tmp/bad.jsonl > $tmp/bad.msgpack 2> $tmp/err; rc=$?
check $rc -eq 3 "--keep-going: exit 3"
check "$(bicot-json -r < $tmp/bad.msgpack | wc -l)" -eq 3 "--keep-going: the 3 good lines become records"
printf '{"prompt":"a"}\n[1,2]\n' | bicot-json > /dev/null 2> $tmp/err; rc=$?
check $rc -eq 2 "a line that is not an object: exit 2"
contains "$(cat $tmp/err)" "stdin:2: expected a JSON object, got array" "its message"

# framing errors: every complete record before them is still written
for f in truncated garbage not-a-map int-key; do
    bicot-json -r < $g/bad/$f.msgpack > $tmp/out 2> $tmp/err; rc=$?
    check $rc -eq 2 "bad/$f.msgpack: exit 2"
    check "$(wc -l < $tmp/out)" -eq 1 "bad/$f.msgpack: the complete record before it was written"
done
contains "$(cat $tmp/err)" "record 1 (byte 51): key 0 of the record is int, expected str" "non-string key message"

# the training prompt file of T2I-R1 (first 200 lines, as in ../shared/data) reads unchanged
bicot-json $g/t2i-r1-prompts-head.jsonl > $tmp/t.msgpack
check $? -eq 0 "T2I-R1's prompt format reads"
bicot-validate -q schemas/prompt.json < $tmp/t.msgpack
check $? -eq 0 "and every record is a valid prompt record (schemas/prompt.json)"
check "$(bicot-json -r < $tmp/t.msgpack | bicot-json --no-id | cmp - $tmp/t.msgpack && echo same)" = same \
    "records -> JSONL -> records is the identity on it"

# schema validation failures name the record and the path
printf '{"id":"x","prompt":"p","group":"g","cot":"c","cot_ids":[1,"a"],"cot_logp":[-0.1]}\n' | bicot-json |
    bicot-validate schemas/plan.json 2> $tmp/err; rc=$?
check $rc -eq 3 "an invalid record: bicot-validate exits 3"
contains "$(cat $tmp/err)" 'record 0 (id "x"): at /cot_ids/1: expected "integer", got string' "its message"
printf '{"prompt":"p"}\n' | bicot-json --no-id | bicot-validate -q schemas/prompt.json 2> $tmp/err
contains "$(cat $tmp/err)" "missing key 'id'" "a missing required key"
printf '{"id":"i","image":"aGVsbG8="}\n' | bicot-json | bicot-validate -q schemas/image.json 2> $tmp/err
contains "$(cat $tmp/err)" "at /image: expected PNG bytes" "bin that is not PNG is refused by image.json"
printf '{"id":"i","image":"hello"}\n' | bicot-json --bin none | bicot-validate -q schemas/image.json 2> $tmp/err
contains "$(cat $tmp/err)" "at /image: expected bytes (msgpack bin), got string" "a string where bytes belong"
printf '{"id":"i","image_path":"a.png","rewards":{"hps":0.3,"det":1}}\n' | bicot-json |
    bicot-validate -q --pass schemas/scored.json > $tmp/pass.msgpack
check $? -eq 0 "a scored record validates"
check "$(bicot-json -r < $tmp/pass.msgpack)" = '{"id":"i","image_path":"a.png","rewards":{"hps":0.3,"det":1}}' \
    "--pass passes it through unchanged"

# bicot-img's records are valid image records (corrupt fixtures pass with `errors`)
bicot-img --keep-going tests/golden/images 2>/dev/null | bicot-validate -q schemas/image.json
check $? -eq 0 "bicot-img output validates against schemas/image.json"

# the usual command-line contract
bicot-json --help > $tmp/help; rc=$?
check $rc -eq 0 "--help exits 0"
contains "$(cat $tmp/help)" "Example:" "--help shows an example pipeline"
bicot-json --frobnicate > /dev/null 2>&1
check $? -eq 1 "an unknown option exits 1"
contains "$(bicot-json --version)" "SIMD:" "--version prints the build"
# a reader that goes away is a quiet success
(bicot-json $g/t2i-r1-prompts-head.jsonl; echo $? > $tmp/rc) | head -c 1 > /dev/null
(bicot-json -r < $g/records.msgpack 2>$tmp/err; echo $? >> $tmp/rc) | head -c 1 > /dev/null
check "$(cat $tmp/rc | tr '\n' ' ')" = "0 0 " "EPIPE from a closed downstream: exit 0"
check ! -s $tmp/err "and nothing on stderr"
finish
