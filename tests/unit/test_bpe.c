// test_bpe.c: byte-level BPE tokenizers against Hugging Face tokenizers.
// tests/golden/tokenizer/{deepseek,gpt2,llama3}/tokenizer.json and the
// expected encodings and decodings in cases.json were made by
// tests/golden/make_tokenizers.py with tokenizers 0.23; every id sequence
// and every decoded string must match exactly. Also: the API (special ids,
// lookups, the Janus prompt), the regex engine, and files that must be refused.
#include <jansson.h>
#include <stdint.h>

#include "check.h"
#include "text/bpe.h"
#include "text/regex.h"

#define FIX "tests/golden/tokenizer/"

static int same_ids(const int32_t *got, size_t n, json_t *want) {
    if (n != json_array_size(want)) return 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != json_integer_value(json_array_get(want, i))) return 0;
    return 1;
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    printf("#   %s [", label);
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("]\n");
}

// Every case of one fixture: ids with and without special tokens, decodes.
static void test_golden(const char *name, json_t *fixture) {
    char path[256];
    snprintf(path, sizeof path, FIX "%s", name);
    bc_err err = {""};
    bc_tokenizer *tok = bc_tokenizer_load(path, &err);
    if (!CHECK(tok != NULL, "%s: load %s: %s", name, path, err.msg)) return;
    CHECK(bc_tokenizer_vocab_size(tok) == json_integer_value(json_object_get(fixture, "vocab_size")),
          "%s: vocab size %d", name, bc_tokenizer_vocab_size(tok));
    json_t *cases = json_object_get(fixture, "cases");
    size_t i, bad_ids = 0, bad_plain = 0, bad_dec = 0, bad_skip = 0, shown = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t len = json_string_length(json_object_get(c, "text"));
        int32_t *ids = NULL, *plain = NULL;
        size_t n = 0, np = 0;
        bc_tokenizer_encode(tok, text, len, 1, &ids, &n, &err);
        bc_tokenizer_encode(tok, text, len, 0, &plain, &np, &err);
        int ok_ids = same_ids(ids, n, json_object_get(c, "ids"));
        int ok_plain = same_ids(plain, np, json_object_get(c, "ids_plain"));
        bad_ids += !ok_ids;
        bad_plain += !ok_plain;
        if ((!ok_ids || !ok_plain) && shown++ < 8) {
            printf("# %s: mismatch on \"%s\"\n", name, text);
            print_ids("got: ", ids, n);
            char *w = json_dumps(json_object_get(c, "ids"), JSON_COMPACT);
            printf("#   want: %s\n", w);
            free(w);
        }
        // Decode the reference ids (so a decode check does not hang on an encode bug).
        json_t *want_ids = json_object_get(c, "ids");
        size_t nw = json_array_size(want_ids);
        int32_t *ref = malloc((nw + 1) * sizeof *ref);
        for (size_t k = 0; k < nw; k++) ref[k] = (int32_t)json_integer_value(json_array_get(want_ids, k));
        char *dec = bc_tokenizer_decode(tok, ref, nw, 0, NULL, &err);
        char *skip = bc_tokenizer_decode(tok, ref, nw, 1, NULL, &err);
        const char *want_dec = json_string_value(json_object_get(c, "decoded"));
        const char *want_skip = json_string_value(json_object_get(c, "decoded_skip"));
        if (!dec || strcmp(dec, want_dec) != 0) {
            if (bad_dec++ < 5) printf("# %s: decode of \"%s\"\n#   got:  \"%s\"\n#   want: \"%s\"\n", name, text, dec ? dec : err.msg, want_dec);
        }
        if (!skip || strcmp(skip, want_skip) != 0) {
            if (bad_skip++ < 5) printf("# %s: decode(skip_special) of \"%s\"\n#   got:  \"%s\"\n#   want: \"%s\"\n", name, text, skip ? skip : err.msg, want_skip);
        }
        free(dec);
        free(skip);
        free(ref);
        free(ids);
        free(plain);
    }
    size_t total = json_array_size(cases);
    CHECK(bad_ids == 0, "%s: encode with special tokens matches HF on %zu/%zu strings", name, total - bad_ids, total);
    CHECK(bad_plain == 0, "%s: encode without special tokens matches HF on %zu/%zu strings", name, total - bad_plain, total);
    CHECK(bad_dec == 0, "%s: decode matches HF on %zu/%zu", name, total - bad_dec, total);
    CHECK(bad_skip == 0, "%s: decode(skip_special_tokens) matches HF on %zu/%zu", name, total - bad_skip, total);
    bc_tokenizer_free(tok);
}

