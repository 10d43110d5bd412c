// util.h: the small things every part of libbicot and every tool needs:
// the program name for messages, error buffers, checked allocation, exit
// codes, file reading, hashing and a deterministic RNG.
#ifndef BICOT_UTIL_H
#define BICOT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// Exit codes shared by every tool (DESIGN.md §2).
enum {
    BC_EXIT_OK = 0,
    BC_EXIT_USAGE = 1,    // bad command line
    BC_EXIT_FATAL = 2,    // framing error, unreadable model, I/O failure, a bad record without --keep-going
    BC_EXIT_PARTIAL = 3,  // some records failed under --keep-going
};

// The tool's name as messages show it ("plan-cot: ..."). Set once by main.
extern const char *bc_progname;
void bc_set_progname(const char *argv0);

// An error message filled by a function that fails. Functions that can fail
// take a `bc_err *` (which may be NULL) and return a negative value.
typedef struct {
    char msg[1024];
} bc_err;

#if defined(__GNUC__)
#define BC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define BC_NORETURN __attribute__((noreturn))
#else
#define BC_PRINTF(a, b)
#define BC_NORETURN
#endif

// Fills err->msg (if err is not NULL) and returns -1, so failures read
// `return bc_fail(err, "...", ...);`.
int bc_fail(bc_err *err, const char *fmt, ...) BC_PRINTF(2, 3);
// Prepends "prefix: " to an existing message (to add context on the way up).
void bc_err_prefix(bc_err *err, const char *fmt, ...) BC_PRINTF(2, 3);

// "prog: message" on stderr, then exit(code).
void bc_die(int code, const char *fmt, ...) BC_PRINTF(2, 3) BC_NORETURN;
// "prog: message" on stderr.
void bc_warn(const char *fmt, ...) BC_PRINTF(1, 2);

// Allocation that never returns NULL: out of memory is reported and fatal.
void *bc_malloc(size_t n);
void *bc_calloc(size_t n, size_t size);
void *bc_realloc(void *p, size_t n);
char *bc_strdup(const char *s);
// Scratch memory of the calling thread: buffer `slot` (0 .. 7) of at least
// `bytes`, 64-byte aligned, kept for the thread's next calls (so big per-call
// buffers cost no page faults after the first) and freed when the thread
// ends. Contents are undefined; a slot's buffer moves when it grows. The
// slots in use, one per purpose (a caller must not hold one across a call
// that may use the same slot):
enum {
    BC_SCRATCH_CONV_PADDED, BC_SCRATCH_CONV_TILES, BC_SCRATCH_CONV_COL, BC_SCRATCH_CONV_WEIGHTS,  // nn/conv.c
    BC_SCRATCH_ATT_KV,    // nn/ops_cpu.c attention: the packed keys and values of all heads
    BC_SCRATCH_ATT_UNIT,  // nn/ops_cpu.c attention: a thread's buffers for one work unit
    BC_SCRATCH_CLIP_ACTS, // nn/clip.c: a tower's activations
    BC_SCRATCH_OWLV2,     // nn/owlv2.c: the tokens and head buffers of an image
    BC_SCRATCH_SLOTS
};
void *bc_thread_scratch(int slot, size_t bytes);
char *bc_strndup(const char *s, size_t n);
// printf into a fresh allocation.
char *bc_asprintf(const char *fmt, ...) BC_PRINTF(1, 2);

// Reads a whole file into memory (NUL-terminated for convenience; *len excludes the NUL).
int bc_read_file(const char *path, uint8_t **data, size_t *len, bc_err *err);
// Writes a file atomically: temporary file beside it, fsync, rename.
int bc_write_file_atomic(const char *path, const void *data, size_t len, bc_err *err);
// 1 if path is a directory, 0 otherwise.
int bc_is_dir(const char *path);
// Joins a directory and a file name into a fresh allocation.
char *bc_path_join(const char *dir, const char *name);

// 64-bit FNV-1a, finished with a splitmix64 mix. Used to derive per-record
// seeds from (--seed, id) so samples never depend on batching or threads.
uint64_t bc_hash64(const void *data, size_t len, uint64_t seed);

// xoshiro256** seeded through splitmix64: small, fast, well-tested.
typedef struct {
    uint64_t s[4];
} bc_rng;
void bc_rng_seed(bc_rng *rng, uint64_t seed);
uint64_t bc_rng_next(bc_rng *rng);
// Uniform double in [0, 1) with 53 random bits.
double bc_rng_uniform(bc_rng *rng);

// Number of online CPUs (at least 1).
int bc_cpu_count(void);
// Monotonic seconds.
double bc_now(void);

// A growable byte buffer (always NUL-terminated for convenience).
typedef struct {
    char *data;
    size_t len, cap;
} bc_buf;
void bc_buf_put(bc_buf *b, const void *data, size_t n);
void bc_buf_putc(bc_buf *b, char c);
void bc_buf_puts(bc_buf *b, const char *s);
void bc_buf_printf(bc_buf *b, const char *fmt, ...) BC_PRINTF(2, 3);
void bc_buf_free(bc_buf *b);

// base64 (RFC 4648, with padding). Encode returns a fresh NUL-terminated string.
char *bc_base64_encode(const uint8_t *data, size_t len, size_t *out_len);
// Decodes into a fresh buffer; -1 on malformed input.
int bc_base64_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len);

#endif
