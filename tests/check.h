// check.h: the test programs' only harness. Each check prints one TAP line,
// "ok N - what" or "not ok N - what (file:line)"; tests/run.sh counts them.
// A test program exits non-zero when any check failed.
#ifndef BICOT_CHECK_H
#define BICOT_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int check_count, check_failures;

static int check_line(int ok, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    check_count++;
    printf("%s %d - ", ok ? "ok" : "not ok", check_count);
    vprintf(fmt, ap);
    if (!ok) printf("  (%s:%d)", file, line);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!ok) check_failures++;
    return ok;
}

// CHECK(condition, "what, printf-style", ...)
#define CHECK(cond, ...) check_line(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
// Strings equal (prints both when not).
#define CHECK_STR(got, want, ...) \
    (check_line(strcmp((got), (want)) == 0, __FILE__, __LINE__, __VA_ARGS__) || \
     (printf("#   got:  \"%s\"\n#   want: \"%s\"\n", (got), (want)), 0))
// got contains the substring want.
#define CHECK_CONTAINS(got, want, ...) \
    (check_line(strstr((got), (want)) != NULL, __FILE__, __LINE__, __VA_ARGS__) || \
     (printf("#   got:  \"%s\"\n#   want substring: \"%s\"\n", (got), (want)), 0))

// The bytes of dir/name (NUL-terminated), or NULL after a "#" line saying why.
static inline void *fixture_bytes(const char *dir, const char *name, size_t *len) {
    char *path = bc_path_join(dir, name);
    uint8_t *data = NULL;
    bc_err err;
    if (bc_read_file(path, &data, len, &err) < 0) {
        printf("# %s\n", err.msg);
        data = NULL;
    }
    free(path);
    return data;
}

// Ends a test program.
static int check_done(void) { return check_failures ? 1 : 0; }

// A uniform float in [-1, 1).
static inline float randf(bc_rng *r) { return (float)(bc_rng_uniform(r) * 2.0 - 1.0); }

// The largest |a − b| / (atol + rtol·|b|): the check passes when it is <= 1.
static inline float tol_ratio(const float *a, const float *b, size_t n, float atol, float rtol) {
    float worst = 0;
    for (size_t i = 0; i < n; i++) {
        float e = fabsf(a[i] - b[i]) / (atol + rtol * fabsf(b[i]));
        if (!(e <= worst)) worst = e;  // NaN propagates as a failure
    }
    return worst;
}

#endif
