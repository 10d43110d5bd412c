#!/usr/bin/env python3
"""Writes the safetensors / config.json fixtures under tests/golden/safetensors/.

Run from the repository root:  python3 tests/golden/make_safetensors.py
Needs torch and safetensors. The C tests (tests/unit/test_safetensors.c,
test_config.c, tests/pipeline/inspect.sh) read what this writes; CI never runs it.

  dtypes/model.safetensors    one tensor of every dtype, a 0-d scalar, an empty
                              tensor, odd shapes; F16/BF16 special values
  dtypes/expected.json        per tensor: dtype, shape, hex of its raw bytes as
                              torch holds them, and for floats the hex of the
                              float32 values torch converts them to
  sharded/                    two shards + model.safetensors.index.json written
                              the way transformers writes it, the janus
                              (transformers port) config.json, expected.json
  janus_orig/config.json      the original deepseek-ai layout (7B: language_config
                              omits most fields)
  llama/config.json           a plain llama config with GQA and an eos list
  bad/                        broken files, each for one error of the loader
  bad_index/                  an index naming a tensor its shard does not hold
  wrong_shard/                an index putting a tensor in the other shard
  missing_shard/              an index naming a shard file that is not there
It also copies small fixtures into tests/fuzz/corpus/{safetensors,config}/.
"""
import json
import os
import shutil
import struct

import torch
from safetensors.torch import save_file

ROOT = os.path.join("tests", "golden", "safetensors")
CORPUS = os.path.join("tests", "fuzz", "corpus")


def raw_bytes(t):
    """The tensor's bytes, little-endian row-major, as safetensors stores them."""
    t = t.contiguous()
    if t.numel() == 0:
        return b""
    return t.reshape(-1).view(torch.uint8).numpy().tobytes()


def expected_entry(t):
    dtype = {
        torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
        torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
        torch.uint8: "U8", torch.bool: "BOOL",
    }[t.dtype]
    e = {"dtype": dtype, "shape": list(t.shape), "hex": raw_bytes(t).hex()}
    if t.is_floating_point():
        # torch's own conversion to float32, bit for bit (NaN/inf survive hex).
        e["f32_hex"] = raw_bytes(t.to(torch.float32)).hex()
    return e


def write_expected(path, tensors):
    with open(path, "w") as f:
        json.dump({k: expected_entry(v) for k, v in tensors.items()}, f, indent=1, sort_keys=True)
        f.write("\n")


def dtype_tensors():
    g = torch.Generator().manual_seed(1234)
    # F16/BF16 edge values: zeros, subnormals, the largest finite, inf, NaN.
    f16_special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, float("inf"), float("-inf"),
                                float("nan"), 0.333], dtype=torch.float16)
    bf16_special = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.0e38, 1e-40, 9.2e-41, float("inf"), float("-inf"),
                                 float("nan"), 0.333], dtype=torch.bfloat16)
    return {
        "f64.vec": torch.randn(5, generator=g, dtype=torch.float64),
        "f32.odd": torch.randn(3, 5, 7, generator=g),
        "f32.scalar": torch.tensor(3.25, dtype=torch.float32),
        "f32.empty": torch.zeros(0, 3, dtype=torch.float32),
        "f16.mat": (torch.randn(7, 3, generator=g) * 10).to(torch.float16),
        "f16.special": f16_special,
        "bf16.mat": torch.randn(2, 3, 1, 5, generator=g).to(torch.bfloat16),
        "bf16.special": bf16_special,
        "i64.vec": torch.tensor([0, -1, 2**62, -(2**63), 2**63 - 1], dtype=torch.int64),
        "i32.mat": torch.arange(-6, 6, dtype=torch.int32).reshape(3, 4),
        "i16.vec": torch.tensor([-32768, -1, 0, 1, 32767], dtype=torch.int16),
        "i8.vec": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "u8.mat": torch.arange(0, 255, 17, dtype=torch.uint8).reshape(3, 5),
        "bool.vec": torch.tensor([True, False, False, True, True, False, True]),
    }


