// fuzz_text_clean: arbitrary bytes through lib/text/text_clean.c and
// lib/text/ftfy_encoding.c. Whatever comes in, each output must be valid
// UTF-8 (bytes that are not become U+FFFD), NFC must be idempotent
// (nfc(nfc(x)) == nfc(x)), and ftfy's output must already be NFC (its last
// step is NFC, repeated until nothing changes).
//
// The same bytes are also read as Latin-1, one code point each: that turns
// any UTF-8 in them into exactly the mojibake fix_encoding repairs, so its
// codecs, byte repairs and UTF-8 decoders get reached. There fix_encoding
// must give code points (no surrogates, nothing above U+10FFFF), and its
// result must be final: fix_encoding repeats its steps until the text stops
// changing, so it must leave its own output alone.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/ftfy_encoding.h"
#include "text/regex.h"
#include "text/text_clean.h"

static void must(int cond) {
    if (!cond) abort();
}

static int valid_utf8(const char *s, size_t n) { return bc_utf8_invalid_at((const uint8_t *)s, n) == n; }

static int same(const char *a, size_t na, const char *b, size_t nb) { return na == nb && !memcmp(a, b, na); }

static int same_cps(const bc_cps *a, const bc_cps *b) {
    return a->n == b->n && (a->n == 0 || !memcmp(a->v, b->v, a->n * sizeof *a->v));
}

static int valid_cps(const bc_cps *c) {
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i] > 0x10FFFF || (c->v[i] >= 0xD800 && c->v[i] <= 0xDFFF)) return 0;
    return 1;
}

static void latin1_view(const uint8_t *data, size_t size) {
    bc_cps in = {0}, enc = {0}, again = {0}, fixed = {0}, nfc = {0};
    for (size_t i = 0; i < size; i++) bc_cps_push(&in, data[i]);
    if (bc_ftfy_fix_encoding(in.v, in.n, &enc)) {
        must(valid_cps(&enc));
        must(!bc_ftfy_fix_encoding(enc.v, enc.n, &again));
    }
    bc_text_ftfy_cps(&in, &fixed);
    must(valid_cps(&fixed));
    bc_text_nfc_cps(&fixed, &nfc);
    must(same_cps(&fixed, &nfc));
    bc_cps_free(&in), bc_cps_free(&enc), bc_cps_free(&again), bc_cps_free(&fixed), bc_cps_free(&nfc);
}

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
    latin1_view(data, size);
    return 0;
}
