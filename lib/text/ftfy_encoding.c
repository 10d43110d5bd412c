// ftfy_encoding.c: ftfy's fix_encoding, the mojibake repair (see
// ftfy_encoding.h). ftfy states its tests as regular expressions; here each
// is a plain matcher over code points (text) or bytes (re-encoded text), in
// the same order, with the same leftmost-first choices. The character
// classes and codec tables are generated into ftfy_tables.c.
#include "text/ftfy_encoding.h"

#include <stdlib.h>
#include <string.h>

#include "text/regex.h"
#include "util.h"

// decode_inconsistent_utf8 calls fix_encoding on pieces of its text, which
// may call it again on smaller pieces. Python gives up with RecursionError
// when that goes a few hundred levels deep; we stop nesting here (the piece
// stays as it is).
enum { MAX_DEPTH = 100 };

// A code point that is no character at all: what reading past the end gives.
static const uint32_t NO_CHAR = 0xFFFFFFFFu;

// ---------------------------------------------------------------- character classes

static uint32_t char_class(uint32_t cp) {
    if (cp < 0x100) return bc_ftfy_class_low[cp];
    size_t lo = 0, hi = bc_ftfy_class_high_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < bc_ftfy_class_high[mid].cp) hi = mid;
        else if (cp > bc_ftfy_class_high[mid].cp) lo = mid + 1;
        else return bc_ftfy_class_high[mid].bits;
    }
    return 0;
}

