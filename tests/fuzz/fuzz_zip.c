// fuzz_zip: bytes -> bc_zip_open, then every entry: its data (stored ones
// touched end to end, so ASan sees any read outside the input), a lookup by
// its name, and a lookup of a name that is absent.
// Seed corpus: tests/fuzz/corpus/zip/ (archives of tests/golden/torch).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/zip.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bc_zip z;
    bc_err err;
    if (bc_zip_open(&z, data, size, &err) < 0) return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < z.n; i++) {
        const bc_zip_entry *e = &z.entries[i];
        if (bc_zip_find(&z, e->name) != e) abort();  // names are unique
        const uint8_t *p;
        uint64_t n;
        if (bc_zip_data(e, &p, &n, &err) < 0) continue;
        if (p < data || n > size || (size_t)(p - data) > size - n) abort();
        for (uint64_t k = 0; k < n; k++) sum += p[k];
    }
    if (bc_zip_find(&z, "archive/data.pkl\x01") != NULL) abort();
    bc_zip_close(&z);
    sink = sum;
    return 0;
}
