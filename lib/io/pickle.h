// pickle.h: a restricted unpickler for the data.pkl that torch.save writes,
// and the torch objects it rebuilds (storages, tensors, state dicts).
//
// It never runs code. It knows the plain values (None, bool, int, float, str,
// bytes, tuple, list, dict) and exactly these globals:
//   collections.OrderedDict                     -> a dict
//   torch._utils._rebuild_tensor_v2, _rebuild_tensor
//   torch._utils._rebuild_parameter, _rebuild_parameter_with_state
//   torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage
// and persistent ids ('storage', <storage type>, key, location, numel), which
// stand for the bytes of the zip entry <archive>/data/<key>. Any other global
// (os.system, builtins.eval, ...) is refused where it is imported, with a
// message naming it; so are INST/OBJ/NEWOBJ and REDUCE/BUILD on anything but
// the globals above.
//
// Opcodes: protocol 2 (what torch.save writes by default) plus the harmless
// ones of protocols 3-5 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE,
// BINUNICODE8, BINBYTES*).
#ifndef BICOT_PICKLE_H
#define BICOT_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"
#include "weights.h"

typedef enum {
    BC_PK_NONE,
    BC_PK_BOOL,
    BC_PK_INT,
    BC_PK_FLOAT,
    BC_PK_STR,
    BC_PK_BYTES,
    BC_PK_TUPLE,
    BC_PK_LIST,
    BC_PK_DICT,
    BC_PK_GLOBAL,   // one of the allowed callables or storage types
    BC_PK_STORAGE,  // a persistent id: the bytes of <archive>/data/<key>
    BC_PK_TENSOR,
} bc_pk_type;

// The allowed globals.
typedef enum {
    BC_PK_ORDERED_DICT,
    BC_PK_REBUILD_TENSOR,
    BC_PK_REBUILD_TENSOR_V2,
    BC_PK_REBUILD_PARAMETER,
    BC_PK_REBUILD_PARAMETER_WITH_STATE,
    BC_PK_STORAGE_TYPE,
} bc_pk_global;

typedef struct bc_pk_value bc_pk_value;

typedef struct {
    bc_dtype dtype;
    char *key;      // the zip entry is <archive>/data/<key>
    int64_t numel;  // elements of dtype in the storage
} bc_pk_storage;

typedef struct {
    const bc_pk_storage *storage;
    int64_t offset;  // in elements, into the storage
    int ndim;
    int64_t shape[BC_MAX_DIMS];
    int64_t stride[BC_MAX_DIMS];  // in elements
} bc_pk_tensor;

struct bc_pk_value {
    bc_pk_type type;
    union {
        int64_t i;  // BOOL (0/1), INT
        double f;   // FLOAT
        struct {
            char *data;  // NUL-terminated copy (bytes may hold NULs: use len)
            size_t len;
        } str;           // STR, BYTES
        struct {
            bc_pk_value **items;
            size_t n, cap;
        } seq;           // TUPLE, LIST
        struct {
            bc_pk_value **keys, **vals;
            size_t n, cap;
        } dict;          // DICT (in insertion order; a repeated key is kept twice)
        struct {
            bc_pk_global kind;
            bc_dtype dtype;    // for BC_PK_STORAGE_TYPE
            const char *name;  // "torch.FloatStorage", for messages
        } global;
        bc_pk_storage storage;
        bc_pk_tensor *tensor;
    };
};

typedef struct bc_pickle bc_pickle;

// Unpickles data[0..len). NULL on failure with err set ("pickle: at byte N: ...").
// Every value lives until bc_pickle_free.
bc_pickle *bc_pickle_load(const uint8_t *data, size_t len, bc_err *err);
const bc_pk_value *bc_pickle_root(const bc_pickle *p);
void bc_pickle_free(bc_pickle *p);

// ---- state dicts ------------------------------------------------------------

typedef struct {
    char *name;
    const bc_pk_tensor *tensor;
} bc_pk_named;

// Flattens an unpickled checkpoint to its tensors, by this rule:
//  1. The top level must be a dict.
//  2. A dict that holds tensors itself is the state dict.
//  3. A dict that holds none, but has a key 'state_dict', 'model' or 'module'
//     (tried in that order) whose value is a dict with tensors somewhere
//     inside, is replaced by that value, and the rule starts again at 2
//     ({'state_dict': ..., 'epoch': 3}, HPSv2; {'model': ..., 'optimizer': ...}).
//  4. In the state dict, nested dicts are flattened with "." between the keys
//     ({'vision': {'proj': T}} -> "vision.proj"); int keys are written in
//     decimal; other keys, and values that are neither tensors nor dicts
//     (ints, strings, lists, ...), are skipped.
// Fails when no tensor is found, or dicts nest deeper than 32 levels.
// *out is a fresh array (free with bc_pickle_named_free).
int bc_pickle_state_dict(const bc_pk_value *root, bc_pk_named **out, size_t *n, bc_err *err);
void bc_pickle_named_free(bc_pk_named *list, size_t n);

// The tensor's bytes, contiguous and little-endian, given its storage's bytes
// (storage_len must be storage->numel elements). Zero-copy (*copy = NULL, *data
// points into `storage`) when the tensor is contiguous, aligned for its dtype,
// and big_endian is 0; otherwise *data = *copy, a malloc'ed contiguous copy
// (byte-swapped from big-endian when big_endian is 1) that the caller frees.
// Checks shape, strides and offset against the storage.
int bc_pickle_tensor_data(const bc_pk_tensor *t, const uint8_t *storage, size_t storage_len, int big_endian,
                          const void **data, void **copy, bc_err *err);

#endif
