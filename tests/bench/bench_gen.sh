#!/bin/sh
# gen-tokens on Janus-Pro-1B's real language-model shape (random bf16
# weights; hidden 2048, 24 layers, vocab 102400, image vocab 16384): image
# tokens/s for one image (2 rows, CFG 5) beside transformers (float32, the
# same loop with its KV cache) in this run. BENCH_GRID=HxW sets the tokens
# per image (default 4x4 = 16 steps, to keep the run short; 24x24 is 576).
. tests/bench/timing.sh
python3 -c 'import transformers, torch' 2>/dev/null || { echo "| gen-tokens | skipped: needs python3 with torch + transformers | | | |"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
grid=${BENCH_GRID:-4x4}
steps=$(( ${grid%x*} * ${grid#*x} ))
cat > $tmp/bench.py <<'PY'
import json, os, shutil, sys, time, resource
import torch
from transformers import JanusConfig, JanusForConditionalGeneration
d, steps, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tiny = os.path.join(os.environ["BICOT_ROOT"], "tests", "golden", "tiny-janus")
if mode == "make":
    sp = json.load(open(os.path.join(tiny, "config.json")))["text_config"]
    cfg = JanusConfig(
        text_config=dict(model_type="llama", hidden_size=2048, intermediate_size=5632, num_attention_heads=16,
                         num_key_value_heads=16, num_hidden_layers=24, vocab_size=102400,
                         max_position_embeddings=16384, bos_token_id=sp["bos_token_id"],
                         eos_token_id=sp["eos_token_id"], pad_token_id=sp["pad_token_id"]),
        vision_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, mlp_ratio=2.0,
                           image_size=384, patch_size=16, projection_dim=2048, num_image_tokens=576),
        vq_config=dict(num_embeddings=16384, embed_dim=8, projection_dim=2048, image_token_embed_dim=2048,
                       base_channels=32, channel_multiplier=[1, 1], num_res_blocks=0, latent_channels=32),
        image_token_id=json.load(open(os.path.join(tiny, "config.json")))["image_token_id"])
    torch.manual_seed(0)
    with torch.device("cpu"):
        m = JanusForConditionalGeneration(cfg).to(torch.bfloat16)
    m.save_pretrained(d)
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(os.path.join(tiny, f), d)
    sys.exit(0)
# reference: transformers, float32, the gen-tokens loop (CFG 5, T 1)
torch.set_num_threads(os.cpu_count())
m = JanusForConditionalGeneration.from_pretrained(d, dtype=torch.float32).eval()
from tokenizers import Tokenizer
tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
boi, pad = tok.token_to_id("<begin_of_image>"), tok.token_to_id("<｜▁pad▁｜>")
cond = tok.encode("User: a photo of a cat\n\nAssistant:").ids + [boi]
uncond = [cond[0]] + [pad] * (len(cond) - 2) + [cond[-1]]
lm = m.model.language_model
with torch.inference_mode():
    t0 = time.time()
    r = lm(input_ids=torch.tensor([cond, uncond]), use_cache=True)
    t = None
    for i in range(steps):
        if i > 0:
            emb = m.prepare_embeddings_for_image_generation(torch.tensor([[t]] * 2))
            r = lm(inputs_embeds=emb, past_key_values=r.past_key_values, use_cache=True)
        logits = m.model.generation_head(r.last_hidden_state[:, -1])
        l = logits[1] + 5 * (logits[0] - logits[1])
        t = int(torch.multinomial(torch.softmax(l, -1), 1))
    dt = time.time() - t0
print(f"{dt:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
PY
python3 $tmp/bench.py $tmp/m $steps make > /dev/null 2>&1 || { echo "| gen-tokens | fixture failed | | | |"; exit 0; }
printf '{"id":"b0","prompt":"a photo of a cat"}\n' | bicot-json > $tmp/p.msgpack
/usr/bin/time -f "%e %M" -o $tmp/ours.txt gen-tokens --model $tmp/m --grid $grid < $tmp/p.msgpack > /dev/null 2>$tmp/err
read ours_s ours_kb < $tmp/ours.txt
ref=$(python3 $tmp/bench.py $tmp/m $steps ref 2>/dev/null)
ref_s=${ref% *}; ref_mb=${ref#* }
printf '| gen-tokens, Janus-Pro-1B shape, 1 image x %d tokens (incl. model load) | %.2f tokens/s, peak RSS %.0f MB | %.2f tokens/s, peak RSS %s MB (no load) | transformers float32 | %.2fx |\n' \
    $steps "$(echo "$steps / $ours_s" | bc -l)" "$(echo "$ours_kb / 1024" | bc -l)" "$(echo "$steps / $ref_s" | bc -l)" "$ref_mb" \
    "$(echo "$ref_s / $ours_s" | bc -l)"
