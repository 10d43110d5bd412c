// weights.h: one lookup API over model weight files, whatever their format.
//
// bc_weights_open() takes a model directory (as users download it from the
// Hugging Face hub), a single weights file, or an index json, and gathers the
// tensors of every file in it:
//   - *.safetensors, sharded through model.safetensors.index.json (safetensors.c)
//   - PyTorch zip checkpoints pytorch_model*.bin / .pt / .pth, sharded through
//     pytorch_model.bin.index.json (torch.c: zip reader + restricted unpickler)
// A tensor is name -> dtype, shape, pointer. The pointer is into the mmap of
// the file whenever the stored bytes are already contiguous and little-endian
// (zero copy); otherwise the loader makes an owned, contiguous copy.
//
// Models accept two naming schemes through prefix aliases: after
// bc_weights_alias(w, "model.language_model.", "language_model.model."),
// a lookup of "model.language_model.norm.weight" also finds a stored
// "language_model.model.norm.weight" (and the other way round).
#ifndef BICOT_WEIGHTS_H
#define BICOT_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"

typedef enum {
    BC_DT_F64,
    BC_DT_F32,
    BC_DT_F16,
    BC_DT_BF16,
    BC_DT_I64,
    BC_DT_I32,
    BC_DT_I16,
    BC_DT_I8,
    BC_DT_U8,
    BC_DT_BOOL,
    BC_DT_COUNT
} bc_dtype;

// "F32", "BF16", ... (safetensors spelling).
const char *bc_dtype_name(bc_dtype dt);
size_t bc_dtype_size(bc_dtype dt);
// Parses the safetensors spelling; -1 when unknown.
int bc_dtype_parse(const char *s);

#define BC_MAX_DIMS 8

typedef struct {
    char *name;
    bc_dtype dtype;
    int ndim;
    int64_t shape[BC_MAX_DIMS];
    size_t numel;
    const void *data;       // contiguous, row-major, little-endian
    size_t nbytes;          // numel * dtype size
    int file;               // index into the list of files it came from
} bc_tensor;

typedef struct bc_weights bc_weights;

// Opens a directory, a file or an index json. NULL on failure with err set.
bc_weights *bc_weights_open(const char *path, bc_err *err);
void bc_weights_close(bc_weights *w);

size_t bc_weights_count(const bc_weights *w);
const bc_tensor *bc_weights_at(const bc_weights *w, size_t i);
// Exact name, then through the aliases. NULL when absent.
const bc_tensor *bc_weights_find(const bc_weights *w, const char *name);
// Like find, but fails with "tensor 'name' not found in <path>" and checks
// the shape when `shape` is not NULL (ndim entries; -1 matches any size).
const bc_tensor *bc_weights_need(const bc_weights *w, const char *name, int ndim, const int64_t *shape,
                                 bc_err *err);
// Adds a two-way prefix alias (see above).
void bc_weights_alias(bc_weights *w, const char *prefix_a, const char *prefix_b);

// The files that were read, in order.
size_t bc_weights_file_count(const bc_weights *w);
const char *bc_weights_file(const bc_weights *w, size_t i);
// The path given to bc_weights_open.
const char *bc_weights_path(const bc_weights *w);

// Half-precision scalars to float32 (exact).
float bc_f16_to_f32(uint16_t h);
float bc_bf16_to_f32(uint16_t h);

// Converts any floating tensor to float32 (n = numel floats into out).
int bc_tensor_to_f32(const bc_tensor *t, float *out, bc_err *err);

// ---- for the format loaders (safetensors.c, torch.c) -----------------------

// An empty container (used by bc_weights_open and by tests).
bc_weights *bc_weights_new(const char *path);
// Records a file; returns its index. The mapping (may be NULL) is munmap()ed
// at close.
int bc_weights_add_file(bc_weights *w, const char *path, void *map, size_t map_len);
// Adds a tensor (name copied). data must stay valid until close: inside a
// mapping added above, or a block handed over with bc_weights_own().
// Fails on a duplicate name.
int bc_weights_add(bc_weights *w, const char *name, bc_dtype dtype, int ndim, const int64_t *shape,
                   const void *data, int file, bc_err *err);
// Hands a malloc'ed block to the container, freed at close.
void bc_weights_own(bc_weights *w, void *block);

// Maps a regular file read-only (what the format loaders read from). An
// empty file fails ("empty file"); unmap with munmap(map, len).
int bc_map_file(const char *path, void **map, size_t *len, bc_err *err);

// Format loaders: add every tensor of one file to w.
int bc_safetensors_load(bc_weights *w, const char *path, bc_err *err);
int bc_torch_load(bc_weights *w, const char *path, bc_err *err);

#endif
