#!/usr/bin/env python3
"""Reference record streams for the stream reader/writer tests.

Written with the msgpack and zstandard packages (PyPI), the reference
implementations of the formats. Makes, in tests/golden/streams/:
  records.msgpack      five records covering every msgpack type a stream uses
  records.msgpack.zst  the same bytes in one zstd frame
  records.2frames.zst  the same records split over two concatenated zstd frames
  records.jsonl        what each record is as JSON (Python's json, compact,
                       UTF-8; bin as base64), the expected `bicot-json -r`
  prompts.jsonl        JSON Lines input for `bicot-json` (T2I-R1 prompt shape)
  prompts.msgpack      the records `bicot-json prompts.jsonl` must produce:
                       same keys in order, "id" (the line index) first when absent
  t2i-r1-prompts-head.jsonl  the first 200 lines of T2I-R1's training prompt
                       file (../shared/data/t2i-r1-train-prompts.jsonl), unchanged
  bad/*                broken streams: truncated record, garbage byte, a record
                       that is not a map, a non-string key, truncated zstd
Run: python3 tests/golden/make_streams.py
"""
import base64, json, os, struct
import msgpack, zstandard

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "streams")
os.makedirs(os.path.join(here, "bad"), exist_ok=True)

png = bytes.fromhex("89504e470d0a1a0a") + b"\x00not really a png body\xff"
records = [
    {"id": "p0", "prompt": "a red apple", "nouns": ["apple"], "attr_nouns": None},
    {"id": "p0#1", "group": "p0", "cot": "An apple \u00e9t\u00e9 \u2603 \"quoted\"\n\ttab",
     "cot_ids": [100000, 5, 0, 102399], "cot_logp": [-0.5, -1.25, -3.0e-7, 0.0]},
    {"id": "p1", "image_tokens": list(range(0, 64 * 64, 7)), "grid": [24, 24], "image": png,
     "rewards": {"hps": 0.28125, "det": 1.0, "vqa": 0.75}},
    {"id": "n", "ints": [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32, 2**63 - 1, -1, -32, -33, -128, -129,
                         -32768, -32769, -2**31, -2**31 - 1, -2**63],
     "floats": [1.0, -2.5, 0.1, 1e-300, 123456.789], "t": True, "f": False, "nil": None,
     "nested": {"a": [{"b": {"c": []}}], "empty": {}}},
    {"id": "last", "long": "x" * 70000, "bin_empty": b"", "big_bin": bytes(range(256)) * 300},
]

def pack(rec):
    return msgpack.packb(rec, use_bin_type=True)

stream = b"".join(pack(r) for r in records)
open(os.path.join(here, "records.msgpack"), "wb").write(stream)
open(os.path.join(here, "records.msgpack.zst"), "wb").write(zstandard.ZstdCompressor(level=3).compress(stream))
half = b"".join(pack(r) for r in records[:2])
rest = stream[len(half):]
c = zstandard.ZstdCompressor(level=1)
open(os.path.join(here, "records.2frames.zst"), "wb").write(c.compress(half) + c.compress(rest))

def jsonable(v):
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v

with open(os.path.join(here, "records.jsonl"), "w", encoding="utf-8") as f:
    for r in records:
        f.write(json.dumps(jsonable(r), separators=(",", ":"), ensure_ascii=False) + "\n")

prompts = [
    {"task_type": "spatial", "prompt": "a mouse on the top of a bicycle", "nouns": ["mouse", "bicycle"],
     "spatial_info": {"obj1": "mouse", "obj2": "bicycle", "locality": "on the top of"}},
    {"prompt": "a photo of two cows", "nouns": ["cow"], "numeracy_info": [{"obj_name": "cow", "num": 2}],
     "task_type": "numeracy", "attr_nouns": None},
    {"id": "own-id", "prompt": "a blue bowl and a green vase", "nouns": ["bowl", "vase"],
     "attr_nouns": ["blue bowl", "green vase"], "task_type": "color"},
    {"prompt": "caf\u00e9 \u2615 at night", "nouns": ["cafe"], "task_type": "complex"},
]
with open(os.path.join(here, "prompts.jsonl"), "w", encoding="utf-8") as f:
    for i, p in enumerate(prompts):
        f.write(json.dumps(p, ensure_ascii=(i % 2 == 0)) + "\n")   # both escaped and raw UTF-8 lines
        if i == 1:
            f.write("\n")                                          # a blank line is skipped
expected = []
for i, p in enumerate(prompts):
    expected.append(p if "id" in p else {"id": str(i), **p})
open(os.path.join(here, "prompts.msgpack"), "wb").write(b"".join(pack(r) for r in expected))

bad = os.path.join(here, "bad")
open(os.path.join(bad, "truncated.msgpack"), "wb").write(stream[: len(pack(records[0])) + 10])
open(os.path.join(bad, "garbage.msgpack"), "wb").write(pack(records[0]) + b"\xc1" + pack(records[1]))
open(os.path.join(bad, "not-a-map.msgpack"), "wb").write(pack(records[0]) + msgpack.packb([1, 2, 3]))
open(os.path.join(bad, "int-key.msgpack"), "wb").write(pack(records[0]) + msgpack.packb({1: "x"}))
open(os.path.join(bad, "huge-array.msgpack"), "wb").write(b"\x81\xa1a\xdd\xff\xff\xff\xff")  # claims 4G items
full = zstandard.ZstdCompressor(level=3).compress(stream)
open(os.path.join(bad, "truncated.zst"), "wb").write(full[: len(full) - 20])
src = os.path.join(os.path.dirname(here), "..", "..", "..", "shared", "data", "t2i-r1-train-prompts.jsonl")
if os.path.exists(src):
    with open(src, "rb") as f:
        head = b"".join(f.readlines()[:200])
    open(os.path.join(here, "t2i-r1-prompts-head.jsonl"), "wb").write(head)
print("wrote", here)
