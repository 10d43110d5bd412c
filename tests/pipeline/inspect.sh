#!/bin/sh
# bicot-inspect on the safetensors fixtures (tests/golden/make_safetensors.py):
# text and --json output, and exit codes (0 ok, 1 usage, 2 unreadable model).
# No python or jq here: the JSON is checked with grep and by counting brackets.
PATH="$(pwd)/bin:$PATH"
FIX=tests/golden/safetensors
n=0
out=$(mktemp); err=$(mktemp); tmp=$(mktemp -d)
trap 'rm -rf "$out" "$err" "$tmp"' EXIT

ok() {  # condition-result, description
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
# run ARGS...: runs bicot-inspect, stdout in $out, stderr in $err, status in $rc
run() { bicot-inspect "$@" >"$out" 2>"$err"; rc=$?; }
has() { grep -qF -- "$1" "$out"; }           # stdout contains the fixed string
has_err() { grep -qF -- "$1" "$err"; }       # stderr contains it
count() { tr -cd "$1" <"$out" | wc -c; }     # occurrences of one character

run --help
ok $([ $rc -eq 0 ] && has "usage: bicot-inspect"; echo $?) "--help: usage on stdout, exit 0"
run --version
ok $([ $rc -eq 0 ] && has "BLAS"; echo $?) "--version: the build line, exit 0"
run
ok $([ $rc -eq 1 ] && has_err "no model given"; echo $?) "no argument: exit 1"
run --frobnicate $FIX/dtypes
ok $([ $rc -eq 1 ] && has_err "unknown option '--frobnicate'"; echo $?) "unknown option: exit 1"

run $FIX/sharded
ok $rc "sharded model: exit 0"
ok $(has "model_type: janus"; echo $?) "  model_type"
ok $(has "architectures: JanusForConditionalGeneration"; echo $?) "  architectures"
ok $(has "llama (text_config): hidden_size 8, intermediate_size 12, layers 1, heads 2, kv_heads 2, head_dim 4"; echo $?) \
    "  the LLaMA config from text_config"
ok $(grep -Eq '^  model\.language_model\.norm\.weight +BF16 +\[8\] +16 +1$' "$out"; echo $?) "  a tensor line: name dtype shape bytes file"
ok $(has "totals: 6 tensors, 496 parameters, 1056 bytes, 2 files"; echo $?) "  totals"
ok $(grep -Eq '^  F32 +1 tensors, 32 parameters, 128 bytes$' "$out"; echo $?) "  totals per dtype"

run $FIX/sharded/model.safetensors.index.json
ok $([ $rc -eq 0 ] && has "totals: 6 tensors, 496 parameters, 1056 bytes, 2 files" && has "model_type: janus"; echo $?) \
    "the index json named directly, config read beside it"

run $FIX/dtypes/model.safetensors
ok $rc "one file of every dtype: exit 0"
ok $(has "config: none"; echo $?) "  no config.json beside it"
ok $(grep -Eq '^  f32\.scalar +F32 +\[\] +4 +0$' "$out"; echo $?) "  a 0-d scalar"
ok $(grep -Eq '^  f32\.empty +F32 +\[0, 3\] +0 +0$' "$out"; echo $?) "  an empty tensor"
ok $(has "totals: 14 tensors, 233 parameters, 735 bytes, 1 files"; echo $?) "  totals"

run $FIX/janus_orig/../janus_orig
ok $([ $rc -eq 2 ] && has_err "no weights found" && has_err "it holds: config.json"; echo $?) \
    "a directory without weights: exit 2, says what it holds"

run --json $FIX/sharded
ok $rc "--json: exit 0"
ok $([ "$(wc -l <"$out")" -eq 1 ]; echo $?) "  one line"
ok $([ "$(head -c 9 "$out")" = '{"path":"' ] && [ "$(tail -c 2 "$out")" = '}' ]; echo $?) "  one object"
ok $([ "$(count '{')" -eq "$(count '}')" ] && [ "$(count '[')" -eq "$(count ']')" ]; echo $?) "  brackets balance"
ok $(has '"llama":{"section":"text_config","vocab_size":16,"hidden_size":8,'; echo $?) "  the LLaMA config"
ok $(grep -Eq '"rms_norm_eps":1e-0?6,"rope_theta":10000\.0,' "$out"; echo $?) "  reals as written"
ok $(has '{"name":"model.language_model.norm.weight","dtype":"BF16","shape":[8],"bytes":16,"file":1}'; echo $?) "  a tensor"
ok $(has '"totals":{"tensors":6,"parameters":496,"bytes":1056,"files":2,"dtypes":{"F32":{"tensors":1,"parameters":32,"bytes":128},'; echo $?) \
    "  totals"

run --json $FIX/janus_orig/config.json
ok $([ $rc -eq 2 ] && [ ! -s "$out" ]; echo $?) "--json on an unreadable model: exit 2, nothing on stdout"

run $FIX/bad/truncated.safetensors
ok $([ $rc -eq 2 ] && has_err "bicot-inspect: $FIX/bad/truncated.safetensors: tensor 'u8.mat': data_offsets [713, 728] go past the end"; echo $?) \
    "a truncated file: exit 2 with the loader's message"
run $FIX/bad_index
ok $([ $rc -eq 2 ] && has_err "tensor 'y' is listed in shard"; echo $?) "an index naming a missing tensor: exit 2"

cp $FIX/dtypes/model.safetensors "$tmp/"
printf '{"model_type": "llama", "hidden_size": "big"}' >"$tmp/config.json"
run "$tmp"
ok $([ $rc -eq 2 ] && has_err "'hidden_size': expected an integer, got string \"big\""; echo $?) \
    "a config.json with a wrong type: exit 2 naming the field"
printf '{"model_type": "clip", "projection_dim": 512}' >"$tmp/config.json"
run "$tmp"
ok $([ $rc -eq 0 ] && has "model_type: clip" && ! has "llama ("; echo $?) "a config without a LLaMA part is shown as is"
