#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

// Descending order of values, for qsort.
static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

// The k-th largest value of x[n] (1-based k), using tmp[n].
static float kth_largest(const float *x, int n, int k, float *tmp) {
    memcpy(tmp, x, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_desc);
    return tmp[k - 1];
}

int bc_sample(const bc_sampler *s, const float *logits, int n, double u, float *scratch, float *logp) {
    if (s->greedy) {
        int best = argmax(logits, n);
        if (logp) *logp = 0.0f;  // the greedy "distribution" puts all its mass on one token
        return best;
    }
    float *w = scratch;  // warped logits; -inf for removed tokens
    for (int i = 0; i < n; i++) w[i] = logits[i] / s->temperature;
    float *tmp = malloc((size_t)n * sizeof *tmp);
    if (s->top_k > 0 && s->top_k < n) {
        float kth = kth_largest(w, n, s->top_k, tmp);
        for (int i = 0; i < n; i++)
            if (w[i] < kth) w[i] = -INFINITY;
    }
    // softmax of what is left (double sums: 16384-way and 100k-way vocabularies)
    float max = w[argmax(w, n)];
    double total = 0;
    for (int i = 0; i < n; i++) total += isinf(w[i]) ? 0.0 : exp((double)w[i] - max);
    if (s->top_p < 1.0f) {
        // Keep the most likely tokens until their mass reaches top_p. The
        // reference removes tokens whose ascending cumulative mass is
        // <= 1 − top_p, which is the same set: a threshold on sorted values.
        for (int i = 0; i < n; i++) tmp[i] = w[i];
        qsort(tmp, (size_t)n, sizeof *tmp, cmp_desc);
        double removed = 0, limit = (1.0 - (double)s->top_p) * total;
        float cut = -INFINITY;  // tokens below cut are removed
        for (int i = n - 1; i > 0; i--) {  // from the least likely up, keeping at least one
            if (isinf(tmp[i])) continue;
            double p = exp((double)tmp[i] - max);
            if (removed + p > limit) break;
            removed += p;
            cut = tmp[i - 1];
        }
        if (!isinf(cut)) {
            total = 0;
            for (int i = 0; i < n; i++) {
                if (w[i] < cut) w[i] = -INFINITY;
                total += isinf(w[i]) ? 0.0 : exp((double)w[i] - max);
            }
        }
    }
    free(tmp);
    // inverse CDF over token order
    double target = u * total, acc = 0;
    int pick = -1, last = 0;
    for (int i = 0; i < n; i++) {
        if (isinf(w[i])) continue;
        last = i;
        acc += exp((double)w[i] - max);
        if (acc > target) {
            pick = i;
            break;
        }
    }
    if (pick < 0) pick = last;  // u within rounding of 1
    if (logp) *logp = (float)((double)w[pick] - max - log(total));
    return pick;
}

float bc_log_softmax_at(const float *logits, int n, int idx, float temperature) {
    float max = logits[argmax(logits, n)] / temperature;
    double total = 0;
    for (int i = 0; i < n; i++) total += exp((double)(logits[i] / temperature) - max);
    return (float)((double)(logits[idx] / temperature) - max - log(total));
}
