// fuzz_text_clean: arbitrary bytes through lib/text/text_clean.c. Whatever
// comes in, each output must be valid UTF-8 (bytes that are not become
// U+FFFD), NFC must be idempotent (nfc(nfc(x)) == nfc(x)), and ftfy's output
// must already be NFC (its last step is NFC, repeated until nothing changes).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/regex.h"
#include "text/text_clean.h"

static void must(int cond) {
    if (!cond) abort();
}

static int valid_utf8(const char *s, size_t n) { return bc_utf8_invalid_at((const uint8_t *)s, n) == n; }

static int same(const char *a, size_t na, const char *b, size_t nb) { return na == nb && !memcmp(a, b, na); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    char *fixed, *fixed_nfc, *nfc, *nfc2, *html, *clean;
    size_t nf = bc_text_ftfy(in, size, &fixed);
    must(valid_utf8(fixed, nf) && strlen(fixed) <= nf);
    size_t nfn = bc_text_nfc(fixed, nf, &fixed_nfc);
    must(same(fixed, nf, fixed_nfc, nfn));
    size_t n1 = bc_text_nfc(in, size, &nfc);
    must(valid_utf8(nfc, n1));
    size_t n2 = bc_text_nfc(nfc, n1, &nfc2);
    must(same(nfc, n1, nfc2, n2));
    size_t nh = bc_text_html_unescape(in, size, &html);
    must(valid_utf8(html, nh));
    size_t nc = bc_text_openclip_clean(in, size, &clean);
    must(valid_utf8(clean, nc) && (nc == 0 || (clean[0] != ' ' && clean[nc - 1] != ' ')));
    free(fixed), free(fixed_nfc), free(nfc), free(nfc2), free(html), free(clean);
    return 0;
}
