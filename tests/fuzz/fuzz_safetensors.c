// fuzz_safetensors: bytes -> bc_safetensors_parse (as a whole safetensors
// file) and bc_weight_index_parse (as an index json). Every tensor that
// parses is read to its last byte, and floating ones converted to f32, so
// ASan sees any pointer the checks let past the end of the input.
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"
#include "io/weights.h"

static void touch_tensors(const bc_weights *w) {
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < bc_weights_count(w); i++) {
        const bc_tensor *t = bc_weights_at(w, i);
        const uint8_t *p = t->data;
        for (size_t b = 0; b < t->nbytes; b++) sink ^= p[b];
        if (t->dtype == BC_DT_F32 || t->dtype == BC_DT_F16 || t->dtype == BC_DT_BF16 || t->dtype == BC_DT_F64) {
            float *f = malloc(t->numel * sizeof *f + 1);
            bc_tensor_to_f32(t, f, NULL);
            free(f);
        }
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bc_err err;
    bc_weights *w = bc_weights_new("fuzz");
    int file = bc_weights_add_file(w, "fuzz.safetensors", NULL, 0);
    bc_safetensors_parse(w, data, size, file, &err);
    touch_tensors(w);  // what was added before a failure must be valid too
    bc_weights_close(w);

    bc_weight_index ix;
    if (bc_weight_index_parse(&ix, (const char *)data, size, "fuzz.index.json", &err) == 0) {
        for (size_t i = 0; i < ix.n; i++)
            if (ix.shard[i] >= ix.nshards) abort();  // every tensor names a listed shard
        bc_weight_index_free(&ix);
    }
    return 0;
}
