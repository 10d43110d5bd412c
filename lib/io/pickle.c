// pickle.c: the restricted unpickler and the torch objects of pickle.h.
//
// The unpickler is the pickle virtual machine reduced to building values: a
// stack, a mark stack (where MARK opcodes started collecting items) and the
// memo. Every value is allocated once and kept in one list, so the memo and
// the stack can share values freely and bc_pickle_free releases them all
// without walking the (possibly cyclic) graph. Each opcode creates at most one
// value, so memory stays proportional to the pickle's size.
#include "pickle.h"

#include <stdlib.h>
#include <string.h>

// Pickle opcodes (CPython Lib/pickle.py).
enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N',
    OP_BINFLOAT = 'G', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_BINUNICODE = 'X',
    OP_APPEND = 'a', OP_APPENDS = 'e', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd', OP_EMPTY_DICT = '}',
    OP_BINGET = 'h', OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_SETITEMS = 'u',
    OP_TUPLE = 't', OP_EMPTY_TUPLE = ')', OP_REDUCE = 'R', OP_BINPERSID = 'Q',
    OP_PROTO = 0x80, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87,
    OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b,
    OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C',                          // protocol 3
    OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e,  // protocol 4
    OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
    OP_BYTEARRAY8 = 0x96,  // protocol 5
};

// Opcodes that build arbitrary objects or reach outside the pickle: refused by name.
static const char *refused_opcode(int op) {
    switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 0x82: case 0x83: case 0x84: return "EXT (extension registry)";
    case 'P': return "PERSID";
    case 0x97: case 0x98: return "NEXT_BUFFER/READONLY_BUFFER";
    default: return NULL;
    }
}

// The only globals the unpickler resolves.
static const struct {
    const char *module, *name, *full;
    bc_pk_global kind;
    bc_dtype dtype;
} allowed_globals[] = {
    {"collections", "OrderedDict", "collections.OrderedDict", BC_PK_ORDERED_DICT, 0},
    {"torch._utils", "_rebuild_tensor_v2", "torch._utils._rebuild_tensor_v2", BC_PK_REBUILD_TENSOR_V2, 0},
    {"torch._utils", "_rebuild_tensor", "torch._utils._rebuild_tensor", BC_PK_REBUILD_TENSOR, 0},
    {"torch._utils", "_rebuild_parameter", "torch._utils._rebuild_parameter", BC_PK_REBUILD_PARAMETER, 0},
    {"torch._utils", "_rebuild_parameter_with_state", "torch._utils._rebuild_parameter_with_state",
     BC_PK_REBUILD_PARAMETER_WITH_STATE, 0},
    {"torch", "FloatStorage", "torch.FloatStorage", BC_PK_STORAGE_TYPE, BC_DT_F32},
    {"torch", "DoubleStorage", "torch.DoubleStorage", BC_PK_STORAGE_TYPE, BC_DT_F64},
    {"torch", "HalfStorage", "torch.HalfStorage", BC_PK_STORAGE_TYPE, BC_DT_F16},
    {"torch", "BFloat16Storage", "torch.BFloat16Storage", BC_PK_STORAGE_TYPE, BC_DT_BF16},
    {"torch", "LongStorage", "torch.LongStorage", BC_PK_STORAGE_TYPE, BC_DT_I64},
    {"torch", "IntStorage", "torch.IntStorage", BC_PK_STORAGE_TYPE, BC_DT_I32},
    {"torch", "ShortStorage", "torch.ShortStorage", BC_PK_STORAGE_TYPE, BC_DT_I16},
    {"torch", "CharStorage", "torch.CharStorage", BC_PK_STORAGE_TYPE, BC_DT_I8},
    {"torch", "ByteStorage", "torch.ByteStorage", BC_PK_STORAGE_TYPE, BC_DT_U8},
    {"torch", "BoolStorage", "torch.BoolStorage", BC_PK_STORAGE_TYPE, BC_DT_BOOL},
};

struct bc_pickle {
    bc_pk_value **all;  // every value allocated, freed together
    size_t nall, capall;
    bc_pk_value *root;
};

typedef struct {
    const uint8_t *in;
    size_t len, pos;
    size_t op_pos;  // where the current opcode starts, for messages
    bc_pickle *pk;
    bc_pk_value **stack;
    size_t sp, stack_cap;
    size_t *marks;  // stack heights at each open MARK
    size_t nmarks, marks_cap;
    bc_pk_value **memo;  // memo[i] is NULL until stored
    size_t memo_cap, memo_count;
    bc_err *err;
} unpickler;

static int fail(unpickler *u, const char *fmt, ...) BC_PRINTF(2, 3);
static int fail(unpickler *u, const char *fmt, ...) {
    if (!u->err) return -1;
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bc_fail(u->err, "pickle: %s, at byte %zu", msg, u->op_pos);
}

