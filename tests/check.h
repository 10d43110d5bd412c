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

#endif