// \w of Python's re.
static int is_word(uint32_t cp) {
    size_t lo = 0, hi = bc_ftfy_word_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < bc_ftfy_word[mid][0]) hi = mid;
        else if (cp > bc_ftfy_word[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

// Classes of s[0..n), one per code point (free() it).
static uint32_t *classes_of(const uint32_t *s, size_t n) {
    uint32_t *k = bc_malloc((n ? n : 1) * sizeof *k);
    for (size_t i = 0; i < n; i++) k[i] = char_class(s[i]);
    return k;
}

// Is c in the 0-terminated list?
static int one_of(uint32_t c, const uint32_t *list) {
    for (; *list; list++)
        if (c == *list) return 1;
    return 0;
}

static int ascii_lower(uint32_t c) { return c >= 'a' && c <= 'z'; }
static int ascii_letter(uint32_t c) { return ascii_lower(c) || (c >= 'A' && c <= 'Z'); }

// ---------------------------------------------------------------- is_bad

// Class unions that several of the rules below share.
enum {
    ACCENTED = BC_FTFY_LOWER_ACC | BC_FTFY_UPPER_ACC,
    // What sits next to a "bad" character in the first two rules.
    NEAR_BAD = BC_FTFY_BAD | ACCENTED | BC_FTFY_BOX | BC_FTFY_START | BC_FTFY_END | BC_FTFY_CURRENCY |
               BC_FTFY_NUMERIC | BC_FTFY_LAW,
    // The middle of the Windows-1251 / -1253 three-character rules.
    W125X_MIDDLE = BC_FTFY_C1 | BC_FTFY_BAD | BC_FTFY_START | BC_FTFY_END | BC_FTFY_CURRENCY,
};

// Characters that the rules name rather than reach through classes.
static const uint32_t AFTER_A_HAT[] = {// € œ Š š ¢ £ Ÿ ž nbsp shy ® © ° · » – — ´
                                       0x20AC, 0x153, 0x160, 0x161, 0xA2, 0xA3, 0x178, 0x17E, 0xA0, 0xAD, 0xAE,
                                       0xA9, 0xB0, 0xB7, 0xBB, 0x2013, 0x2014, 0xB4, 0};
static const uint32_t AFTER_O_STROKE[] = {0x178, 0x160, 0xAE, 0xB0, 0xB5, 0xBB, 0};  // Ÿ Š ® ° µ »
static const uint32_t AFTER_A_GRAVE[] = {0xB2, 0xB5, 0xB9, 0xBC, 0xBD, 0xBE, 0};     // ² µ ¹ ¼ ½ ¾
static const uint32_t AFTER_ROOT[] = {// ± ∂ † ≠ ® ™ ´ ≤ ≥ ¥ µ ø
                                      0xB1, 0x2202, 0x2020, 0x2260, 0xAE, 0x2122, 0xB4, 0x2264, 0x2265, 0xA5, 0xB5,
                                      0xF8, 0};
static const uint32_t AFTER_LOW9_A_UML[] = {// ì î ï ò ô ú ù û † ° ¢ π
                                            0xEC, 0xEE, 0xEF, 0xF2, 0xF4, 0xFA, 0xF9, 0xFB, 0x2020, 0xB0, 0xA2,
                                            0x3C0, 0};
static const uint32_t A_GRAVE_ETC[] = {0xE0, 0xE4, 0xB0, 0xEA, 0};                    // à ä ° ê
static const uint32_t CYR_VGRS[] = {0x412, 0x413, 0x420, 0x421, 0};                   // В Г Р С
static const uint32_t CYR_GUVJV[] = {0x413, 0x45E, 0x412, 0x402, 0x412, 0};           // Г ў В Ђ В
static const uint32_t AFTER_BETA_EURO[] = {0x2122, 0xA0, 0x386, 0xAD, 0xAE, 0xB0, 0};  // ™ nbsp Ά shy ® °
static const uint32_t GREEK_BGXO[] = {0x392, 0x393, 0x39E, 0x39F, 0};                 // Β Γ Ξ Ο
static const uint32_t SENTENCE_PUNCT[] = {'.', ',', '?', '!', 0};

// Does one of the rules of ftfy.badness (the alternatives of its BADNESS_RE)
// match at s[i]? k holds the classes of s[0..n). Only whether any matches
// counts, so they come grouped by how they start.
static int bad_at(const uint32_t *s, const uint32_t *k, size_t n, size_t i) {
    // Every rule starts with a character of some class (the characters the
    // rules name all have one), an ASCII letter or . , ? !: most text is done
    // with here.
    if (!k[i] && !(ascii_letter(s[i]) || one_of(s[i], SENTENCE_PUNCT))) return 0;
    uint32_t c0 = s[i], c1 = i + 1 < n ? s[i + 1] : NO_CHAR, c2 = i + 2 < n ? s[i + 2] : NO_CHAR;
    uint32_t c3 = i + 3 < n ? s[i + 3] : NO_CHAR;
    uint32_t k0 = k[i], k1 = i + 1 < n ? k[i + 1] : 0, k2 = i + 2 < n ? k[i + 2] : 0;
    uint32_t k3 = i + 3 < n ? k[i + 3] : 0;

    // A C1 control anywhere.
    if (k0 & BC_FTFY_C1) return 1;
    // Unlikely neighbours, by class.
    if ((k0 & NEAR_BAD) && (k1 & BC_FTFY_BAD)) return 1;
    if ((k0 & BC_FTFY_BAD) && (k1 & NEAR_BAD)) return 1;
    if ((k0 & (BC_FTFY_LOWER_ACC | BC_FTFY_LOWER_COMMON | BC_FTFY_BOX | BC_FTFY_END | BC_FTFY_CURRENCY |
               BC_FTFY_NUMERIC)) &&
        (k1 & BC_FTFY_UPPER_ACC))
        return 1;
    if ((k0 & (BC_FTFY_BOX | BC_FTFY_END | BC_FTFY_CURRENCY | BC_FTFY_NUMERIC)) && (k1 & BC_FTFY_LOWER_ACC))
        return 1;
    if ((k0 & (BC_FTFY_LOWER_ACC | BC_FTFY_BOX | BC_FTFY_END)) && (k1 & BC_FTFY_CURRENCY)) return 1;
    if ((k0 & BC_FTFY_SPACE) && (k1 & BC_FTFY_UPPER_ACC) && (k2 & BC_FTFY_CURRENCY)) return 1;
    if ((k0 & (BC_FTFY_UPPER_ACC | BC_FTFY_BOX)) && (k1 & (BC_FTFY_NUMERIC | BC_FTFY_LAW))) return 1;
    if ((k0 & (ACCENTED | BC_FTFY_BOX | BC_FTFY_CURRENCY | BC_FTFY_END)) && (k1 & BC_FTFY_START) &&
        (k2 & BC_FTFY_NUMERIC))
        return 1;
    if ((k0 & (ACCENTED | BC_FTFY_CURRENCY | BC_FTFY_NUMERIC | BC_FTFY_BOX | BC_FTFY_LAW)) && (k1 & BC_FTFY_END) &&
        (k2 & BC_FTFY_START))
        return 1;
    if ((k0 & (BC_FTFY_CURRENCY | BC_FTFY_NUMERIC | BC_FTFY_BOX)) && (k1 & BC_FTFY_START)) return 1;
    if ((k0 & BC_FTFY_BOX) && (k1 & BC_FTFY_KAOMOJI)) return 1;
    if ((k0 & (ACCENTED | BC_FTFY_CURRENCY | BC_FTFY_NUMERIC | BC_FTFY_START | BC_FTFY_END | BC_FTFY_LAW)) &&
        (k1 & BC_FTFY_BOX))
        return 1;
    if ((k0 & BC_FTFY_BOX) && (k1 & BC_FTFY_END)) return 1;
    if ((k0 & ACCENTED) && (k1 & (BC_FTFY_START | BC_FTFY_END)) && i + 2 < n && is_word(c2)) return 1;
    // A degree sign after an accented capital.
    if ((k0 & BC_FTFY_UPPER_ACC) && c1 == 0xB0) return 1;

    // Rules that start with an ASCII letter (or punctuation).
    if (ascii_letter(c0) && (k1 & (BC_FTFY_LOWER_COMMON | BC_FTFY_UPPER_COMMON)) && (k2 & BC_FTFY_BAD)) return 1;
    if (ascii_lower(c0) && (k1 & BC_FTFY_UPPER_ACC) && (k2 & (BC_FTFY_START | BC_FTFY_CURRENCY))) return 1;
    // à read as Windows-1252 after a word: Ã or Â (optionally after a space), then a space.
    if (ascii_lower(c0) && (((c1 == 0xC2 || c1 == 0xC3) && c2 == ' ') ||
                            ((k1 & BC_FTFY_SPACE) && (c2 == 0xC2 || c2 == 0xC3) && c3 == ' ')))
        return 1;
    // Â before a character that it encodes together with itself.
    if ((ascii_lower(c0) || one_of(c0, SENTENCE_PUNCT) || (k0 & BC_FTFY_END)) && c1 == 0xC2 &&
        (c2 == ' ' || (k2 & (BC_FTFY_START | BC_FTFY_END))))
        return 1;

    // Rules that start with a character they name.
    uint32_t arabic_2nd = BC_FTFY_COMMON | BC_FTFY_CURRENCY | BC_FTFY_BAD | BC_FTFY_NUMERIC | BC_FTFY_START;
    switch (c0) {
    case 0x152:  // Œ œ not followed by an unaccented Latin letter
    case 0x153:
        return i + 1 < n && !ascii_letter(c1);
    case 0xC2:  // Windows-1252 pairs of Â Ã Î Ð the class rules miss; Ã nbsp and
    case 0xC3:  // Ã ¡ (à and á); Ã or Â then a space at the very start
    case 0xCE:
    case 0xD0:
        return one_of(c1, AFTER_A_HAT) || (k1 & (BC_FTFY_START | BC_FTFY_END)) ||
               (c0 == 0xC3 && (c1 == 0xA0 || c1 == 0xA1)) || (c0 != 0xCE && c0 != 0xD0 && i == 0 && c1 == ' ');
    case 0xD7:  // × ², × ³
        return c1 == 0xB2 || c1 == 0xB3;
    case 0xD8:  // Arabic read as Windows-1252: two pairs of Ø or Ù and a second byte
    case 0xD9:
        return ((k1 & arabic_2nd) || one_of(c1, AFTER_O_STROKE)) && (c2 == 0xD8 || c2 == 0xD9) &&
               ((k3 & arabic_2nd) || one_of(c3, AFTER_O_STROKE));
    case 0xE0:  // South Asian scripts read as Windows-1252
        return one_of(c1, AFTER_A_GRAVE);
    case 0x221A:  // MacRoman: √ ≈ ‚Ä ‚â ‚ó followed by what their second bytes become
        return one_of(c1, AFTER_ROOT);
    case 0x2248:
        return c1 == 0xB0 || c1 == 0xA2;
    case 0x201A:
        return (c1 == 0xC4 && one_of(c2, AFTER_LOW9_A_UML)) || ((c1 == 0xE2 || c1 == 0xF3) && one_of(c2, A_GRAVE_ETC));
    case 0x432:  // Windows-1251: вЂ (U+2000..U+203F)
        return c1 == 0x402;
    case 0x412:  // Windows-1251: В Г Р С, a Latin-1 sign, В Г Р С; ГўВЂВ, any
    case 0x413:  // character but a newline, then a Latin letter or a space
    case 0x420:
    case 0x421:
        if (((k1 & W125X_MIDDLE) || c1 == 0xB0 || c1 == 0xB5) && one_of(c2, CYR_VGRS)) return 1;
        if (i + 6 < n) {
            int m = 1;
            for (size_t j = 0; j < 5 && m; j++) m = s[i + j] == CYR_GUVJV[j];
            if (m && s[i + 5] != '\n' && (ascii_letter(s[i + 6]) || s[i + 6] == ' ')) return 1;
        }
        return 0;
    case 0x3B2:  // Windows-1253: β€ (U+2000..U+203F)
        return c1 == 0x20AC && one_of(c2, AFTER_BETA_EURO);
    case 0x392:  // Windows-1253: Β Γ Ξ Ο, a Latin-1 sign, Β Γ Ξ Ο
    case 0x393:
    case 0x39E:
    case 0x39F:
        return ((k1 & W125X_MIDDLE) || c1 == 0xB0) && one_of(c2, GREEK_BGXO);
    case 0x101:  // Windows-1257: ā€ (U+2000..U+203F)
        return c1 == 0x20AC;
    default:
        return 0;
    }
}

static int is_bad_k(const uint32_t *s, const uint32_t *k, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (bad_at(s, k, n, i)) return 1;
    return 0;
}

int bc_ftfy_is_bad(const uint32_t *s, size_t n) {
    uint32_t *k = classes_of(s, n);
    int bad = is_bad_k(s, k, n);
    free(k);
    return bad;
}

// ---------------------------------------------------------------- bytes

typedef struct {
    uint8_t *v;
    size_t n, cap;
} bytes;

static void put(bytes *b, uint8_t x) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->v = bc_realloc(b->v, b->cap);
    }
    b->v[b->n++] = x;
}

