// test_janus.c: the Janus-Pro language model (lib/nn/llama.c, janus.c)
// against transformers' JanusForConditionalGeneration, on the tiny random
// models of tests/golden/make_janus.py:
//   a_hf    transformers naming, bf16 safetensors, MHA         vs ref_a
//   a_orig  the same weights, original naming, pickled .bin,
//           language_config relying on LlamaConfig defaults    vs ref_a
//   b_hf    odd shape, GQA 6/2 heads, head_dim 12 ≠ D/H,
//           eps 1e-5, theta 500 (in rope_parameters), f32     vs ref_b
// For each: prefill hidden state, text logits at every position, gen_head
// logits and CFG logits at the prompt end and after each of 4 image decode
// steps; rows decoded in other batches (alone, 3 together in another slot
// order, a copied slot, a prompt of another length) must give the same; a
// non-Janus directory and a missing tensor are refused with clear messages.
//
// Tolerances: the reference is float32 too, so the only differences are
// summation order (BLAS blocking vs PyTorch's) through a few layers: about
// 1e-6 relative. Stated per tensor below with margin.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nn/janus.h"

// Hidden states and logits, values O(1..10): float32 rounding through 2-3 layers.
#define ATOL 1e-4
#define RTOL 1e-4
// CFG logits u + 5(c − u) = 5c − 4u: the errors of c and u are multiplied by up to 9.
#define CFG_ATOL 1e-3
#define CFG_RTOL 1e-4
// Rows run in different batches must be bit-identical (bc_linear computes
// each row with the same kernel whatever the batch: DESIGN.md §2).
#define BATCH_ATOL 0.0
#define BATCH_RTOL 0.0

typedef struct {
    char dir[256];
    json_t *manifest;
    int ids[2][32], L;         // cond and uncond rows of the prompt
    int solo[32], solo_L;      // the shorter prompt run alone
    int decode[16], n_decode;  // image tokens fed back, one per step
    float cfg_weight;
} reference;

static int load_reference(reference *r, const char *dir) {
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    char path[300];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    r->manifest = json_load_file(path, 0, &jerr);
    if (!r->manifest) {
        printf("# %s: %s\n", path, jerr.text);
        return -1;
    }
    json_t *ids = json_object_get(r->manifest, "ids");
    r->L = (int)json_array_size(json_array_get(ids, 0));
    for (int row = 0; row < 2; row++)
        for (int i = 0; i < r->L; i++)
            r->ids[row][i] = (int)json_integer_value(json_array_get(json_array_get(ids, row), i));
    json_t *solo = json_object_get(r->manifest, "solo_ids");
    r->solo_L = (int)json_array_size(solo);
    for (int i = 0; i < r->solo_L; i++) r->solo[i] = (int)json_integer_value(json_array_get(solo, i));
    json_t *dec = json_object_get(r->manifest, "decode_tokens");
    r->n_decode = (int)json_array_size(dec);
    for (int i = 0; i < r->n_decode; i++) r->decode[i] = (int)json_integer_value(json_array_get(dec, i));
    r->cfg_weight = (float)json_number_value(json_object_get(r->manifest, "cfg_weight"));
    return 0;
}

