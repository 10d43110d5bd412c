// llama.c: the LLaMA decoder forward pass (see llama.h), as transformers'
// LlamaModel computes it, in float32 through the ops interface:
//
//   h   = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = RMSNorm_in(x)
//   out = h + down_proj(silu(gate_proj(m)) · up_proj(m)),                     m = RMSNorm_post(h)
//
// and a final RMSNorm. Attention is causal within a call and sees the whole
// cache of its row before it.
#include "llama.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---- loading ---------------------------------------------------------------------

// Looks up prefix + name with the expected 2-D shape and views it as a weight.
static int need_weight(bc_weight *out, const bc_weights *w, const char *prefix, const char *name, int64_t rows,
                       int64_t cols, bc_err *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    int64_t shape[2] = {rows, cols};
    const bc_tensor *t = bc_weights_need(w, full, 2, shape, err);
    if (!t) return -1;
    return bc_weight_from(out, t, err);
}

// Converts the [d] vector prefix + name to float32 into dst.
static int need_vector(float *dst, const bc_weights *w, const char *prefix, const char *name, int64_t d, bc_err *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const bc_tensor *t = bc_weights_need(w, full, 1, &d, err);
    if (!t) return -1;
    return bc_tensor_to_f32(t, dst, err);
}

// What this file does not implement must not load silently as something else.
static int check_supported(const bc_llama_config *c, bc_err *err) {
    if (strcmp(c->hidden_act, "silu") != 0)
        return bc_fail(err, "llama: hidden_act \"%s\" is not supported (expected \"silu\")", c->hidden_act);
    if (c->attention_bias || c->mlp_bias)
        return bc_fail(err, "llama: attention_bias/mlp_bias are not supported (the config sets %s)",
                       c->attention_bias ? "attention_bias" : "mlp_bias");
    if (c->rope_scaling[0] && strcmp(c->rope_scaling, "default") != 0)
        return bc_fail(err, "llama: rope_scaling of type \"%s\" is not supported", c->rope_scaling);
    if (c->head_dim % 2 != 0)
        return bc_fail(err, "llama: head_dim %lld is odd (RoPE pairs dimensions)", (long long)c->head_dim);
    // Every size must fit the int arithmetic of the ops.
    int64_t widest = c->vocab_size;
    if (c->intermediate_size > widest) widest = c->intermediate_size;
    if (c->num_attention_heads * c->head_dim > widest) widest = c->num_attention_heads * c->head_dim;
    if (widest > (1 << 24) || c->hidden_size > (1 << 20) || c->num_hidden_layers > 4096)
        return bc_fail(err, "llama: sizes too large (hidden %lld, widest matrix %lld, layers %lld)",
                       (long long)c->hidden_size, (long long)widest, (long long)c->num_hidden_layers);
    return 0;
}

