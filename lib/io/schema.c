#include "schema.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

typedef struct {
    char *name;   // file name as referenced ("common.json")
    json_t *root;
} schema_file;

struct bc_schema {
    char *dir;
    schema_file *files;
    size_t nfiles;
};

static const char *known_keywords[] = {
    "$schema", "$id", "title", "description", "$defs", "$ref", "type", "properties", "required",
    "additionalProperties", "items", "minItems", "maxItems", "minProperties", "enum", "const", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "allOf", "anyOf",
    "oneOf", "not", "contentEncoding", "contentMediaType", NULL,
};

// Schema-valued keywords whose values are checked recursively at load.
static int check_keywords(const json_t *s, const char *file, bc_err *err) {
    if (json_is_boolean(s)) return 0;
    if (!json_is_object(s)) return bc_fail(err, "%s: a schema must be an object or a boolean", file);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)s, key, val) {
        int known = 0;
        for (const char **k = known_keywords; *k && !known; k++) known = strcmp(*k, key) == 0;
        if (!known) return bc_fail(err, "%s: unsupported schema keyword '%s'", file, key);
        if (strcmp(key, "properties") == 0 || strcmp(key, "$defs") == 0) {
            const char *k2;
            json_t *sub;
            json_object_foreach(val, k2, sub) if (check_keywords(sub, file, err) < 0) return -1;
        } else if (strcmp(key, "items") == 0 || strcmp(key, "not") == 0 ||
                   (strcmp(key, "additionalProperties") == 0 && json_is_object(val))) {
            if (check_keywords(val, file, err) < 0) return -1;
        } else if (strcmp(key, "allOf") == 0 || strcmp(key, "anyOf") == 0 || strcmp(key, "oneOf") == 0) {
            size_t i;
            json_t *sub;
            json_array_foreach(val, i, sub) if (check_keywords(sub, file, err) < 0) return -1;
        } else if (strcmp(key, "pattern") == 0) {
            regex_t re;
            if (!json_is_string(val) || regcomp(&re, json_string_value(val), REG_EXTENDED | REG_NOSUB) != 0)
                return bc_fail(err, "%s: bad pattern", file);
            regfree(&re);
        }
    }
    return 0;
}

static schema_file *load_file(bc_schema *s, const char *name, bc_err *err) {
    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i].name, name) == 0) return &s->files[i];
    if (strchr(name, '/') && s->nfiles) {
        bc_fail(err, "schema reference '%s': only files beside the first schema are allowed", name);
        return NULL;
    }
    char *path = bc_path_join(s->dir, name);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        bc_fail(err, "%s: %s (line %d)", path, je.text, je.line);
        free(path);
        return NULL;
    }
    free(path);
    if (check_keywords(root, name, err) < 0) {
        json_decref(root);
        return NULL;
    }
    s->files = bc_realloc(s->files, (s->nfiles + 1) * sizeof *s->files);
    s->files[s->nfiles] = (schema_file){bc_strdup(name), root};
    return &s->files[s->nfiles++];
}

bc_schema *bc_schema_load(const char *path, bc_err *err) {
    bc_schema *s = bc_calloc(1, sizeof *s);
    const char *slash = strrchr(path, '/');
    s->dir = slash ? bc_strndup(path, (size_t)(slash - path)) : bc_strdup(".");
    if (!load_file(s, slash ? slash + 1 : path, err)) {
        bc_schema_free(s);
        return NULL;
    }
    return s;
}

void bc_schema_free(bc_schema *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].name);
        json_decref(s->files[i].root);
    }
    free(s->files);
    free(s->dir);
    free(s);
}

// ---- validation --------------------------------------------------------------

typedef struct {
    bc_schema *s;
    schema_file *file;   // the file the current schema lives in ($ref "#/..." resolves there)
    char path[512];      // JSON pointer of the value being checked
    bc_err *err;
    int depth;
} ctx;

static int validate(ctx *c, const json_t *schema, const msgpack_object *v);

static int fail_at(ctx *c, const char *fmt, ...) BC_PRINTF(2, 3);
static int fail_at(ctx *c, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return bc_fail(c->err, "at %s: %s", c->path[0] ? c->path : "/", what);
}

