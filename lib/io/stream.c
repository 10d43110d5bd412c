// stream.c: msgpack record streams. See stream.h.
//
// Reading is done in two steps. First a small scanner walks the buffered
// bytes to find where the next top-level object ends, without allocating
// anything; only when a whole record is in the buffer is it copied into a
// fresh zone and decoded there with msgpack-c. The scanner is what makes
// hostile input safe: msgpack-c allocates `n` slots as soon as it reads an
// array header claiming n items, so five bytes could ask for gigabytes. Once
// the scanner has seen every item of a record, every count in it is bounded
// by the record's size. It also tells a clean end (no bytes left between
// records) from a truncated record.
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

// ---- records ---------------------------------------------------------------

enum { ZONE_CHUNK = 8192 };

void bc_record_init(bc_record *rec) {
    memset(rec, 0, sizeof *rec);
    rec->zone = msgpack_zone_new(ZONE_CHUNK);
    if (!rec->zone) bc_die(BC_EXIT_FATAL, "out of memory");
}

void bc_record_free(bc_record *rec) {
    if (rec->zone) msgpack_zone_free(rec->zone);
    free(rec->keys);
    free(rec->vals);
    memset(rec, 0, sizeof *rec);
}

static void *zalloc(bc_record *rec, size_t n) {
    void *p = msgpack_zone_malloc(rec->zone, n ? n : 1);
    if (!p) bc_die(BC_EXIT_FATAL, "out of memory (asked for %zu bytes)", n);
    return p;
}

static void grow(bc_record *rec, size_t want) {
    if (want <= rec->cap) return;
    size_t cap = rec->cap ? rec->cap : 8;
    while (cap < want) cap *= 2;
    rec->keys = bc_realloc(rec->keys, cap * sizeof *rec->keys);
    rec->vals = bc_realloc(rec->vals, cap * sizeof *rec->vals);
    rec->cap = cap;
}

// Fills rec's key/value slots from a map whose objects already live in rec's zone.
static int adopt_map(bc_record *rec, const msgpack_object *obj, bc_err *err) {
    if (obj->type != MSGPACK_OBJECT_MAP)
        return bc_fail(err, "expected a map (a record), got %s", bc_type_name(obj));
    const msgpack_object_map *m = &obj->via.map;
    grow(rec, m->size);
    rec->n = 0;
    for (uint32_t i = 0; i < m->size; i++) {
        if (m->ptr[i].key.type != MSGPACK_OBJECT_STR)
            return bc_fail(err, "key %u of the record is %s, expected str", i, bc_type_name(&m->ptr[i].key));
        rec->keys[rec->n] = m->ptr[i].key;
        rec->vals[rec->n] = m->ptr[i].val;
        rec->n++;
    }
    return 0;
}

int bc_record_from_object(bc_record *rec, const msgpack_object *obj, bc_err *err) {
    bc_record_init(rec);
    msgpack_object copy = bc_obj_copy(rec, obj);
    return adopt_map(rec, &copy, err);
}

void bc_record_clone(bc_record *dst, const bc_record *src) {
    bc_record_init(dst);
    dst->index = src->index;
    grow(dst, src->n);
    for (size_t i = 0; i < src->n; i++) {
        dst->keys[i] = bc_obj_copy(dst, &src->keys[i]);
        dst->vals[i] = bc_obj_copy(dst, &src->vals[i]);
    }
    dst->n = src->n;
}

static long find_key(const bc_record *rec, const char *key) {
    size_t len = strlen(key);
    for (size_t i = 0; i < rec->n; i++) {
        const msgpack_object_str *k = &rec->keys[i].via.str;
        if (k->size == len && (len == 0 || memcmp(k->ptr, key, len) == 0)) return (long)i;
    }
    return -1;
}

const msgpack_object *bc_record_get(const bc_record *rec, const char *key) {
    long i = find_key(rec, key);
    return i < 0 ? NULL : &rec->vals[i];
}

