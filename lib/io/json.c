#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if invalid.
static size_t utf8_len(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) len = 2, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    uint32_t cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

// A JSON string. Invalid UTF-8 bytes become U+FFFD so the output is always valid JSON.
static void write_string(bc_buf *out, const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    bc_buf_putc(out, '"');
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            bc_buf_putc(out, '\\');
            bc_buf_putc(out, (char)c);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': bc_buf_puts(out, "\\n"); break;
            case '\t': bc_buf_puts(out, "\\t"); break;
            case '\r': bc_buf_puts(out, "\\r"); break;
            case '\b': bc_buf_puts(out, "\\b"); break;
            case '\f': bc_buf_puts(out, "\\f"); break;
            default: bc_buf_printf(out, "\\u%04x", c);
            }
            i++;
        } else if (c < 0x80) {
            bc_buf_putc(out, (char)c);
            i++;
        } else {
            size_t len = utf8_len(p + i, n - i);
            if (len) {
                bc_buf_put(out, p + i, len);
                i += len;
            } else {
                bc_buf_puts(out, "\xef\xbf\xbd");
                i++;
            }
        }
    }
    bc_buf_putc(out, '"');
}

// Shortest decimal that reads back to v: as a double, or as a float when single.
static void write_number(bc_buf *out, double v, int single) {
    if (!isfinite(v)) {
        bc_buf_puts(out, "null");
        return;
    }
    char s[40];
    for (int prec = single ? 6 : 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (single ? strtof(s, NULL) == (float)v : strtod(s, NULL) == v) break;
    }
    bc_buf_puts(out, s);
    // keep floats recognisable as floats: 1 -> 1.0
    if (!strpbrk(s, ".eEn")) bc_buf_puts(out, ".0");
}

// Internal flag: writing the JSON text of a map key (see the MAP case).
enum { IN_KEY = 1 << 30 };