static int is_int(const msgpack_object *v) {
    return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static double num(const msgpack_object *v) {
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return (double)v->via.u64;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return (double)v->via.i64;
    return v->via.f64;
}

// Does v have JSON type `t`? bin counts as string (base64 in JSON).
static int type_matches(const msgpack_object *v, const char *t) {
    if (strcmp(t, "integer") == 0) return is_int(v);
    if (strcmp(t, "number") == 0)
        return is_int(v) || v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64;
    if (strcmp(t, "string") == 0) return v->type == MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_BIN;
    if (strcmp(t, "object") == 0) return v->type == MSGPACK_OBJECT_MAP;
    if (strcmp(t, "array") == 0) return v->type == MSGPACK_OBJECT_ARRAY;
    if (strcmp(t, "boolean") == 0) return v->type == MSGPACK_OBJECT_BOOLEAN;
    if (strcmp(t, "null") == 0) return v->type == MSGPACK_OBJECT_NIL;
    return 0;
}

// A JSON-ish name for v's type, for messages.
static const char *json_kind(const msgpack_object *v) {
    switch (v->type) {
    case MSGPACK_OBJECT_STR: return "string";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_MAP: return "object";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_BOOLEAN: return "boolean";
    case MSGPACK_OBJECT_NIL: return "null";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "number";
    default: return is_int(v) ? "integer" : "ext";
    }
}

// msgpack value equals JSON value?
static int equals(const msgpack_object *v, const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_NULL: return v->type == MSGPACK_OBJECT_NIL;
    case JSON_TRUE: return v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
    case JSON_FALSE: return v->type == MSGPACK_OBJECT_BOOLEAN && !v->via.boolean;
    case JSON_STRING:
        return v->type == MSGPACK_OBJECT_STR && v->via.str.size == json_string_length(j) &&
               (v->via.str.size == 0 || memcmp(v->via.str.ptr, json_string_value(j), v->via.str.size) == 0);
    case JSON_INTEGER:
    case JSON_REAL: return type_matches(v, "number") && num(v) == json_number_value(j);
    case JSON_ARRAY:
        if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != json_array_size(j)) return 0;
        for (size_t i = 0; i < json_array_size(j); i++)
            if (!equals(&v->via.array.ptr[i], json_array_get(j, i))) return 0;
        return 1;
    case JSON_OBJECT:
        if (v->type != MSGPACK_OBJECT_MAP || v->via.map.size != json_object_size(j)) return 0;
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object *k = &v->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR) return 0;
            char *name = bc_strndup(k->via.str.ptr, k->via.str.size);
            json_t *jv = json_object_get(j, name);
            free(name);
            if (!jv || !equals(&v->via.map.ptr[i].val, jv)) return 0;
        }
        return 1;
    }
    return 0;
}

static size_t utf8_count(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += ((uint8_t)s[i] & 0xc0) != 0x80;
    return count;
}

// Resolves a $ref to a schema node; switches c->file when it names another file.
static const json_t *resolve(ctx *c, const char *ref) {
    const char *hash = strchr(ref, '#');
    schema_file *f = c->file;
    if (hash != ref) {
        char *name = hash ? bc_strndup(ref, (size_t)(hash - ref)) : bc_strdup(ref);
        f = load_file(c->s, name, c->err);
        free(name);
        if (!f) return NULL;
    }
    const json_t *node = f->root;
    if (hash && hash[1]) {
        if (hash[1] != '/') {
            bc_fail(c->err, "$ref '%s': only JSON pointers are supported", ref);
            return NULL;
        }
        char *ptr = bc_strdup(hash + 2);
        for (char *tok = strtok(ptr, "/"); tok && node; tok = strtok(NULL, "/")) node = json_object_get(node, tok);
        free(ptr);
        if (!node) {
            bc_fail(c->err, "$ref '%s' points nowhere", ref);
            return NULL;
        }
    }
    c->file = f;
    return node;
}

// Validates v against sub-schema `schema`, with `seg` appended to the path.
static int validate_child(ctx *c, const json_t *schema, const msgpack_object *v, const char *seg) {
    size_t n = strlen(c->path);
    snprintf(c->path + n, sizeof c->path - n, "/%s", seg);
    int rc = validate(c, schema, v);
    c->path[n] = 0;
    return rc;
}