// The DeepSeek shape's special ids and the Janus generation prompt.
static void test_deepseek_api(void) {
    bc_err err = {""};
    bc_tokenizer *tok = bc_tokenizer_load(FIX "deepseek/tokenizer.json", &err);
    if (!CHECK(tok != NULL, "load deepseek by file: %s", err.msg)) return;
    int bos = bc_tokenizer_token_id(tok, "<｜begin▁of▁sentence｜>");
    int eos = bc_tokenizer_token_id(tok, "<｜end▁of▁sentence｜>");
    int pad = bc_tokenizer_token_id(tok, "<｜▁pad▁｜>");
    int boi = bc_tokenizer_token_id(tok, "<begin_of_image>");
    CHECK(bos >= 0 && bc_tokenizer_bos(tok) == bos, "bos from the post_processor: %d", bos);
    CHECK(eos == bos + 1 && bc_tokenizer_eos(tok) == eos, "eos from tokenizer_config.json: %d", eos);
    CHECK(pad == bos + 15 && boi == bos + 16, "pad %d and <begin_of_image> %d looked up by string", pad, boi);
    CHECK(bc_tokenizer_token_id(tok, "<|nonexistent|>") == -1, "absent token -> -1");
    CHECK(bc_tokenizer_token_id(tok, "Ġa") >= 0, "a vocab entry in byte-level form");
    CHECK_STR(bc_tokenizer_token(tok, bos), "<｜begin▁of▁sentence｜>", "id -> token");
    const char *prompt = "<|User|>: a red apple\n\n<|Assistant|>:<begin_of_image>";
    int32_t *ids;
    size_t n;
    CHECK(bc_tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids, &n, &err) == 0, "encode the Janus prompt");
    CHECK(n > 3 && ids[0] == bos && ids[1] == bc_tokenizer_token_id(tok, "<|User|>") && ids[n - 1] == boi,
          "Janus prompt: BOS, <|User|>, ..., <begin_of_image>");
    free(ids);
    // Bytes that are not UTF-8 go through byte by byte. The DeepSeek shape has
    // no model token for bytes FF and FE (they never occur in UTF-8), and a
    // character outside the model vocab is dropped, as HF does without unk_token.
    const char bad[] = "a\xff\xfe b\xe4\xb8";
    CHECK(bc_tokenizer_encode(tok, bad, sizeof bad - 1, 0, &ids, &n, &err) == 0 && n >= 3, "invalid UTF-8 encodes");
    char *dec = bc_tokenizer_decode(tok, ids, n, 0, NULL, &err);
    CHECK_STR(dec, "a b\xef\xbf\xbd", "FF FE dropped, a cut-off sequence decodes to one U+FFFD");
    free(dec);
    free(ids);
    int32_t out_of_range = 1 << 20;
    CHECK(bc_tokenizer_decode(tok, &out_of_range, 1, 0, NULL, &err) == NULL, "decode of an unknown id fails");
    CHECK_CONTAINS(err.msg, "not in the vocabulary", "  with a message: %s", err.msg);
    bc_tokenizer_free(tok);

    tok = bc_tokenizer_load(FIX "gpt2", &err);
    if (CHECK(tok != NULL, "load gpt2 by directory: %s", err.msg)) {
        int eot = bc_tokenizer_token_id(tok, "<|endoftext|>");
        CHECK(eot >= 0 && bc_tokenizer_eos(tok) == eot && bc_tokenizer_bos(tok) == eot, "gpt2 bos/eos from tokenizer_config.json");
        // GPT-2's vocab has every byte: invalid UTF-8 comes back byte for byte, U+FFFD per invalid subpart.
        CHECK(bc_tokenizer_encode(tok, bad, sizeof bad - 1, 1, &ids, &n, &err) == 0 && n >= 5, "gpt2: invalid UTF-8 encodes");
        dec = bc_tokenizer_decode(tok, ids, n, 0, NULL, &err);
        CHECK_STR(dec, "a\xef\xbf\xbd\xef\xbf\xbd b\xef\xbf\xbd", "gpt2: and decodes with U+FFFD per invalid subpart");
        free(dec);
        free(ids);
        bc_tokenizer_free(tok);
    }
}

static bc_tokenizer *parse(const char *json, bc_err *err) { return bc_tokenizer_parse(json, strlen(json), NULL, "t.json", err); }