void bc_record_set(bc_record *rec, const char *key, msgpack_object val) {
    long i = find_key(rec, key);
    if (i >= 0) {
        rec->vals[i] = val;
        return;
    }
    grow(rec, rec->n + 1);
    rec->keys[rec->n] = bc_obj_cstr(rec, key);
    rec->vals[rec->n] = val;
    rec->n++;
}

int bc_record_del(bc_record *rec, const char *key) {
    long i = find_key(rec, key);
    if (i < 0) return 0;
    memmove(&rec->keys[i], &rec->keys[i + 1], (rec->n - (size_t)i - 1) * sizeof *rec->keys);
    memmove(&rec->vals[i], &rec->vals[i + 1], (rec->n - (size_t)i - 1) * sizeof *rec->vals);
    rec->n--;
    return 1;
}

const char *bc_record_id(const bc_record *rec, char *buf, size_t bufsize) {
    const msgpack_object *id = bc_record_get(rec, "id");
    buf[0] = 0;
    if (!id) return buf;
    if (id->type == MSGPACK_OBJECT_STR) {
        size_t n = id->via.str.size < bufsize - 1 ? id->via.str.size : bufsize - 1;
        if (n) memcpy(buf, id->via.str.ptr, n);
        buf[n] = 0;
    } else if (id->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf(buf, bufsize, "%llu", (unsigned long long)id->via.u64);
    } else if (id->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        snprintf(buf, bufsize, "%lld", (long long)id->via.i64);
    }
    return buf;
}

msgpack_object bc_obj_nil(void) { return (msgpack_object){.type = MSGPACK_OBJECT_NIL}; }

msgpack_object bc_obj_bool(int b) {
    return (msgpack_object){.type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = b != 0};
}

msgpack_object bc_obj_int(int64_t v) {
    if (v >= 0) return (msgpack_object){.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = (uint64_t)v};
    return (msgpack_object){.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = v};
}

msgpack_object bc_obj_float(double v) { return (msgpack_object){.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = v}; }
msgpack_object bc_obj_float32(float v) { return (msgpack_object){.type = MSGPACK_OBJECT_FLOAT32, .via.f64 = v}; }

msgpack_object bc_obj_str(bc_record *rec, const char *s, size_t len) {
    char *p = zalloc(rec, len);
    if (len) memcpy(p, s, len);
    return (msgpack_object){.type = MSGPACK_OBJECT_STR, .via.str = {(uint32_t)len, p}};
}

msgpack_object bc_obj_cstr(bc_record *rec, const char *s) { return bc_obj_str(rec, s, strlen(s)); }

msgpack_object bc_obj_bin(bc_record *rec, const void *data, size_t len) {
    char *p = zalloc(rec, len);
    if (len) memcpy(p, data, len);
    return (msgpack_object){.type = MSGPACK_OBJECT_BIN, .via.bin = {(uint32_t)len, p}};
}

msgpack_object bc_obj_array(bc_record *rec, size_t n) {
    msgpack_object *items = zalloc(rec, n * sizeof *items);
    for (size_t i = 0; i < n; i++) items[i] = bc_obj_nil();
    return (msgpack_object){.type = MSGPACK_OBJECT_ARRAY, .via.array = {(uint32_t)n, items}};
}

msgpack_object bc_obj_map(bc_record *rec, size_t n) {
    msgpack_object_kv *kv = zalloc(rec, n * sizeof *kv);
    for (size_t i = 0; i < n; i++) kv[i].key = kv[i].val = bc_obj_nil();
    return (msgpack_object){.type = MSGPACK_OBJECT_MAP, .via.map = {(uint32_t)n, kv}};
}

msgpack_object bc_obj_int_array(bc_record *rec, const int32_t *v, size_t n) {
    msgpack_object a = bc_obj_array(rec, n);
    for (size_t i = 0; i < n; i++) a.via.array.ptr[i] = bc_obj_int(v[i]);
    return a;
}

msgpack_object bc_obj_float_array(bc_record *rec, const float *v, size_t n) {
    msgpack_object a = bc_obj_array(rec, n);
    for (size_t i = 0; i < n; i++) a.via.array.ptr[i] = bc_obj_float32(v[i]);
    return a;
}