// The reference tensor `name` (n floats expected). Caller frees.
static float *ref_tensor(const reference *r, const char *name, size_t n) {
    json_t *t = json_object_get(json_object_get(r->manifest, "tensors"), name);
    const char *file = json_string_value(json_object_get(t, "file"));
    if (!file) {
        printf("# %s: no tensor %s in the manifest\n", r->dir, name);
        return NULL;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/%s", r->dir, file);
    uint8_t *data;
    size_t len;
    bc_err err;
    if (bc_read_file(path, &data, &len, &err) < 0) {
        printf("# %s\n", err.msg);
        return NULL;
    }
    if (len != n * sizeof(float)) {
        printf("# %s: %zu bytes, expected %zu\n", path, len, n * sizeof(float));
        free(data);
        return NULL;
    }
    float *out = bc_malloc(len);
    memcpy(out, data, len);  // little-endian float32, as the host
    free(data);
    return out;
}

// |got − want| ≤ atol + rtol·|want| everywhere; prints the largest error.
static int close_to(const char *what, const float *got, const float *want, size_t n, double atol, double rtol) {
    double max_err = 0, worst_excess = -1;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e == e)) e = INFINITY;
        if (e > max_err) max_err = e;
        double excess = e - (atol + rtol * fabs(want[i]));
        if (excess > worst_excess) worst_excess = excess, worst = i;
    }
    int ok = worst_excess <= 0;
    CHECK(ok, "%s: max |err| %.3g (atol %g, rtol %g)", what, max_err, atol, rtol);
    if (!ok) printf("#   at %zu: got %.8g, want %.8g\n", worst, got[worst], want[worst]);
    return ok;
}

// Compares got[n] with the reference tensor `name`.
static void check_ref(const reference *r, const char *fixture, const char *name, const float *got, size_t n,
                      double atol, double rtol) {
    float *want = ref_tensor(r, name, n);
    char what[200];
    snprintf(what, sizeof what, "%s: %s", fixture, name);
    if (!want) {
        CHECK(0, "%s: reference readable", what);
        return;
    }
    close_to(what, got, want, n, atol, rtol);
    free(want);
}

// Row `row` of the reference tensor `name` [rows, n].
static float *ref_row(const reference *r, const char *name, int rows, int row, size_t n) {
    float *all = ref_tensor(r, name, (size_t)rows * n);
    if (!all) return NULL;
    float *out = bc_malloc(n * sizeof *out);
    memcpy(out, all + (size_t)row * n, n * sizeof *out);
    free(all);
    return out;
}