// A name from the pickle, made safe to print: at most 120 bytes, control and
// non-ASCII bytes as '?'.
static void printable(char *out, size_t size, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size && i < 120; i++) out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[o] = 0;
}

static const char *type_name(bc_pk_type t) {
    static const char *names[] = {"None", "bool",   "int",  "float", "str",     "bytes",
                                  "tuple", "list", "dict", "global", "storage", "tensor"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

static bc_pk_value *new_value(unpickler *u, bc_pk_type type) {
    bc_pickle *pk = u->pk;
    if (pk->nall == pk->capall) {
        pk->capall = pk->capall ? 2 * pk->capall : 256;
        pk->all = bc_realloc(pk->all, pk->capall * sizeof *pk->all);
    }
    bc_pk_value *v = bc_calloc(1, sizeof *v);
    v->type = type;
    pk->all[pk->nall++] = v;
    return v;
}

static void push(unpickler *u, bc_pk_value *v) {
    if (u->sp == u->stack_cap) {
        u->stack_cap = u->stack_cap ? 2 * u->stack_cap : 256;
        u->stack = bc_realloc(u->stack, u->stack_cap * sizeof *u->stack);
    }
    u->stack[u->sp++] = v;
}

// The stack above the innermost open MARK is all an opcode may pop.
static size_t stack_floor(const unpickler *u) { return u->nmarks ? u->marks[u->nmarks - 1] : 0; }

static bc_pk_value *pop(unpickler *u) {
    if (u->sp <= stack_floor(u)) {
        fail(u, "stack underflow");
        return NULL;
    }
    return u->stack[--u->sp];
}

static bc_pk_value *top(unpickler *u) {
    if (u->sp <= stack_floor(u)) {
        fail(u, "stack underflow");
        return NULL;
    }
    return u->stack[u->sp - 1];
}

// Closes the innermost MARK: its items are stack[*first .. sp), popped.
static int pop_mark(unpickler *u, size_t *first, size_t *count) {
    if (!u->nmarks) return fail(u, "no MARK to close");
    *first = u->marks[--u->nmarks];
    *count = u->sp - *first;
    u->sp = *first;
    return 0;
}

static void seq_append(bc_pk_value *s, bc_pk_value *item) {
    if (s->seq.n == s->seq.cap) {
        s->seq.cap = s->seq.cap ? 2 * s->seq.cap : 4;
        s->seq.items = bc_realloc(s->seq.items, s->seq.cap * sizeof *s->seq.items);
    }
    s->seq.items[s->seq.n++] = item;
}

static void dict_set(bc_pk_value *d, bc_pk_value *key, bc_pk_value *val) {
    if (d->dict.n == d->dict.cap) {
        d->dict.cap = d->dict.cap ? 2 * d->dict.cap : 4;
        d->dict.keys = bc_realloc(d->dict.keys, d->dict.cap * sizeof *d->dict.keys);
        d->dict.vals = bc_realloc(d->dict.vals, d->dict.cap * sizeof *d->dict.vals);
    }
    d->dict.keys[d->dict.n] = key;
    d->dict.vals[d->dict.n++] = val;
}

// A tuple or list of the `count` values at `items`.
static bc_pk_value *make_seq(unpickler *u, bc_pk_type type, bc_pk_value **items, size_t count) {
    bc_pk_value *s = new_value(u, type);
    for (size_t i = 0; i < count; i++) seq_append(s, items[i]);
    return s;
}

// ---- reading the input --------------------------------------------------------

static const uint8_t *take(unpickler *u, uint64_t n) {
    if (n > u->len - u->pos) {
        fail(u, "truncated: opcode 0x%02x needs %llu more bytes, %zu left", u->in[u->op_pos],
             (unsigned long long)n, u->len - u->pos);
        return NULL;
    }
    const uint8_t *p = u->in + u->pos;
    u->pos += n;
    return p;
}

// Reads an n-byte little-endian unsigned length or index (n <= 8).
static int take_uint(unpickler *u, int n, uint64_t *v) {
    const uint8_t *p = take(u, (uint64_t)n);
    if (!p) return -1;
    *v = 0;
    for (int i = n - 1; i >= 0; i--) *v = *v << 8 | p[i];
    return 0;
}

// Reads one text line (for GLOBAL): the bytes up to '\n'.
static const char *take_line(unpickler *u, size_t *n) {
    const uint8_t *nl = memchr(u->in + u->pos, '\n', u->len - u->pos);
    if (!nl) {
        fail(u, "truncated: GLOBAL name without a newline");
        return NULL;
    }
    const char *s = (const char *)(u->in + u->pos);
    *n = (size_t)(nl - (u->in + u->pos));
    u->pos += *n + 1;
    return s;
}

// ---- opcodes ------------------------------------------------------------------

// Pushes a str or bytes value whose length is an n-byte prefix.
static int op_string(unpickler *u, bc_pk_type type, int len_bytes) {
    uint64_t n;
    if (take_uint(u, len_bytes, &n) < 0) return -1;
    const uint8_t *p = take(u, n);
    if (!p) return -1;
    bc_pk_value *v = new_value(u, type);
    v->str.data = bc_strndup((const char *)p, (size_t)n);
    v->str.len = (size_t)n;
    push(u, v);
    return 0;
}

static int push_int(unpickler *u, int64_t i) {
    bc_pk_value *v = new_value(u, BC_PK_INT);
    v->i = i;
    push(u, v);
    return 0;
}

// LONG1/LONG4: a little-endian two's complement integer of n bytes.
static int op_long(unpickler *u, int len_bytes) {
    uint64_t n;
    if (take_uint(u, len_bytes, &n) < 0) return -1;
    if (n > 8) return fail(u, "integer of %llu bytes does not fit in 64 bits", (unsigned long long)n);
    const uint8_t *p = take(u, n);
    if (!p) return -1;
    uint64_t x = 0;
    for (int i = (int)n - 1; i >= 0; i--) x = x << 8 | p[i];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) x |= ~(uint64_t)0 << (8 * n);  // sign-extend
    return push_int(u, (int64_t)x);
}

static int op_binfloat(unpickler *u) {
    const uint8_t *p = take(u, 8);
    if (!p) return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | p[i];  // big-endian
    bc_pk_value *v = new_value(u, BC_PK_FLOAT);
    memcpy(&v->f, &bits, 8);
    push(u, v);
    return 0;
}

// Resolves module.name against the allowed globals; anything else is refused.
static int push_global(unpickler *u, const char *module, size_t mlen, const char *name, size_t nlen) {
    for (size_t i = 0; i < sizeof allowed_globals / sizeof *allowed_globals; i++) {
        if (strlen(allowed_globals[i].module) == mlen && memcmp(allowed_globals[i].module, module, mlen) == 0 &&
            strlen(allowed_globals[i].name) == nlen && memcmp(allowed_globals[i].name, name, nlen) == 0) {
            bc_pk_value *v = new_value(u, BC_PK_GLOBAL);
            v->global.kind = allowed_globals[i].kind;
            v->global.dtype = allowed_globals[i].dtype;
            v->global.name = allowed_globals[i].full;
            push(u, v);
            return 0;
        }
    }
    char m[128], n[128];
    printable(m, sizeof m, module, mlen);
    printable(n, sizeof n, name, nlen);
    if (strcmp(m, "torch") == 0 && nlen > 7 && memcmp(name + nlen - 7, "Storage", 7) == 0)
        return fail(u, "unsupported storage type torch.%s (supported: Float, Double, Half, BFloat16, Long, Int, "
                       "Short, Char, Byte, Bool)", n);
    return fail(u, "refusing to import %s.%s (only tensors and dicts are allowed)", m, n);
}

static int op_global(unpickler *u) {
    size_t mlen, nlen;
    const char *module = take_line(u, &mlen);
    if (!module) return -1;
    const char *name = take_line(u, &nlen);
    if (!name) return -1;
    return push_global(u, module, mlen, name, nlen);
}

static int op_stack_global(unpickler *u) {
    bc_pk_value *name = pop(u);
    bc_pk_value *module = name ? pop(u) : NULL;
    if (!module) return -1;
    if (module->type != BC_PK_STR || name->type != BC_PK_STR)
        return fail(u, "STACK_GLOBAL needs two str, got %s and %s", type_name(module->type), type_name(name->type));
    return push_global(u, module->str.data, module->str.len, name->str.data, name->str.len);
}

static int memo_put(unpickler *u, uint64_t index) {
    bc_pk_value *v = top(u);
    if (!v) return -1;
    // Picklers number memo entries from 0, one per PUT/MEMOIZE opcode, so an
    // index beyond the pickle's size is corrupt (and would cost memory).
    if (index >= u->len) return fail(u, "memo index %llu out of range", (unsigned long long)index);
    if (index >= u->memo_cap) {
        size_t cap = u->memo_cap ? u->memo_cap : 64;
        while (cap <= index) cap *= 2;
        u->memo = bc_realloc(u->memo, cap * sizeof *u->memo);
        memset(u->memo + u->memo_cap, 0, (cap - u->memo_cap) * sizeof *u->memo);
        u->memo_cap = cap;
    }
    if (!u->memo[index]) u->memo_count++;
    u->memo[index] = v;
    return 0;
}

static int memo_get(unpickler *u, uint64_t index) {
    if (index >= u->memo_cap || !u->memo[index])
        return fail(u, "memo entry %llu was never stored", (unsigned long long)index);
    push(u, u->memo[index]);
    return 0;
}

static int get_int(unpickler *u, const bc_pk_value *v, const char *what, int64_t *out) {
    if (v->type != BC_PK_INT && v->type != BC_PK_BOOL) return fail(u, "%s: expected an int, got %s", what, type_name(v->type));
    *out = v->i;
    return 0;
}

// A tuple of non-negative ints (a tensor's size or stride) into out[].
static int get_dims(unpickler *u, const bc_pk_value *v, const char *what, int64_t *out, int *ndim) {
    if (v->type != BC_PK_TUPLE) return fail(u, "tensor %s: expected a tuple, got %s", what, type_name(v->type));
    if (v->seq.n > BC_MAX_DIMS)
        return fail(u, "tensor with %zu dimensions (at most %d supported)", v->seq.n, BC_MAX_DIMS);
    for (size_t d = 0; d < v->seq.n; d++) {
        if (get_int(u, v->seq.items[d], what, &out[d]) < 0) return -1;
        if (out[d] < 0) return fail(u, "tensor %s: negative value %lld", what, (long long)out[d]);
    }
    *ndim = (int)v->seq.n;
    return 0;
}

// _rebuild_tensor(storage, storage_offset, size, stride) and
// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]): the last ones do not change the bytes.
static int rebuild_tensor(unpickler *u, bc_pk_value **args, size_t nargs, const char *fn) {
    if (nargs < 4 || nargs > 7) return fail(u, "%s: expected 4 to 7 arguments, got %zu", fn, nargs);
    if (args[0]->type != BC_PK_STORAGE) return fail(u, "%s: expected a storage, got %s", fn, type_name(args[0]->type));
    bc_pk_tensor *t = bc_calloc(1, sizeof *t);
    bc_pk_value *v = new_value(u, BC_PK_TENSOR);
    v->tensor = t;  // owned by v from here on
    t->storage = &args[0]->storage;
    int ndim_stride;
    if (get_int(u, args[1], "tensor storage offset", &t->offset) < 0) return -1;
    if (t->offset < 0) return fail(u, "tensor storage offset %lld is negative", (long long)t->offset);
    if (get_dims(u, args[2], "size", t->shape, &t->ndim) < 0) return -1;
    if (get_dims(u, args[3], "stride", t->stride, &ndim_stride) < 0) return -1;
    if (ndim_stride != t->ndim)
        return fail(u, "tensor has %d sizes but %d strides", t->ndim, ndim_stride);
    push(u, v);
    return 0;
}

// REDUCE: callable(*args) for the allowed callables only.
static int op_reduce(unpickler *u) {
    bc_pk_value *args = pop(u);
    bc_pk_value *fn = args ? pop(u) : NULL;
    if (!fn) return -1;
    if (fn->type != BC_PK_GLOBAL)
        return fail(u, "REDUCE on a %s: only the allowed globals can be called", type_name(fn->type));
    if (args->type != BC_PK_TUPLE)
        return fail(u, "REDUCE of %s: arguments are a %s, not a tuple", fn->global.name, type_name(args->type));
    bc_pk_value **a = args->seq.items;
    size_t n = args->seq.n;
    switch (fn->global.kind) {
    case BC_PK_ORDERED_DICT:
        if (n != 0) return fail(u, "collections.OrderedDict called with %zu arguments (expected none)", n);
        push(u, new_value(u, BC_PK_DICT));
        return 0;
    case BC_PK_REBUILD_TENSOR:
    case BC_PK_REBUILD_TENSOR_V2: return rebuild_tensor(u, a, n, fn->global.name);
    case BC_PK_REBUILD_PARAMETER:
    case BC_PK_REBUILD_PARAMETER_WITH_STATE:
        // (data, requires_grad, backward_hooks[, state]): a Parameter is its data.
        if (n < 1 || a[0]->type != BC_PK_TENSOR)
            return fail(u, "%s: expected a tensor as first argument", fn->global.name);
        push(u, a[0]);
        return 0;
    case BC_PK_STORAGE_TYPE: break;
    }
    return fail(u, "refusing to call %s (only tensors and dicts are allowed)", fn->global.name);
}

// BUILD: sets an object's state. A state dict's OrderedDict carries
// `_metadata` that way, a tensor its Python attributes; neither changes the
// tensors, so the state is dropped. Anything else would run __setstate__.
static int op_build(unpickler *u) {
    bc_pk_value *state = pop(u);
    bc_pk_value *obj = state ? top(u) : NULL;
    if (!obj) return -1;
    if (obj->type != BC_PK_DICT && obj->type != BC_PK_TENSOR)
        return fail(u, "refusing BUILD on a %s (only dicts and tensors take a state)", type_name(obj->type));
    return 0;
}

// BINPERSID with ('storage', storage_type, key, location, numel).
static int op_persid(unpickler *u) {
    bc_pk_value *pid = pop(u);
    if (!pid) return -1;
    if (pid->type != BC_PK_TUPLE || pid->seq.n != 5 || pid->seq.items[0]->type != BC_PK_STR ||
        strcmp(pid->seq.items[0]->str.data, "storage") != 0)
        return fail(u, "persistent id is not ('storage', type, key, location, numel)");
    bc_pk_value **a = pid->seq.items;
    if (a[1]->type != BC_PK_GLOBAL || a[1]->global.kind != BC_PK_STORAGE_TYPE)
        return fail(u, "persistent id: expected a storage type, got %s", type_name(a[1]->type));
    if (a[2]->type != BC_PK_STR || a[2]->str.len == 0 || strlen(a[2]->str.data) != a[2]->str.len)
        return fail(u, "persistent id: storage key is not a non-empty str");
    int64_t numel = 0;
    if (get_int(u, a[4], "persistent id numel", &numel) < 0) return -1;
    if (numel < 0) return fail(u, "persistent id: negative numel %lld", (long long)numel);
    bc_pk_value *v = new_value(u, BC_PK_STORAGE);
    v->storage.dtype = a[1]->global.dtype;
    v->storage.key = bc_strdup(a[2]->str.data);
    v->storage.numel = numel;
    push(u, v);
    return 0;
}

// APPEND/APPENDS onto a list, SETITEM/SETITEMS into a dict.
static int op_append(unpickler *u, bc_pk_value **items, size_t n) {
    bc_pk_value *list = top(u);
    if (!list) return -1;
    if (list->type != BC_PK_LIST) return fail(u, "APPEND to a %s (only lists)", type_name(list->type));
    for (size_t i = 0; i < n; i++) seq_append(list, items[i]);
    return 0;
}

static int op_setitems(unpickler *u, bc_pk_value **items, size_t n) {
    if (n % 2) return fail(u, "SETITEMS with an odd number of items (%zu)", n);
    bc_pk_value *dict = top(u);
    if (!dict) return -1;
    if (dict->type != BC_PK_DICT) return fail(u, "SETITEM on a %s (only dicts)", type_name(dict->type));
    for (size_t i = 0; i < n; i += 2) dict_set(dict, items[i], items[i + 1]);
    return 0;
}

// Runs one opcode. 1 after STOP, 0 to go on, -1 on error.
static int step(unpickler *u) {
    u->op_pos = u->pos;
    int op = u->in[u->pos++];
    uint64_t n;
    size_t first = 0, count = 0;
    bc_pk_value *v, *w;
    switch (op) {
    case OP_PROTO:
        if (take_uint(u, 1, &n) < 0) return -1;
        if (n > 5) return fail(u, "pickle protocol %llu is newer than 5", (unsigned long long)n);
        return 0;
    case OP_FRAME:  // a length hint for buffered readers: the opcodes follow as usual
        if (take_uint(u, 8, &n) < 0) return -1;
        if (n > u->len - u->pos) return fail(u, "truncated: FRAME of %llu bytes, %zu left", (unsigned long long)n, u->len - u->pos);
        return 0;
    case OP_STOP:
        if (!(v = pop(u))) return -1;
        u->pk->root = v;
        return 1;
    case OP_MARK:
        if (u->nmarks == u->marks_cap) {
            u->marks_cap = u->marks_cap ? 2 * u->marks_cap : 64;
            u->marks = bc_realloc(u->marks, u->marks_cap * sizeof *u->marks);
        }
        u->marks[u->nmarks++] = u->sp;
        return 0;
    case OP_POP: return pop(u) ? 0 : -1;
    case OP_POP_MARK: return pop_mark(u, &first, &count);
    case OP_DUP:
        if (!(v = top(u))) return -1;
        push(u, v);
        return 0;
    case OP_NONE: push(u, new_value(u, BC_PK_NONE)); return 0;
    case OP_NEWTRUE:
    case OP_NEWFALSE:
        v = new_value(u, BC_PK_BOOL);
        v->i = op == OP_NEWTRUE;
        push(u, v);
        return 0;
    case OP_BININT:
        if (take_uint(u, 4, &n) < 0) return -1;
        return push_int(u, (int32_t)(uint32_t)n);
    case OP_BININT1:
        if (take_uint(u, 1, &n) < 0) return -1;
        return push_int(u, (int64_t)n);
    case OP_BININT2:
        if (take_uint(u, 2, &n) < 0) return -1;
        return push_int(u, (int64_t)n);
    case OP_LONG1: return op_long(u, 1);
    case OP_LONG4: return op_long(u, 4);
    case OP_BINFLOAT: return op_binfloat(u);
    case OP_SHORT_BINUNICODE: return op_string(u, BC_PK_STR, 1);
    case OP_BINUNICODE: return op_string(u, BC_PK_STR, 4);
    case OP_BINUNICODE8: return op_string(u, BC_PK_STR, 8);
    case OP_SHORT_BINSTRING: return op_string(u, BC_PK_STR, 1);  // Python 2 str, read as str
    case OP_BINSTRING: return op_string(u, BC_PK_STR, 4);
    case OP_SHORT_BINBYTES: return op_string(u, BC_PK_BYTES, 1);
    case OP_BINBYTES: return op_string(u, BC_PK_BYTES, 4);
    case OP_BINBYTES8:
    case OP_BYTEARRAY8: return op_string(u, BC_PK_BYTES, 8);
    case OP_EMPTY_TUPLE: push(u, new_value(u, BC_PK_TUPLE)); return 0;
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3:
        count = (size_t)(op - OP_TUPLE1 + 1);
        if (u->sp < stack_floor(u) + count) return fail(u, "stack underflow");
        u->sp -= count;
        push(u, make_seq(u, BC_PK_TUPLE, u->stack + u->sp, count));
        return 0;
    case OP_TUPLE:
    case OP_LIST:
        if (pop_mark(u, &first, &count) < 0) return -1;
        push(u, make_seq(u, op == OP_TUPLE ? BC_PK_TUPLE : BC_PK_LIST, u->stack + first, count));
        return 0;
    case OP_EMPTY_LIST: push(u, new_value(u, BC_PK_LIST)); return 0;
    case OP_EMPTY_DICT: push(u, new_value(u, BC_PK_DICT)); return 0;
    case OP_DICT:
        if (pop_mark(u, &first, &count) < 0) return -1;
        if (count % 2) return fail(u, "DICT with an odd number of items (%zu)", count);
        v = new_value(u, BC_PK_DICT);
        for (size_t i = 0; i < count; i += 2) dict_set(v, u->stack[first + i], u->stack[first + i + 1]);
        push(u, v);
        return 0;
    case OP_APPEND:
        if (!(v = pop(u))) return -1;
        return op_append(u, &v, 1);
    case OP_APPENDS:
        if (pop_mark(u, &first, &count) < 0) return -1;
        return op_append(u, u->stack + first, count);
    case OP_SETITEM: {
        if (!(w = pop(u)) || !(v = pop(u))) return -1;
        bc_pk_value *kv[2] = {v, w};
        return op_setitems(u, kv, 2);
    }
    case OP_SETITEMS:
        if (pop_mark(u, &first, &count) < 0) return -1;
        return op_setitems(u, u->stack + first, count);
    case OP_GLOBAL: return op_global(u);
    case OP_STACK_GLOBAL: return op_stack_global(u);
    case OP_REDUCE: return op_reduce(u);
    case OP_BUILD: return op_build(u);
    case OP_BINPERSID: return op_persid(u);
    case OP_BINPUT:
        if (take_uint(u, 1, &n) < 0) return -1;
        return memo_put(u, n);
    case OP_LONG_BINPUT:
        if (take_uint(u, 4, &n) < 0) return -1;
        return memo_put(u, n);
    case OP_MEMOIZE: return memo_put(u, u->memo_count);
    case OP_BINGET:
        if (take_uint(u, 1, &n) < 0) return -1;
        return memo_get(u, n);
    case OP_LONG_BINGET:
        if (take_uint(u, 4, &n) < 0) return -1;
        return memo_get(u, n);
    }
    const char *refused = refused_opcode(op);
    if (refused) return fail(u, "refusing opcode %s (only tensors and dicts are allowed)", refused);
    if (op >= 0x20 && op < 0x7f)
        return fail(u, "unsupported opcode 0x%02x '%c' (text-mode pickles are not supported; torch.save writes protocol 2)",
                    op, op);
    return fail(u, "unsupported opcode 0x%02x", op);
}

static void free_value(bc_pk_value *v) {
    switch (v->type) {
    case BC_PK_STR:
    case BC_PK_BYTES: free(v->str.data); break;
    case BC_PK_TUPLE:
    case BC_PK_LIST: free(v->seq.items); break;
    case BC_PK_DICT:
        free(v->dict.keys);
        free(v->dict.vals);
        break;
    case BC_PK_STORAGE: free(v->storage.key); break;
    case BC_PK_TENSOR: free(v->tensor); break;
    default: break;
    }
    free(v);
}

void bc_pickle_free(bc_pickle *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nall; i++) free_value(p->all[i]);
    free(p->all);
    free(p);
}