int llama_load(llama_model *m, const bc_weights *w, const bc_llama_config *cfg, const char *prefix,
               const char *lm_head_name, bc_err *err) {
    memset(m, 0, sizeof *m);
    if (check_supported(cfg, err) < 0) return -1;
    m->dim = (int)cfg->hidden_size;
    m->n_layers = (int)cfg->num_hidden_layers;
    m->n_heads = (int)cfg->num_attention_heads;
    m->n_kv_heads = (int)cfg->num_key_value_heads;
    m->head_dim = (int)cfg->head_dim;
    m->ffn_dim = (int)cfg->intermediate_size;
    m->vocab = (int)cfg->vocab_size;
    m->eps = (float)cfg->rms_norm_eps;
    m->rope_theta = (float)cfg->rope_theta;

    int D = m->dim, I = m->ffn_dim, QD = m->n_heads * m->head_dim, KVD = m->n_kv_heads * m->head_dim;
    m->layers = bc_calloc((size_t)m->n_layers, sizeof *m->layers);
    // Norm weights: 2 per layer + the final one, [D] each.
    m->norms = bc_malloc((size_t)(2 * m->n_layers + 1) * (size_t)D * sizeof *m->norms);

    if (need_weight(&m->embed, w, prefix, "embed_tokens.weight", m->vocab, D, err) < 0) goto fail;
    float *norm = m->norms + (size_t)2 * m->n_layers * D;
    if (need_vector(norm, w, prefix, "norm.weight", D, err) < 0) goto fail;
    m->norm = norm;
    for (int l = 0; l < m->n_layers; l++) {
        llama_layer *L = &m->layers[l];
        char p[200];
        snprintf(p, sizeof p, "%slayers.%d.", prefix, l);
        float *attn_norm = m->norms + (size_t)(2 * l) * D, *mlp_norm = attn_norm + D;
        if (need_weight(&L->wq, w, p, "self_attn.q_proj.weight", QD, D, err) < 0 ||
            need_weight(&L->wk, w, p, "self_attn.k_proj.weight", KVD, D, err) < 0 ||
            need_weight(&L->wv, w, p, "self_attn.v_proj.weight", KVD, D, err) < 0 ||
            need_weight(&L->wo, w, p, "self_attn.o_proj.weight", D, QD, err) < 0 ||
            need_weight(&L->w_gate, w, p, "mlp.gate_proj.weight", I, D, err) < 0 ||
            need_weight(&L->w_up, w, p, "mlp.up_proj.weight", I, D, err) < 0 ||
            need_weight(&L->w_down, w, p, "mlp.down_proj.weight", D, I, err) < 0 ||
            need_vector(attn_norm, w, p, "input_layernorm.weight", D, err) < 0 ||
            need_vector(mlp_norm, w, p, "post_attention_layernorm.weight", D, err) < 0)
            goto fail;
        L->attn_norm = attn_norm;
        L->mlp_norm = mlp_norm;
    }
    if (lm_head_name) {
        if (need_weight(&m->lm_head, w, "", lm_head_name, m->vocab, D, err) < 0) goto fail;
    } else {
        m->lm_head = m->embed;  // tie_word_embeddings
    }
    return 0;
fail:
    llama_free(m);
    return -1;
}

void llama_free(llama_model *m) {
    if (!m) return;
    free(m->layers);
    free(m->norms);
    memset(m, 0, sizeof *m);
}

// ---- state -----------------------------------------------------------------------

llama_state *llama_state_new(const llama_model *m, int max_rows, int max_seq, int max_tokens, bc_err *err) {
    if (max_rows < 1 || max_seq < 1 || max_tokens < 1) {
        bc_fail(err, "llama: state of %d rows x %d positions, %d tokens per call: each must be at least 1", max_rows,
                max_seq, max_tokens);
        return NULL;
    }
    size_t D = (size_t)m->dim, I = (size_t)m->ffn_dim, T = (size_t)max_tokens;
    size_t QD = (size_t)m->n_heads * m->head_dim, KVD = (size_t)m->n_kv_heads * m->head_dim;
    size_t slot = (size_t)max_seq * KVD;
    // Both caches, then the scratch of one call.
    double cache_floats = 2.0 * m->n_layers * (double)max_rows * (double)slot;
    double scratch_floats = (double)T * (2 * D + 2 * QD + 2 * KVD + 2 * I);
    double bytes = (cache_floats + scratch_floats) * sizeof(float);
    if (bytes > 1e12) {
        bc_fail(err, "llama: a state of %d rows x %d positions (%d tokens per call) needs %.0f GB", max_rows, max_seq,
                max_tokens, bytes / 1e9);
        return NULL;
    }
    llama_state *s = bc_calloc(1, sizeof *s);
    s->max_rows = max_rows;
    s->max_seq = max_seq;
    s->max_tokens = max_tokens;
    s->slot_floats = slot;
    s->len = bc_calloc((size_t)max_rows, sizeof *s->len);
    s->block = bc_malloc((size_t)bytes);
    float *p = s->block;
    s->k_cache = p, p += (size_t)m->n_layers * max_rows * slot;  // [n_layers, max_rows, max_seq, KV·hd]
    s->v_cache = p, p += (size_t)m->n_layers * max_rows * slot;  // [n_layers, max_rows, max_seq, KV·hd]
    s->x = p, p += T * D;                                        // [T, D]
    s->xn = p, p += T * D;                                       // [T, D]
    s->q = p, p += T * QD;                                       // [T, H·hd]
    s->att = p, p += T * QD;                                     // [T, H·hd]
    s->k = p, p += T * KVD;                                      // [T, KV·hd]
    s->v = p, p += T * KVD;                                      // [T, KV·hd]
    s->gate = p, p += T * I;                                     // [T, I]
    s->up = p, p += T * I;                                       // [T, I]
    return s;
}