void bc_json_write(bc_buf *out, const msgpack_object *obj, int flags) {
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL: bc_buf_puts(out, "null"); break;
    case MSGPACK_OBJECT_BOOLEAN: bc_buf_puts(out, obj->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: bc_buf_printf(out, "%llu", (unsigned long long)obj->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: bc_buf_printf(out, "%lld", (long long)obj->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32: write_number(out, obj->via.f64, 1); break;
    case MSGPACK_OBJECT_FLOAT64: write_number(out, obj->via.f64, 0); break;
    case MSGPACK_OBJECT_STR: write_string(out, obj->via.str.ptr, obj->via.str.size); break;
    case MSGPACK_OBJECT_BIN:
        if (flags & BC_JSON_BIN_BRIEF) {
            bc_buf_printf(out, "{\"bytes\":%u}", obj->via.bin.size);
        } else {
            size_t n;
            char *b = bc_base64_encode((const uint8_t *)obj->via.bin.ptr, obj->via.bin.size, &n);
            bc_buf_putc(out, '"');
            bc_buf_put(out, b, n);
            bc_buf_putc(out, '"');
            free(b);
        }
        break;
    case MSGPACK_OBJECT_EXT: {
        size_t n;
        char *b = bc_base64_encode((const uint8_t *)obj->via.ext.ptr, obj->via.ext.size, &n);
        bc_buf_printf(out, "{\"ext\":%d,\"base64\":\"%s\"}", obj->via.ext.type, b);
        free(b);
        break;
    }
    case MSGPACK_OBJECT_ARRAY:
        bc_buf_putc(out, '[');
        for (uint32_t i = 0; i < obj->via.array.size; i++) {
            if (i) bc_buf_putc(out, ',');
            bc_json_write(out, &obj->via.array.ptr[i], flags);
        }
        bc_buf_putc(out, ']');
        break;
    case MSGPACK_OBJECT_MAP:
        bc_buf_putc(out, '{');
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            const msgpack_object *k = &obj->via.map.ptr[i].key;
            if (i) bc_buf_putc(out, ',');
            if (k->type == MSGPACK_OBJECT_STR) {
                write_string(out, k->via.str.ptr, k->via.str.size);
            } else if ((flags & IN_KEY) && (k->type == MSGPACK_OBJECT_MAP || k->type == MSGPACK_OBJECT_ARRAY)) {
                // A container key inside a key's text: each level of keys in
                // keys would escape the text again, doubling it (a 2 KB stream
                // could make 100 MB of JSON), so it is abbreviated.
                bc_buf kb = {0};
                bc_buf_printf(&kb, "<%s of %u>", k->type == MSGPACK_OBJECT_MAP ? "map" : "array",
                              k->type == MSGPACK_OBJECT_MAP ? k->via.map.size : k->via.array.size);
                write_string(out, kb.data, kb.len);
                bc_buf_free(&kb);
            } else {  // JSON keys are strings: write the key's JSON text as one
                bc_buf kb = {0};
                bc_json_write(&kb, k, flags | IN_KEY);
                write_string(out, kb.data, kb.len);
                bc_buf_free(&kb);
            }
            bc_buf_putc(out, ':');
            bc_json_write(out, &obj->via.map.ptr[i].val, flags);
        }
        bc_buf_putc(out, '}');
        break;
    }
}

void bc_json_write_record(bc_buf *out, const bc_record *rec, int flags) {
    bc_buf_putc(out, '{');
    for (size_t i = 0; i < rec->n; i++) {
        if (i) bc_buf_putc(out, ',');
        write_string(out, rec->keys[i].via.str.ptr, rec->keys[i].via.str.size);
        bc_buf_putc(out, ':');
        bc_json_write(out, &rec->vals[i], flags);
    }
    bc_buf_putc(out, '}');
}

msgpack_object bc_json_to_object(bc_record *rec, const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        msgpack_object m = bc_obj_map(rec, json_object_size(j));
        size_t i = 0;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)j, key, val) {
            m.via.map.ptr[i].key = bc_obj_cstr(rec, key);
            m.via.map.ptr[i].val = bc_json_to_object(rec, val);
            i++;
        }
        return m;
    }
    case JSON_ARRAY: {
        msgpack_object a = bc_obj_array(rec, json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++) a.via.array.ptr[i] = bc_json_to_object(rec, json_array_get(j, i));
        return a;
    }
    case JSON_STRING: return bc_obj_str(rec, json_string_value(j), json_string_length(j));
    case JSON_INTEGER: return bc_obj_int(json_integer_value(j));
    case JSON_REAL: return bc_obj_float(json_real_value(j));
    case JSON_TRUE: return bc_obj_bool(1);
    case JSON_FALSE: return bc_obj_bool(0);
    case JSON_NULL: return bc_obj_nil();
    }
    return bc_obj_nil();
}

const char *bc_json_type_name(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int is_bin_key(const char *key, const char *const *bin_keys) {
    for (; bin_keys && *bin_keys; bin_keys++)
        if (strcmp(key, *bin_keys) == 0) return 1;
    return 0;
}

int bc_record_from_json(bc_record *rec, const json_t *j, const char *const *bin_keys, bc_err *err) {
    if (!json_is_object(j)) return bc_fail(err, "expected a JSON object, got %s", bc_json_type_name(j));
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)j, key, val) {
        msgpack_object v;
        if (json_is_string(val) && is_bin_key(key, bin_keys)) {
            uint8_t *bytes;
            size_t n;
            if (bc_base64_decode(json_string_value(val), json_string_length(val), &bytes, &n) < 0)
                return bc_fail(err, "key '%s': expected base64 bytes, got a string that is not base64", key);
            v = bc_obj_bin(rec, bytes, n);
            free(bytes);
        } else {
            v = bc_json_to_object(rec, val);
        }
        bc_record_set(rec, key, v);
    }
    return 0;
}