msgpack_object bc_obj_copy(bc_record *rec, const msgpack_object *obj) {
    switch (obj->type) {
    case MSGPACK_OBJECT_STR: return bc_obj_str(rec, obj->via.str.ptr, obj->via.str.size);
    case MSGPACK_OBJECT_BIN: return bc_obj_bin(rec, obj->via.bin.ptr, obj->via.bin.size);
    case MSGPACK_OBJECT_EXT: {
        msgpack_object o = *obj;
        char *p = zalloc(rec, obj->via.ext.size);
        if (obj->via.ext.size) memcpy(p, obj->via.ext.ptr, obj->via.ext.size);
        o.via.ext.ptr = p;
        return o;
    }
    case MSGPACK_OBJECT_ARRAY: {
        msgpack_object a = bc_obj_array(rec, obj->via.array.size);
        for (uint32_t i = 0; i < obj->via.array.size; i++)
            a.via.array.ptr[i] = bc_obj_copy(rec, &obj->via.array.ptr[i]);
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        msgpack_object m = bc_obj_map(rec, obj->via.map.size);
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            m.via.map.ptr[i].key = bc_obj_copy(rec, &obj->via.map.ptr[i].key);
            m.via.map.ptr[i].val = bc_obj_copy(rec, &obj->via.map.ptr[i].val);
        }
        return m;
    }
    default: return *obj;
    }
}

int bc_obj_is_str(const msgpack_object *obj, const char *s) {
    size_t n = strlen(s);
    return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == n && (n == 0 || memcmp(obj->via.str.ptr, s, n) == 0);
}

void bc_record_set_reward(bc_record *rec, const char *name, double value) {
    const msgpack_object *old = bc_record_get(rec, "rewards");
    size_t n = old && old->type == MSGPACK_OBJECT_MAP ? old->via.map.size : 0;
    for (size_t i = 0; i < n; i++) {
        if (bc_obj_is_str(&old->via.map.ptr[i].key, name)) {
            old->via.map.ptr[i].val = bc_obj_float(value);  // the map lives in our zone: edit in place
            return;
        }
    }
    msgpack_object m = bc_obj_map(rec, n + 1);
    for (size_t i = 0; i < n; i++) m.via.map.ptr[i] = old->via.map.ptr[i];
    m.via.map.ptr[n].key = bc_obj_cstr(rec, name);
    m.via.map.ptr[n].val = bc_obj_float(value);
    bc_record_set(rec, "rewards", m);
}

void bc_record_add_error(bc_record *rec, const char *tool, const char *message) {
    const msgpack_object *old = bc_record_get(rec, "errors");
    size_t n = old && old->type == MSGPACK_OBJECT_ARRAY ? old->via.array.size : 0;
    msgpack_object a = bc_obj_array(rec, n + 1);
    for (size_t i = 0; i < n; i++) a.via.array.ptr[i] = old->via.array.ptr[i];
    msgpack_object e = bc_obj_map(rec, 2);
    e.via.map.ptr[0].key = bc_obj_cstr(rec, "tool");
    e.via.map.ptr[0].val = bc_obj_cstr(rec, tool);
    e.via.map.ptr[1].key = bc_obj_cstr(rec, "message");
    e.via.map.ptr[1].val = bc_obj_cstr(rec, message);
    a.via.array.ptr[n] = e;
    bc_record_set(rec, "errors", a);
}

const char *bc_type_name(const msgpack_object *obj) {
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_EXT: return "ext";
    }
    return "?";
}

// ---- typed getters ---------------------------------------------------------

// The value of key with the given type, or an error saying what was expected.
static const msgpack_object *get_typed(const bc_record *rec, const char *key, msgpack_object_type type,
                                       const char *expected, bc_err *err) {
    const msgpack_object *v = bc_record_get(rec, key);
    if (!v) {
        bc_fail(err, "missing key '%s'", key);
        return NULL;
    }
    if (v->type != type) {
        bc_fail(err, "key '%s': expected %s, got %s", key, expected, bc_type_name(v));
        return NULL;
    }
    return v;
}

