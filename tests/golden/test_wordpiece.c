// lib/text/wordpiece.c against transformers' BertTokenizer (tokenizers'
// BertNormalizer + BertPreTokenizer + WordPiece): tests/golden/make_wordpiece.py
// ran it on a hand-made BERT-layout vocabulary, saved as vocab.txt and as
// tokenizer.json; every case goes through each way of loading it.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "text/wordpiece.h"

#define DIR "tests/golden/wordpiece"

// Every case of a list; returns the number whose ids match exactly.
static int run_cases(const bc_wordpiece *t, json_t *cases, const char *what) {
    size_t i;
    json_t *c;
    int ok = 0, shown = 0;
    json_array_foreach(cases, i, c) {
        json_t *text = json_object_get(c, "text"), *want = json_object_get(c, "ids");
        int32_t *ids = NULL;
        size_t n = 0;
        bc_err err = {{0}};
        int same = bc_wordpiece_encode(t, json_string_value(text), json_string_length(text), &ids, &n, &err) == 0 &&
                   n == json_array_size(want);
        for (size_t k = 0; same && k < n; k++) same = ids[k] == json_integer_value(json_array_get(want, k));
        if (same) ok++;
        else if (shown++ < 5) {
            printf("#   %s case %zu differs: \"%.60s\" %s\n#   got: ", what, i, json_string_value(text), err.msg);
            for (size_t k = 0; k < n && k < 24; k++) printf(" %d", ids[k]);
            printf("\n#   want:");
            for (size_t k = 0; k < json_array_size(want) && k < 24; k++)
                printf(" %d", (int)json_integer_value(json_array_get(want, k)));
            printf("\n");
        }
        free(ids);
    }
    printf("# %s: %d of %zu cases match exactly\n", what, ok, json_array_size(cases));
    return ok;
}

static void write_file(const char *path, const char *data) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(data, f);
        fclose(f);
    }
}

// Loading fails, and the message names the problem.
static void check_load_fails(const char *path, const char *want, const char *what) {
    bc_err err = {{0}};
    bc_wordpiece *t = bc_wordpiece_load(path, -1, &err);
    if (CHECK(t == NULL, "%s is refused", what)) CHECK_CONTAINS(err.msg, want, "%s: the message says why", what);
    bc_wordpiece_free(t);
}