// The whole reference run: prefill both rows together, then decode steps.
static void test_generation(const char *fixture, const reference *r) {
    char dir[300];
    snprintf(dir, sizeof dir, "tests/golden/janus/%s", fixture);
    bc_err err = {{0}};
    janus_model *m = janus_open(dir, &err);
    if (!CHECK(m != NULL, "%s: opens", fixture)) {
        printf("#   %s\n", err.msg);
        return;
    }
    int D = m->dim, V = m->lm.vocab, VI = m->image_vocab, L = r->L;
    CHECK(D == (int)json_integer_value(json_object_get(r->manifest, "hidden_size")) &&
              V == (int)json_integer_value(json_object_get(r->manifest, "vocab_size")) &&
              VI == (int)json_integer_value(json_object_get(r->manifest, "image_vocab")),
          "%s: sizes D %d, V %d, Vimg %d as the reference", fixture, D, V, VI);

    llama_state *s = llama_state_new(&m->lm, 2, 32, 2 * L, &err);
    float *x = bc_malloc((size_t)2 * L * D * sizeof *x);            // [2, L, D] inputs
    float *hidden = bc_malloc((size_t)2 * L * D * sizeof *hidden);  // [2, L, D]
    float *last = bc_malloc((size_t)2 * D * sizeof *last);          // [2, D]
    float *tmp = bc_malloc((size_t)2 * L * D * sizeof *tmp);        // [2·L, D] scratch
    float *text = bc_malloc((size_t)2 * L * V * sizeof *text);      // [2, L, V]
    float *logits = bc_malloc((size_t)2 * VI * sizeof *logits);     // [2, Vimg]
    float *cfg = bc_malloc((size_t)VI * sizeof *cfg);               // [Vimg]

    int ok = llama_embed_tokens(&m->lm, r->ids[0], L, x, &err) == 0 &&
             llama_embed_tokens(&m->lm, r->ids[1], L, x + (size_t)L * D, &err) == 0 &&
             llama_forward(&m->lm, s, NULL, 2, x, L, hidden, 1, &err) == 0;
    if (!CHECK(ok, "%s: prefill runs", fixture)) printf("#   %s\n", err.msg);
    for (int row = 0; row < 2; row++) memcpy(last + row * D, hidden + ((size_t)row * L + L - 1) * D, D * sizeof *last);
    check_ref(r, fixture, "prefill_hidden", last, (size_t)2 * D, ATOL, RTOL);
    llama_lm_head(&m->lm, hidden, 2 * L, text);
    check_ref(r, fixture, "text_logits", text, (size_t)2 * L * V, ATOL, RTOL);
    CHECK(s->len[0] == L && s->len[1] == L, "%s: both slots hold %d positions", fixture, L);

    for (int k = 0; k <= r->n_decode; k++) {
        char name[64];
        if (k > 0) {
            int t[2] = {r->decode[k - 1], r->decode[k - 1]};  // the same token feeds cond and uncond
            ok = janus_image_embed(m, t, 2, x, tmp, &err) == 0 &&
                 llama_forward(&m->lm, s, NULL, 2, x, 1, last, 0, &err) == 0;
            if (!CHECK(ok, "%s: decode step %d runs", fixture, k)) printf("#   %s\n", err.msg);
        }
        janus_gen_head(m, last, 2, logits, tmp);
        snprintf(name, sizeof name, "gen_logits_%d", k);
        check_ref(r, fixture, name, logits, (size_t)2 * VI, ATOL, RTOL);
        janus_cfg_logits(cfg, logits, logits + VI, VI, r->cfg_weight);
        snprintf(name, sizeof name, "cfg_logits_%d", k);
        check_ref(r, fixture, name, cfg, (size_t)VI, CFG_ATOL, CFG_RTOL);
    }

    // Errors leave the state as it was.
    int before = s->len[0];
    ok = llama_forward(&m->lm, s, (int[]){0, 0}, 2, x, 1, last, 0, &err);
    CHECK(ok < 0 && strstr(err.msg, "both use slot 0") && s->len[0] == before, "%s: a repeated slot is refused: %s",
          fixture, err.msg);
    ok = llama_forward(&m->lm, s, (int[]){5}, 1, x, 1, last, 0, &err);
    CHECK(ok < 0 && strstr(err.msg, "slot 5 outside"), "%s: a slot out of range is refused: %s", fixture, err.msg);
    s->len[1] = 31;
    ok = llama_forward(&m->lm, s, NULL, 2, x, 2, last, 0, &err);
    CHECK(ok < 0 && strstr(err.msg, "exceed its 32") && s->len[0] == before, "%s: a full cache is refused: %s", fixture,
          err.msg);
    int bad = VI;
    ok = janus_image_embed(m, &bad, 1, x, tmp, &err);
    CHECK(ok < 0 && strstr(err.msg, "outside"), "%s: image token %d refused: %s", fixture, bad, err.msg);
    bad = -1;
    ok = llama_embed_tokens(&m->lm, &bad, 1, x, &err);
    CHECK(ok < 0 && strstr(err.msg, "outside the vocabulary"), "%s: text token -1 refused: %s", fixture, err.msg);

    free(x), free(hidden), free(last), free(tmp), free(text), free(logits), free(cfg);
    llama_state_free(s);
    janus_close(m);
}