void llama_state_free(llama_state *s) {
    if (!s) return;
    free(s->block);
    free(s->len);
    free(s);
}

void llama_state_reset(llama_state *s, int slot) {
    if (slot < 0)
        memset(s->len, 0, (size_t)s->max_rows * sizeof *s->len);
    else if (slot < s->max_rows)
        s->len[slot] = 0;
}

// The cache of one slot in one layer: [max_seq, KV·hd].
static float *cache_slot(const llama_state *s, float *cache, int layer, int slot) {
    return cache + ((size_t)layer * s->max_rows + (size_t)slot) * s->slot_floats;
}

void llama_state_copy_row(const llama_model *m, llama_state *s, int dst, int src) {
    if (dst == src || dst < 0 || src < 0 || dst >= s->max_rows || src >= s->max_rows) return;
    size_t n = (size_t)s->len[src] * m->n_kv_heads * m->head_dim;  // only the positions in use
    for (int l = 0; l < m->n_layers; l++) {
        memcpy(cache_slot(s, s->k_cache, l, dst), cache_slot(s, s->k_cache, l, src), n * sizeof(float));
        memcpy(cache_slot(s, s->v_cache, l, dst), cache_slot(s, s->v_cache, l, src), n * sizeof(float));
    }
    s->len[dst] = s->len[src];
}

// ---- forward ---------------------------------------------------------------------

// Attention sub-layer of layer l for n_rows rows of n_new tokens: reads
// s->x, adds the sub-layer's output to it, appends to the caches.
static void attention_forward(const llama_model *m, llama_state *s, int l, const int *slots, int n_rows, int n_new) {
    const llama_layer *L = &m->layers[l];
    int T = n_rows * n_new, D = m->dim, hd = m->head_dim;
    int QD = m->n_heads * hd, KVD = m->n_kv_heads * hd;

    bc_rmsnorm(s->xn, s->x, L->attn_norm, T, D, m->eps);  // xn [T, D]
    bc_linear(s->q, s->xn, &L->wq, NULL, T);              // q  [T, H·hd]
    bc_linear(s->k, s->xn, &L->wk, NULL, T);              // k  [T, KV·hd]
    bc_linear(s->v, s->xn, &L->wv, NULL, T);              // v  [T, KV·hd]

    for (int r = 0; r < n_rows; r++) {
        int slot = slots ? slots[r] : r, start = s->len[slot];
        float *kc = cache_slot(s, s->k_cache, l, slot);  // [max_seq, KV·hd]
        float *vc = cache_slot(s, s->v_cache, l, slot);
        for (int i = 0; i < n_new; i++) {
            size_t t = (size_t)r * n_new + i;
            bc_rope(s->q + t * QD, m->n_heads, hd, start + i, m->rope_theta);
            bc_rope(s->k + t * KVD, m->n_kv_heads, hd, start + i, m->rope_theta);
        }
        // The new keys/values join the row's cache, then its queries see all of it.
        memcpy(kc + (size_t)start * KVD, s->k + (size_t)r * n_new * KVD, (size_t)n_new * KVD * sizeof(float));
        memcpy(vc + (size_t)start * KVD, s->v + (size_t)r * n_new * KVD, (size_t)n_new * KVD * sizeof(float));
        bc_attention(s->att + (size_t)r * n_new * QD, s->q + (size_t)r * n_new * QD, kc, vc, n_new, start + n_new,
                     m->n_heads, m->n_kv_heads, hd, KVD, 1, 1.0f / sqrtf((float)hd));
    }
    bc_linear(s->xn, s->att, &L->wo, NULL, T);  // xn [T, D] = o_proj(att)
    bc_add(s->x, s->xn, (size_t)T * D);
}