int main(void) {
    json_error_t je;
    json_t *root = json_load_file(DIR "/cases.json", JSON_ALLOW_NUL, &je);  // one case holds a NUL
    if (!CHECK(root != NULL, "cases.json loads")) return check_done();
    json_t *cases = json_object_get(root, "cases"), *cased = json_object_get(root, "cased");
    int n_cases = (int)json_array_size(cases), n_cased = (int)json_array_size(cased);
    int vocab_size = (int)json_integer_value(json_object_get(root, "vocab_size"));

    // The four ways to name the same tokenizer: every uncased case matches.
    static const char *const paths[] = {DIR "/vocab.txt", DIR "/json/tokenizer.json", DIR "/json", DIR};
    static const char *const whats[] = {"vocab.txt", "tokenizer.json", "directory with tokenizer.json",
                                        "directory with vocab.txt"};
    for (int p = 0; p < 4; p++) {
        bc_err err = {{0}};
        bc_wordpiece *t = bc_wordpiece_load(paths[p], -1, &err);
        if (!CHECK(t != NULL, "%s loads", whats[p])) {
            printf("#   %s\n", err.msg);
            continue;
        }
        CHECK(run_cases(t, cases, whats[p]) == n_cases, "%s: every case matches BertTokenizer", whats[p]);
        CHECK(bc_wordpiece_vocab_size(t) == vocab_size, "%s: vocab size %d (want %d)", whats[p],
              bc_wordpiece_vocab_size(t), vocab_size);
        static const char *const names[] = {"yes", "no", "[CLS]", "[SEP]", "[UNK]", "duplicate"};
        static const char *const keys[] = {"yes_id", "no_id", "cls_id", "sep_id", "unk_id", "duplicate_id"};
        int ids_ok = 1;
        for (int k = 0; k < 6; k++) {
            int32_t want = (int32_t)json_integer_value(json_object_get(root, keys[k]));
            int32_t got = bc_wordpiece_id(t, names[k]);
            const char *back = bc_wordpiece_token(t, got);
            if (got != want || !back || strcmp(back, names[k]) != 0) {
                printf("#   %s: id %d, want %d\n", names[k], got, want);
                ids_ok = 0;
            }
        }
        CHECK(ids_ok, "%s: ids of yes, no, [CLS], [SEP], [UNK], and a duplicated token (last line wins)", whats[p]);
        CHECK(bc_wordpiece_id(t, "no-such-token") == -1 && bc_wordpiece_token(t, -1) == NULL &&
                  bc_wordpiece_token(t, vocab_size) == NULL,
              "%s: unknown tokens and ids give -1 / NULL", whats[p]);
        bc_wordpiece_free(t);
    }

    // lowercase = 0 (do_lower_case=False; accents are then kept too).
    for (int p = 0; p < 2; p++) {
        bc_err err = {{0}};
        bc_wordpiece *t = bc_wordpiece_load(paths[p], 0, &err);
        if (!CHECK(t != NULL, "%s loads cased", whats[p])) continue;
        CHECK(run_cases(t, cased, "cased") == n_cased, "%s, lowercase=0: every cased case matches", whats[p]);
        bc_wordpiece_free(t);
    }

    // Files made here: CRLF, tokenizer_config.json, and the errors.
    char tmp[] = "/tmp/test_wordpiece.XXXXXX";
    if (!CHECK(mkdtemp(tmp) != NULL, "temporary directory")) return check_done();
    char path[512];
    bc_err err = {{0}};

    snprintf(path, sizeof path, "%s/crlf.txt", tmp);
    write_file(path, "[UNK]\r\nhello\r\n##s\rworld");  // CRLF, a lone CR, no final newline
    bc_wordpiece *t = bc_wordpiece_load(path, -1, &err);
    if (CHECK(t != NULL, "a CRLF vocab.txt without a final newline loads")) {
        int32_t *ids = NULL;
        size_t n = 0;
        int rc = bc_wordpiece_encode(t, "Hello worlds", 12, &ids, &n, &err);
        CHECK(rc == 0 && n == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 2 && bc_wordpiece_vocab_size(t) == 4,
              "CRLF vocab: ids by line, the last line read");
        rc = bc_wordpiece_encode(t, "x", 1, &ids, &n, &err);
        CHECK(rc == 0 && n == 4 && ids[3] == 0 && ids[0] == 1, "encode appends to the ids already there");
        CHECK(bc_wordpiece_encode(t, "ok \xff bad", 8, &ids, &n, &err) < 0 && n == 4,
              "invalid UTF-8 in the text is refused");
        CHECK_CONTAINS(err.msg, "invalid UTF-8 at byte 3", "the message gives the byte offset");
        free(ids);
        bc_wordpiece_free(t);
    }

    // A directory with vocab.txt + tokenizer_config.json saying do_lower_case false.
    char sub[300];
    snprintf(sub, sizeof sub, "%s/cased", tmp);
    if (CHECK(mkdir(sub, 0700) == 0, "cased directory")) {
        uint8_t *vocab;
        size_t len;
        if (bc_read_file(DIR "/vocab.txt", &vocab, &len, &err) == 0) {
            snprintf(path, sizeof path, "%s/vocab.txt", sub);
            write_file(path, (const char *)vocab);
            free(vocab);
        }
        snprintf(path, sizeof path, "%s/tokenizer_config.json", sub);
        write_file(path, "{\"do_lower_case\": false, \"tokenizer_class\": \"BertTokenizer\"}");
        t = bc_wordpiece_load(sub, -1, &err);
        if (CHECK(t != NULL, "vocab.txt + tokenizer_config.json directory loads"))
            CHECK(run_cases(t, cased, "config cased") == n_cased, "do_lower_case false from tokenizer_config.json");
        bc_wordpiece_free(t);
        write_file(path, "{\"do_lower_case\": \"no\"}");
        check_load_fails(sub, "do_lower_case: expected true/false", "a do_lower_case that is not a bool");
        unlink(path);
        snprintf(path, sizeof path, "%s/vocab.txt", sub);
        unlink(path);
        rmdir(sub);
    }

    snprintf(path, sizeof path, "%s/missing.txt", tmp);
    check_load_fails(path, "missing.txt", "a missing file");
    check_load_fails(tmp, "no tokenizer.json or vocab.txt", "a directory without a tokenizer");
    snprintf(path, sizeof path, "%s/empty.txt", tmp);
    write_file(path, "");
    check_load_fails(path, "empty vocabulary", "an empty vocab.txt");
    snprintf(path, sizeof path, "%s/nounk.txt", tmp);
    write_file(path, "[PAD]\nhello\n");
    check_load_fails(path, "\"[UNK]\" is not in the vocabulary", "a vocab.txt without [UNK]");
    snprintf(path, sizeof path, "%s/bad.txt", tmp);
    write_file(path, "[UNK]\nab\xc3\n");
    check_load_fails(path, "line 2: invalid UTF-8", "a vocab.txt with invalid UTF-8");
    snprintf(path, sizeof path, "%s/bpe.json", tmp);
    write_file(path, "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
    check_load_fails(path, "model.type: expected \"WordPiece\", got \"BPE\"", "a BPE tokenizer.json");
    snprintf(path, sizeof path, "%s/nounk.json", tmp);
    write_file(path, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}, \"unk_token\": \"<unk>\"},"
                     " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}");
    check_load_fails(path, "\"<unk>\" is not in the vocabulary", "a tokenizer.json whose unk_token is missing");
    snprintf(path, sizeof path, "%s/pre.json", tmp);
    write_file(path, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}},"
                     " \"pre_tokenizer\": {\"type\": \"Whitespace\"}}");
    check_load_fails(path, "only BertPreTokenizer", "a tokenizer.json with another pre-tokenizer");
    snprintf(path, sizeof path, "%s/broken.json", tmp);
    write_file(path, "{\"model\": ");
    check_load_fails(path, "broken.json: line", "a truncated tokenizer.json");
    static const char *const files[] = {"crlf.txt", "empty.txt", "nounk.txt", "bad.txt", "bpe.json", "nounk.json",
                                        "pre.json", "broken.json"};
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
        unlink(path);
    }
    rmdir(tmp);
    json_decref(root);
    return check_done();
}