static void put_n(bytes *b, const uint8_t *x, size_t n) {
    for (size_t i = 0; i < n; i++) put(b, x[i]);
}

static void swap_bytes(bytes *a, bytes *b) {
    bytes t = *a;
    *a = *b;
    *b = t;
}

// b[j] as an int, -1 past the end (so that no byte test matches there).
static int byte_at(const bytes *b, size_t j) { return j < b->n ? b->v[j] : -1; }

static int in(int x, int lo, int hi) { return x >= lo && x <= hi; }

// text.encode(codec): 0 when some character has no byte in it (ftfy's
// possible_encoding is false), else 1 with the bytes in out.
static int encode(const uint32_t *s, size_t n, const bc_ftfy_charmap *cm, bytes *out) {
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c < 0x80 && c != 0x1A) {
            put(out, (uint8_t)c);
            continue;
        }
        const bc_ftfy_byte *hit = NULL;
        size_t lo = 0, hi = sizeof cm->high / sizeof cm->high[0];
        while (lo < hi && !hit) {
            size_t mid = (lo + hi) / 2;
            if (c < cm->high[mid].cp) hi = mid;
            else if (c > cm->high[mid].cp) lo = mid + 1;
            else hit = &cm->high[mid];
        }
        if (!hit) return 0;
        put(out, hit->byte);
    }
    return 1;
}