int bc_get_str(const bc_record *rec, const char *key, const char **s, size_t *len, bc_err *err) {
    const msgpack_object *v = get_typed(rec, key, MSGPACK_OBJECT_STR, "str", err);
    if (!v) return -1;
    *s = v->via.str.ptr;
    if (len) *len = v->via.str.size;
    return 0;
}

int bc_get_strdup(const bc_record *rec, const char *key, char **s, bc_err *err) {
    const char *p;
    size_t n;
    if (bc_get_str(rec, key, &p, &n, err) < 0) return -1;
    *s = bc_strndup(p, n);
    return 0;
}

int bc_get_bin(const bc_record *rec, const char *key, const uint8_t **data, size_t *len, bc_err *err) {
    const msgpack_object *v = get_typed(rec, key, MSGPACK_OBJECT_BIN, "bin", err);
    if (!v) return -1;
    *data = (const uint8_t *)v->via.bin.ptr;
    *len = v->via.bin.size;
    return 0;
}

int bc_get_int(const bc_record *rec, const char *key, int64_t *out, bc_err *err) {
    const msgpack_object *v = bc_record_get(rec, key);
    if (!v) return bc_fail(err, "missing key '%s'", key);
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
        *out = (int64_t)v->via.u64;
        return 0;
    }
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
        return 0;
    }
    return bc_fail(err, "key '%s': expected int, got %s", key, bc_type_name(v));
}

static int number_value(const msgpack_object *v, double *out) {
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)v->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)v->via.i64; return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = v->via.f64; return 0;
    default: return -1;
    }
}

int bc_get_float(const bc_record *rec, const char *key, double *out, bc_err *err) {
    const msgpack_object *v = bc_record_get(rec, key);
    if (!v) return bc_fail(err, "missing key '%s'", key);
    if (number_value(v, out) < 0) return bc_fail(err, "key '%s': expected a number, got %s", key, bc_type_name(v));
    return 0;
}

int bc_get_int_array(const bc_record *rec, const char *key, int32_t **out, size_t *n, bc_err *err) {
    const msgpack_object *v = get_typed(rec, key, MSGPACK_OBJECT_ARRAY, "array of int", err);
    if (!v) return -1;
    size_t len = v->via.array.size;
    int32_t *a = bc_malloc(len * sizeof *a);
    for (size_t i = 0; i < len; i++) {
        const msgpack_object *it = &v->via.array.ptr[i];
        int ok = (it->type == MSGPACK_OBJECT_POSITIVE_INTEGER && it->via.u64 <= INT32_MAX) ||
                 (it->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && it->via.i64 >= INT32_MIN);
        if (!ok) {
            free(a);
            if (it->type == MSGPACK_OBJECT_POSITIVE_INTEGER || it->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return bc_fail(err, "key '%s': item %zu does not fit in 32 bits", key, i);
            return bc_fail(err, "key '%s': item %zu: expected int, got %s", key, i, bc_type_name(it));
        }
        a[i] = it->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int32_t)it->via.u64 : (int32_t)it->via.i64;
    }
    *out = a;
    *n = len;
    return 0;
}

int bc_get_float_array(const bc_record *rec, const char *key, float **out, size_t *n, bc_err *err) {
    const msgpack_object *v = get_typed(rec, key, MSGPACK_OBJECT_ARRAY, "array of numbers", err);
    if (!v) return -1;
    size_t len = v->via.array.size;
    float *a = bc_malloc(len * sizeof *a);
    for (size_t i = 0; i < len; i++) {
        double d;
        if (number_value(&v->via.array.ptr[i], &d) < 0) {
            free(a);
            return bc_fail(err, "key '%s': item %zu: expected a number, got %s", key, i,
                           bc_type_name(&v->via.array.ptr[i]));
        }
        a[i] = (float)d;
    }
    *out = a;
    *n = len;
    return 0;
}