// Runs v against a sub-schema without reporting (anyOf/oneOf/not trials).
static int trial(ctx *c, const json_t *schema, const msgpack_object *v) {
    bc_err quiet;
    ctx t = *c;
    t.err = &quiet;
    return validate(&t, schema, v);
}

static int validate_object(ctx *c, const json_t *schema, const msgpack_object *v) {
    const json_t *props = json_object_get(schema, "properties");
    const json_t *addl = json_object_get(schema, "additionalProperties");
    const json_t *req = json_object_get(schema, "required");
    const json_t *minp = json_object_get(schema, "minProperties");
    size_t i;
    json_t *r;
    json_array_foreach(req, i, r) {
        const char *name = json_string_value(r);
        int found = 0;
        for (uint32_t k = 0; k < v->via.map.size && !found; k++) found = bc_obj_is_str(&v->via.map.ptr[k].key, name);
        if (!found) return fail_at(c, "missing key '%s'", name);
    }
    if (minp && v->via.map.size < json_integer_value(minp)) return fail_at(c, "too few keys");
    for (uint32_t k = 0; k < v->via.map.size; k++) {
        const msgpack_object *key = &v->via.map.ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR) return fail_at(c, "a key is %s, expected string", json_kind(key));
        char *name = bc_strndup(key->via.str.ptr, key->via.str.size);
        const json_t *sub = props ? json_object_get(props, name) : NULL;
        if (!sub) sub = addl;
        int rc = 0;
        if (sub && json_is_false(sub))
            rc = fail_at(c, "key '%s' is not allowed", name);
        else if (sub)
            rc = validate_child(c, sub, &v->via.map.ptr[k].val, name);
        free(name);
        if (rc < 0) return -1;
    }
    return 0;
}