const bc_pk_value *bc_pickle_root(const bc_pickle *p) { return p->root; }

bc_pickle *bc_pickle_load(const uint8_t *data, size_t len, bc_err *err) {
    unpickler u = {.in = data, .len = len, .err = err};
    u.pk = bc_calloc(1, sizeof *u.pk);
    // allocated up front so `stack + first` is never arithmetic on NULL
    u.stack_cap = 256;
    u.stack = bc_malloc(u.stack_cap * sizeof *u.stack);
    int rc = 0;
    while (rc == 0) {
        if (u.pos >= u.len) {
            u.op_pos = u.pos;
            rc = fail(&u, "truncated: no STOP opcode");
            break;
        }
        rc = step(&u);
    }
    free(u.stack);
    free(u.marks);
    free(u.memo);
    if (rc < 0) {
        bc_pickle_free(u.pk);
        return NULL;
    }
    return u.pk;
}

// ---- state dicts ----------------------------------------------------------------

enum {
    MAX_NESTING = 32,
    // Dicts may share children through the memo, so a walk could revisit a
    // subtree exponentially often; it stops after this many visits.
    WALK_BUDGET = 1 << 20,
};

typedef struct {
    bc_pk_named *list;
    size_t n, cap;
    long budget;
    bc_err *err;
} walker;

