// llama.h: the LLaMA decoder (transformers' LlamaModel + lm_head) on the ops
// interface: RMSNorm, "rotate_half" RoPE, grouped-query causal attention with
// a KV cache, SwiGLU MLP. Janus-Pro's language model is one (janus.h wraps
// it); any checkpoint with LLaMA tensor names under a prefix loads.
//
// Batching. A llama_state holds a KV cache of max_rows independent rows
// ("slots"), each with its own length. One llama_forward call appends n_new
// tokens to each of the rows it names, and the positions of a row's tokens
// continue from what its cache already holds, so:
//   - prefill: one call with the whole prompt (n_new = L) for the rows that
//     share a length (Janus's cond + uncond rows); prompts of other lengths
//     go in separate calls (one row each, if need be) — no padding, no mask;
//   - decode: one call with n_new = 1 for every row that is still running,
//     whatever their lengths: each row attends only to its own cache;
//   - a prompt shared by G samples (plan-cot): prefill one row, then
//     llama_state_copy_row() it into G−1 others, then decode the G together.
// Results never depend on which rows share a call (tests check it).
#ifndef BICOT_LLAMA_H
#define BICOT_LLAMA_H

#include "../io/config.h"
#include "../io/weights.h"
#include "ops.h"

typedef struct {
    bc_weight wq;            // [H·hd, D]
    bc_weight wk, wv;        // [KV·hd, D]
    bc_weight wo;            // [D, H·hd]
    bc_weight w_gate, w_up;  // [I, D]
    bc_weight w_down;        // [D, I]
    const float *attn_norm;  // [D] input_layernorm
    const float *mlp_norm;   // [D] post_attention_layernorm
} llama_layer;

typedef struct {
    int dim;         // D hidden_size
    int n_layers;    // num_hidden_layers
    int n_heads;     // H num_attention_heads
    int n_kv_heads;  // KV num_key_value_heads (divides H)
    int head_dim;    // hd (H·hd need not equal D)
    int ffn_dim;     // I intermediate_size
    int vocab;       // V vocab_size (rows of the embedding)
    float eps;       // rms_norm_eps
    float rope_theta;
    bc_weight embed;      // [V, D] embed_tokens, stored dtype
    bc_weight lm_head;    // [V, D] (the embedding itself when tied)
    const float *norm;    // [D] final norm
    llama_layer *layers;  // [n_layers]
    float *norms;         // every norm weight as float32, one allocation
} llama_model;

// Loads the decoder whose tensors are named prefix + "embed_tokens.weight",
// prefix + "layers.N.self_attn.q_proj.weight", ..., prefix + "norm.weight"
// (prefix "model." for a LlamaForCausalLM, "model.language_model." or
// "language_model.model." for Janus). lm_head_name: the text head's tensor,
// or NULL to tie it to the embedding. Shapes are checked against cfg; big
// weights stay views in their stored dtype, w must outlive m. Refuses what it
// does not implement (hidden_act other than silu, biases, rope_scaling).
int llama_load(llama_model *m, const bc_weights *w, const bc_llama_config *cfg, const char *prefix,
               const char *lm_head_name, bc_err *err);
void llama_free(llama_model *m);

typedef struct {
    int max_rows;        // KV-cache slots
    int max_seq;         // positions per slot
    int max_tokens;      // tokens per llama_forward call, all rows together
    int *len;            // [max_rows] positions held by each slot
    size_t slot_floats;  // floats of one slot of one layer: max_seq·KV·hd
    float *k_cache;      // [n_layers, max_rows, max_seq, KV·hd] keys, RoPE applied
    float *v_cache;      // [n_layers, max_rows, max_seq, KV·hd]
    // Scratch of one call, T = max_tokens tokens, row-major by (row, token):
    float *x;      // [T, D]     residual stream
    float *xn;     // [T, D]     normed input of a sub-layer; sub-layer output
    float *q;      // [T, H·hd]  queries
    float *k, *v;  // [T, KV·hd] the new keys and values, before the cache
    float *att;    // [T, H·hd]  attention output
    float *gate;   // [T, I]
    float *up;     // [T, I]
    float *block;  // the one allocation all of the above live in
} llama_state;

// A state for max_rows slots of max_seq positions, calls of at most
// max_tokens tokens. Fails (with the size) when it would be absurdly large.
llama_state *llama_state_new(const llama_model *m, int max_rows, int max_seq, int max_tokens, bc_err *err);
void llama_state_free(llama_state *s);
// Empties one slot (slot < 0: all of them).
void llama_state_reset(llama_state *s, int slot);
// Makes slot dst a copy of slot src (its cache and its length).
void llama_state_copy_row(const llama_model *m, llama_state *s, int dst, int src);

// Runs n_new tokens through the decoder for each of n_rows rows.
//   slots  [n_rows]            the cache slot of each row (NULL: 0..n_rows−1),
//                              all different
//   x      [n_rows, n_new, D]  input embeddings
//   out    [n_rows, D]         final-normed hidden state of each row's last
//                              token, or [n_rows, n_new, D] of every token
//                              when all_positions is set
// Row r's tokens take positions len[slot r] .. len + n_new − 1 and are
// appended to its cache. Fails without touching the state when a slot is out
// of range or repeated, a cache would overflow, or n_rows·n_new > max_tokens.
int llama_forward(const llama_model *m, llama_state *s, const int *slots, int n_rows, const float *x, int n_new,
                  float *out, int all_positions, bc_err *err);

// out[n, D] = the embedding rows of ids[n]; fails on an id outside [0, V).
int llama_embed_tokens(const llama_model *m, const int *ids, int n, float *out, bc_err *err);
// logits[n, V] = hidden[n, D] · lm_headᵀ.
void llama_lm_head(const llama_model *m, const float *hidden, int n, float *logits);

#endif
