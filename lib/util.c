#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *bc_progname = "bicot";

void bc_set_progname(const char *argv0) {
    const char *slash = strrchr(argv0, '/');
    bc_progname = slash ? slash + 1 : argv0;
}

int bc_fail(bc_err *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void bc_err_prefix(bc_err *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    // Build "prefix: old" in place, keeping the end of the old message
    // when the two don't fit together.
    size_t np = strlen(prefix), no = strlen(err->msg), cap = sizeof err->msg - 1;
    if (np + 2 > cap) np = cap - 2;
    if (np + 2 + no > cap) no = cap - np - 2;
    memmove(err->msg + np + 2, err->msg, no);
    memcpy(err->msg, prefix, np);
    memcpy(err->msg + np, ": ", 2);
    err->msg[np + 2 + no] = 0;
}

void bc_die(int code, const char *fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "%s: ", bc_progname);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

void bc_warn(const char *fmt, ...) {
    fprintf(stderr, "%s: ", bc_progname);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *bc_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) bc_die(BC_EXIT_FATAL, "out of memory (asked for %zu bytes)", n);
    return p;
}

void *bc_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) bc_die(BC_EXIT_FATAL, "out of memory (asked for %zu x %zu bytes)", n, size);
    return p;
}

void *bc_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) bc_die(BC_EXIT_FATAL, "out of memory (asked for %zu bytes)", n);
    return q;
}

char *bc_strdup(const char *s) { return bc_strndup(s, strlen(s)); }

char *bc_strndup(const char *s, size_t n) {
    char *d = bc_malloc(n + 1);
    if (n) memcpy(d, s, n);  // s may be NULL when n is 0 (empty msgpack strings)
    d[n] = 0;
    return d;
}

char *bc_asprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = bc_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int bc_read_file(const char *path, uint8_t **data, size_t *len, bc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return bc_fail(err, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = bc_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = bc_realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return bc_fail(err, "%s: read error: %s", path, strerror(e));
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

int bc_write_file_atomic(const char *path, const void *data, size_t len, bc_err *err) {
    char *tmp = bc_asprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        bc_fail(err, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            bc_fail(err, "%s: write: %s", tmp, strerror(errno));
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        bc_fail(err, "%s: fsync: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        bc_fail(err, "%s: close: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        bc_fail(err, "rename %s -> %s: %s", tmp, path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return 0;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

int bc_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *bc_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    if (n && dir[n - 1] == '/') return bc_asprintf("%s%s", dir, name);
    return bc_asprintf("%s/%s", dir, name);
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t bc_hash64(const void *data, size_t len, uint64_t seed) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return splitmix64(&h);
}

void bc_rng_seed(bc_rng *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bc_rng_next(bc_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bc_rng_uniform(bc_rng *rng) { return (double)(bc_rng_next(rng) >> 11) * 0x1.0p-53; }

int bc_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

double bc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bc_buf_put(bc_buf *b, const void *data, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) cap *= 2;
        b->data = bc_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
}

void bc_buf_putc(bc_buf *b, char c) { bc_buf_put(b, &c, 1); }
void bc_buf_puts(bc_buf *b, const char *s) { bc_buf_put(b, s, strlen(s)); }

void bc_buf_printf(bc_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    bc_buf_put(b, NULL, 0);  // make sure data exists
    if (b->len + (size_t)n + 1 > b->cap) {
        bc_buf_put(b, "", 0);
        size_t cap = b->cap;
        while (b->len + (size_t)n + 1 > cap) cap *= 2;
        b->data = bc_realloc(b->data, cap);
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void bc_buf_free(bc_buf *b) {
    free(b->data);
    *b = (bc_buf){0};
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *bc_base64_encode(const uint8_t *data, size_t len, size_t *out_len) {
    size_t n = 4 * ((len + 2) / 3);
    char *out = bc_malloc(n + 1), *o = out;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    if (out_len) *out_len = n;
    return out;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int bc_base64_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len) {
    if (slen % 4) return -1;
    size_t pad = 0;
    if (slen && s[slen - 1] == '=') pad++;
    if (slen > 1 && s[slen - 2] == '=') pad++;
    size_t n = slen / 4 * 3 - pad;
    uint8_t *buf = bc_malloc(n), *o = buf;
    for (size_t i = 0; i < slen; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = s[i + j] == '=' && i + 4 == slen && j >= 4 - (int)pad ? 0 : b64_value(s[i + j]);
            if (v[j] < 0) {
                free(buf);
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t take = i + 4 == slen ? 3 - pad : 3;
        if (take > 0) *o++ = (uint8_t)(w >> 16);
        if (take > 1) *o++ = (uint8_t)(w >> 8);
        if (take > 2) *o++ = (uint8_t)w;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

// ---- per-thread scratch --------------------------------------------------------------

typedef struct {
    void *p[BC_SCRATCH_SLOTS];
    size_t size[BC_SCRATCH_SLOTS];
} scratch_set;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v) {
    scratch_set *s = v;
    for (int i = 0; i < BC_SCRATCH_SLOTS; i++) free(s->p[i]);
    free(s);
}

static void scratch_key_create(void) {
    if (pthread_key_create(&scratch_key, scratch_free) != 0) bc_die(BC_EXIT_FATAL, "pthread_key_create failed");
}

void *bc_thread_scratch(int slot, size_t bytes) {
    if (slot < 0 || slot >= BC_SCRATCH_SLOTS) bc_die(BC_EXIT_FATAL, "bc_thread_scratch: no slot %d", slot);
    pthread_once(&scratch_once, scratch_key_create);
    scratch_set *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = bc_calloc(1, sizeof *s);
        if (pthread_setspecific(scratch_key, s) != 0) bc_die(BC_EXIT_FATAL, "pthread_setspecific failed");
    }
    if (s->size[slot] < bytes) {
        free(s->p[slot]);
        s->p[slot] = NULL;
        if (posix_memalign(&s->p[slot], 64, bytes ? bytes : 1) != 0) bc_die(BC_EXIT_FATAL, "out of memory (%zu bytes)", bytes);
        s->size[slot] = bytes;
    }
    return s->p[slot];
}