static int spend(walker *w) {
    if (--w->budget < 0) return bc_fail(w->err, "checkpoint: more than %d nested entries (shared or cyclic dicts?)", WALK_BUDGET);
    return 0;
}

// 1 if d holds a tensor, directly or in nested dicts; 0 if not; -1 on error.
static int holds_tensor(walker *w, const bc_pk_value *d, int depth) {
    if (depth > MAX_NESTING) return bc_fail(w->err, "checkpoint: dicts nest deeper than %d levels", MAX_NESTING);
    for (size_t i = 0; i < d->dict.n; i++) {
        if (spend(w) < 0) return -1;
        const bc_pk_value *v = d->dict.vals[i];
        if (v->type == BC_PK_TENSOR) return 1;
        if (v->type == BC_PK_DICT) {
            int r = holds_tensor(w, v, depth + 1);
            if (r != 0) return r;
        }
    }
    return 0;
}

static int holds_tensor_directly(const bc_pk_value *d) {
    for (size_t i = 0; i < d->dict.n; i++)
        if (d->dict.vals[i]->type == BC_PK_TENSOR) return 1;
    return 0;
}

static const bc_pk_value *dict_get(const bc_pk_value *d, const char *key) {
    for (size_t i = 0; i < d->dict.n; i++) {
        const bc_pk_value *k = d->dict.keys[i];
        if (k->type == BC_PK_STR && strcmp(k->str.data, key) == 0) return d->dict.vals[i];
    }
    return NULL;
}

