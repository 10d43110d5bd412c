// lib/text/text_clean.c against ftfy.fix_text, html.unescape, unicodedata2's
// NFC and open_clip's whitespace_clean(basic_clean()), lib/text/ftfy_encoding.c
// against ftfy.fix_encoding and ftfy.badness.is_bad, and the CLIP tokenizer
// with that cleaning against open_clip's SimpleTokenizer and transformers'
// CLIPTokenizer (tests/golden/make_text_clean.py wrote the fixture). Strings
// are compared for exact equality (bytes of the UTF-8, or code points), token
// ids and is_bad's answers one by one.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "text/clip_tokenizer.h"
#include "text/ftfy_encoding.h"
#include "text/regex.h"
#include "text/text_clean.h"

#define CTX 77

static void show(const char *what, size_t i, const char *text, const char *got, const char *want) {
    printf("#   %s case %zu: \"%.60s\"\n#     got  \"%.80s\"\n#     want \"%.80s\"\n", what, i, text, got, want);
}

// One string function over every case (skipping those marked, when skip_marked);
// returns the number of mismatches.
static int run_fn(json_t *cases, const char *key, size_t (*fn)(const char *, size_t, char **), int skip_marked,
                  int *ran) {
    size_t i;
    json_t *c;
    int bad = 0;
    *ran = 0;
    json_array_foreach(cases, i, c) {
        if (skip_marked && json_string_length(json_object_get(c, "skip"))) continue;
        json_t *t = json_object_get(c, "text");
        json_t *want = json_object_get(c, key);
        char *got;
        size_t n = fn(json_string_value(t), json_string_length(t), &got);
        (*ran)++;
        if (n != json_string_length(want) || memcmp(got, json_string_value(want), n)) {
            if (bad++ < 5) show(key, i, json_string_value(t), got, json_string_value(want));
        }
        free(got);
    }
    return bad;
}

// Token ids of every case holding `key` (unpadded SOT..EOT); returns mismatches.
static int run_ids(bc_clip_tokenizer *tok, json_t *cases, const char *key, int *ran) {
    size_t i;
    json_t *c;
    int bad = 0;
    *ran = 0;
    json_array_foreach(cases, i, c) {
        json_t *want = json_object_get(c, key);
        const char *text = json_string_value(json_object_get(c, "text"));
        if (!want || strlen(text) != json_string_length(json_object_get(c, "text"))) continue;  // NUL inside: not a C string
        int32_t got[CTX];
        int n_real = 0;
        bc_err err = {{0}};
        (*ran)++;
        int same = bc_clip_tokenize(tok, text, CTX, got, &n_real, &err) == 0 && n_real == (int)json_array_size(want);
        for (int k = 0; k < n_real && same; k++) same = got[k] == json_integer_value(json_array_get(want, (size_t)k));
        for (int k = n_real; k < CTX && same; k++) same = got[k] == bc_clip_tokenizer_pad(tok);
        if (!same && bad++ < 5) {
            printf("#   %s case %zu: \"%.60s\" (%s)\n#     got: ", key, i, text, err.msg);
            for (int k = 0; k < n_real && k < 16; k++) printf(" %d", got[k]);
            printf("\n#     want:");
            for (size_t k = 0; k < json_array_size(want) && k < 16; k++)
                printf(" %d", (int)json_integer_value(json_array_get(want, k)));
            printf("\n");
        }
    }
    return bad;
}

// ftfy.fix_encoding through bc_ftfy_fix_encoding (the text itself when it
// says nothing changes).
static size_t fix_encoding_utf8(const char *in, size_t len, char **out) {
    bc_cps a = {0}, b = {0};
    bc_cps_from_utf8(&a, in, len);
    const bc_cps *r = bc_ftfy_fix_encoding(a.v, a.n, &b) ? &b : &a;
    char *s = malloc(4 * r->n + 1), *p = s;
    for (size_t i = 0; i < r->n; i++) p += bc_utf8_encode(r->v[i] > 0x10FFFF ? 0xFFFD : r->v[i], p);
    *p = 0;
    *out = s;
    bc_cps_free(&a);
    bc_cps_free(&b);
    return (size_t)(p - s);
}

// Code points from a JSON array of integers.
static void cps_from_json(json_t *a, bc_cps *out) {
    size_t i;
    json_t *v;
    out->n = 0;
    json_array_foreach(a, i, v) bc_cps_push(out, (uint32_t)json_integer_value(v));
}

// UTF-8 validity of a byte string (no overlongs, surrogates or > U+10FFFF).
static int valid_utf8(const char *s, size_t n) {
    bc_cps c = {0};
    bc_cps_from_utf8(&c, s, n);
    int ok = 1;
    for (size_t i = 0; i < c.n; i++) ok &= c.v[i] <= 0x10FFFF;
    bc_cps_free(&c);
    return ok;
}