// Row results do not depend on batching: each prompt prefilled alone into a
// slot (the solo prompt has another length), a copy of the cond slot made
// with llama_state_copy_row, then all four decoded in one call in a shuffled
// slot order; every row's gen logits must match the reference and the
// two-row run.
static void test_batching(const char *fixture, const reference *r) {
    char dir[300];
    snprintf(dir, sizeof dir, "tests/golden/janus/%s", fixture);
    bc_err err = {{0}};
    janus_model *m = janus_open(dir, &err);
    if (!m) return;
    int D = m->dim, VI = m->image_vocab, L = r->L;
    // slots: 0 uncond, 1 solo, 2 cond, 3 copy of cond
    llama_state *s = llama_state_new(&m->lm, 4, 32, 4 * L, &err);
    float *x = bc_malloc((size_t)4 * L * D * sizeof *x);         // [4·L, D]
    float *last = bc_malloc((size_t)4 * D * sizeof *last);       // [4, D]
    float *tmp = bc_malloc((size_t)4 * L * D * sizeof *tmp);     // [4·L, D]
    float *logits = bc_malloc((size_t)4 * VI * sizeof *logits);  // [4, Vimg]
    int ok = 1;
    ok &= llama_embed_tokens(&m->lm, r->ids[1], L, x, &err) == 0;
    ok &= llama_forward(&m->lm, s, (int[]){0}, 1, x, L, last, 0, &err) == 0;
    ok &= llama_embed_tokens(&m->lm, r->solo, r->solo_L, x, &err) == 0;
    ok &= llama_forward(&m->lm, s, (int[]){1}, 1, x, r->solo_L, last + D, 0, &err) == 0;
    ok &= llama_embed_tokens(&m->lm, r->ids[0], L, x, &err) == 0;
    ok &= llama_forward(&m->lm, s, (int[]){2}, 1, x, L, last + 2 * D, 0, &err) == 0;
    if (!CHECK(ok, "%s: rows prefilled one by one", fixture)) printf("#   %s\n", err.msg);
    llama_state_copy_row(&m->lm, s, 3, 2);
    memcpy(last + 3 * D, last + 2 * D, D * sizeof *last);
    CHECK(s->len[3] == L && s->len[1] == r->solo_L, "%s: slot lengths %d (copy) and %d (solo)", fixture, s->len[3],
          s->len[1]);

    // The call order of the rows: cond, solo, copy, uncond.
    const int order[4] = {2, 1, 3, 0};
    float *by_slot = bc_malloc((size_t)4 * D * sizeof *by_slot);
    for (int k = 0; k <= r->n_decode; k++) {
        if (k > 0) {
            int t[4] = {r->decode[k - 1], r->decode[k - 1], r->decode[k - 1], r->decode[k - 1]};
            ok = janus_image_embed(m, t, 4, x, tmp, &err) == 0 &&
                 llama_forward(&m->lm, s, order, 4, x, 1, by_slot, 0, &err) == 0;
            if (!CHECK(ok, "%s: 4-row decode step %d runs", fixture, k)) printf("#   %s\n", err.msg);
            for (int i = 0; i < 4; i++) memcpy(last + order[i] * D, by_slot + i * D, D * sizeof *last);
        }
        janus_gen_head(m, last, 4, logits, tmp);  // rows in slot order
        char name[64], what[200];
        snprintf(name, sizeof name, "gen_logits_%d", k);
        float *cond = ref_row(r, name, 2, 0, VI), *uncond = ref_row(r, name, 2, 1, VI);
        snprintf(name, sizeof name, "solo_gen_logits_%d", k);
        float *solo = ref_row(r, name, 1, 0, VI);
        if (cond && uncond && solo) {
            snprintf(what, sizeof what, "%s: step %d, cond row alone then in a batch of 4", fixture, k);
            close_to(what, logits + 2 * VI, cond, VI, ATOL, RTOL);
            snprintf(what, sizeof what, "%s: step %d, copied cond slot", fixture, k);
            close_to(what, logits + 3 * VI, logits + 2 * VI, VI, BATCH_ATOL, BATCH_RTOL);
            snprintf(what, sizeof what, "%s: step %d, uncond row alone then in a batch of 4", fixture, k);
            close_to(what, logits, uncond, VI, ATOL, RTOL);
            snprintf(what, sizeof what, "%s: step %d, shorter prompt (%d tokens) in the batch", fixture, k, r->solo_L);
            close_to(what, logits + VI, solo, VI, ATOL, RTOL);
        } else {
            CHECK(0, "%s: reference %s readable", fixture, name);
        }
        free(cond), free(uncond), free(solo);
    }
    free(by_slot);

    // The cond row alone in a one-slot state, decoded alone: the same as in
    // the batch of 4 above (still in logits + 2·VI after the last step).
    llama_state *alone = llama_state_new(&m->lm, 1, 32, L, &err);
    ok = llama_embed_tokens(&m->lm, r->ids[0], L, x, &err) == 0 &&
         llama_forward(&m->lm, alone, NULL, 1, x, L, last, 0, &err) == 0;
    for (int k = 1; ok && k <= r->n_decode; k++)
        ok = janus_image_embed(m, &r->decode[k - 1], 1, x, tmp, &err) == 0 &&
             llama_forward(&m->lm, alone, NULL, 1, x, 1, last, 0, &err) == 0;
    if (!CHECK(ok, "%s: cond row decoded alone", fixture)) printf("#   %s\n", err.msg);
    janus_gen_head(m, last, 1, logits + 3 * VI, tmp);
    char what[200];
    snprintf(what, sizeof what, "%s: cond row alone vs in a batch of 4, last step", fixture);
    close_to(what, logits + 3 * VI, logits + 2 * VI, VI, BATCH_ATOL, BATCH_RTOL);
    llama_state_free(alone);

    free(x), free(last), free(tmp), free(logits);
    llama_state_free(s);
    janus_close(m);
}