// Rule 3 of bc_pickle_state_dict: descend through wrapper dicts.
static const bc_pk_value *unwrap(walker *w, const bc_pk_value *d) {
    static const char *wrappers[] = {"state_dict", "model", "module"};
    for (int hops = 0; hops < MAX_NESTING && !holds_tensor_directly(d); hops++) {
        const bc_pk_value *next = NULL;
        for (size_t k = 0; k < sizeof wrappers / sizeof *wrappers && !next; k++) {
            const bc_pk_value *v = dict_get(d, wrappers[k]);
            if (!v || v->type != BC_PK_DICT) continue;
            int r = holds_tensor(w, v, 0);
            if (r < 0) return NULL;
            if (r) next = v;
        }
        if (!next) break;
        d = next;
    }
    return d;
}

// A dict key as a name part: str as is, int in decimal; NULL to skip it.
static char *key_name(const bc_pk_value *k) {
    if (k->type == BC_PK_STR) return bc_strdup(k->str.data);
    if (k->type == BC_PK_INT) return bc_asprintf("%lld", (long long)k->i);
    return NULL;
}

static int flatten(walker *w, const bc_pk_value *d, const char *prefix, int depth) {
    if (depth > MAX_NESTING) return bc_fail(w->err, "checkpoint: dicts nest deeper than %d levels", MAX_NESTING);
    for (size_t i = 0; i < d->dict.n; i++) {
        if (spend(w) < 0) return -1;
        const bc_pk_value *v = d->dict.vals[i];
        if (v->type != BC_PK_TENSOR && v->type != BC_PK_DICT) continue;
        char *key = key_name(d->dict.keys[i]);
        if (!key) continue;
        char *name = prefix ? bc_asprintf("%s.%s", prefix, key) : key;
        if (name != key) free(key);
        if (v->type == BC_PK_DICT) {
            int rc = flatten(w, v, name, depth + 1);
            free(name);
            if (rc < 0) return -1;
            continue;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 64;
            w->list = bc_realloc(w->list, w->cap * sizeof *w->list);
        }
        w->list[w->n++] = (bc_pk_named){name, v->tensor};
    }
    return 0;
}