// ---------------------------------------------------------------- restore_byte_a0

// A UTF-8 continuation byte other than 85 and A0 (ftfy's pattern leaves
// those two out beside a space).
static int cont_not_85_a0(int x) { return in(x, 0x80, 0xBF) && x != 0x85 && x != 0xA0; }

// ftfy's ALTERED_UTF8_RE at b[i]: UTF-8 sequences that would be valid with
// byte A0 where a space is. Returns the length matched, 0 for none.
static size_t altered_utf8_at(const bytes *b, size_t i) {
    int x0 = byte_at(b, i), x1 = byte_at(b, i + 1), x2 = byte_at(b, i + 2), x3 = byte_at(b, i + 3);
    // Two bytes: only the lead bytes that make likely characters with A0
    // (nbsp, à, Š, Π, Р, Arabic-Indic zero).
    if ((x0 == 0xC2 || x0 == 0xC3 || x0 == 0xC5 || x0 == 0xCE || x0 == 0xD0 || x0 == 0xD9) && x1 == ' ') return 2;
    if ((x0 == 0xE2 || x0 == 0xE3) && x1 == ' ' && cont_not_85_a0(x2)) return 3;
    if (in(x0, 0xE0, 0xE3) && cont_not_85_a0(x1) && x2 == ' ') return 3;
    if (x0 == 0xF0 && x1 == ' ' && in(x2, 0x80, 0xBF) && in(x3, 0x80, 0xBF)) return 4;
    if (x0 == 0xF0 && in(x1, 0x80, 0xBF) && x2 == ' ' && in(x3, 0x80, 0xBF)) return 4;
    if (x0 == 0xF0 && in(x1, 0x80, 0xBF) && in(x2, 0x80, 0xBF) && x3 == ' ') return 4;
    return 0;
}

