// generate.h: the two sampling loops of BiCoT on a Janus-Pro model.
//
// Image tokens (token-level CoT, janus-pro-spec.md §2.2-2.4): two rows per
// image, cond and uncond (every prompt position but the first and the last
// replaced by the pad id); each image's rows are prefilled on their own (no
// padding, positions 0..L-1), then all images step together: gen_head on
// both rows, CFG u + w(c − u), one draw from the image's own RNG, and
// gen_aligner(gen_embed(t)) fed to both rows.
//
// Text (semantic-level CoT, t2i-r1-spec.md §1.3): the prompt is prefilled
// once and its cache copied to the G rows of the group; each row draws from
// its own RNG until EOS (kept) or max_new tokens.
//
// Each image and each text row draws only from its own RNG and each row's
// numbers do not depend on the other rows (bc_linear is batch-invariant),
// so results never depend on how records are batched.
#ifndef BICOT_GENERATE_H
#define BICOT_GENERATE_H

#include "janus.h"
#include "sample.h"

typedef struct {
    const int32_t *ids;   // the cond row: [BOS, text..., <begin_of_image>]
    int len;
    bc_rng *rng;
    int32_t *tokens;      // out: [n_tokens] image codes in raster order
    float *logp;          // out: [n_tokens] log-probs (see janus_image_opts.logp_cfg)
} janus_image_job;

typedef struct {
    float cfg;            // guidance weight w (5 in Janus-Pro and T2I-R1)
    bc_sampler sampler;
    int n_tokens;         // h·w
    int pad_id;           // <｜▁pad▁｜>
    int logp_cfg;         // 0: log-prob under the conditional policy, T = 1 (what GRPO trains);
                          // 1: under the distribution the token was drawn from
} janus_image_opts;

// Generates the images of n jobs together (2n KV-cache rows).
int janus_generate_images(const janus_model *m, janus_image_job *jobs, int n, const janus_image_opts *o,
                          bc_err *err);

typedef struct {
    bc_rng *rng;
    int32_t *ids;         // out: [max_new] sampled ids, through the first EOS
    float *logp;          // out: [max_new] log-probs under the plain policy (T = 1, no truncation)
    int n;                // out: number of ids
} janus_text_job;

// Samples G continuations of one prompt (ids with BOS) together.
int janus_generate_text(const janus_model *m, const int32_t *prompt, int len, janus_text_job *jobs, int G,
                        int max_new, int eos_id, const bc_sampler *sampler, bc_err *err);

#endif
