// schema.h: checks records against the JSON Schemas in schemas/.
//
// The schemas describe records as `bicot-json -r` shows them, so they stay
// ordinary JSON Schema (draft 2020-12) that any validator can read. This
// checker walks the msgpack objects directly; the one place the two views
// differ is bytes: a schema string with "contentEncoding": "base64" must be
// msgpack bin here (and "contentMediaType": "image/png" checks PNG magic).
//
// Supported keywords: type, properties, required, additionalProperties,
// items, minItems, maxItems, minProperties, enum, const, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern (POSIX
// extended regex), allOf, anyOf, oneOf, not, $ref ("#/$defs/x" and
// "file.json#/$defs/x", files beside the first one), $defs, and the
// annotations $schema, $id, title, description, contentEncoding,
// contentMediaType. Any other keyword is an error at load time, so a schema
// never silently checks less than it says.
#ifndef BICOT_SCHEMA_H
#define BICOT_SCHEMA_H

#include <msgpack.h>

#include "../util.h"
#include "stream.h"

typedef struct bc_schema bc_schema;

bc_schema *bc_schema_load(const char *path, bc_err *err);
void bc_schema_free(bc_schema *s);
// 0 if obj is valid; -1 with "at /path: what was expected" otherwise.
int bc_schema_validate(bc_schema *s, const msgpack_object *obj, bc_err *err);
int bc_schema_validate_record(bc_schema *s, const bc_record *rec, bc_err *err);

#endif
