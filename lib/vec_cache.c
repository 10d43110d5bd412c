// vec_cache.c: see vec_cache.h. A linear scan: the caches hold tens to a few
// thousand entries and a lookup is nothing beside the encoder it saves.
#include "vec_cache.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void bc_vec_cache_init(bc_vec_cache *c, int cap, int dim) {
    c->keys = bc_calloc((size_t)cap, sizeof *c->keys);
    c->vecs = bc_calloc((size_t)cap, sizeof *c->vecs);
    c->cap = cap;
    c->dim = dim;
    c->next = 0;
}

void bc_vec_cache_free(bc_vec_cache *c) {
    for (int i = 0; i < c->cap; i++) {
        free(c->keys[i]);
        free(c->vecs[i]);
    }
    free(c->keys);
    free(c->vecs);
    memset(c, 0, sizeof *c);
}

const float *bc_vec_cache_get(const bc_vec_cache *c, const char *key) {
    for (int i = 0; i < c->cap; i++)
        if (c->keys[i] && strcmp(c->keys[i], key) == 0) return c->vecs[i];
    return NULL;
}

float *bc_vec_cache_begin(bc_vec_cache *c) {
    int i = c->next;
    free(c->keys[i]);
    c->keys[i] = NULL;
    if (!c->vecs[i]) c->vecs[i] = bc_malloc((size_t)c->dim * sizeof(float));
    return c->vecs[i];
}

void bc_vec_cache_commit(bc_vec_cache *c, const char *key) {
    c->keys[c->next] = bc_strdup(key);
    c->next = (c->next + 1) % c->cap;
}
