// safetensors.c: reads *.safetensors files (format in safetensors.h).
//
// The file is mmapped read-only and every tensor points into the mapping,
// so opening a 10 GB shard costs a header parse, and pages are read when a
// kernel first touches them. Everything in the header is outside input: each
// offset, shape and dtype is checked against the file before it is used.
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

// The reference implementation refuses larger headers too.
#define MAX_HEADER_LEN (100u << 20)

// A field of a tensor's entry is missing or has the wrong type.
static int bad_field(bc_err *err, const char *file, const char *tensor, const char *field, const char *want,
                     const json_t *got) {
    if (!got) return bc_fail(err, "%s: tensor '%s': no '%s' in its header entry", file, tensor, field);
    char desc[96];
    bc_json_describe(got, desc, sizeof desc);
    return bc_fail(err, "%s: tensor '%s': '%s' should be %s, got %s", file, tensor, field, want, desc);
}

// A JSON integer >= 0 into *out; 0 when it is one.
static int get_count(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

// Checks one header entry against the data section data[0:dlen] and adds it.
static int add_tensor(bc_weights *w, int file, const char *fname, const char *name, const json_t *info,
                      const uint8_t *data, uint64_t dlen, bc_err *err) {
    if (!json_is_object(info)) return bad_field(err, fname, name, "header entry", "an object", info);

    const json_t *jdtype = json_object_get(info, "dtype");
    if (!json_is_string(jdtype)) return bad_field(err, fname, name, "dtype", "a string", jdtype);
    int dtype = bc_dtype_parse(json_string_value(jdtype));
    if (dtype < 0)
        return bc_fail(err, "%s: tensor '%s': unknown dtype '%s' (known: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)",
                       fname, name, json_string_value(jdtype));

    const json_t *jshape = json_object_get(info, "shape");
    if (!json_is_array(jshape)) return bad_field(err, fname, name, "shape", "an array", jshape);
    size_t ndim = json_array_size(jshape);
    if (ndim > BC_MAX_DIMS)
        return bc_fail(err, "%s: tensor '%s': %zu dimensions (at most %d supported)", fname, name, ndim,
                       BC_MAX_DIMS);
    int64_t shape[BC_MAX_DIMS];
    uint64_t numel = 1;
    for (size_t d = 0; d < ndim; d++) {
        const json_t *jd = json_array_get(jshape, d);
        uint64_t n;
        if (get_count(jd, &n) < 0) {
            char desc[96];
            bc_json_describe(jd, desc, sizeof desc);
            return bc_fail(err, "%s: tensor '%s': shape[%zu] should be a non-negative integer, got %s", fname, name,
                           d, desc);
        }
        if (n && numel > SIZE_MAX / n)
            return bc_fail(err, "%s: tensor '%s': the shape's element count overflows", fname, name);
        shape[d] = (int64_t)n;
        numel *= n;
    }
    size_t esize = bc_dtype_size((bc_dtype)dtype);
    if (numel > SIZE_MAX / esize)
        return bc_fail(err, "%s: tensor '%s': the shape's byte count overflows", fname, name);
    uint64_t nbytes = numel * esize;

    const json_t *joff = json_object_get(info, "data_offsets");
    uint64_t begin, end;
    if (!json_is_array(joff) || json_array_size(joff) != 2 || get_count(json_array_get(joff, 0), &begin) < 0 ||
        get_count(json_array_get(joff, 1), &end) < 0)
        return bad_field(err, fname, name, "data_offsets", "two non-negative integers [begin, end]", joff);
    if (begin > end)
        return bc_fail(err, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", fname, name,
                       (unsigned long long)begin, (unsigned long long)end);
    if (end > dlen)
        return bc_fail(err,
                       "%s: tensor '%s': data_offsets [%llu, %llu] go past the end of the data section (%llu bytes)",
                       fname, name, (unsigned long long)begin, (unsigned long long)end, (unsigned long long)dlen);
    if (end - begin != nbytes)
        return bc_fail(err,
                       "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, "
                       "but %s shape of %llu elements needs %llu",
                       fname, name, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin), bc_dtype_name((bc_dtype)dtype), (unsigned long long)numel,
                       (unsigned long long)nbytes);

    if (bc_weights_add(w, name, (bc_dtype)dtype, (int)ndim, shape, data + begin, file, err) < 0) {
        bc_err_prefix(err, "%s", fname);
        return -1;
    }
    return 0;
}

int bc_safetensors_parse(bc_weights *w, const uint8_t *buf, size_t len, int file, bc_err *err) {
    const char *fname = bc_weights_file(w, (size_t)file);
    if (!fname) fname = "safetensors";
    if (len < 8)
        return bc_fail(err, "%s: file is %zu bytes, too short for the 8-byte header length of a safetensors file",
                       fname, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > len - 8)
        return bc_fail(err,
                       "%s: header length %llu goes past the end of the file (%zu bytes): truncated, or not safetensors",
                       fname, (unsigned long long)hlen, len);
    if (hlen > MAX_HEADER_LEN)
        return bc_fail(err, "%s: header length %llu is over the %u bytes safetensors allows", fname,
                       (unsigned long long)hlen, MAX_HEADER_LEN);

    json_error_t jerr;
    json_t *header = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!header)
        return bc_fail(err, "%s: header is not valid JSON: %s (at byte %d of the header)", fname, jerr.text,
                       jerr.position);
    if (!json_is_object(header)) {
        char desc[96];
        bc_json_describe(header, desc, sizeof desc);
        json_decref(header);
        return bc_fail(err, "%s: header should be a JSON object, got %s", fname, desc);
    }

    const uint8_t *data = buf + 8 + hlen;
    uint64_t dlen = len - 8 - hlen;
    const char *name;
    json_t *info;
    int rc = 0;
    json_object_foreach(header, name, info) {
        if (strcmp(name, "__metadata__") == 0) continue;
        rc = add_tensor(w, file, fname, name, info, data, dlen, err);
        if (rc < 0) break;
    }
    json_decref(header);
    return rc;
}

int bc_safetensors_load(bc_weights *w, const char *path, bc_err *err) {
    void *map;
    size_t len;
    if (bc_map_file(path, &map, &len, err) < 0) return -1;
    // From here the container owns the mapping, whatever the parse says.
    int file = bc_weights_add_file(w, path, map, len);
    return bc_safetensors_parse(w, map, len, file, err);
}