void bc_record_error_line(const bc_record *rec, const char *msg, char *out, size_t outsize) {
    char id[256];
    bc_record_id(rec, id, sizeof id);
    if (id[0])
        snprintf(out, outsize, "%s: record %zu (id \"%s\"): %s", bc_progname, rec->index, id, msg);
    else
        snprintf(out, outsize, "%s: record %zu: %s", bc_progname, rec->index, msg);
}

// ---- reading ---------------------------------------------------------------

static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

struct bc_reader {
    FILE *f;                     // NULL when reading from memory
    const uint8_t *mem;          // memory input (raw bytes)
    size_t mem_len, mem_pos;
    char *name;
    int mode;                    // 0 undecided, 1 plain, 2 zstd
    int eof;                     // no more raw input
    ZSTD_DStream *zd;
    size_t zstd_last;            // last ZSTD_decompressStream result (0 = at a frame boundary)
    uint8_t *raw;                // raw input chunk (zstd mode)
    size_t raw_len, raw_pos;
    uint8_t *buf;                // decoded msgpack bytes: [start, end) are unconsumed
    size_t start, end, cap;
    size_t count;                // records returned
    uint64_t offset;             // stream offset of buf[start]
};

enum { CHUNK = 1 << 16 };

static bc_reader *reader_alloc(const char *name) {
    bc_reader *r = bc_calloc(1, sizeof *r);
    r->name = bc_strdup(name ? name : "input");
    r->cap = CHUNK;
    r->buf = bc_malloc(r->cap);
    return r;
}

bc_reader *bc_reader_new(FILE *f, const char *name) {
    bc_reader *r = reader_alloc(name);
    r->f = f;
    return r;
}

bc_reader *bc_reader_new_mem(const void *data, size_t len, const char *name) {
    bc_reader *r = reader_alloc(name);
    r->mem = data;
    r->mem_len = len;
    return r;
}

void bc_reader_free(bc_reader *r) {
    if (!r) return;
    if (r->zd) ZSTD_freeDStream(r->zd);
    free(r->raw);
    free(r->buf);
    free(r->name);
    free(r);
}

size_t bc_reader_count(const bc_reader *r) { return r->count; }

// Reads up to n raw input bytes into dst; 0 at the end; -1 on a read error.
static long read_raw(bc_reader *r, uint8_t *dst, size_t n, bc_err *err) {
    if (!r->f) {
        size_t k = r->mem_len - r->mem_pos < n ? r->mem_len - r->mem_pos : n;
        if (k) memcpy(dst, r->mem + r->mem_pos, k);
        r->mem_pos += k;
        return (long)k;
    }
    size_t k = fread(dst, 1, n, r->f);
    if (k == 0 && ferror(r->f)) return bc_fail(err, "%s: read error: %s", r->name, strerror(errno));
    return (long)k;
}

