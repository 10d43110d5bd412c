// weights.c: the tensor container behind weights.h: a list of tensors, a
// hash index by name, prefix aliases, the files and mappings to release.
// Opening a path (which files to read) is in model_files.c; the formats are
// in safetensors.c and torch.c.
#include "weights.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[BC_DT_COUNT] = {
    [BC_DT_F64] = {"F64", 8}, [BC_DT_F32] = {"F32", 4}, [BC_DT_F16] = {"F16", 2}, [BC_DT_BF16] = {"BF16", 2},
    [BC_DT_I64] = {"I64", 8}, [BC_DT_I32] = {"I32", 4}, [BC_DT_I16] = {"I16", 2}, [BC_DT_I8] = {"I8", 1},
    [BC_DT_U8] = {"U8", 1},   [BC_DT_BOOL] = {"BOOL", 1},
};

const char *bc_dtype_name(bc_dtype dt) { return (unsigned)dt < BC_DT_COUNT ? dtypes[dt].name : "?"; }
size_t bc_dtype_size(bc_dtype dt) { return (unsigned)dt < BC_DT_COUNT ? dtypes[dt].size : 0; }

int bc_dtype_parse(const char *s) {
    for (int i = 0; i < BC_DT_COUNT; i++)
        if (strcmp(s, dtypes[i].name) == 0) return i;
    return -1;
}

typedef struct {
    char *path;
    void *map;
    size_t map_len;
} weight_file;

typedef struct {
    char *a, *b;
} prefix_alias;

struct bc_weights {
    char *path;
    bc_tensor *tensors;
    size_t n, cap;
    // open-addressing hash of tensor indices + 1 (0 = empty); size a power of 2
    uint32_t *slots;
    size_t nslots;
    weight_file *files;
    size_t nfiles;
    prefix_alias *aliases;
    size_t naliases;
    void **owned;
    size_t nowned;
};

bc_weights *bc_weights_new(const char *path) {
    bc_weights *w = bc_calloc(1, sizeof *w);
    w->path = bc_strdup(path);
    return w;
}

void bc_weights_close(bc_weights *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free(w->tensors[i].name);
    for (size_t i = 0; i < w->nfiles; i++) {
        if (w->files[i].map) munmap(w->files[i].map, w->files[i].map_len);
        free(w->files[i].path);
    }
    for (size_t i = 0; i < w->naliases; i++) {
        free(w->aliases[i].a);
        free(w->aliases[i].b);
    }
    for (size_t i = 0; i < w->nowned; i++) free(w->owned[i]);
    free(w->owned);
    free(w->aliases);
    free(w->files);
    free(w->slots);
    free(w->tensors);
    free(w->path);
    free(w);
}

size_t bc_weights_count(const bc_weights *w) { return w->n; }
const bc_tensor *bc_weights_at(const bc_weights *w, size_t i) { return i < w->n ? &w->tensors[i] : NULL; }
size_t bc_weights_file_count(const bc_weights *w) { return w->nfiles; }
const char *bc_weights_file(const bc_weights *w, size_t i) { return i < w->nfiles ? w->files[i].path : NULL; }
const char *bc_weights_path(const bc_weights *w) { return w->path; }

int bc_weights_add_file(bc_weights *w, const char *path, void *map, size_t map_len) {
    w->files = bc_realloc(w->files, (w->nfiles + 1) * sizeof *w->files);
    w->files[w->nfiles] = (weight_file){bc_strdup(path), map, map_len};
    return (int)w->nfiles++;
}

void bc_weights_own(bc_weights *w, void *block) {
    w->owned = bc_realloc(w->owned, (w->nowned + 1) * sizeof *w->owned);
    w->owned[w->nowned++] = block;
}