// Both namings of the same weights give bit-identical results (bf16 in both).
static void test_same_weights(void) {
    bc_err err = {{0}};
    janus_model *a = janus_open("tests/golden/janus/a_hf", &err), *b = janus_open("tests/golden/janus/a_orig", &err);
    if (!CHECK(a && b, "a_hf and a_orig open")) {
        janus_close(a), janus_close(b);
        return;
    }
    CHECK(a->layout == JANUS_TRANSFORMERS && b->layout == JANUS_ORIGINAL, "layouts: %s, %s",
          janus_layout_name(a->layout), janus_layout_name(b->layout));
    // a_orig's language_config omits these: LlamaConfig's defaults apply.
    CHECK(b->lm.eps == 1e-6f && b->lm.rope_theta == 10000.0f && b->lm.n_kv_heads == 4 && b->lm.head_dim == 16,
          "a_orig: defaults eps %g, theta %g, kv heads %d, head_dim %d", b->lm.eps, b->lm.rope_theta, b->lm.n_kv_heads,
          b->lm.head_dim);
    CHECK(a->lm.embed.dtype == BC_DT_BF16 && b->lm.layers[1].w_down.dtype == BC_DT_BF16 &&
              b->head_out.dtype == BC_DT_BF16,
          "bf16 weights stay bf16");
    janus_model *c = janus_open("tests/golden/janus/b_hf", &err);
    if (CHECK(c != NULL, "b_hf opens"))
        CHECK(c->lm.eps == 1e-5f && c->lm.rope_theta == 500.0f && c->lm.n_heads == 6 && c->lm.n_kv_heads == 2 &&
                  c->lm.head_dim == 12 && c->lm.n_layers == 3 && c->lm.embed.dtype == BC_DT_F32,
              "b_hf: eps %g, theta %g (from rope_parameters), heads %d/%d x %d, %d layers, f32", c->lm.eps,
              c->lm.rope_theta, c->lm.n_heads, c->lm.n_kv_heads, c->lm.head_dim, c->lm.n_layers);
    janus_close(c);
    int tok[3] = {0, 17, 63};
    int D = a->dim;
    float *ea = bc_malloc(3 * D * sizeof *ea), *eb = bc_malloc(3 * D * sizeof *eb),
          *tmp = bc_malloc(3 * D * sizeof *tmp);
    janus_image_embed(a, tok, 3, ea, tmp, &err);
    janus_image_embed(b, tok, 3, eb, tmp, &err);
    CHECK(memcmp(ea, eb, 3 * D * sizeof *ea) == 0, "image embeddings identical in both namings");
    free(ea), free(eb), free(tmp);
    janus_close(a);
    janus_close(b);
}

// Writes text to dir/name.
static void write_text(const char *dir, const char *name, const void *data, size_t len) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

