#!/usr/bin/env python3
"""Makes the PyTorch checkpoint fixtures of tests/unit/test_torch.c and
test_zip.c, and the seed corpora of tests/fuzz/fuzz_zip.c and fuzz_pickle.c.

    python3 tests/golden/make_torch.py      (from the repository root; torch 2.x)

Writes tests/golden/torch/:
  all_dtypes.pt     a module's state_dict (OrderedDict with _metadata, so BUILD)
                    plus every dtype, a 0-d tensor, an empty tensor, a transpose,
                    a strided slice, an expanded (stride 0) tensor, two views of
                    one storage at different offsets, nn.Parameters (plain and
                    with Python attributes: _rebuild_parameter_with_state)
  proto4.pt         the same, pickled with protocol 4 (FRAME, MEMOIZE,
                    STACK_GLOBAL, SHORT_BINUNICODE)
  zip64.pt          all_dtypes.pt's entries rewritten as a ZIP64 archive (every
                    size and offset in ZIP64 extra fields, 0xffff... in the headers)
  comment.pt        all_dtypes.pt rewritten (not ZIP64) with an archive comment
  bigendian.pt      all_dtypes.pt with byteorder "big" and every storage
                    byte-swapped: must load to the same values
  nested.pt         {'state_dict': OrderedDict(fp16 open_clip-like), 'epoch': 3} (HPSv2)
  wrapped_model.pt  {'model': {...}, 'optimizer': {'state': {0: {...}}}, 'step': 7}
  nested_join.pt    {'scale': T, 'vision': {'proj': T, 'blocks': {0: {'w': T}}},
                     'step': 7, 'names': [...]}: flattened with "." joins
  sharded/          pytorch_model-0000{1,2}-of-00002.bin + pytorch_model.bin.index.json
  evil_system.pt    data.pkl calls os.system through __reduce__ (protocol 2: GLOBAL posix.system)
  evil_eval.pt      data.pkl calls builtins.eval through STACK_GLOBAL (protocol 4)
  lying_offset.pt   a central directory entry's local header offset points past the end
  lying_size.pt     a central directory entry's size runs past the end
  lying_count.pt    the end records say one entry fewer than the directory holds
  lying_name.pt     a local header names a different file than the directory
  truncated.pt      the first half of all_dtypes.pt
  legacy.pt         torch.save(..., _use_new_zipfile_serialization=False)
  deflated.pt       all_dtypes.pt's entries deflate-compressed
  no_tensors.pt     {'epoch': 3, 'name': 'x'}
  values_p{2,3,4,5}.pkl  plain values (VALUES below) pickled with each protocol
  expected.json     "tensors": for each loadable file, every tensor's name, dtype,
                    shape and its contiguous little-endian bytes (hex), from torch;
                    "zip_entries": name, size, method and CRC-32 of each entry of
                    some archives, from Python's zipfile
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "torch")
CORPUS = os.path.join(ROOT, "..", "fuzz", "corpus")
PWN_MARKER = "/tmp/bicot-torch-pwned"

DTYPE_NAMES = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def raw_bytes(t):
    """The tensor's contiguous little-endian bytes, as torch has them."""
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def describe(sd):
    return [{"name": k, "dtype": DTYPE_NAMES[v.dtype], "shape": list(v.shape), "hex": raw_bytes(v).hex()}
            for k, v in sd.items()]