// Makes room for at least n more bytes at buf[end].
static void reserve(bc_reader *r, size_t n) {
    if (r->start > 0 && r->start == r->end) r->start = r->end = 0;
    if (r->end + n <= r->cap) return;
    if (r->start > 0) {  // slide the unconsumed bytes down first
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    while (r->end + n > r->cap) r->cap *= 2;
    r->buf = bc_realloc(r->buf, r->cap);
}

// Appends more decoded bytes to the buffer. 1: got some; 0: end of input; -1: error.
static int fill(bc_reader *r, bc_err *err) {
    if (r->mode == 0) {
        // Decide plain vs zstd from the first bytes.
        uint8_t head[8];  // 4 used; room to spare keeps gcc's bounds check quiet
        size_t got = 0;
        while (got < 4) {
            long k = read_raw(r, head + got, 4 - got, err);
            if (k < 0) return -1;
            if (k == 0) break;
            got += (size_t)k;
        }
        if (got == 4 && memcmp(head, zstd_magic, 4) == 0) {
            r->mode = 2;
            r->zd = ZSTD_createDStream();
            if (!r->zd) return bc_fail(err, "%s: cannot create a zstd decoder", r->name);
            ZSTD_initDStream(r->zd);
            r->raw = bc_malloc(ZSTD_DStreamInSize());
            memcpy(r->raw, head, 4);
            r->raw_len = 4;
            r->raw_pos = 0;
        } else {
            r->mode = 1;
            reserve(r, got);
            memcpy(r->buf + r->end, head, got);
            r->end += got;
            if (got < 4) r->eof = 1;
            return got > 0 ? 1 : 0;
        }
    }
    if (r->mode == 1) {
        if (r->eof) return 0;
        reserve(r, CHUNK);
        long k = read_raw(r, r->buf + r->end, CHUNK, err);
        if (k < 0) return -1;
        if (k == 0) {
            r->eof = 1;
            return 0;
        }
        r->end += (size_t)k;
        return 1;
    }
    // zstd: decode until some output appears or the input ends.
    for (;;) {
        if (r->raw_pos == r->raw_len && !r->eof) {
            long k = read_raw(r, r->raw, ZSTD_DStreamInSize(), err);
            if (k < 0) return -1;
            r->raw_len = (size_t)k;
            r->raw_pos = 0;
            if (k == 0) r->eof = 1;
        }
        if (r->raw_pos == r->raw_len && r->eof) {
            if (r->zstd_last != 0) return bc_fail(err, "%s: truncated zstd frame", r->name);
            return 0;
        }
        size_t out_size = ZSTD_DStreamOutSize();
        reserve(r, out_size);
        ZSTD_inBuffer in = {r->raw, r->raw_len, r->raw_pos};
        ZSTD_outBuffer out = {r->buf + r->end, out_size, 0};
        size_t ret = ZSTD_decompressStream(r->zd, &out, &in);
        if (ZSTD_isError(ret)) return bc_fail(err, "%s: zstd: %s", r->name, ZSTD_getErrorName(ret));
        r->zstd_last = ret;
        r->raw_pos = in.pos;
        r->end += out.pos;
        if (out.pos > 0) return 1;
    }
}

// Big-endian reads of n bytes at p.
static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

// Finds the size of the complete msgpack object at p[0:len].
// >0: its size; 0: more bytes needed; -1: invalid (the byte 0xc1).
static long long scan_object(const uint8_t *p, size_t len) {
    size_t pos = 0;
    uint64_t pending = 1;  // objects still to read: an array of n adds n, a map 2n
    while (pending) {
        if (pos >= len) return 0;
        uint8_t b = p[pos++];
        uint64_t items = 0, skip = 0;
        int hdr = 0;  // bytes of length field after the type byte
        if (b <= 0x7f || b >= 0xe0) {
            // fixint
        } else if (b <= 0x8f) {
            items = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            items = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc0: case 0xc2: case 0xc3: break;                // nil, false, true
            case 0xc1: return -1;                                   // never used
            case 0xc4: case 0xd9: hdr = 1; break;                   // bin8, str8
            case 0xc5: case 0xda: hdr = 2; break;                   // bin16, str16
            case 0xc6: case 0xdb: hdr = 4; break;                   // bin32, str32
            case 0xc7: hdr = 1; skip = 1; break;                    // ext8 (+type byte)
            case 0xc8: hdr = 2; skip = 1; break;                    // ext16
            case 0xc9: hdr = 4; skip = 1; break;                    // ext32
            case 0xca: skip = 4; break;                             // float32
            case 0xcb: skip = 8; break;                             // float64
            case 0xcc: case 0xd0: skip = 1; break;                  // uint8, int8
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;                             // fixext 1 (+type)
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xdd: case 0xde: case 0xdf: {           // array16/32, map16/32
                int n = (b == 0xdc || b == 0xde) ? 2 : 4;
                if (len - pos < (size_t)n) return 0;
                items = be(p + pos, n) * (b >= 0xde ? 2 : 1);
                pos += (size_t)n;
                break;
            }
            }
        }
        if (hdr) {
            if (len - pos < (size_t)hdr) return 0;
            skip += be(p + pos, hdr);
            pos += (size_t)hdr;
        }
        if (skip > len - pos) return 0;
        pos += skip;
        pending = pending - 1 + items;
        // every pending object takes at least one byte: far more than any
        // buffer can hold means the stream is garbage, not a big record
        if (pending > ((uint64_t)1 << 40)) return -1;
    }
    return (long long)pos;
}