// Copies src/config.json into dir.
static void copy_config(const char *src, const char *dir) {
    char path[400];
    snprintf(path, sizeof path, "%s/config.json", src);
    uint8_t *cfg;
    size_t len;
    bc_err err;
    if (bc_read_file(path, &cfg, &len, &err) == 0) {
        write_text(dir, "config.json", cfg, len);
        free(cfg);
    }
}

// dir/model.safetensors holding one float32 zero tensor [rows, cols].
static void write_one_tensor(const char *dir, const char *name, int rows, int cols) {
    char header[300];
    size_t bytes = (size_t)rows * cols * 4;
    int hlen =
        snprintf(header, sizeof header, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[0,%zu]}}", name,
                 rows, cols, bytes);
    size_t total = 8 + (size_t)hlen + bytes;
    uint8_t *file = bc_calloc(total, 1);
    for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(file + 8, header, (size_t)hlen);
    write_text(dir, "model.safetensors", file, total);
    free(file);
}

static void test_refusals(void) {
    bc_err err = {{0}};
    janus_model *m = janus_open("tests/golden/safetensors/llama", &err);
    CHECK(m == NULL, "a plain llama directory is refused");
    CHECK_CONTAINS(err.msg, "not a Janus-Pro model: 'model_type' is string \"llama\"", "the message says what it is");
    printf("#   %s\n", err.msg);

    char dir[] = "/tmp/test_janus_XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL, "temporary directory")) return;
    const char *clip = "{\"model_type\": \"clip\", \"architectures\": [\"CLIPModel\"]}";
    write_text(dir, "config.json", clip, strlen(clip));
    m = janus_open(dir, &err);
    CHECK(m == NULL, "a CLIP directory is refused");
    CHECK_CONTAINS(err.msg, "'model_type' is string \"clip\" (architectures: CLIPModel)",
                   "the message says what it is");

    // The transformers config of a_hf, and weights holding only the embedding.
    copy_config("tests/golden/janus/a_hf", dir);
    write_one_tensor(dir, "model.language_model.embed_tokens.weight", 128, 64);
    m = janus_open(dir, &err);
    CHECK(m == NULL, "a checkpoint missing tensors is refused");
    CHECK_CONTAINS(err.msg, "'model.language_model.norm.weight' not found", "the message names the missing tensor");
    printf("#   %s\n", err.msg);

    // The original config over the same file: the embedding is found through
    // the alias, and the missing tensor is named in the original naming.
    copy_config("tests/golden/janus/a_orig", dir);
    m = janus_open(dir, &err);
    CHECK(m == NULL, "original layout, missing tensors: refused");
    CHECK_CONTAINS(err.msg, "'language_model.model.norm.weight' not found", "named in the checkpoint's naming");

    // A misshapen tensor: the message names it and both shapes.
    copy_config("tests/golden/janus/a_hf", dir);
    write_one_tensor(dir, "model.language_model.embed_tokens.weight", 128, 32);
    m = janus_open(dir, &err);
    CHECK(m == NULL, "a misshapen embedding is refused");
    CHECK_CONTAINS(err.msg, "model.language_model.embed_tokens.weight", "the message names it");
    printf("#   %s\n", err.msg);

    char path[400];
    snprintf(path, sizeof path, "%s/config.json", dir), unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir), unlink(path);
    rmdir(dir);
}

int main(void) {
    reference ra = {0}, rb = {0};
    if (!CHECK(load_reference(&ra, "tests/golden/janus/ref_a") == 0 &&
                   load_reference(&rb, "tests/golden/janus/ref_b") == 0,
               "reference manifests"))
        return check_done();
    test_generation("a_hf", &ra);
    test_generation("a_orig", &ra);
    test_generation("b_hf", &rb);
    test_batching("a_orig", &ra);
    test_batching("b_hf", &rb);
    test_same_weights();
    test_refusals();
    json_decref(ra.manifest);
    json_decref(rb.manifest);
    return check_done();
}