// SwiGLU MLP sub-layer of layer l over T tokens: x += down(silu(gate(n)) · up(n)).
static void mlp_forward(const llama_model *m, llama_state *s, int l, int T) {
    const llama_layer *L = &m->layers[l];
    size_t D = (size_t)m->dim, I = (size_t)m->ffn_dim;
    bc_rmsnorm(s->xn, s->x, L->mlp_norm, T, (int)D, m->eps);  // xn   [T, D]
    bc_linear(s->gate, s->xn, &L->w_gate, NULL, T);           // gate [T, I]
    bc_linear(s->up, s->xn, &L->w_up, NULL, T);               // up   [T, I]
    bc_silu(s->gate, (size_t)T * I);
    bc_mul(s->gate, s->up, (size_t)T * I);
    bc_linear(s->xn, s->gate, &L->w_down, NULL, T);  // xn [T, D]
    bc_add(s->x, s->xn, (size_t)T * D);
}

int llama_forward(const llama_model *m, llama_state *s, const int *slots, int n_rows, const float *x, int n_new,
                  float *out, int all_positions, bc_err *err) {
    if (n_rows < 1 || n_new < 1)
        return bc_fail(err, "llama_forward: %d rows x %d tokens: nothing to run", n_rows, n_new);
    if ((int64_t)n_rows * n_new > s->max_tokens)
        return bc_fail(err, "llama_forward: %d rows x %d tokens exceed the state's %d tokens per call", n_rows, n_new,
                       s->max_tokens);
    for (int r = 0; r < n_rows; r++) {
        int slot = slots ? slots[r] : r;
        if (slot < 0 || slot >= s->max_rows)
            return bc_fail(err, "llama_forward: row %d: slot %d outside the state's %d rows", r, slot, s->max_rows);
        for (int q = 0; q < r; q++)
            if ((slots ? slots[q] : q) == slot)
                return bc_fail(err, "llama_forward: rows %d and %d both use slot %d", q, r, slot);
        if (s->len[slot] + n_new > s->max_seq)
            return bc_fail(err, "llama_forward: slot %d holds %d positions, %d more exceed its %d", slot, s->len[slot],
                           n_new, s->max_seq);
    }
    int T = n_rows * n_new;
    size_t D = (size_t)m->dim;
    memcpy(s->x, x, (size_t)T * D * sizeof(float));  // x [T, D]
    for (int l = 0; l < m->n_layers; l++) {
        attention_forward(m, s, l, slots, n_rows, n_new);
        mlp_forward(m, s, l, T);
    }
    for (int r = 0; r < n_rows; r++) s->len[slots ? slots[r] : r] += n_new;

    if (all_positions) {
        bc_rmsnorm(out, s->x, m->norm, T, (int)D, m->eps);  // out [T, D]
    } else {
        for (int r = 0; r < n_rows; r++)  // out [n_rows, D]: each row's last token
            bc_rmsnorm(out + r * D, s->x + ((size_t)r * n_new + n_new - 1) * D, m->norm, 1, (int)D, m->eps);
    }
    return 0;
}

// ---- embeddings and text head ----------------------------------------------------

int llama_embed_tokens(const llama_model *m, const int *ids, int n, float *out, bc_err *err) {
    size_t D = (size_t)m->dim;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= m->vocab)
            return bc_fail(err, "token %d (position %d) is outside the vocabulary of %d", ids[i], i, m->vocab);
        for (size_t j = 0; j < D; j++) out[i * D + j] = bc_weight_at(&m->embed, (size_t)ids[i] * D + j);
    }
    return 0;
}

void llama_lm_head(const llama_model *m, const float *hidden, int n, float *logits) {
    bc_linear(logits, hidden, &m->lm_head, NULL, n);
}
