// json.h: records to JSON and JSON to records.
//
// JSON out is written by hand rather than through jansson so that numbers
// print the way people (and Python) write them: the shortest decimal that
// reads back to the same double (or the same float, for float32 values),
// with ".0" kept on whole floats so a float stays a float. Output is compact
// (`{"a":1,"b":[1,2]}`), keys in record order, UTF-8 unescaped.
//
// JSON in is parsed with jansson (objects keep their key order).
#ifndef BICOT_JSON_H
#define BICOT_JSON_H

#include <jansson.h>
#include <msgpack.h>

#include "../util.h"
#include "stream.h"

enum {
    BC_JSON_BIN_BRIEF = 1,  // bin values as {"bytes": N} instead of base64 strings
};

// Appends obj as compact JSON. bin → base64 string (or {"bytes":N}); ext →
// {"ext":type,"base64":...}; NaN/Inf → null; non-string map keys are
// written as strings.
void bc_json_write(bc_buf *out, const msgpack_object *obj, int flags);
// A whole record as one JSON object (no newline).
void bc_json_write_record(bc_buf *out, const bc_record *rec, int flags);

// Converts a jansson value into a msgpack object allocated in rec's zone.
// JSON integers become ints, reals float64, null nil.
msgpack_object bc_json_to_object(bc_record *rec, const json_t *j);
// Builds a record from a JSON object: every key in order. A string value of
// a key listed in bin_keys (NULL-terminated, may be NULL) is base64-decoded
// into bin (how `bicot-json -r` writes bins). -1 with err if j is not an
// object or a bin key's string is not base64.
int bc_record_from_json(bc_record *rec, const json_t *j, const char *const *bin_keys, bc_err *err);

// "object", "array", "string", "integer", "real", "true", "false", "null".
const char *bc_json_type_name(const json_t *j);

#endif
