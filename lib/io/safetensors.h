// safetensors.h: the parts of the weight-file readers that work on bytes in
// memory, so the fuzzers (and tests) can reach them without files on disk.
//
// The safetensors format (https://huggingface.co/docs/safetensors):
//   8 bytes   little-endian u64 N, the length of the header
//   N bytes   JSON object: name -> {"dtype", "shape", "data_offsets": [begin, end]},
//             plus an optional "__metadata__" (string -> string, ignored here)
//   rest      the data section; each tensor's bytes are data[begin:end],
//             row-major, little-endian
// bc_safetensors_load() (declared in weights.h) mmaps a file and hands the
// mapping to bc_safetensors_parse(), which checks every offset, shape and
// dtype against the file before adding a tensor pointing into it (zero copy).
// The Python writer pads the header so the data section starts 8-aligned and
// sorts tensors by dtype size, so the pointers are normally aligned to their
// element size; code reading them should still not rely on it.
//
// A sharded model lists its tensors in an index json, as transformers writes
// it: {"metadata": {...}, "weight_map": {tensor name: shard file name}}.
// model_files.c reads it through bc_weight_index_parse() below.
#ifndef BICOT_SAFETENSORS_H
#define BICOT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "weights.h"

// Parses a whole safetensors file held in buf[0:len] and adds its tensors to
// w, as belonging to file number `file` (from bc_weights_add_file, whose path
// the messages name). The tensors point into buf, which must outlive w.
// On failure some of the file's tensors may already be in w: callers close w.
int bc_safetensors_parse(bc_weights *w, const uint8_t *buf, size_t len, int file, bc_err *err);

// The weight_map of an index json.
typedef struct {
    size_t n;          // entries
    char **tensor;     // [n] tensor names, in the file's order
    size_t *shard;     // [n] index into shards
    size_t nshards;
    char **shards;     // distinct shard file names, sorted (relative to the index's directory)
} bc_weight_index;

// Parses index json text; `name` is the path used in messages. Shard names
// must be relative paths without "..". Fails on an empty weight_map.
int bc_weight_index_parse(bc_weight_index *ix, const char *text, size_t len, const char *name, bc_err *err);
void bc_weight_index_free(bc_weight_index *ix);

#endif