int bc_pickle_state_dict(const bc_pk_value *root, bc_pk_named **out, size_t *n, bc_err *err) {
    *out = NULL;
    *n = 0;
    if (!root || root->type != BC_PK_DICT)
        return bc_fail(err, "checkpoint: the top level is a %s, expected a dict of tensors (a state dict)",
                       root ? type_name(root->type) : "nothing");
    walker w = {.budget = WALK_BUDGET, .err = err};
    const bc_pk_value *sd = unwrap(&w, root);
    if (!sd || flatten(&w, sd, NULL, 0) < 0) {
        bc_pickle_named_free(w.list, w.n);
        return -1;
    }
    if (w.n == 0) {
        free(w.list);
        return bc_fail(err, "checkpoint: no tensors found (a state dict maps names to tensors)");
    }
    *out = w.list;
    *n = w.n;
    return 0;
}

void bc_pickle_named_free(bc_pk_named *list, size_t n) {
    for (size_t i = 0; i < n; i++) free(list[i].name);
    free(list);
}

// ---- tensor bytes -------------------------------------------------------------

enum { MAX_EXPANDED_BYTES = 1 << 30 };

// torch's contiguity: row-major strides, ignoring dimensions of size 1.
static int is_contiguous(const bc_pk_tensor *t) {
    int64_t expected = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != expected) return 0;
        expected *= t->shape[d];
    }
    return 1;
}