def main_state_dict():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    sd = module.state_dict()  # an OrderedDict with _metadata: pickled with BUILD
    for dt in [torch.float32, torch.float64, torch.float16, torch.bfloat16]:
        sd["dtype." + DTYPE_NAMES[dt]] = torch.randn(2, 3).to(dt)
    for dt in [torch.int64, torch.int32, torch.int16, torch.int8]:
        sd["dtype." + DTYPE_NAMES[dt]] = torch.randint(-100, 100, (5,), dtype=dt)
    sd["dtype.U8"] = torch.randint(0, 256, (2, 2), dtype=torch.uint8)
    sd["dtype.BOOL"] = torch.tensor([True, False, True])
    sd["big_ints"] = torch.tensor([2**40, -2**40, 2**62], dtype=torch.int64)
    sd["scalar"] = torch.tensor(1.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["transposed"] = torch.randn(3, 4).t()
    sd["strided"] = torch.randn(2, 6)[:, ::2]
    sd["expanded"] = torch.randn(3).expand(4, 3)
    base = torch.arange(12, dtype=torch.float32)
    sd["view_a"] = base[2:5]
    sd["view_b"] = base[5:9].view(2, 2)
    sd["param"] = torch.nn.Parameter(torch.randn(4))
    p = torch.nn.Parameter(torch.randn(2, 2))
    p.tag = "with state"  # pickled through _rebuild_parameter_with_state
    sd["param_with_state"] = p
    return sd


def open_clip_like():
    torch.manual_seed(1)
    sd = collections.OrderedDict()
    sd["positional_embedding"] = torch.randn(4, 8).half()
    sd["text_projection"] = torch.randn(8, 4).half()
    sd["logit_scale"] = torch.tensor(4.6052).half()
    sd["visual.proj"] = torch.randn(8, 4).half()
    sd["visual.transformer.resblocks.0.attn.in_proj_weight"] = torch.randn(24, 8).half()
    return sd


def read_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip(path, entries, zip64=False, comment=b""):
    """A stored (uncompressed) zip archive written by hand, so the ZIP64 form
    can be forced everywhere (Python's zipfile only uses it when it must)."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        name_b = name.encode()
        crc = zlib.crc32(data)
        offset = len(out)
        if zip64:
            local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
            out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0, crc, 0xffffffff, 0xffffffff,
                               len(name_b), len(local_extra)) + name_b + local_extra
            cen_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0, crc, 0xffffffff,
                                   0xffffffff, len(name_b), len(cen_extra), 0, 0, 0, 0, 0xffffffff)
            central += name_b + cen_extra
        else:
            out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0, crc, len(data), len(data),
                               len(name_b), 0) + name_b
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 0, 0, 0, crc, len(data),
                                   len(data), len(name_b), 0, 0, 0, 0, 0, offset) + name_b
        out += data
    cd_offset, cd_size, n = len(out), len(central), len(entries)
    out += central
    if zip64:
        end64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, n, n, cd_size, cd_offset)
        out += struct.pack("<IIQI", 0x07064b50, 0, end64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff, 0xffffffff, len(comment))
    else:
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, cd_size, cd_offset, len(comment))
    out += comment
    with open(path, "wb") as f:
        f.write(out)


def storage_element_sizes(pkl):
    """key -> element size of each storage a data.pkl refers to."""
    sizes = {}

    class Scan(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch" and name.endswith("Storage"):
                return getattr(torch, name)
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            return lambda *args, **kw: None  # the tensor rebuilders

        def persistent_load(self, pid):
            _, storage_type, key, _, _ = pid
            sizes[key] = torch.empty(0, dtype=storage_type.dtype).element_size()
            return None

    Scan(io.BytesIO(pkl)).load()
    return sizes


def write_bigendian(src, dst):
    entries = read_entries(src)
    archive = entries[0][0].split("/")[0]
    sizes = storage_element_sizes(dict(entries)[archive + "/data.pkl"])
    out = []
    for name, data in entries:
        if name == archive + "/byteorder":
            data = b"big"
        elif name.startswith(archive + "/data/"):
            es = sizes[name[len(archive + "/data/"):]]
            data = b"".join(data[i:i + es][::-1] for i in range(0, len(data), es))
        out.append((name, data))
    write_zip(dst, out)


def torch_style_zip(path, pkl, archive="archive"):
    """A zip laid out like torch.save's, around a hand-made data.pkl."""
    write_zip(path, [(archive + "/data.pkl", pkl), (archive + "/byteorder", b"little"), (archive + "/version", b"3\n")])


# The values of values_p*.pkl; test_pickle.c checks it finds exactly these.
VALUES = [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**40, -2**63, 2**63 - 1, 1.5, -0.0, "x", "h\u00e9llo",
          "", None, True, False, (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], {}, {"a": [1], "b": (2,)}]


class CallsSystem:
    def __reduce__(self):
        return (os.system, ("touch " + PWN_MARKER,))


def evil_eval_pickle():
    # protocol 4, STACK_GLOBAL: builtins.eval("__import__('os').system(...)")
    code = "__import__('os').system('touch %s')" % PWN_MARKER

    class CallsEval:
        def __reduce__(self):
            return (eval, (code,))

    return pickle.dumps({"weight": CallsEval()}, protocol=4)


# ---- patching a good archive into a lying one ---------------------------------

def find_central(data, entry_name):
    """Offset of the central directory header of entry_name."""
    pos = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<I", data, pos + 16)[0]
    loc = data.rfind(b"PK\x06\x07")
    if loc >= 0:  # torch.save always writes the ZIP64 records
        end64 = struct.unpack_from("<Q", data, loc + 8)[0]
        cd_offset = struct.unpack_from("<Q", data, end64 + 48)[0]
    p = cd_offset
    while data[p:p + 4] == b"PK\x01\x02":
        nlen, xlen, clen = struct.unpack_from("<HHH", data, p + 28)
        if data[p + 46:p + 46 + nlen].decode() == entry_name:
            return p
        p += 46 + nlen + xlen + clen
    raise KeyError(entry_name)


def patched(data, offset, fmt, value):
    data = bytearray(data)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def write_lying(good, archive):
    with open(good, "rb") as f:
        data = f.read()
    entry = archive + "/data/0"
    cen = find_central(data, entry)
    # the local header offset points far past the end of the file
    open(os.path.join(OUT, "lying_offset.pt"), "wb").write(patched(data, cen + 42, "<I", len(data) + 4096))
    # the compressed and uncompressed sizes run past the end of the file
    big = patched(patched(data, cen + 20, "<I", 0x7fff0000), cen + 24, "<I", 0x7fff0000)
    open(os.path.join(OUT, "lying_size.pt"), "wb").write(big)
    # both end records claim one entry fewer than the directory holds
    end = data.rfind(b"PK\x05\x06")
    n = struct.unpack_from("<H", data, end + 10)[0]
    lie = patched(patched(data, end + 8, "<H", n - 1), end + 10, "<H", n - 1)
    end64 = struct.unpack_from("<Q", data, data.rfind(b"PK\x06\x07") + 8)[0]
    lie = patched(patched(lie, end64 + 24, "<Q", n - 1), end64 + 32, "<Q", n - 1)
    open(os.path.join(OUT, "lying_count.pt"), "wb").write(lie)
    # the local header of data/0 says data/9
    local = struct.unpack_from("<I", data, cen + 42)[0]
    nlen = struct.unpack_from("<H", data, local + 26)[0]
    name_end = local + 30 + nlen
    assert data[local + 30:name_end].decode() == entry
    renamed = bytearray(data)
    renamed[name_end - 1] = ord("9")
    open(os.path.join(OUT, "lying_name.pt"), "wb").write(bytes(renamed))


def data_pkl(path):
    for name, data in read_entries(path):
        if name.endswith("/data.pkl"):
            return data
    raise KeyError(path)


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    expected = {}

    def save(name, obj, sd, **kw):
        torch.save(obj, os.path.join(OUT, name), **kw)
        expected[name] = describe(sd)

    sd = main_state_dict()
    assert not sd["transposed"].is_contiguous() and not sd["strided"].is_contiguous()
    save("all_dtypes.pt", sd, sd)
    save("proto4.pt", sd, sd, pickle_protocol=4)
    good = os.path.join(OUT, "all_dtypes.pt")
    entries = read_entries(good)
    archive = entries[0][0].split("/")[0]
    assert any(e[0] == archive + "/byteorder" for e in entries)
    write_zip(os.path.join(OUT, "zip64.pt"), entries, zip64=True)
    expected["zip64.pt"] = expected["all_dtypes.pt"]
    write_zip(os.path.join(OUT, "comment.pt"), entries,
              comment=b"an archive comment, so the end record is not in the last 22 bytes")
    expected["comment.pt"] = expected["all_dtypes.pt"]
    write_bigendian(good, os.path.join(OUT, "bigendian.pt"))
    expected["bigendian.pt"] = expected["all_dtypes.pt"]

    clip = open_clip_like()
    torch.save({"state_dict": clip, "epoch": 3}, os.path.join(OUT, "nested.pt"))
    expected["nested.pt"] = describe(clip)

    torch.manual_seed(2)
    model = {"embed.weight": torch.randn(3, 2), "head.bias": torch.randn(2)}
    optim = {"state": {0: {"exp_avg": torch.randn(3, 2), "step": torch.tensor(5.0)}}, "param_groups": [{"lr": 1e-6}]}
    torch.save({"model": model, "optimizer": optim, "step": 7}, os.path.join(OUT, "wrapped_model.pt"))
    expected["wrapped_model.pt"] = describe(model)

    scale, proj, w0 = torch.randn(1), torch.randn(2, 2), torch.randn(3)
    torch.save({"scale": scale, "vision": {"proj": proj, "blocks": {0: {"w": w0}}}, "step": 7, "names": ["a", "b"]},
               os.path.join(OUT, "nested_join.pt"))
    expected["nested_join.pt"] = describe(
        collections.OrderedDict([("scale", scale), ("vision.proj", proj), ("vision.blocks.0.w", w0)]))

    # a sharded checkpoint as transformers writes one (save_pretrained(safe_serialization=False))
    torch.manual_seed(3)
    shards = [collections.OrderedDict([("model.embed_tokens.weight", torch.randn(4, 2).bfloat16()),
                                       ("model.layers.0.mlp.up_proj.weight", torch.randn(3, 2).bfloat16())]),
              collections.OrderedDict([("model.norm.weight", torch.ones(2).bfloat16()),
                                       ("lm_head.weight", torch.randn(4, 2).bfloat16())])]
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = "pytorch_model-%05d-of-%05d.bin" % (i + 1, len(shards))
        torch.save(shard, os.path.join(OUT, "sharded", fname))
        expected["sharded/" + fname] = describe(shard)
        for k, v in shard.items():
            weight_map[k] = fname
            total += v.numel() * v.element_size()
    with open(os.path.join(OUT, "sharded", "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")

    torch_style_zip(os.path.join(OUT, "evil_system.pt"), pickle.dumps({"weight": CallsSystem()}, protocol=2))
    torch_style_zip(os.path.join(OUT, "evil_eval.pt"), evil_eval_pickle())
    write_lying(good, archive)
    with open(good, "rb") as f:
        data = f.read()
    open(os.path.join(OUT, "truncated.pt"), "wb").write(data[:len(data) // 2])
    torch.save(clip, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(os.path.join(OUT, "deflated.pt"), "w", zipfile.ZIP_DEFLATED) as z:
        for name, d in entries:
            z.writestr(name, d)
    torch.save({"epoch": 3, "name": "x"}, os.path.join(OUT, "no_tensors.pt"))

    # plain values under every protocol (bytes need protocol 3: protocol 2
    # pickles them as a call to _codecs.encode, which is refused)
    for proto in [2, 3, 4, 5]:
        values = VALUES + ([b"\x00by"] if proto >= 3 else [])
        shared = [1]
        values.append([shared, shared])  # a memo reference
        with open(os.path.join(OUT, "values_p%d.pkl" % proto), "wb") as f:
            f.write(pickle.dumps(values, protocol=proto))

    zip_entries = {}
    for name in ["all_dtypes.pt", "zip64.pt", "comment.pt", "deflated.pt"]:
        with zipfile.ZipFile(os.path.join(OUT, name)) as z:
            zip_entries[name] = [[i.filename, i.file_size, i.compress_type, zlib.crc32(z.read(i.filename))]
                                 for i in z.infolist()]
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"tensors": expected, "zip_entries": zip_entries}, f, indent=1)
        f.write("\n")

    # seed corpora: whole small archives for the zip reader, bare data.pkl for the unpickler
    os.makedirs(os.path.join(CORPUS, "zip"), exist_ok=True)
    os.makedirs(os.path.join(CORPUS, "pickle"), exist_ok=True)
    for name in ["all_dtypes.pt", "zip64.pt", "comment.pt", "nested.pt", "lying_count.pt", "lying_name.pt",
                 "deflated.pt", "evil_system.pt"]:
        with open(os.path.join(OUT, name), "rb") as f:
            data = f.read()
        assert len(data) < 50000, name
        open(os.path.join(CORPUS, "zip", name.replace(".pt", ".zip")), "wb").write(data)
    for name in ["all_dtypes.pt", "proto4.pt", "nested.pt", "wrapped_model.pt", "nested_join.pt", "evil_system.pt",
                 "evil_eval.pt", "no_tensors.pt"]:
        open(os.path.join(CORPUS, "pickle", name.replace(".pt", ".pkl")), "wb").write(
            data_pkl(os.path.join(OUT, name)))
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
