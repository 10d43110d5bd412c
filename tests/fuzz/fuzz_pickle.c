// fuzz_pickle: bytes -> the restricted unpickler, the state-dict walk, and
// each tensor's bytes over a fake storage of the size its persistent id
// claims (zeroed), little- and big-endian. Tensors of more than 1 Mi
// elements or bytes are skipped: an expanded view may legitimately copy up
// to 1 GiB, which is slow, not a bug. Seed corpus: tests/fuzz/corpus/pickle/ (the data.pkl of the
// tests/golden/torch checkpoints, plus the malicious ones).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bc_err err;
    bc_pickle *p = bc_pickle_load(data, size, &err);
    if (!p) return 0;
    bc_pk_named *tensors;
    size_t n;
    if (bc_pickle_state_dict(bc_pickle_root(p), &tensors, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            const bc_pk_tensor *t = tensors[i].tensor;
            size_t elem = bc_dtype_size(t->storage->dtype);
            uint64_t numel = 1;
            for (int d = 0; d < t->ndim; d++)
                numel = t->shape[d] && numel > (1u << 20) / (uint64_t)t->shape[d] ? (1u << 20) + 1 : numel * (uint64_t)t->shape[d];
            if (numel > (1u << 20) || (uint64_t)t->storage->numel > (1u << 20) / elem) continue;
            size_t len = (size_t)t->storage->numel * elem;
            uint8_t *storage = calloc(1, len ? len : 1);
            for (int big = 0; big <= 1; big++) {
                const void *bytes;
                void *copy;
                if (bc_pickle_tensor_data(t, storage, len, big, &bytes, &copy, &err) == 0) free(copy);
            }
            free(storage);
        }
        bc_pickle_named_free(tensors, n);
    }
    bc_pickle_free(p);
    return 0;
}
