// lib/text/clip_tokenizer.c against open_clip's SimpleTokenizer and
// transformers' CLIPTokenizer (tests/golden/make_clip_tokenizer.py ran them on
// a vocabulary of the first 3000 merges of bpe_simple_vocab_16e6).
#include <jansson.h>
#include <string.h>

#include "check.h"
#include "text/clip_tokenizer.h"

#define CTX 77

// Every case of one layout; returns the number that match all 77 ids.
static int run_cases(bc_clip_tokenizer *tok, json_t *cases, const char *what) {
    size_t i;
    json_t *c;
    int ok = 0, shown = 0;
    json_array_foreach(cases, i, c) {
        const char *text = json_string_value(json_object_get(c, "text"));
        json_t *want = json_object_get(c, "ids");
        int32_t got[CTX];
        int n_real = 0, same = json_array_size(want) == CTX;
        int want_real = (int)json_integer_value(json_object_get(c, "n_real"));
        bc_err err = {{0}};
        if (bc_clip_tokenize(tok, text, CTX, got, &n_real, &err) < 0) {
            printf("#   %s case %zu: %s\n", what, i, err.msg);
            continue;
        }
        for (int k = 0; k < CTX && same; k++) {
            int w = (int)json_integer_value(json_array_get(want, (size_t)k));
            same = got[k] == w;
        }
        if (n_real != want_real) {
            printf("#   %s case %zu: n_real %d, want %d\n", what, i, n_real, want_real);
            same = 0;
        }
        if (same) ok++;
        else if (shown++ < 5) {
            printf("#   %s case %zu differs: \"%.60s\"\n#   got: ", what, i, text);
            for (int k = 0; k < 20; k++) printf(" %d", got[k]);
            printf("\n#   want:");
            for (int k = 0; k < 20; k++) printf(" %d", (int)json_integer_value(json_array_get(want, (size_t)k)));
            printf("\n");
        }
    }
    printf("# %s: %d of %zu cases match exactly\n", what, ok, json_array_size(cases));
    return ok;
}

int main(void) {
    json_error_t je;
    json_t *root = json_load_file("tests/golden/clip_tokenizer/cases.json", 0, &je);
    if (!CHECK(root != NULL, "cases.json loads")) return check_done();
    bc_err err = {{0}};
    int nm = (int)json_integer_value(json_object_get(root, "n_merges"));

    bc_clip_tokenizer *oc = bc_clip_tokenizer_load("tests/golden/clip_tokenizer/bpe_simple_vocab_reduced.txt", &err);
    if (!CHECK(oc != NULL, "open_clip merges file loads")) printf("#   %s\n", err.msg);
    if (oc) {
        // open_clip: 512 byte tokens, the merges, one "" for the file's final newline, then the specials
        CHECK(bc_clip_tokenizer_sot(oc) == 512 + nm + 1 && bc_clip_tokenizer_eot(oc) == 512 + nm + 2,
              "open_clip SOT/EOT ids follow the merges (%d, %d)", bc_clip_tokenizer_sot(oc), bc_clip_tokenizer_eot(oc));
        json_t *cases = json_object_get(root, "openclip");
        CHECK(run_cases(oc, cases, "open_clip") == (int)json_array_size(cases),
              "open_clip SimpleTokenizer: every case matches");
        int32_t ids[4];
        int n_real;
        CHECK(bc_clip_tokenize(oc, "a photo of a cat", 4, ids, &n_real, &err) == 0 && n_real == 4 &&
                  ids[0] == bc_clip_tokenizer_sot(oc) && ids[3] == bc_clip_tokenizer_eot(oc),
              "truncation to a short context keeps SOT first and forces EOT last");
        CHECK(bc_clip_tokenize(oc, "x", 1, ids, &n_real, &err) < 0, "a context below 2 is refused");
        bc_clip_tokenizer_free(oc);
    }

    bc_clip_tokenizer *hf = bc_clip_tokenizer_load("tests/golden/clip_tokenizer/hf", &err);
    if (!CHECK(hf != NULL, "HF vocab.json + merges.txt directory loads")) printf("#   %s\n", err.msg);
    if (hf) {
        CHECK(bc_clip_tokenizer_pad(hf) == (int)json_integer_value(json_object_get(root, "hf_pad_id")),
              "HF pads with <|endoftext|>");
        json_t *cases = json_object_get(root, "hf");
        CHECK(run_cases(hf, cases, "HF") == (int)json_array_size(cases), "transformers CLIPTokenizer: every case matches");
        bc_clip_tokenizer_free(hf);
    }

    CHECK(bc_clip_tokenizer_load("tests/golden/clip_tokenizer/missing.txt", &err) == NULL, "a missing file is refused");
    CHECK_CONTAINS(err.msg, "missing.txt", "its message names the file");
    json_decref(root);
    return check_done();
}
