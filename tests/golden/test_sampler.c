// lib/nn/sample.c against transformers' logits warpers (make_sampler.py):
// the same logits and the same uniform numbers must give the same tokens.
#include <jansson.h>

#include "check.h"
#include "nn/sample.h"
#include "util.h"

#define DIR "tests/golden/sampler/"

static float *load_logits(int n) {
    char path[128];
    snprintf(path, sizeof path, DIR "logits_%d.f32", n);
    uint8_t *data;
    size_t len;
    bc_err err;
    if (bc_read_file(path, &data, &len, &err) < 0 || len != (size_t)n * 4) {
        printf("# cannot read %s\n", path);
        exit(1);
    }
    return (float *)data;
}

int main(void) {
    json_error_t je;
    json_t *root = json_load_file(DIR "cases.json", 0, &je);
    if (!CHECK(root != NULL, "cases.json loads")) return check_done();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        int n = (int)json_integer_value(json_object_get(c, "n"));
        float *logits = load_logits(n), *scratch = bc_malloc((size_t)n * sizeof *scratch);
        if (json_object_get(c, "log_softmax")) {
            float t = (float)json_number_value(json_object_get(c, "log_softmax_temperature"));
            const char *key;
            json_t *want;
            json_object_foreach(json_object_get(c, "log_softmax"), key, want) {
                float got = bc_log_softmax_at(logits, n, atoi(key), t);
                // float32 logits, double sums: 1e-5 covers the float32 division by t
                CHECK(fabs(got - json_number_value(want)) < 1e-5, "n %d: log_softmax(x/%.1f)[%s] = %.6f (ref %.6f)", n,
                      t, key, got, json_number_value(want));
            }
        } else {
            bc_sampler s = {(float)json_number_value(json_object_get(c, "temperature")),
                            (int)json_integer_value(json_object_get(c, "top_k")),
                            (float)json_number_value(json_object_get(c, "top_p")), 0};
            size_t j;
            json_t *d;
            int same = 0, total = 0;
            double worst = 0;
            json_array_foreach(json_object_get(c, "draws"), j, d) {
                float logp;
                int tok = bc_sample(&s, logits, n, json_number_value(json_object_get(d, "u")), scratch, &logp);
                int want = (int)json_integer_value(json_object_get(d, "token"));
                same += tok == want;
                total++;
                if (tok == want) {
                    double e = fabs(logp - json_number_value(json_object_get(d, "logp")));
                    if (e > worst) worst = e;
                }
            }
            CHECK(same == total, "n %d T %.1f top_k %d top_p %.1f: %d/%d draws match the reference", n, s.temperature,
                  s.top_k, s.top_p, same, total);
            // log-probs of the drawn tokens under the warped distribution
            CHECK(worst < 1e-5, "  and their log-probs (max error %.1e < 1e-5)", worst);
        }
        free(logits);
        free(scratch);
    }
    float x[4] = {0.1f, 3.0f, 3.0f, -1.0f}, scratch[4];
    bc_sampler greedy = {1.0f, 0, 1.0f, 1};
    CHECK(bc_sample(&greedy, x, 4, 0.99, scratch, NULL) == 1, "greedy: the first of tied maxima");
    json_decref(root);
    return check_done();
}