def make_dtypes():
    d = os.path.join(ROOT, "dtypes")
    os.makedirs(d, exist_ok=True)
    t = dtype_tensors()
    save_file(t, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    write_expected(os.path.join(d, "expected.json"), t)


JANUS_HF_CONFIG = {
    # The transformers port's layout (reference/janus-pro-spec.md §1.3), tiny sizes.
    "architectures": ["JanusForConditionalGeneration"],
    "model_type": "janus",
    "image_token_id": 100581,
    "text_config": {
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 100000, "eos_token_id": 100001,
        "head_dim": 4, "hidden_act": "silu", "hidden_size": 8, "initializer_range": 0.02,
        "intermediate_size": 12, "max_position_embeddings": 64, "mlp_bias": False, "model_type": "llama",
        "num_attention_heads": 2, "num_hidden_layers": 1, "num_key_value_heads": 2, "pad_token_id": 100002,
        "pretraining_tp": 1, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 10000.0,
        "torch_dtype": "bfloat16", "vocab_size": 16,
    },
    "vision_config": {"model_type": "janus_vision_model", "hidden_size": 16, "image_size": 32, "patch_size": 16},
    "vq_config": {"model_type": "janus_vqgan", "embed_dim": 8, "num_embeddings": 32, "num_patches": 2},
    "torch_dtype": "bfloat16",
}


def make_sharded():
    d = os.path.join(ROOT, "sharded")
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(99)
    shards = [
        {
            "model.language_model.embed_tokens.weight": torch.randn(16, 8, generator=g).to(torch.bfloat16),
            "model.language_model.layers.0.input_layernorm.weight": torch.randn(8, generator=g).to(torch.bfloat16),
            "model.language_model.layers.0.self_attn.q_proj.weight": torch.randn(8, 8, generator=g).to(torch.bfloat16),
        },
        {
            "model.language_model.norm.weight": torch.randn(8, generator=g).to(torch.bfloat16),
            "model.generation_head.vision_head.weight": torch.randn(32, 8, generator=g).to(torch.bfloat16),
            "model.generation_head.vision_head.bias": torch.randn(32, generator=g),
        },
    ]
    # The index as transformers' save_pretrained writes it.
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, os.path.join(d, name), metadata={"format": "pt"})
        for k, v in shard.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(json.dumps(JANUS_HF_CONFIG, indent=2, sort_keys=True) + "\n")
    write_expected(os.path.join(d, "expected.json"), {k: v for s in shards for k, v in s.items()})


JANUS_ORIG_CONFIG = {
    # deepseek-ai/Janus-Pro-7B config.json (reference/janus-pro-spec.md §1.2):
    # language_config leaves hidden_size, heads, eps, theta... to LlamaConfig.
    "aligner_config": {"cls": "MlpProjector", "model_type": "aligner",
                       "params": {"depth": 2, "input_dim": 1024, "n_embed": 4096, "projector_type": "mlp_gelu"}},
    "architectures": ["MultiModalityCausalLM"],
    "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner",
                           "params": {"depth": 2, "input_dim": 8, "n_embed": 4096, "projector_type": "mlp_gelu"}},
    "gen_head_config": {"cls": "vision_head", "model_type": "gen_head",
                        "params": {"image_token_embed": 4096, "image_token_size": 16384, "n_embed": 4096}},
    "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision",
                          "params": {"image_token_size": 16384, "n_embed": 8}},
    "language_config": {"max_position_embeddings": 16384, "model_type": "llama", "num_hidden_layers": 30,
                        "torch_dtype": "bfloat16", "vocab_size": 102400},
    "model_type": "multi_modality",
    "torch_dtype": "bfloat16",
    "transformers_version": "4.33.1",
    "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision",
                      "params": {"image_size": 384, "model_name": "siglip_large_patch16_384",
                                 "select_feature": "same", "select_layer": -1}},
}

LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 48, "intermediate_size": 100, "num_hidden_layers": 3, "num_attention_heads": 6,
    "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
    "vocab_size": 97, "tie_word_embeddings": True, "hidden_act": "silu",
    "bos_token_id": 1, "eos_token_id": [2, 5, 7],
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0},
}


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def safetensors_bytes(header, data):
    """A safetensors file from a header dict (or raw header bytes) and data bytes."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def make_bad():
    d = os.path.join(ROOT, "bad")
    os.makedirs(d, exist_ok=True)
    good = open(os.path.join(ROOT, "dtypes", "model.safetensors"), "rb").read()

    def put(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    put("truncated.safetensors", good[:-10])              # last tensor's bytes cut short
    put("short.safetensors", good[:5])                     # not even a header length
    put("header_past_end.safetensors", struct.pack("<Q", 1 << 20) + b'{"a":')
    put("offsets_past_end.safetensors", safetensors_bytes(
        {"a.weight": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}, bytes(256)))
    put("shape_mismatch.safetensors", safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 40]}}, bytes(48)))
    put("unknown_dtype.safetensors", safetensors_bytes(
        {"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}, bytes(4)))
    put("not_json.safetensors", safetensors_bytes(b"this is not json", bytes(8)))
    put("offsets_reversed.safetensors", safetensors_bytes(
        {"w": {"dtype": "U8", "shape": [4], "data_offsets": [8, 4]}}, bytes(8)))
    put("negative_shape.safetensors", safetensors_bytes(
        {"w": {"dtype": "U8", "shape": [-1, 4], "data_offsets": [0, 4]}}, bytes(4)))
    put("header_array.safetensors", safetensors_bytes(b"[1, 2, 3]", b""))
    put("no_dtype.safetensors", safetensors_bytes({"w": {"shape": [1], "data_offsets": [0, 1]}}, bytes(1)))

    # An index that lists a tensor the shard does not hold.
    bi = os.path.join(ROOT, "bad_index")
    os.makedirs(bi, exist_ok=True)
    save_file({"x": torch.ones(2)}, os.path.join(bi, "model-00001-of-00001.safetensors"))
    write_json(os.path.join(bi, "model.safetensors.index.json"),
               {"metadata": {"total_size": 8},
                "weight_map": {"x": "model-00001-of-00001.safetensors", "y": "model-00001-of-00001.safetensors"}})
    # An index that puts a tensor in the wrong shard.
    ws = os.path.join(ROOT, "wrong_shard")
    os.makedirs(ws, exist_ok=True)
    save_file({"y": torch.ones(2)}, os.path.join(ws, "model-00001-of-00002.safetensors"))
    save_file({"x": torch.ones(2)}, os.path.join(ws, "model-00002-of-00002.safetensors"))
    write_json(os.path.join(ws, "model.safetensors.index.json"),
               {"metadata": {"total_size": 16},
                "weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}})
    # An index naming a shard file that is not there.
    ms = os.path.join(ROOT, "missing_shard")
    os.makedirs(ms, exist_ok=True)
    save_file({"x": torch.ones(2)}, os.path.join(ms, "model-00001-of-00002.safetensors"))
    write_json(os.path.join(ms, "model.safetensors.index.json"),
               {"metadata": {"total_size": 16},
                "weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}})


def make_corpus():
    for sub in ("safetensors", "config"):
        os.makedirs(os.path.join(CORPUS, sub), exist_ok=True)
    seeds = {
        "safetensors": ["dtypes/model.safetensors", "sharded/model-00001-of-00002.safetensors",
                        "sharded/model.safetensors.index.json", "bad/shape_mismatch.safetensors",
                        "bad/offsets_past_end.safetensors", "bad/not_json.safetensors"],
        "config": ["sharded/config.json", "janus_orig/config.json", "llama/config.json"],
    }
    for sub, files in seeds.items():
        for f in files:
            shutil.copy(os.path.join(ROOT, f), os.path.join(CORPUS, sub, f.replace("/", "_")))


def main():
    make_dtypes()
    make_sharded()
    write_json(os.path.join(ROOT, "janus_orig", "config.json"), JANUS_ORIG_CONFIG)
    write_json(os.path.join(ROOT, "llama", "config.json"), LLAMA_CONFIG)
    make_bad()
    make_corpus()


if __name__ == "__main__":
    main()