int bc_reader_next(bc_reader *r, bc_record *rec, bc_err *err) {
    memset(rec, 0, sizeof *rec);
    long long size;
    for (;;) {
        size = r->end > r->start ? scan_object(r->buf + r->start, r->end - r->start) : 0;
        if (size != 0) break;
        int got = fill(r, err);
        if (got < 0) return -1;
        if (got == 0) {
            if (r->end == r->start) return 0;  // clean end between records
            return bc_fail(err, "%s: truncated record at byte %llu (after %zu complete records)", r->name,
                           (unsigned long long)r->offset, r->count);
        }
    }
    if (size < 0)
        return bc_fail(err, "%s: invalid msgpack at byte %llu (after %zu complete records)", r->name,
                       (unsigned long long)r->offset, r->count);
    // Decode a copy that lives in the record's zone (msgpack-c points strings into it).
    bc_record_init(rec);
    rec->index = r->count;
    char *copy = zalloc(rec, (size_t)size);
    memcpy(copy, r->buf + r->start, (size_t)size);
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack(copy, (size_t)size, &off, rec->zone, &obj);
    if (ret != MSGPACK_UNPACK_SUCCESS && ret != MSGPACK_UNPACK_EXTRA_BYTES) {
        bc_record_free(rec);
        return bc_fail(err, "%s: invalid msgpack at byte %llu (record %zu)", r->name, (unsigned long long)r->offset,
                       r->count);
    }
    if (adopt_map(rec, &obj, err) < 0) {
        bc_err_prefix(err, "%s: record %zu (byte %llu)", r->name, r->count, (unsigned long long)r->offset);
        bc_record_free(rec);
        return -1;
    }
    r->start += (size_t)size;
    r->offset += (uint64_t)size;
    r->count++;
    return 1;
}

// ---- writing ---------------------------------------------------------------

struct bc_writer {
    FILE *f;                 // NULL: memory writer
    int zstd_level;
    ZSTD_CStream *zc;
    msgpack_packer pk;
    uint8_t *buf;            // packed bytes waiting to be written
    size_t len, cap;
    uint8_t *zbuf;           // compressed output chunk
    size_t zcap;
    uint8_t *mem;            // memory writer's output
    size_t mem_len, mem_cap;
    int epipe, failed;
    char errmsg[256];
};

static int pack_write(void *data, const char *buf, size_t len) {
    bc_writer *w = data;
    if (w->len + len > w->cap) {
        while (w->len + len > w->cap) w->cap *= 2;
        w->buf = bc_realloc(w->buf, w->cap);
    }
    if (len) memcpy(w->buf + w->len, buf, len);  // msgpack-c passes NULL for empty strings
    w->len += len;
    return 0;
}

static bc_writer *writer_alloc(FILE *f, int zstd_level) {
    bc_writer *w = bc_calloc(1, sizeof *w);
    w->f = f;
    w->cap = CHUNK;
    w->buf = bc_malloc(w->cap);
    msgpack_packer_init(&w->pk, w, pack_write);
    if (zstd_level > 0) {
        w->zstd_level = zstd_level;
        w->zc = ZSTD_createCStream();
        if (!w->zc) bc_die(BC_EXIT_FATAL, "cannot create a zstd encoder");
        ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, zstd_level);
        w->zcap = ZSTD_CStreamOutSize();
        w->zbuf = bc_malloc(w->zcap);
    }
    return w;
}

bc_writer *bc_writer_new(FILE *f, int zstd_level) { return writer_alloc(f, zstd_level); }
bc_writer *bc_writer_new_mem(int zstd_level) { return writer_alloc(NULL, zstd_level); }


int bc_writer_epipe(const bc_writer *w) { return w->epipe; }

