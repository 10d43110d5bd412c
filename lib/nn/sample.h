// sample.h: drawing a token from logits, the way transformers' generate()
// does it: temperature, then top-k (ties with the k-th value kept), then
// top-p (nucleus: the smallest set of most likely tokens whose probability
// reaches top_p, at least one), then a draw from the renormalised softmax.
//
// The draw is by inverse CDF over token order from one uniform number u in
// [0, 1) that the caller takes from the record's own RNG (bc_rng seeded from
// --seed and the record id), so a record's sample never depends on batching
// or threads, and a test can hand the same u to the reference.
#ifndef BICOT_SAMPLE_H
#define BICOT_SAMPLE_H

typedef struct {
    float temperature;  // > 0; 1 leaves the logits as they are
    int top_k;          // 0: off
    float top_p;        // 1: off
    int greedy;         // argmax (ignores the rest)
} bc_sampler;

// Draws a token from logits[n] with uniform u. scratch: n floats.
// Returns the token index; *logp (if not NULL) gets its log-probability
// under the distribution it was drawn from (after all the warpers).
int bc_sample(const bc_sampler *s, const float *logits, int n, double u, float *scratch, float *logp);

// log softmax(logits / temperature)[idx], with no truncation: the policy
// log-probability GRPO trains on.
float bc_log_softmax_at(const float *logits, int n, int idx, float temperature);

#endif