static void test_bad_files(void) {
    bc_err err = {""};
    CHECK(parse("{not json", &err) == NULL, "not JSON refused");
    CHECK_CONTAINS(err.msg, "not valid JSON", "  %s", err.msg);
    CHECK(parse("{\"model\": {\"type\": \"BPE\", \"merges\": []}}", &err) == NULL, "missing model.vocab refused");
    CHECK_CONTAINS(err.msg, "model.vocab", "  %s", err.msg);
    CHECK(parse("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a c\"]}}", &err) == NULL,
          "merge naming an unknown token refused");
    CHECK_CONTAINS(err.msg, "\"c\" is not in model.vocab", "  %s", err.msg);
    CHECK(parse("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]}}", &err) == NULL,
          "merge whose result is not in the vocab refused");
    CHECK_CONTAINS(err.msg, "merged token \"ab\"", "  %s", err.msg);
    CHECK(parse("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", &err) == NULL, "WordPiece refused");
    CHECK_CONTAINS(err.msg, "\"WordPiece\" is not supported", "  %s", err.msg);
    CHECK(parse("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -3}, \"merges\": []}}", &err) == NULL, "negative id refused");
    CHECK(parse("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", "
                "\"pattern\": {\"Regex\": \"(?<=a)b\"}, \"behavior\": \"Isolated\"}}", &err) == NULL,
          "unsupported regex refused");
    CHECK_CONTAINS(err.msg, "lookbehind", "  %s", err.msg);
    CHECK(parse("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"normalizer\": {\"type\": \"NFKC\"}}", &err) == NULL,
          "unsupported normalizer refused");
    CHECK_CONTAINS(err.msg, "NFKC", "  %s", err.msg);
    CHECK(bc_tokenizer_load("tests/golden/tokenizer/nonexistent", &err) == NULL, "missing file refused");
    // A minimal valid file, merges as pairs, no pre-tokenizer and no decoder.
    bc_tokenizer *tok = parse("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [[\"a\", \"b\"]]}}", &err);
    if (CHECK(tok != NULL, "minimal file: %s", err.msg)) {
        int32_t *ids;
        size_t n;
        bc_tokenizer_encode(tok, "abab", 4, 1, &ids, &n, &err);
        CHECK(n == 2 && ids[0] == 2 && ids[1] == 2, "abab -> ab ab");
        free(ids);
        bc_tokenizer_free(tok);
    }
}

static int search(const char *pattern, const char *text, size_t *ms, size_t *me) {
    bc_err err;
    bc_regex *re = bc_regex_compile(pattern, strlen(pattern), &err);
    if (!re) {
        printf("# compile %s: %s\n", pattern, err.msg);
        return -1;
    }
    uint32_t cps[256];
    size_t offs[257];
    size_t n = bc_utf8_decode((const uint8_t *)text, strlen(text), cps, offs);
    int r = bc_regex_search(re, cps, n, 0, ms, me);
    bc_regex_free(re);
    return r;
}

static void test_regex(void) {
    size_t s, e;
    CHECK(search("\\s+(?!\\S)", "a   b", &s, &e) == 1 && s == 1 && e == 3, "\\s+(?!\\S) leaves the last space");
    CHECK(search("\\p{N}{1,3}", "x12345", &s, &e) == 1 && s == 1 && e == 4, "{1,3}");
    CHECK(search("(?i:'s|'t)", "IT'S", &s, &e) == 1 && s == 2 && e == 4, "(?i:...)");
    CHECK(search("[^\\s\\p{L}]+", "ab, cd", &s, &e) == 1 && s == 2 && e == 3, "negated class with \\s and \\p{L}");
    CHECK(search("\\s+$", "a  ", &s, &e) == 1 && s == 1 && e == 3, "\\s+$");
    CHECK(search("a|ab", "ab", &s, &e) == 1 && e == 1, "alternation is ordered, not longest");
    CHECK(search("[一-龥]+", "x你好y", &s, &e) == 1 && s == 1 && e == 3, "CJK range class");
    CHECK(search("(a*)*", "a", &s, &e) == -1, "a repeated empty-matching group is refused");
    // Oniguruma's \w takes "½" outside a class but not inside one (measured against tokenizers).
    CHECK(search("\\w", "\u00bd", &s, &e) == 1 && search("[\\w]", "\u00bd", &s, &e) == 0, "\\w vs [\\w] on U+00BD");
    CHECK(bc_unicode_category(0x4E00) == BC_UCAT_LO && bc_unicode_category('5') == BC_UCAT_ND &&
              bc_unicode_category(0x0301) == BC_UCAT_MN && bc_unicode_category(0x1C89) == BC_UCAT_LU,
          "categories (Unicode %s; U+1C89 is new in 16.0)", bc_unicode_version);
    CHECK(bc_unicode_fold(0x1E9E) == 0xDF && bc_unicode_fold(0x212A) == 'k' && bc_unicode_fold(0x17F) == 's',
          "simple case folds");
}

int main(void) {
    json_error_t je;
    json_t *golden = json_load_file(FIX "cases.json", 0, &je);
    if (CHECK(golden != NULL, "read cases.json: %s", golden ? "" : je.text)) {
        test_golden("deepseek", json_object_get(golden, "deepseek"));
        test_golden("gpt2", json_object_get(golden, "gpt2"));
        test_golden("llama3", json_object_get(golden, "llama3"));
        json_decref(golden);
    }
    test_deepseek_api();
    test_bad_files();
    test_regex();
    return check_done();
}
