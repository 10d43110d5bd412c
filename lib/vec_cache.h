// vec_cache.h: a small cache of float vectors by string key — a prompt's
// text features (score-hps), a query phrase's embedding (score-det) — so a
// text repeated across records (GRPO's G samples share their prompt) is
// encoded once. Full: the oldest entry goes (round robin). One per worker:
// not thread-safe.
#ifndef BICOT_VEC_CACHE_H
#define BICOT_VEC_CACHE_H

typedef struct {
    char **keys;    // [cap]; NULL: empty slot
    float **vecs;   // [cap] each [dim], allocated on first use
    int cap, dim, next;
} bc_vec_cache;

void bc_vec_cache_init(bc_vec_cache *c, int cap, int dim);
void bc_vec_cache_free(bc_vec_cache *c);
// The vector cached for key, or NULL.
const float *bc_vec_cache_get(const bc_vec_cache *c, const char *key);
// Empties the next slot and returns its vector [dim] to be filled; then
// bc_vec_cache_commit(c, key) makes it the entry for key. A slot never
// committed (the computation failed) stays empty.
float *bc_vec_cache_begin(bc_vec_cache *c);
void bc_vec_cache_commit(bc_vec_cache *c, const char *key);

#endif