static int validate(ctx *c, const json_t *schema, const msgpack_object *v) {
    if (json_is_true(schema)) return 0;
    if (json_is_false(schema)) return fail_at(c, "no value is allowed here");
    if (++c->depth > 64) return bc_fail(c->err, "schema nesting too deep (a $ref loop?)");
    schema_file *file = c->file;
    int rc = 0;
    const json_t *k;
    char buf[64];

    if ((k = json_object_get(schema, "$ref"))) {
        const json_t *target = resolve(c, json_string_value(k));
        rc = target ? validate(c, target, v) : -1;
        c->file = file;
        if (rc < 0) goto done;
    }
    if ((k = json_object_get(schema, "type"))) {
        int ok = 0;
        if (json_is_string(k)) {
            ok = type_matches(v, json_string_value(k));
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(k, i, t) ok = ok || type_matches(v, json_string_value(t));
        }
        if (!ok) {
            char *want = json_dumps(k, JSON_COMPACT | JSON_ENCODE_ANY);
            rc = fail_at(c, "expected %s, got %s", want, json_kind(v));
            free(want);
            goto done;
        }
    }
    if ((k = json_object_get(schema, "contentEncoding")) && v->type == MSGPACK_OBJECT_STR) {
        rc = fail_at(c, "expected bytes (msgpack bin), got string");
        goto done;
    }
    if ((k = json_object_get(schema, "contentMediaType")) && v->type == MSGPACK_OBJECT_BIN &&
        strcmp(json_string_value(k), "image/png") == 0 &&
        !bc_is_png((const uint8_t *)v->via.bin.ptr, v->via.bin.size)) {
        rc = fail_at(c, "expected PNG bytes");
        goto done;
    }
    if ((k = json_object_get(schema, "enum"))) {
        int ok = 0;
        size_t i;
        json_t *e;
        json_array_foreach(k, i, e) ok = ok || equals(v, e);
        if (!ok) {
            char *want = json_dumps(k, JSON_COMPACT);
            rc = fail_at(c, "expected one of %s", want);
            free(want);
            goto done;
        }
    }
    if ((k = json_object_get(schema, "const")) && !equals(v, k)) {
        rc = fail_at(c, "not the required constant");
        goto done;
    }
    if (type_matches(v, "number")) {
        double x = num(v);
        const json_t *lo = json_object_get(schema, "minimum"), *hi = json_object_get(schema, "maximum");
        const json_t *xlo = json_object_get(schema, "exclusiveMinimum");
        const json_t *xhi = json_object_get(schema, "exclusiveMaximum");
        if ((lo && x < json_number_value(lo)) || (xlo && x <= json_number_value(xlo))) {
            rc = fail_at(c, "%.9g is below the minimum", x);
            goto done;
        }
        if ((hi && x > json_number_value(hi)) || (xhi && x >= json_number_value(xhi))) {
            rc = fail_at(c, "%.9g is above the maximum", x);
            goto done;
        }
    }
    if (v->type == MSGPACK_OBJECT_STR) {
        size_t len = utf8_count(v->via.str.ptr, v->via.str.size);
        const json_t *lo = json_object_get(schema, "minLength"), *hi = json_object_get(schema, "maxLength");
        if ((lo && len < (size_t)json_integer_value(lo)) || (hi && len > (size_t)json_integer_value(hi))) {
            rc = fail_at(c, "string length out of range");
            goto done;
        }
        if ((k = json_object_get(schema, "pattern"))) {
            regex_t re;
            regcomp(&re, json_string_value(k), REG_EXTENDED | REG_NOSUB);
            char *s = bc_strndup(v->via.str.ptr, v->via.str.size);
            int match = regexec(&re, s, 0, NULL, 0) == 0;
            free(s);
            regfree(&re);
            if (!match) {
                rc = fail_at(c, "does not match the pattern %s", json_string_value(k));
                goto done;
            }
        }
    }
    if (v->type == MSGPACK_OBJECT_ARRAY) {
        const json_t *lo = json_object_get(schema, "minItems"), *hi = json_object_get(schema, "maxItems");
        uint32_t n = v->via.array.size;
        if ((lo && n < json_integer_value(lo)) || (hi && n > json_integer_value(hi))) {
            rc = fail_at(c, "%u items: count out of range", n);
            goto done;
        }
        if ((k = json_object_get(schema, "items"))) {
            for (uint32_t i = 0; i < n; i++) {
                snprintf(buf, sizeof buf, "%u", i);
                if ((rc = validate_child(c, k, &v->via.array.ptr[i], buf)) < 0) goto done;
            }
        }
    }
    if (v->type == MSGPACK_OBJECT_MAP && (rc = validate_object(c, schema, v)) < 0) goto done;
    if ((k = json_object_get(schema, "allOf"))) {
        size_t i;
        json_t *sub;
        json_array_foreach(k, i, sub) if ((rc = validate(c, sub, v)) < 0) goto done;
    }
    if ((k = json_object_get(schema, "anyOf"))) {
        int ok = 0;
        size_t i;
        json_t *sub;
        json_array_foreach(k, i, sub) ok = ok || trial(c, sub, v) == 0;
        if (!ok) {
            rc = fail_at(c, "matches none of the alternatives (anyOf)");
            goto done;
        }
    }
    if ((k = json_object_get(schema, "oneOf"))) {
        int n = 0;
        size_t i;
        json_t *sub;
        json_array_foreach(k, i, sub) n += trial(c, sub, v) == 0;
        if (n != 1) {
            rc = fail_at(c, "must match exactly one alternative (oneOf)");
            goto done;
        }
    }
    if ((k = json_object_get(schema, "not")) && trial(c, k, v) == 0) rc = fail_at(c, "matches a 'not' schema");
done:
    c->depth--;
    return rc;
}

int bc_schema_validate(bc_schema *s, const msgpack_object *obj, bc_err *err) {
    ctx c = {.s = s, .file = &s->files[0], .err = err};
    return validate(&c, s->files[0].root, obj);
}

int bc_schema_validate_record(bc_schema *s, const bc_record *rec, bc_err *err) {
    // A map view of the record's key/value slots.
    msgpack_object_kv *kv = bc_malloc(rec->n * sizeof *kv);
    for (size_t i = 0; i < rec->n; i++) {
        kv[i].key = rec->keys[i];
        kv[i].val = rec->vals[i];
    }
    msgpack_object m = {.type = MSGPACK_OBJECT_MAP, .via.map = {(uint32_t)rec->n, kv}};
    int rc = bc_schema_validate(s, &m, err);
    free(kv);
    return rc;
}
