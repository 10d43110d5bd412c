// The reward metadata reader (lib/reward/meta.c): every field, null ==
// absent, and the message of each type error.
#include <jansson.h>

#include "check.h"
#include "io/json.h"
#include "reward/meta.h"

// Reads the metadata of the record written as JSON; returns what
// bc_reward_meta_read returned, with the message in err.
static int read_json(const char *text, bc_reward_meta *m, bc_err *err) {
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j) {
        printf("# bad test JSON: %s\n", jerr.text);
        return -2;
    }
    bc_record rec;
    bc_record_init(&rec);
    int rc = bc_record_from_json(&rec, j, NULL, err);
    if (rc == 0) rc = bc_reward_meta_read(&rec, m, err);
    bc_record_free(&rec);  // the metadata are copies: the record may go
    json_decref(j);
    return rc;
}

static void check_error(const char *text, const char *want) {
    bc_reward_meta m;
    bc_err err = {{0}};
    int rc = read_json(text, &m, &err);
    if (CHECK(rc == -1, "rejects %s", text)) CHECK_STR(err.msg, want, "message for %s", text);
}

static void check_all_absent(const char *text) {
    bc_reward_meta m;
    bc_err err;
    int rc = read_json(text, &m, &err);
    CHECK(rc == 0 && !m.task_type && m.n_nouns == 0 && !m.attr_nouns_present && m.n_attr_nouns == 0 && !m.obj1 &&
              !m.obj2 && !m.locality && m.n_num == 0,
          "nothing present in %s", text);
    if (rc == 0) bc_reward_meta_free(&m);
}