// Copies the strided elements of t into dst, in row-major order.
static void gather(const bc_pk_tensor *t, const uint8_t *storage, size_t elem, size_t numel, uint8_t *dst) {
    int64_t idx[BC_MAX_DIMS] = {0};
    for (size_t i = 0; i < numel; i++) {
        int64_t off = t->offset;
        for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
        memcpy(dst + i * elem, storage + (size_t)off * elem, elem);
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
    }
}

static void byteswap(uint8_t *p, size_t elem, size_t numel) {
    for (size_t i = 0; i < numel; i++, p += elem)
        for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
            uint8_t c = p[a];
            p[a] = p[b];
            p[b] = c;
        }
}

int bc_pickle_tensor_data(const bc_pk_tensor *t, const uint8_t *storage, size_t storage_len, int big_endian,
                          const void **data, void **copy, bc_err *err) {
    *data = NULL;
    *copy = NULL;
    bc_dtype dt = t->storage->dtype;
    size_t elem = bc_dtype_size(dt);
    uint64_t snumel = (uint64_t)t->storage->numel;
    if (storage_len % elem || storage_len / elem != snumel)
        return bc_fail(err, "storage '%s' holds %zu bytes, expected %llu elements of %s (%zu bytes each)",
                       t->storage->key, storage_len, (unsigned long long)snumel, bc_dtype_name(dt), elem);
    // numel (overflow-checked), and the last element the strides reach
    uint64_t numel = 1, last = (uint64_t)t->offset;
    for (int d = 0; d < t->ndim; d++) {
        uint64_t size = (uint64_t)t->shape[d], stride = (uint64_t)t->stride[d];
        if (size == 0) numel = 0;
        else if (numel > UINT64_MAX / size) numel = UINT64_MAX;  // saturates; refused below
        else numel *= size;
        if (size > 1 && stride > 0 && (size - 1) > snumel / stride) last = snumel;
        else if (size > 0) last += (size - 1) * stride;
        if (last > snumel) last = snumel;  // keeps the sum from overflowing: already out of range
    }
    if (numel == 0) {
        *data = storage;
        return 0;
    }
    if (last >= snumel)
        return bc_fail(err, "tensor reaches past the end of storage '%s' (%llu elements; offset %lld)", t->storage->key,
                       (unsigned long long)snumel, (long long)t->offset);
    // A view may repeat elements (expand() gives stride 0), so it can hold
    // more elements than its storage; its copy is bounded all the same.
    if (numel > snumel && numel > MAX_EXPANDED_BYTES / elem)
        return bc_fail(err, "tensor repeats the %llu elements of storage '%s' into %llu: too large to copy",
                       (unsigned long long)snumel, t->storage->key, (unsigned long long)numel);
    const uint8_t *start = storage + (size_t)t->offset * elem;
    if (!big_endian && is_contiguous(t) && (uintptr_t)start % elem == 0) {
        *data = start;
        return 0;
    }
    uint8_t *buf = bc_malloc((size_t)numel * elem);
    gather(t, storage, elem, (size_t)numel, buf);
    if (big_endian) byteswap(buf, elem, (size_t)numel);
    *data = *copy = buf;
    return 0;
}
