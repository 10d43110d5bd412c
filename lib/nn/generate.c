#include "generate.h"

#include <stdlib.h>
#include <string.h>

int janus_generate_images(const janus_model *m, janus_image_job *jobs, int n, const janus_image_opts *o,
                          bc_err *err) {
    int D = m->dim, V = m->image_vocab, rows = 2 * n, max_len = 0;
    for (int b = 0; b < n; b++) {
        if (jobs[b].len < 2) return bc_fail(err, "image prompt of %d tokens: expected at least BOS and <begin_of_image>", jobs[b].len);
        if (jobs[b].len > max_len) max_len = jobs[b].len;
    }
    int max_tokens = 2 * max_len > rows ? 2 * max_len : rows;
    llama_state *s = llama_state_new(&m->lm, rows, max_len + o->n_tokens, max_tokens, err);
    if (!s) return -1;
    // one allocation for the loop's buffers
    size_t nx = (size_t)max_tokens * D;          // x: [max_tokens, D] input embeddings
    size_t nh = (size_t)rows * D;                // hidden, tmp: [rows, D]
    size_t nl = (size_t)rows * V;                // logits: [rows, V] (cond, uncond per image)
    float *block = bc_malloc((nx + 2 * nh + nl + V) * sizeof *block);
    float *x = block, *hidden = x + nx, *tmp = hidden + nh, *logits = tmp + nh, *scratch = logits + nl;
    int *slots = bc_malloc((size_t)rows * sizeof *slots), *tok = bc_malloc((size_t)rows * sizeof *tok);
    int32_t *uncond = bc_malloc((size_t)max_len * sizeof *uncond);
    int rc = 0;

    // Prefill each image's two rows on their own.
    for (int b = 0; b < n && rc == 0; b++) {
        int L = jobs[b].len;
        memcpy(uncond, jobs[b].ids, (size_t)L * sizeof *uncond);
        for (int i = 1; i < L - 1; i++) uncond[i] = o->pad_id;
        int pair[2] = {2 * b, 2 * b + 1};
        rc = llama_embed_tokens(&m->lm, jobs[b].ids, L, x, err);
        if (rc == 0) rc = llama_embed_tokens(&m->lm, uncond, L, x + (size_t)L * D, err);
        if (rc == 0) rc = llama_forward(&m->lm, s, pair, 2, x, L, hidden + (size_t)2 * b * D, 0, err);
    }
    for (int r = 0; r < rows; r++) slots[r] = r;

    for (int k = 0; k < o->n_tokens && rc == 0; k++) {
        janus_gen_head(m, hidden, rows, logits, tmp);
        for (int b = 0; b < n; b++) {
            const float *cond = logits + (size_t)2 * b * V, *unc = cond + V;
            janus_cfg_logits(scratch, cond, unc, V, o->cfg);
            float logp_sampled;
            // bc_sample needs its own scratch: reuse the uncond row, no longer needed
            int t = bc_sample(&o->sampler, scratch, V, bc_rng_uniform(jobs[b].rng), (float *)unc, &logp_sampled);
            jobs[b].tokens[k] = t;
            jobs[b].logp[k] = o->logp_cfg ? logp_sampled : bc_log_softmax_at(cond, V, t, 1.0f);
            tok[2 * b] = tok[2 * b + 1] = t;
        }
        if (k + 1 == o->n_tokens) break;  // the last token is never fed back
        rc = janus_image_embed(m, tok, rows, x, tmp, err);
        if (rc == 0) rc = llama_forward(&m->lm, s, slots, rows, x, 1, hidden, 0, err);
    }
    free(uncond), free(tok), free(slots), free(block);
    llama_state_free(s);
    return rc;
}

int janus_generate_text(const janus_model *m, const int32_t *prompt, int len, janus_text_job *jobs, int G,
                        int max_new, int eos_id, const bc_sampler *sampler, bc_err *err) {
    int D = m->dim, V = m->lm.vocab;
    int max_tokens = len > G ? len : G;
    llama_state *s = llama_state_new(&m->lm, G, len + max_new, max_tokens, err);
    if (!s) return -1;
    size_t nx = (size_t)max_tokens * D;
    float *block = bc_malloc((nx + (size_t)G * D + (size_t)G * V + V) * sizeof *block);
    float *x = block, *hidden = x + nx, *logits = hidden + (size_t)G * D, *scratch = logits + (size_t)G * V;
    int *active = bc_malloc((size_t)G * sizeof *active), *next = bc_malloc((size_t)G * sizeof *next);
    int slot0 = 0, rc = llama_embed_tokens(&m->lm, prompt, len, x, err);
    if (rc == 0) rc = llama_forward(&m->lm, s, &slot0, 1, x, len, hidden, 0, err);
    if (rc == 0) {
        // every row starts from the prompt's cache and its last hidden state
        for (int g = 1; g < G; g++) {
            llama_state_copy_row(&m->lm, s, g, 0);
            memcpy(hidden + (size_t)g * D, hidden, (size_t)D * sizeof *hidden);
        }
    }
    int n_active = G;
    for (int g = 0; g < G; g++) {
        active[g] = g;
        jobs[g].n = 0;
    }
    while (rc == 0 && n_active > 0) {
        llama_lm_head(&m->lm, hidden, n_active, logits);
        int still = 0;
        for (int a = 0; a < n_active; a++) {
            janus_text_job *j = &jobs[active[a]];
            const float *row = logits + (size_t)a * V;
            int t = bc_sample(sampler, row, V, bc_rng_uniform(j->rng), scratch, NULL);
            j->ids[j->n] = t;
            j->logp[j->n] = bc_log_softmax_at(row, V, t, 1.0f);
            j->n++;
            if (t != eos_id && j->n < max_new) {
                active[still] = active[a];
                next[still] = t;
                still++;
            }
        }
        n_active = still;
        if (n_active == 0) break;
        rc = llama_embed_tokens(&m->lm, next, n_active, x, err);
        if (rc == 0) rc = llama_forward(&m->lm, s, active, n_active, x, 1, hidden, 0, err);
    }
    free(next), free(active), free(block);
    llama_state_free(s);
    return rc;
}
