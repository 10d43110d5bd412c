// Fuzz target: one JSON Lines line into a record (what bicot-json does), with
// base64 bin keys, then the record back out as JSON.
#include "io/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
    if (!j) return 0;
    static const char *const bins[] = {"image", "b", NULL};
    bc_record rec;
    bc_record_init(&rec);
    bc_err err;
    if (bc_record_from_json(&rec, j, bins, &err) == 0) {
        bc_buf out = {0};
        bc_json_write_record(&out, &rec, 0);
        bc_buf_free(&out);
    }
    bc_record_free(&rec);
    json_decref(j);
    return 0;
}
