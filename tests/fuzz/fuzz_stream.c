// Fuzz target: the record stream reader (plain and zstd), then everything a
// tool does with what it read: typed getters, editing, writing back, JSON out.
#include "io/json.h"
#include "io/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bc_reader *r = bc_reader_new_mem(data, size, "fuzz");
    bc_writer *w = bc_writer_new_mem(size % 2 ? 1 : 0);
    bc_record rec;
    bc_err err;
    bc_buf json = {0};
    while (bc_reader_next(r, &rec, &err) > 0) {
        int32_t *ids;
        float *fs;
        size_t n;
        const char *s;
        char id[64];
        if (bc_get_int_array(&rec, "image_tokens", &ids, &n, &err) == 0) free(ids);
        if (bc_get_float_array(&rec, "image_logp", &fs, &n, &err) == 0) free(fs);
        bc_get_str(&rec, "prompt", &s, &n, &err);
        bc_record_id(&rec, id, sizeof id);
        bc_record_set_reward(&rec, "hps", 0.5);
        bc_record_add_error(&rec, "fuzz", "message");
        bc_writer_put(w, &rec, &err);
        json.len = 0;
        bc_json_write_record(&json, &rec, rec.index % 2 ? BC_JSON_BIN_BRIEF : 0);
        bc_record_free(&rec);
    }
    size_t len;
    free(bc_writer_take_mem(w, &len));
    bc_buf_free(&json);
    bc_reader_free(r);
    return 0;
}