static int starts_with(const bytes *b, size_t i, const char *lit) {
    size_t len = strlen(lit);
    return i + len <= b->n && !memcmp(b->v + i, lit, len);
}

// "Ã " standing for "à " as a word of its own (French "à la"): C3 20 gets its
// A0 back and keeps the space, unless a space follows, or Portuguese "às",
// "àquele", "àquela", "àquilo" (where the space was the A0).
static int a_grave_word_at(const bytes *b, size_t i) {
    if (byte_at(b, i) != 0xC3 || byte_at(b, i + 1) != ' ') return 0;
    size_t j = i + 2;
    return !(starts_with(b, j, " ") || starts_with(b, j, "quele") || starts_with(b, j, "quela") ||
             starts_with(b, j, "quilo") || starts_with(b, j, "s "));
}

// ftfy.fixes.restore_byte_a0: the à words first, then every altered sequence
// with its spaces turned to A0 (two left-to-right passes, as re.sub does).
static void restore_byte_a0(const bytes *in_b, bytes *out) {
    bytes mid = {0};
    for (size_t i = 0; i < in_b->n;) {
        if (a_grave_word_at(in_b, i)) {
            put_n(&mid, (const uint8_t *)"\xC3\xA0 ", 3);
            i += 2;
        } else {
            put(&mid, in_b->v[i++]);
        }
    }
    out->n = 0;
    for (size_t i = 0; i < mid.n;) {
        size_t m = altered_utf8_at(&mid, i);
        if (!m) {
            put(out, mid.v[i++]);
            continue;
        }
        for (size_t j = i; j < i + m; j++) put(out, mid.v[j] == ' ' ? 0xA0 : mid.v[j]);
        i += m;
    }
    free(mid.v);
}

static int altered_utf8_anywhere(const bytes *b) {
    for (size_t i = 0; i < b->n; i++)
        if (altered_utf8_at(b, i)) return 1;
    return 0;
}

// ---------------------------------------------------------------- replace_lossy_sequences

// In the sloppy codecs byte 1A stands for U+FFFD: a byte that was lost. ASCII
// '?' is accepted for one lost byte of a sequence.
static int lost(int x) { return x == 0x1A || x == '?'; }
static int cont_or_1a(int x) { return x == 0x1A || in(x, 0x80, 0xBF); }
static int cont_or_lost(int x) { return lost(x) || in(x, 0x80, 0xBF); }

