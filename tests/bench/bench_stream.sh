#!/bin/sh
# Record streams: JSON Lines <-> msgpack records on T2I-R1's prompt file
# (repeated to ~130k records), bicot-json against Python's json + msgpack.
. tests/bench/timing.sh
src=../shared/data/t2i-r1-train-prompts.jsonl
[ -f $src ] || src=tests/golden/streams/t2i-r1-prompts-head.jsonl
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
i=0; while [ $i -lt 20 ]; do cat $src; i=$((i + 1)); done > $tmp/p.jsonl
n=$(wc -l < $tmp/p.jsonl)
bicot-json $tmp/p.jsonl > $tmp/p.msgpack
ours=$(best_time 3 "bicot-json $tmp/p.jsonl > /dev/null")
ours_r=$(best_time 3 "bicot-json -r < $tmp/p.msgpack > /dev/null")
ours_z=$(best_time 3 "bicot-json --zstd $tmp/p.jsonl > /dev/null")
ref=""; ref_r=""
if python3 -c 'import msgpack' 2>/dev/null; then
    cat > $tmp/fwd.py <<'PY'
import json, sys, msgpack
out = sys.stdout.buffer
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    if line.strip():
        r = json.loads(line)
        if "id" not in r: r = {"id": str(i), **r}
        out.write(msgpack.packb(r, use_bin_type=True))
PY
    cat > $tmp/rev.py <<'PY'
import json, sys, msgpack
out = sys.stdout
for r in msgpack.Unpacker(sys.stdin.buffer, raw=False):
    out.write(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")
PY
    ref=$(best_time 3 "python3 $tmp/fwd.py $tmp/p.jsonl > /dev/null")
    ref_r=$(best_time 3 "python3 $tmp/rev.py < $tmp/p.msgpack > /dev/null")
fi
row "JSONL -> records ($n T2I-R1 prompts)" $ours "$ref" "Python json + msgpack" $n records
row "records -> JSONL" $ours_r "$ref_r" "Python msgpack + json" $n records
row "JSONL -> records, --zstd" $ours_z "" "" $n records
