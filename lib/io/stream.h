// stream.h: msgpack record streams (DESIGN.md §1).
//
// A stream is a sequence of msgpack maps with string keys, concatenated with
// no framing, optionally inside a zstd frame. A record keeps its keys in input
// order; a tool reads the keys it needs with the typed getters, sets its own
// keys (replacing in place, or appending) and writes the record on, so every
// key it does not own passes through unchanged.
//
// Every value of a record lives in the record's msgpack zone, which the
// record owns: values built with the bc_obj_* helpers are allocated there too.
#ifndef BICOT_STREAM_H
#define BICOT_STREAM_H

#include <msgpack.h>
#include <stdio.h>

#include "../util.h"

typedef struct {
    size_t index;           // position in the input stream, 0-based (as messages show it)
    msgpack_zone *zone;     // owns every value below
    size_t n, cap;          // number of keys, allocated slots
    msgpack_object *keys;   // each a MSGPACK_OBJECT_STR
    msgpack_object *vals;
} bc_record;

// ---- records ---------------------------------------------------------------

// A fresh, empty record (index 0) with its own zone.
void bc_record_init(bc_record *rec);
void bc_record_free(bc_record *rec);
// Builds a record from a decoded msgpack map (values are deep-copied into the
// record's zone). Fails when obj is not a map or a key is not a string.
int bc_record_from_object(bc_record *rec, const msgpack_object *obj, bc_err *err);

// dst becomes a deep copy of src (its own zone; same index).
void bc_record_clone(bc_record *dst, const bc_record *src);

// The value of key, or NULL when absent.
const msgpack_object *bc_record_get(const bc_record *rec, const char *key);
// Sets key: replaces the value in place when the key exists, appends otherwise.
// The key string is copied into the record's zone.
void bc_record_set(bc_record *rec, const char *key, msgpack_object val);
// Removes key; returns 1 if it was there.
int bc_record_del(bc_record *rec, const char *key);
// The record's id as a NUL-terminated string in *buf (truncated to bufsize),
// or "" when the record has no string/int id. Returns buf.
const char *bc_record_id(const bc_record *rec, char *buf, size_t bufsize);

// Value builders. Strings, bins and arrays are copied into the record's zone.
msgpack_object bc_obj_nil(void);
msgpack_object bc_obj_bool(int b);
msgpack_object bc_obj_int(int64_t v);
msgpack_object bc_obj_float(double v);      // written as float64
msgpack_object bc_obj_float32(float v);     // written as float32
msgpack_object bc_obj_str(bc_record *rec, const char *s, size_t len);
msgpack_object bc_obj_cstr(bc_record *rec, const char *s);
msgpack_object bc_obj_bin(bc_record *rec, const void *data, size_t len);
msgpack_object bc_obj_int_array(bc_record *rec, const int32_t *v, size_t n);
msgpack_object bc_obj_float_array(bc_record *rec, const float *v, size_t n);   // float32 items
// An array or map of n slots (zeroed to nil) for the caller to fill.
msgpack_object bc_obj_array(bc_record *rec, size_t n);
msgpack_object bc_obj_map(bc_record *rec, size_t n);
// Deep copy of any object into the record's zone.
msgpack_object bc_obj_copy(bc_record *rec, const msgpack_object *obj);

// Merges name=value into the record's `rewards` map (creating it, keeping
// the other experts' entries in order).
void bc_record_set_reward(bc_record *rec, const char *name, double value);
// Appends {tool, message} to the record's `errors` array (--keep-going).
void bc_record_add_error(bc_record *rec, const char *tool, const char *message);

// "str", "int", "float", "bin", "array", "map", "bool", "nil", "ext".
const char *bc_type_name(const msgpack_object *obj);
// 1 if obj is a string equal to s.
int bc_obj_is_str(const msgpack_object *obj, const char *s);

// ---- typed getters ---------------------------------------------------------
// On failure they return -1 and fill err with "key 'k': expected X, got Y" or
// "missing key 'k'"; bc_record_error_line() adds the record's index and id.

int bc_get_str(const bc_record *rec, const char *key, const char **s, size_t *len, bc_err *err);
// A fresh NUL-terminated copy of a string value.
int bc_get_strdup(const bc_record *rec, const char *key, char **s, bc_err *err);
int bc_get_bin(const bc_record *rec, const char *key, const uint8_t **data, size_t *len, bc_err *err);
int bc_get_int(const bc_record *rec, const char *key, int64_t *v, bc_err *err);
// Accepts int or float values.
int bc_get_float(const bc_record *rec, const char *key, double *v, bc_err *err);
// Arrays of ints, into a fresh allocation (*n items). Items must fit int32.
int bc_get_int_array(const bc_record *rec, const char *key, int32_t **v, size_t *n, bc_err *err);
// Arrays of numbers (int or float items), into a fresh float allocation.
int bc_get_float_array(const bc_record *rec, const char *key, float **v, size_t *n, bc_err *err);

// The full message for a failed record:
// `prog: record 17 (id "p3#1"): <err->msg>` (no trailing newline).
void bc_record_error_line(const bc_record *rec, const char *msg, char *out, size_t outsize);

// ---- reading ---------------------------------------------------------------

typedef struct bc_reader bc_reader;

// Reads records from f (not closed by the reader). zstd input is detected by
// its frame magic and decompressed transparently. `name` is used in messages.
bc_reader *bc_reader_new(FILE *f, const char *name);
// Reads from memory (for tests and fuzzing); the buffer must outlive the reader.
bc_reader *bc_reader_new_mem(const void *data, size_t len, const char *name);
// 1: a record in *rec (initialised here; free it with bc_record_free);
// 0: clean end of input; -1: framing error, message in err (fatal: the
// stream cannot be resynchronised).
int bc_reader_next(bc_reader *r, bc_record *rec, bc_err *err);
// Records returned so far.
size_t bc_reader_count(const bc_reader *r);
void bc_reader_free(bc_reader *r);

// ---- writing ---------------------------------------------------------------

typedef struct bc_writer bc_writer;

// Writes records to f; zstd_level 0 writes plain msgpack, 1..19 a zstd frame.
bc_writer *bc_writer_new(FILE *f, int zstd_level);
// Writes into a growing memory buffer (tests, fuzzing); end it with
// bc_writer_take_mem(), which finishes the stream and hands the bytes over.
bc_writer *bc_writer_new_mem(int zstd_level);
uint8_t *bc_writer_take_mem(bc_writer *w, size_t *len);
// -1 on a write error; err names it; bc_writer_epipe() tells a closed downstream.
int bc_writer_put(bc_writer *w, const bc_record *rec, bc_err *err);
// Writes any msgpack object as the next item of the stream.
int bc_writer_put_object(bc_writer *w, const msgpack_object *obj, bc_err *err);
// Flushes buffered data down to the FILE (and fflush()es it).
int bc_writer_flush(bc_writer *w, bc_err *err);
int bc_writer_epipe(const bc_writer *w);
// Ends the zstd frame, flushes and frees the writer (the FILE stays open).
// 0 ok; -1 write error; -2 when the reader downstream went away (EPIPE).
int bc_writer_close(bc_writer *w, bc_err *err);

#endif