// ftfy's LOSSY_UTF8_RE at b[i]: a UTF-8 (or CESU-8) sequence with lost
// bytes, or a lone 1A. Returns the length matched, 0 for none.
static size_t lossy_utf8_at(const bytes *b, size_t i) {
    int x[6];
    for (int j = 0; j < 6; j++) x[j] = byte_at(b, i + (size_t)j);
    if (in(x[0], 0xC2, 0xDF) && x[1] == 0x1A) return 2;
    if (in(x[0], 0xC2, 0xC3) && x[1] == '?') return 2;
    // CESU-8 surrogate pairs: ED A0..AF xx ED B0..BF xx, one of the xx lost.
    if (x[0] == 0xED && in(x[1], 0xA0, 0xAF) && x[3] == 0xED && in(x[4], 0xB0, 0xBF) &&
        ((lost(x[2]) && cont_or_lost(x[5])) || (cont_or_lost(x[2]) && lost(x[5]))))
        return 6;
    if (in(x[0], 0xE0, 0xEF) && ((lost(x[1]) && cont_or_1a(x[2])) || (cont_or_1a(x[1]) && lost(x[2])))) return 3;
    if (in(x[0], 0xF0, 0xF4) &&
        ((lost(x[1]) && cont_or_1a(x[2]) && cont_or_1a(x[3])) || (cont_or_1a(x[1]) && lost(x[2]) && cont_or_1a(x[3])) ||
         (cont_or_1a(x[1]) && cont_or_1a(x[2]) && lost(x[3]))))
        return 4;
    if (x[0] == 0x1A) return 1;
    return 0;
}

// ftfy.fixes.replace_lossy_sequences: each match becomes U+FFFD's UTF-8.
static void replace_lossy_sequences(const bytes *in_b, bytes *out) {
    out->n = 0;
    for (size_t i = 0; i < in_b->n;) {
        size_t m = lossy_utf8_at(in_b, i);
        if (m) {
            put_n(out, (const uint8_t *)"\xEF\xBF\xBD", 3);
            i += m;
        } else {
            put(out, in_b->v[i++]);
        }
    }
}

// ---------------------------------------------------------------- utf-8-variants

// Python's re lets $ match at the end and also before a final '\n'; ftfy's
// utf-8-variants patterns end in $ alternatives, so this matters for text
// segments, which end in '\n'.
static int at_end(const uint8_t *b, size_t n, size_t q) { return q == n || (q + 1 == n && b[q] == '\n'); }

// A pattern of byte ranges whose positions after the first may each instead
// match $ (and then so do the rest, at the same place): ftfy's NULL_EXPR,
// CESU8_EXPR and SURROGATE_EXPR.
static int variant_at(const uint8_t *b, size_t n, size_t p, const uint8_t (*pat)[2], int len) {
    if (b[p] != pat[0][0]) return 0;
    for (int j = 1; j < len; j++) {
        size_t q = p + (size_t)j;
        if (q < n && b[q] >= pat[j][0] && b[q] <= pat[j][1]) continue;
        return at_end(b, n, q);
    }
    return 1;
}

static const uint8_t NULL_PAT[][2] = {{0xC0, 0xC0}, {0x80, 0x80}};
static const uint8_t CESU8_PAT[][2] = {{0xED, 0xED}, {0xA0, 0xAF}, {0x80, 0xBF}, {0xED, 0xED}, {0xB0, 0xBF}, {0x80, 0xBF}};
static const uint8_t SURROGATE_PAT[][2] = {{0xED, 0xED}, {0xA0, 0xBF}, {0x80, 0xBF}};

static int variant_start(const uint8_t *b, size_t n, size_t p) {
    return variant_at(b, n, p, NULL_PAT, 2) || variant_at(b, n, p, CESU8_PAT, 6) ||
           variant_at(b, n, p, SURROGATE_PAT, 3);
}

// Standard UTF-8, strictly (Python's decoder, errors="strict"): 0 on any
// invalid or truncated sequence, else 1 with the code points appended.
static int append_utf8(const uint8_t *b, size_t n, bc_cps *out) {
    if (bc_utf8_invalid_at(b, n) != n) return 0;
    bc_cps_from_utf8(out, (const char *)b, n);
    return 1;
}