int bc_map_file(const char *path, void **map, size_t *len, bc_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bc_fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = bc_fail(err, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = bc_fail(err, "%s: not a regular file", path);
    } else if (st.st_size == 0) {
        rc = bc_fail(err, "%s: empty file", path);
    } else {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = bc_fail(err, "%s: mmap: %s", path, strerror(errno));
        } else {
            *map = p;
            *len = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

static uint64_t name_hash(const char *s, size_t len) { return bc_hash64(s, len, 0); }

// Index of the tensor named exactly s[0:len], or -1.
static long lookup(const bc_weights *w, const char *s, size_t len) {
    if (!w->nslots) return -1;
    size_t mask = w->nslots - 1;
    for (size_t h = name_hash(s, len) & mask;; h = (h + 1) & mask) {
        uint32_t v = w->slots[h];
        if (!v) return -1;
        const char *name = w->tensors[v - 1].name;
        if (strncmp(name, s, len) == 0 && name[len] == 0) return (long)v - 1;
    }
}

static void insert_slot(bc_weights *w, size_t idx) {
    size_t mask = w->nslots - 1;
    const char *name = w->tensors[idx].name;
    size_t h = name_hash(name, strlen(name)) & mask;
    while (w->slots[h]) h = (h + 1) & mask;
    w->slots[h] = (uint32_t)idx + 1;
}

int bc_weights_add(bc_weights *w, const char *name, bc_dtype dtype, int ndim, const int64_t *shape,
                   const void *data, int file, bc_err *err) {
    if (ndim < 0 || ndim > BC_MAX_DIMS)
        return bc_fail(err, "tensor '%s': %d dimensions (at most %d supported)", name, ndim, BC_MAX_DIMS);
    if ((unsigned)dtype >= BC_DT_COUNT) return bc_fail(err, "tensor '%s': unknown dtype", name);
    if (lookup(w, name, strlen(name)) >= 0) return bc_fail(err, "tensor '%s' appears twice", name);
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return bc_fail(err, "tensor '%s': negative dimension %lld", name, (long long)shape[d]);
        if (shape[d] && numel > SIZE_MAX / (size_t)shape[d])
            return bc_fail(err, "tensor '%s': shape overflows", name);
        numel *= (size_t)shape[d];
    }
    if (numel > SIZE_MAX / bc_dtype_size(dtype)) return bc_fail(err, "tensor '%s': shape overflows", name);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->tensors = bc_realloc(w->tensors, w->cap * sizeof *w->tensors);
    }
    bc_tensor *t = &w->tensors[w->n];
    memset(t, 0, sizeof *t);
    t->name = bc_strdup(name);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->numel = numel;
    t->nbytes = numel * bc_dtype_size(dtype);
    t->data = data;
    t->file = file;
    w->n++;
    // keep the load factor at most 1/2
    if (2 * w->n > w->nslots) {
        free(w->slots);
        w->nslots = w->nslots ? 2 * w->nslots : 128;
        while (2 * w->n > w->nslots) w->nslots *= 2;
        w->slots = bc_calloc(w->nslots, sizeof *w->slots);
        for (size_t i = 0; i < w->n; i++) insert_slot(w, i);
    } else {
        insert_slot(w, w->n - 1);
    }
    return 0;
}

void bc_weights_alias(bc_weights *w, const char *prefix_a, const char *prefix_b) {
    w->aliases = bc_realloc(w->aliases, (w->naliases + 1) * sizeof *w->aliases);
    w->aliases[w->naliases++] = (prefix_alias){bc_strdup(prefix_a), bc_strdup(prefix_b)};
}

// Looks up `name` with prefix `from` replaced by `to`, if name has that prefix.
static long lookup_swapped(const bc_weights *w, const char *name, const char *from, const char *to) {
    size_t nf = strlen(from);
    if (strncmp(name, from, nf) != 0) return -1;
    char *other = bc_asprintf("%s%s", to, name + nf);
    long i = lookup(w, other, strlen(other));
    free(other);
    return i;
}

const bc_tensor *bc_weights_find(const bc_weights *w, const char *name) {
    long i = lookup(w, name, strlen(name));
    for (size_t a = 0; i < 0 && a < w->naliases; a++) {
        i = lookup_swapped(w, name, w->aliases[a].a, w->aliases[a].b);
        if (i < 0) i = lookup_swapped(w, name, w->aliases[a].b, w->aliases[a].a);
    }
    return i < 0 ? NULL : &w->tensors[i];
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (o < size) snprintf(buf + o, size - o, "]");
}

const bc_tensor *bc_weights_need(const bc_weights *w, const char *name, int ndim, const int64_t *shape,
                                 bc_err *err) {
    const bc_tensor *t = bc_weights_find(w, name);
    if (!t) {
        bc_fail(err, "tensor '%s' not found in %s", name, w->path);
        return NULL;
    }
    if (!shape) return t;
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = shape[d] < 0 || shape[d] == t->shape[d];
    if (!ok) {
        char want[128], got[128];
        format_shape(want, sizeof want, ndim, shape);
        format_shape(got, sizeof got, t->ndim, t->shape);
        bc_fail(err, "tensor '%s' in %s: expected shape %s, got %s", t->name, w->path, want, got);
        return NULL;
    }
    return t;
}

float bc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            exp = 127 - 15 + 1;
            while (!(man & 1024)) {
                man <<= 1;
                exp--;
            }
            bits = sign | exp << 23 | (man & 1023) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float bc_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int bc_tensor_to_f32(const bc_tensor *t, float *out, bc_err *err) {
    const uint8_t *p = t->data;
    for (size_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case BC_DT_F32: memcpy(&out[i], p + 4 * i, 4); break;
        case BC_DT_F64: {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
            break;
        }
        case BC_DT_F16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = bc_f16_to_f32(h);
            break;
        }
        case BC_DT_BF16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, 4);
            break;
        }
        default: return bc_fail(err, "tensor '%s': dtype %s is not floating point", t->name, bc_dtype_name(t->dtype));
        }
    }
    return 0;
}