int main(void) {
    bc_reward_meta m;
    bc_err err;

    // Every field, as in T2I-R1's training file (plus keys the reader ignores).
    int rc = read_json("{\"id\": \"p1\", \"prompt\": \"a photo\", \"task_type\": \"numeracy\","
                       " \"nouns\": [\"cat\", \"teddy bear\"], \"attr_nouns\": [\"red cat\"],"
                       " \"spatial_info\": {\"obj1\": \"cat\", \"obj2\": \"teddy bear\", \"locality\": \"left of\","
                       " \"extra\": 1},"
                       " \"numeracy_info\": [{\"obj_name\": \"cat\", \"num\": 4}, {\"num\": 2.0, \"obj_name\": \"dog\"}]}",
                       &m, &err);
    if (CHECK(rc == 0, "reads every field")) {
        CHECK_STR(m.task_type, "numeracy", "task_type");
        CHECK(m.n_nouns == 2 && strcmp(m.nouns[0], "cat") == 0 && strcmp(m.nouns[1], "teddy bear") == 0, "nouns");
        CHECK(m.attr_nouns_present && m.n_attr_nouns == 1 && strcmp(m.attr_nouns[0], "red cat") == 0, "attr_nouns");
        CHECK(strcmp(m.obj1, "cat") == 0 && strcmp(m.obj2, "teddy bear") == 0 && strcmp(m.locality, "left of") == 0,
              "spatial_info (unknown keys ignored)");
        CHECK(m.n_num == 2 && strcmp(m.num_names[0], "cat") == 0 && m.num_counts[0] == 4 &&
                  strcmp(m.num_names[1], "dog") == 0 && m.num_counts[1] == 2,
              "numeracy_info (keys in any order, integral float num)");
        bc_det_query q = bc_reward_meta_det_query(&m);
        CHECK(q.task_type == m.task_type && q.n_nouns == 2 && q.nouns[1] == m.nouns[1] && q.obj1 == m.obj1 &&
                  q.obj2 == m.obj2 && q.locality == m.locality && q.n_num == 2 && q.num_names[1] == m.num_names[1] &&
                  q.num_counts == m.num_counts,
              "the detector query borrows the metadata");
        bc_reward_meta_free(&m);
    }

    // Built with the msgpack helpers: float32 num, negative num, empty attr_nouns.
    bc_record rec;
    bc_record_init(&rec);
    msgpack_object nouns = bc_obj_array(&rec, 1);
    nouns.via.array.ptr[0] = bc_obj_cstr(&rec, "coaster");
    bc_record_set(&rec, "nouns", nouns);
    bc_record_set(&rec, "attr_nouns", bc_obj_array(&rec, 0));
    msgpack_object items = bc_obj_array(&rec, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_object item = bc_obj_map(&rec, 2);
        item.via.map.ptr[0].key = bc_obj_cstr(&rec, "obj_name");
        item.via.map.ptr[0].val = bc_obj_cstr(&rec, i ? "mug" : "coaster");
        item.via.map.ptr[1].key = bc_obj_cstr(&rec, "num");
        item.via.map.ptr[1].val = i ? bc_obj_int(-1) : bc_obj_float32(8.0f);
        items.via.array.ptr[i] = item;
    }
    bc_record_set(&rec, "numeracy_info", items);
    bc_record_set(&rec, "task_type", bc_obj_nil());
    if (CHECK(bc_reward_meta_read(&rec, &m, &err) == 0, "reads a record built with bc_obj_*")) {
        CHECK(!m.task_type && m.n_nouns == 1 && m.attr_nouns_present && m.n_attr_nouns == 0 && !m.obj1 &&
                  m.n_num == 2 && m.num_counts[0] == 8 && m.num_counts[1] == -1,
              "nil task_type, empty attr_nouns present, float32 and negative num");
        bc_reward_meta_free(&m);
    }
    // An error on a stream record, as a tool prints it.
    bc_record_set(&rec, "id", bc_obj_cstr(&rec, "p3#1"));
    bc_record_set(&rec, "nouns", bc_obj_int(3));
    rec.index = 16;
    if (CHECK(bc_reward_meta_read(&rec, &m, &err) == -1, "rejects nouns: 3")) {
        char line[1200];
        bc_record_error_line(&rec, err.msg, line, sizeof line);
        CHECK_CONTAINS(line, "(id \"p3#1\"): key 'nouns': expected array of str, got int", "the full line");
    }
    bc_record_free(&rec);

    // Absent and null are the same.
    check_all_absent("{}");
    check_all_absent("{\"task_type\": null, \"nouns\": null, \"attr_nouns\": null, \"spatial_info\": null,"
                     " \"numeracy_info\": null}");

    // Each error, naming the field and the item.
    check_error("{\"task_type\": 3}", "key 'task_type': expected str, got int");
    check_error("{\"nouns\": \"cat\"}", "key 'nouns': expected array of str, got str");
    check_error("{\"nouns\": [\"cat\", 2]}", "key 'nouns': item 1: expected str, got int");
    check_error("{\"nouns\": [\"cat\", null]}", "key 'nouns': item 1: expected str, got nil");
    check_error("{\"attr_nouns\": [[\"red\"]]}", "key 'attr_nouns': item 0: expected str, got array");
    check_error("{\"spatial_info\": [\"cat\", \"dog\"]}",
                "key 'spatial_info': expected map {obj1, obj2, locality}, got array");
    check_error("{\"spatial_info\": {\"obj1\": \"cat\", \"locality\": \"near\"}}", "key 'spatial_info': missing 'obj2'");
    check_error("{\"spatial_info\": {\"obj1\": \"cat\", \"obj2\": \"dog\", \"locality\": 1}}",
                "key 'spatial_info': 'locality' must be a str, got int");
    check_error("{\"spatial_info\": {\"obj1\": null, \"obj2\": \"dog\", \"locality\": \"near\"}}",
                "key 'spatial_info': 'obj1' must be a str, got nil");
    check_error("{\"numeracy_info\": {\"obj_name\": \"cat\", \"num\": 2}}",
                "key 'numeracy_info': expected array of {obj_name, num}, got map");
    check_error("{\"numeracy_info\": [{\"obj_name\": \"cat\", \"num\": 2}, \"dog\"]}",
                "key 'numeracy_info': item 1: expected map {obj_name, num}, got str");
    check_error("{\"numeracy_info\": [{\"num\": 2}]}", "key 'numeracy_info': item 0: missing 'obj_name'");
    check_error("{\"numeracy_info\": [{\"obj_name\": 5, \"num\": 2}]}",
                "key 'numeracy_info': item 0: 'obj_name' must be a str, got int");
    check_error("{\"numeracy_info\": [{\"obj_name\": \"cat\"}]}", "key 'numeracy_info': item 0: missing 'num'");
    check_error("{\"numeracy_info\": [{\"obj_name\": \"cat\", \"num\": 1}, {\"obj_name\": \"dog\", \"num\": \"2\"}]}",
                "key 'numeracy_info': item 1: 'num' must be an integer, got str");
    check_error("{\"numeracy_info\": [{\"obj_name\": \"cat\", \"num\": 2.5}]}",
                "key 'numeracy_info': item 0: 'num' must be an integer, got float");
    check_error("{\"numeracy_info\": [{\"obj_name\": \"cat\", \"num\": 4294967296}]}",
                "key 'numeracy_info': item 0: 'num' 4.29497e+09 is out of range");
    // A failure after earlier fields were read leaves nothing to free.
    check_error("{\"task_type\": \"color\", \"nouns\": [\"cat\"], \"attr_nouns\": [\"red cat\"],"
                " \"spatial_info\": {\"obj1\": \"cat\", \"obj2\": \"dog\", \"locality\": \"near\"},"
                " \"numeracy_info\": [{\"obj_name\": \"cat\", \"num\": 1}, {\"obj_name\": 1}]}",
                "key 'numeracy_info': item 1: 'obj_name' must be a str, got int");
    return check_done();
}