// bytes.decode("utf-8-variants") (ftfy.bad_codecs.utf8_variants): UTF-8 that
// also reads Java's null C0 80 and CESU-8 surrogate pairs. Python's decoder
// looks for the next of its patterns, decodes what comes before strictly,
// then the pattern: a null takes two bytes (whatever the second; the pattern
// admits a final '\n' there), an ED pattern decodes only as a full six-byte
// pair (anything shorter is a surrogate, invalid for the standard decoder it
// falls back to). Bytes without ED or C0, which ftfy gives to the standard
// decoder instead, decode the same here. Returns 0 where Python raises
// UnicodeDecodeError.
static int decode_utf8_variants(const bytes *in_b, bc_cps *out) {
    const uint8_t *b = in_b->v;
    size_t n = in_b->n;
    out->n = 0;
    for (size_t pos = 0;;) {
        size_t p = pos;
        while (p < n && !variant_start(b, n, p)) p++;
        if (!append_utf8(b + pos, p - pos, out)) return 0;
        if (p == n) return 1;
        if (b[p] == 0xC0) {
            if (n - p < 2) return 0;
            bc_cps_push(out, 0);
            pos = p + 2;
        } else {
            if (n - p < 6 || !variant_at(b, n, p, CESU8_PAT, 6)) return 0;
            // 11101101 1010abcd 10efghij 11101101 1011klmn 10opqrst -> 0x10000 + abcdefghijklmnopqrst
            uint32_t cp = (((uint32_t)b[p + 1] & 0x0F) << 16) + (((uint32_t)b[p + 2] & 0x3F) << 10) +
                          (((uint32_t)b[p + 4] & 0x0F) << 6) + ((uint32_t)b[p + 5] & 0x3F) + 0x10000;
            bc_cps_push(out, cp);
            pos = p + 6;
        }
    }
}

// ---------------------------------------------------------------- decode_inconsistent_utf8

// Are k[q..q+count) all continuation characters?
static int continuations(const uint32_t *k, size_t n, size_t q, size_t count) {
    if (q + count > n) return 0;
    for (size_t j = q; j < q + count; j++)
        if (!(k[j] & BC_FTFY_CONT)) return 0;
    return 1;
}

// ftfy's UTF8_DETECTOR_RE at s[p] (k: the classes of s[0..n)): one or more
// characters that start UTF-8 sequences (as a single-byte codec shows them)
// each followed by its continuations, taken greedily, the 2-byte reading
// first. Not right after a strict continuation character (the lookbehind),
// so as not to pick at the middle of a larger garble. Returns the length.
static size_t utf8_run_at(const uint32_t *k, size_t n, size_t p) {
    if (p > 0 && (k[p - 1] & BC_FTFY_CONT_STRICT)) return 0;
    size_t q = p;
    while (q < n) {
        size_t len = 0;
        if ((k[q] & BC_FTFY_FIRST2) && continuations(k, n, q + 1, 1)) len = 2;
        else if ((k[q] & BC_FTFY_FIRST3) && continuations(k, n, q + 1, 2)) len = 3;
        else if ((k[q] & BC_FTFY_FIRST4) && continuations(k, n, q + 1, 3)) len = 4;
        if (!len) break;
        q += len;
    }
    return q - p;
}

static int fix_encoding(const uint32_t *s, size_t n, bc_cps *out, int depth);

// ftfy.fixes.decode_inconsistent_utf8: every run the detector finds, shorter
// than the whole text and bad on its own, is replaced by fix_encoding of it.
static void decode_inconsistent_utf8(const uint32_t *s, const uint32_t *k, size_t n, bc_cps *out, int depth) {
    bc_cps piece = {0};
    out->n = 0;
    for (size_t p = 0; p < n;) {
        size_t m = utf8_run_at(k, n, p);
        if (!m) {
            bc_cps_push(out, s[p++]);
            continue;
        }
        if (m < n && depth < MAX_DEPTH && is_bad_k(s + p, k + p, m) && fix_encoding(s + p, m, &piece, depth + 1)) {
            for (size_t j = 0; j < piece.n; j++) bc_cps_push(out, piece.v[j]);
        } else {
            for (size_t j = p; j < p + m; j++) bc_cps_push(out, s[j]);
        }
        p += m;
    }
    bc_cps_free(&piece);
}

// ---------------------------------------------------------------- fix_encoding

