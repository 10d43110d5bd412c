// fuzz_tokenizer: the byte-level BPE tokenizer on arbitrary bytes. The first
// byte picks what runs on the rest:
//   0, 1, 2  encode (with and without special tokens) and decode with the
//            deepseek / gpt2 / llama3 fixture of tests/golden/tokenizer/ (run
//            from the repository root); for gpt2 and llama3, whose vocabularies
//            hold every byte, valid UTF-8 must decode back to itself;
//   3        the bytes as a tokenizer.json, then as a regex pattern.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/bpe.h"
#include "text/regex.h"

static bc_tokenizer *fixtures[3];

static int valid_utf8(const uint8_t *s, size_t n) { return bc_utf8_invalid_at(s, n) == n; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int which = data[0] % 4;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    bc_err err;
    if (which == 3) {
        bc_tokenizer *tok = bc_tokenizer_parse(text, len, NULL, "fuzz.json", &err);
        if (tok) {
            int32_t *ids;
            size_t n;
            bc_tokenizer_encode(tok, "Hello, world! 123 你好", 24, 1, &ids, &n, &err);
            free(bc_tokenizer_decode(tok, ids, n, 0, NULL, &err));
            free(ids);
            bc_tokenizer_free(tok);
        }
        bc_regex *re = bc_regex_compile(text, len, &err);
        if (re) {
            uint32_t cps[] = {'a', ' ', 'b', '1', 0x4F60, '\n', ' ', ' '};
            size_t ms, me;
            bc_regex_search(re, cps, 8, 0, &ms, &me);
            bc_regex_free(re);
        }
        return 0;
    }
    static const char *const names[3] = {"deepseek", "gpt2", "llama3"};
    if (!fixtures[which]) {
        char path[128];
        snprintf(path, sizeof path, "tests/golden/tokenizer/%s/tokenizer.json", names[which]);
        fixtures[which] = bc_tokenizer_load(path, &err);
        if (!fixtures[which]) {
            fprintf(stderr, "fuzz_tokenizer: %s (run from the repository root)\n", err.msg);
            abort();
        }
    }
    bc_tokenizer *tok = fixtures[which];
    for (int special = 0; special < 2; special++) {
        int32_t *ids;
        size_t n;
        if (bc_tokenizer_encode(tok, text, len, special, &ids, &n, &err) < 0) abort();
        size_t dlen;
        char *dec = bc_tokenizer_decode(tok, ids, n, 0, &dlen, &err);
        if (!dec) abort();
        if (which > 0 && !special && valid_utf8((const uint8_t *)text, len) && (dlen != len || memcmp(dec, text, len) != 0)) {
            fprintf(stderr, "fuzz_tokenizer: %s: decode(encode(x)) != x\n", names[which]);
            abort();
        }
        free(bc_tokenizer_decode(tok, ids, n, 1, NULL, &err));
        free(dec);
        free(ids);
    }
    return 0;
}
