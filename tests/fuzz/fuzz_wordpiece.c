// fuzz_wordpiece: the BERT WordPiece tokenizer on arbitrary bytes. The first
// byte picks what runs on the rest:
//   0, 1  encode with the fixture of tests/golden/wordpiece/ (run from the
//         repository root), lowercased (vocab.txt) or cased (tokenizer.json):
//         valid UTF-8 must encode to ids inside the vocabulary, invalid
//         UTF-8 must be refused;
//   2, 3  the bytes as a vocab.txt / a tokenizer.json, then encode a fixed
//         text with what loaded.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "text/regex.h"
#include "text/wordpiece.h"

static bc_wordpiece *fixtures[2];

static int valid_utf8(const uint8_t *s, size_t n) { return bc_utf8_invalid_at(s, n) == n; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int which = data[0] % 4;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    bc_err err;
    int32_t *ids = NULL;
    size_t n = 0;
    if (which >= 2) {
        bc_wordpiece *t = bc_wordpiece_parse(text, len, which == 3, -1, "fuzz", &err);
        if (t) {
            static const char sample[] = "Hello, [MASK] wörld! 你好 ΟΔΟΣ a\xcc\x81 ##ing 100%";
            if (bc_wordpiece_encode(t, sample, sizeof sample - 1, &ids, &n, &err) < 0) abort();
            for (size_t i = 0; i < n; i++)
                if (ids[i] < 0 || ids[i] >= bc_wordpiece_vocab_size(t)) abort();
            free(ids);
            bc_wordpiece_free(t);
        }
        return 0;
    }
    if (!fixtures[which]) {
        const char *path =
            which == 0 ? "tests/golden/wordpiece/vocab.txt" : "tests/golden/wordpiece/json/tokenizer.json";
        fixtures[which] = bc_wordpiece_load(path, which == 0 ? -1 : 0, &err);
        if (!fixtures[which]) {
            fprintf(stderr, "fuzz_wordpiece: %s (run from the repository root)\n", err.msg);
            abort();
        }
    }
    bc_wordpiece *t = fixtures[which];
    int rc = bc_wordpiece_encode(t, text, len, &ids, &n, &err);
    if ((rc == 0) != valid_utf8((const uint8_t *)text, len)) abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= bc_wordpiece_vocab_size(t) || !bc_wordpiece_token(t, ids[i])) abort();
    free(ids);
    return 0;
}