// Sends bytes to the destination (FILE or memory).
static int sink(bc_writer *w, const uint8_t *p, size_t n, bc_err *err) {
    if (!w->f) {
        if (w->mem_len + n > w->mem_cap) {
            w->mem_cap = w->mem_cap ? w->mem_cap : CHUNK;
            while (w->mem_len + n > w->mem_cap) w->mem_cap *= 2;
            w->mem = bc_realloc(w->mem, w->mem_cap);
        }
        if (n) memcpy(w->mem + w->mem_len, p, n);
        w->mem_len += n;
        return 0;
    }
    if (n && fwrite(p, 1, n, w->f) != n) {
        if (errno == EPIPE) w->epipe = 1;
        w->failed = 1;
        return bc_fail(err, "write error: %s", strerror(errno));
    }
    return 0;
}

// Pushes buffered packed bytes through the compressor (if any) to the sink.
// end: finish the zstd frame.
static int drain(bc_writer *w, int end, bc_err *err) {
    if (w->failed) return bc_fail(err, "write error (earlier)");
    if (!w->zc) {
        int rc = sink(w, w->buf, w->len, err);
        w->len = 0;
        return rc;
    }
    ZSTD_inBuffer in = {w->buf, w->len, 0};
    for (;;) {
        ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
        size_t left = ZSTD_compressStream2(w->zc, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left)) return bc_fail(err, "zstd: %s", ZSTD_getErrorName(left));
        if (sink(w, w->zbuf, out.pos, err) < 0) return -1;
        if (end ? left == 0 : in.pos == in.size) break;
    }
    w->len = 0;
    return 0;
}

int bc_writer_put_object(bc_writer *w, const msgpack_object *obj, bc_err *err) {
    if (w->failed) return bc_fail(err, "write error (earlier)");
    msgpack_pack_object(&w->pk, *obj);
    return w->len >= CHUNK ? drain(w, 0, err) : 0;
}

int bc_writer_put(bc_writer *w, const bc_record *rec, bc_err *err) {
    if (w->failed) return bc_fail(err, "write error (earlier)");
    msgpack_pack_map(&w->pk, rec->n);
    for (size_t i = 0; i < rec->n; i++) {
        msgpack_pack_object(&w->pk, rec->keys[i]);
        msgpack_pack_object(&w->pk, rec->vals[i]);
    }
    return w->len >= CHUNK ? drain(w, 0, err) : 0;
}

int bc_writer_flush(bc_writer *w, bc_err *err) {
    if (w->zc) {
        // A zstd flush makes everything so far decodable downstream.
        ZSTD_inBuffer in = {w->buf, w->len, 0};
        for (;;) {
            ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
            size_t left = ZSTD_compressStream2(w->zc, &out, &in, ZSTD_e_flush);
            if (ZSTD_isError(left)) return bc_fail(err, "zstd: %s", ZSTD_getErrorName(left));
            if (sink(w, w->zbuf, out.pos, err) < 0) return -1;
            if (left == 0 && in.pos == in.size) break;
        }
        w->len = 0;
    } else if (drain(w, 0, err) < 0) {
        return -1;
    }
    if (w->f && fflush(w->f) != 0) {
        if (errno == EPIPE) w->epipe = 1;
        w->failed = 1;
        return bc_fail(err, "write error: %s", strerror(errno));
    }
    return 0;
}

static void writer_free(bc_writer *w) {
    if (w->zc) ZSTD_freeCStream(w->zc);
    free(w->zbuf);
    free(w->buf);
    free(w->mem);
    free(w);
}

int bc_writer_close(bc_writer *w, bc_err *err) {
    int rc = 0;
    if (!w->failed) {
        rc = drain(w, 1, err);
        if (rc == 0 && w->f && fflush(w->f) != 0) {
            if (errno == EPIPE) w->epipe = 1;
            rc = bc_fail(err, "write error: %s", strerror(errno));
        }
    } else {
        rc = bc_fail(err, "write error");
    }
    if (rc < 0 && w->epipe) rc = -2;
    writer_free(w);
    return rc;
}

uint8_t *bc_writer_take_mem(bc_writer *w, size_t *len) {
    drain(w, 1, NULL);
    uint8_t *mem = w->mem ? w->mem : bc_malloc(1);
    *len = w->mem_len;
    w->mem = NULL;
    writer_free(w);
    return mem;
}