int main(void) {
    json_error_t je;
    json_t *root = json_load_file("tests/golden/text_clean/cases.json", JSON_ALLOW_NUL, &je);
    if (!CHECK(root != NULL, "cases.json loads")) {
        printf("#   %s\n", je.text);
        return check_done();
    }
    json_t *cases = json_object_get(root, "cases");
    int ran, marked = 0, mojibake = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        marked += json_string_length(json_object_get(c, "skip")) > 0;
        mojibake += json_integer_value(json_object_get(c, "mojibake")) != 0;
    }
    printf("# %zu cases, %d whose ftfy result depends on fix_encoding (mojibake), %d marked (Unicode 14 vs 16)\n",
           json_array_size(cases), mojibake, marked);

    int bad = run_fn(cases, "ftfy", bc_text_ftfy, 1, &ran);
    CHECK(bad == 0 && ran > 450 && mojibake >= 200, "ftfy.fix_text: %d of %d unmarked cases match exactly", ran - bad,
          ran);
    bad = run_fn(cases, "enc", fix_encoding_utf8, 0, &ran);
    CHECK(bad == 0, "ftfy.fix_encoding: %d of %d cases match exactly", ran - bad, ran);
    bad = run_fn(cases, "html", bc_text_html_unescape, 0, &ran);
    CHECK(bad == 0, "html.unescape: %d of %d cases match exactly", ran - bad, ran);
    bad = run_fn(cases, "nfc", bc_text_nfc, 0, &ran);
    CHECK(bad == 0, "NFC (unicodedata2 16.0.0): %d of %d cases match exactly", ran - bad, ran);
    bad = run_fn(cases, "clean", bc_text_openclip_clean, 1, &ran);
    CHECK(bad == 0, "open_clip whitespace_clean(basic_clean()): %d of %d unmarked cases match exactly", ran - bad, ran);

    // is_bad, the heuristic that decides whether fix_encoding tries at all.
    json_t *isbad = json_object_get(root, "is_bad");
    int nbad = 0, wrong = 0;
    json_array_foreach(isbad, i, c) {
        json_t *t = json_array_get(c, 0);
        int want = (int)json_integer_value(json_array_get(c, 1));
        bc_cps a = {0};
        bc_cps_from_utf8(&a, json_string_value(t), json_string_length(t));
        int got = bc_ftfy_is_bad(a.v, a.n);
        nbad += want;
        if (got != want && wrong++ < 5) printf("#   is_bad \"%s\": got %d, want %d\n", json_string_value(t), got, want);
        bc_cps_free(&a);
    }
    CHECK(wrong == 0 && nbad > 500 && json_array_size(isbad) - (size_t)nbad > 500,
          "ftfy.badness.is_bad: %zu of %zu strings (%d bad) answered the same", json_array_size(isbad) - (size_t)wrong,
          json_array_size(isbad), nbad);

    // Code points that UTF-8 cannot carry: surrogates (fix_surrogates).
    json_t *cpcases = json_object_get(root, "cps");
    int cp_same = json_array_size(cpcases) > 0;
    json_array_foreach(cpcases, i, c) {
        bc_cps in = {0}, want = {0}, got = {0};
        cps_from_json(json_object_get(c, "in"), &in);
        cps_from_json(json_object_get(c, "ftfy"), &want);
        bc_text_ftfy_cps(&in, &got);
        cp_same &= got.n == want.n && !memcmp(got.v, want.v, got.n * sizeof *got.v);
        bc_cps_free(&in), bc_cps_free(&want), bc_cps_free(&got);
    }
    CHECK(cp_same, "ftfy.fix_text on %zu code point arrays with surrogates: equal", json_array_size(cpcases));

    // NFC is idempotent, and so is ftfy on its own output, on every case.
    int idem = 1, utf8 = 1;
    json_array_foreach(cases, i, c) {
        json_t *t = json_object_get(c, "text");
        char *a, *b, *f, *g;
        size_t na = bc_text_nfc(json_string_value(t), json_string_length(t), &a);
        size_t nb = bc_text_nfc(a, na, &b);
        size_t nf = bc_text_ftfy(json_string_value(t), json_string_length(t), &f);
        size_t ng = bc_text_ftfy(f, nf, &g);
        idem &= na == nb && !memcmp(a, b, na) && nf == ng && !memcmp(f, g, nf);
        utf8 &= valid_utf8(a, na) && valid_utf8(f, nf);
        free(a), free(b), free(f), free(g);
    }
    CHECK(idem, "nfc(nfc(x)) == nfc(x) and ftfy(ftfy(x)) == ftfy(x) on every case");
    CHECK(utf8, "outputs are valid UTF-8");

    // Bytes that are not UTF-8 come out as U+FFFD (Python would not decode them at all).
    char *out;
    size_t n = bc_text_ftfy("a\xff\xc3(b", 5, &out);
    CHECK(n == 9 && !strcmp(out, "a\xef\xbf\xbd\xef\xbf\xbd(b"), "invalid bytes become U+FFFD (got \"%s\")", out);
    free(out);

    bc_err err = {{0}};
    bc_clip_tokenizer *oc = bc_clip_tokenizer_load("tests/golden/clip_tokenizer/bpe_simple_vocab_reduced.txt", &err);
    if (!CHECK(oc != NULL, "open_clip merges file loads")) printf("#   %s\n", err.msg);
    if (oc) {
        bad = run_ids(oc, cases, "oc_ids", &ran);
        CHECK(bad == 0 && ran > 150, "open_clip SimpleTokenizer ids: %d of %d unmarked cases match", ran - bad, ran);
        bc_clip_tokenizer_free(oc);
    }
    bc_clip_tokenizer *hf = bc_clip_tokenizer_load("tests/golden/clip_tokenizer/hf", &err);
    if (!CHECK(hf != NULL, "HF vocab.json + merges.txt loads")) printf("#   %s\n", err.msg);
    if (hf) {
        bad = run_ids(hf, cases, "hf_ids", &ran);
        CHECK(bad == 0 && ran > 150, "transformers CLIPTokenizer ids (NFC + lowercase): %d of %d cases match", ran - bad,
              ran);
        bc_clip_tokenizer_free(hf);
    }
    json_decref(root);
    return check_done();
}
