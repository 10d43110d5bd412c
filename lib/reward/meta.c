// meta.c: the reward metadata of a record (meta.h).
#include "meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// The value of key, or NULL when absent or null (the same thing here).
static const msgpack_object *get_present(const bc_record *rec, const char *key) {
    const msgpack_object *v = bc_record_get(rec, key);
    return v && v->type != MSGPACK_OBJECT_NIL ? v : NULL;
}

static char *dup_str(const msgpack_object *o) { return bc_strndup(o->via.str.ptr, o->via.str.size); }

// The value of a string key of a map object, or NULL when the key is absent.
static const msgpack_object *map_get(const msgpack_object *map, const char *key) {
    size_t len = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len && memcmp(k->via.str.ptr, key, len) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

// An array of strings: nouns, attr_nouns.
static int read_str_array(const msgpack_object *v, const char *key, char ***out, int *n, bc_err *err) {
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return bc_fail(err, "key '%s': expected array of str, got %s", key, bc_type_name(v));
    uint32_t size = v->via.array.size;
    *out = bc_calloc(size ? size : 1, sizeof **out);
    *n = 0;
    for (uint32_t i = 0; i < size; i++) {
        const msgpack_object *item = &v->via.array.ptr[i];
        if (item->type != MSGPACK_OBJECT_STR)
            return bc_fail(err, "key '%s': item %u: expected str, got %s", key, i, bc_type_name(item));
        (*out)[(*n)++] = dup_str(item);
    }
    return 0;
}

// A string field of a map item (spatial_info.obj1, numeracy_info[i].obj_name).
static int read_field_str(const msgpack_object *map, const char *where, const char *field, char **out, bc_err *err) {
    const msgpack_object *f = map_get(map, field);
    if (!f) return bc_fail(err, "%s: missing '%s'", where, field);
    if (f->type != MSGPACK_OBJECT_STR)
        return bc_fail(err, "%s: '%s' must be a str, got %s", where, field, bc_type_name(f));
    *out = dup_str(f);
    return 0;
}

static int read_spatial(const msgpack_object *v, bc_reward_meta *m, bc_err *err) {
    const char *where = "key 'spatial_info'";
    if (v->type != MSGPACK_OBJECT_MAP)
        return bc_fail(err, "%s: expected map {obj1, obj2, locality}, got %s", where, bc_type_name(v));
    if (read_field_str(v, where, "obj1", &m->obj1, err) < 0) return -1;
    if (read_field_str(v, where, "obj2", &m->obj2, err) < 0) return -1;
    return read_field_str(v, where, "locality", &m->locality, err);
}

// numeracy_info: [{obj_name: str, num: int}]. An integral float num (4.0, as
// some JSON writers print it) is accepted: T2I-R1 compares it with == too.
static int read_numeracy(const msgpack_object *v, bc_reward_meta *m, bc_err *err) {
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return bc_fail(err, "key 'numeracy_info': expected array of {obj_name, num}, got %s", bc_type_name(v));
    uint32_t size = v->via.array.size;
    m->num_names = bc_calloc(size ? size : 1, sizeof *m->num_names);
    m->num_counts = bc_calloc(size ? size : 1, sizeof *m->num_counts);
    for (uint32_t i = 0; i < size; i++) {
        const msgpack_object *item = &v->via.array.ptr[i];
        char where[64];
        snprintf(where, sizeof where, "key 'numeracy_info': item %u", i);
        if (item->type != MSGPACK_OBJECT_MAP)
            return bc_fail(err, "%s: expected map {obj_name, num}, got %s", where, bc_type_name(item));
        // n_num counts the items whose name is owned, so free() sees every copy
        if (read_field_str(item, where, "obj_name", &m->num_names[m->n_num], err) < 0) return -1;
        m->n_num++;
        const msgpack_object *num = map_get(item, "num");
        if (!num) return bc_fail(err, "%s: missing 'num'", where);
        double value;
        if (num->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            value = (double)num->via.u64;
        else if (num->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            value = (double)num->via.i64;
        else if ((num->type == MSGPACK_OBJECT_FLOAT32 || num->type == MSGPACK_OBJECT_FLOAT64) &&
                 num->via.f64 == floor(num->via.f64))
            value = num->via.f64;
        else
            return bc_fail(err, "%s: 'num' must be an integer, got %s", where, bc_type_name(num));
        if (value > INT32_MAX || value < INT32_MIN) return bc_fail(err, "%s: 'num' %g is out of range", where, value);
        m->num_counts[i] = (int)value;
    }
    return 0;
}

int bc_reward_meta_read(const bc_record *rec, bc_reward_meta *m, bc_err *err) {
    memset(m, 0, sizeof *m);
    const msgpack_object *v;
    if ((v = get_present(rec, "task_type"))) {
        if (v->type != MSGPACK_OBJECT_STR) {
            bc_fail(err, "key 'task_type': expected str, got %s", bc_type_name(v));
            goto fail;
        }
        m->task_type = dup_str(v);
    }
    if ((v = get_present(rec, "nouns")) && read_str_array(v, "nouns", &m->nouns, &m->n_nouns, err) < 0) goto fail;
    if ((v = get_present(rec, "attr_nouns"))) {
        m->attr_nouns_present = 1;
        if (read_str_array(v, "attr_nouns", &m->attr_nouns, &m->n_attr_nouns, err) < 0) goto fail;
    }
    if ((v = get_present(rec, "spatial_info")) && read_spatial(v, m, err) < 0) goto fail;
    if ((v = get_present(rec, "numeracy_info")) && read_numeracy(v, m, err) < 0) goto fail;
    return 0;
fail:
    bc_reward_meta_free(m);
    return -1;
}

static void free_strs(char **s, int n) {
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}

void bc_reward_meta_free(bc_reward_meta *m) {
    free(m->task_type);
    free_strs(m->nouns, m->n_nouns);
    free_strs(m->attr_nouns, m->n_attr_nouns);
    free(m->obj1);
    free(m->obj2);
    free(m->locality);
    free_strs(m->num_names, m->n_num);
    free(m->num_counts);
    memset(m, 0, sizeof *m);
}

bc_det_query bc_reward_meta_det_query(const bc_reward_meta *m) {
    bc_det_query q;
    q.task_type = m->task_type;
    q.nouns = (const char **)m->nouns;
    q.n_nouns = m->n_nouns;
    // spatial_info is all three strings or nothing (meta_read checks)
    q.obj1 = m->obj1;
    q.obj2 = m->obj2;
    q.locality = m->locality;
    q.num_names = (const char **)m->num_names;
    q.num_counts = m->num_counts;
    q.n_num = m->n_num;
    return q;
}