static int all_ascii(const uint32_t *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80) return 0;
    return 1;
}

static int same_cps(const bc_cps *a, const uint32_t *s, size_t n) {
    return a->n == n && (n == 0 || !memcmp(a->v, s, n * sizeof *s));
}

// UTF-8 read as one of the single-byte codecs: encode s in each that can,
// repair the bytes, decode as UTF-8; the first that decodes wins (1, text in out).
static int try_charmaps(const uint32_t *s, size_t n, bc_cps *out) {
    bytes enc = {0}, tmp = {0};
    int done = 0;
    for (int e = 0; e < BC_FTFY_N_CHARMAPS && !done; e++) {
        const bc_ftfy_charmap *cm = &bc_ftfy_charmaps[e];
        if (!encode(s, n, cm, &enc)) continue;
        // Not in MacRoman, where "– " (en dash, space) would look like it.
        if (strcmp(cm->name, "macroman") != 0 && altered_utf8_anywhere(&enc)) {
            restore_byte_a0(&enc, &tmp);
            swap_bytes(&enc, &tmp);
        }
        if (cm->sloppy) {
            replace_lossy_sequences(&enc, &tmp);
            swap_bytes(&enc, &tmp);
        }
        done = decode_utf8_variants(&enc, out);
    }
    free(enc.v);
    free(tmp.v);
    return done;
}

// Runs of UTF-8 mojibake inside other text, fixed one at a time: 1 (text in
// out) when there are runs and fixing them changes something.
static int try_inconsistent_utf8(const uint32_t *s, const uint32_t *k, size_t n, bc_cps *out, int depth) {
    int run = 0;
    for (size_t p = 0; p < n && !run; p++) run = utf8_run_at(k, n, p) > 0;
    if (!run) return 0;
    decode_inconsistent_utf8(s, k, n, out, depth);
    return !same_cps(out, s, n);
}

// What is left is C1 controls. ftfy has two ways here: text that is all
// Latin-1 is re-decoded as (strict) Windows-1252, else fix_c1_controls runs.
// The first gives what the second does when it succeeds, and when it fails
// (a C1 that Windows-1252 leaves undefined) ftfy goes on to the second: so it
// is fix_c1_controls (sloppy Windows-1252) whenever a C1 is there.
static int try_c1_controls(const uint32_t *s, size_t n, bc_cps *out) {
    int c1 = 0;
    for (size_t i = 0; i < n && !c1; i++) c1 = s[i] >= 0x80 && s[i] <= 0x9F;
    if (!c1) return 0;
    out->n = 0;
    for (size_t i = 0; i < n; i++) bc_cps_push(out, s[i] >= 0x80 && s[i] <= 0x9F ? bc_ftfy_c1[s[i] - 0x80] : s[i]);
    return 1;
}

// One step of ftfy's fix_encoding (_fix_encoding_one_step_and_explain):
// ASCII and text that does not look bad stay as they are (0); else the
// first of the three ways that applies writes the new text to out (1).
static int fix_step(const uint32_t *s, size_t n, bc_cps *out, int depth) {
    if (n == 0 || all_ascii(s, n)) return 0;
    uint32_t *k = classes_of(s, n);
    int changed = is_bad_k(s, k, n) && (try_charmaps(s, n, out) || try_inconsistent_utf8(s, k, n, out, depth) ||
                                        try_c1_controls(s, n, out));
    free(k);
    return changed;
}

// ftfy.fix_encoding: steps until the text stops changing. Returns 0 when the
// first step leaves s as it is (most text ends there, at the ASCII or is_bad
// test), else 1 with the result in out (out != s).
static int fix_encoding(const uint32_t *s, size_t n, bc_cps *out, int depth) {
    bc_cps next = {0};
    if (!fix_step(s, n, out, depth) || same_cps(out, s, n)) return 0;
    while (fix_step(out->v, out->n, &next, depth) && !same_cps(&next, out->v, out->n)) {
        bc_cps t = *out;
        *out = next;
        next = t;
    }
    bc_cps_free(&next);
    return 1;
}

int bc_ftfy_fix_encoding(const uint32_t *s, size_t n, bc_cps *out) { return fix_encoding(s, n, out, 0); }
