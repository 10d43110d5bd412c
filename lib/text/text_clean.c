// text_clean.c: ftfy's character-level fixers, html.unescape, NFC (see
// text_clean.h). Everything works on arrays of code points; the tables are
// generated into unicode_nfc.c.
#include "text/text_clean.h"

#include <stdlib.h>
#include <string.h>

#include "text/ftfy_encoding.h"
#include "text/regex.h"
#include "util.h"

// ---------------------------------------------------------------- code point arrays

void bc_cps_push(bc_cps *c, uint32_t cp) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->v = bc_realloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = cp;
}

static void push_all(bc_cps *c, const uint32_t *v, size_t n) {
    for (size_t i = 0; i < n; i++) bc_cps_push(c, v[i]);
}

void bc_cps_free(bc_cps *c) {
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

void bc_cps_from_utf8(bc_cps *c, const char *s, size_t len) {
    size_t *offs = bc_malloc((len + 1) * sizeof *offs);
    if (c->cap < c->n + len + 1) {
        c->cap = c->n + len + 1;
        c->v = bc_realloc(c->v, c->cap * sizeof *c->v);
    }
    c->n += bc_utf8_decode((const uint8_t *)s, len, c->v + c->n, offs);
    free(offs);
}

// Code points to a new NUL-terminated UTF-8 string; invalid bytes as U+FFFD.
static size_t to_utf8(const bc_cps *c, char **out) {
    char *s = bc_malloc(4 * c->n + 1), *p = s;
    for (size_t i = 0; i < c->n; i++) p += bc_utf8_encode(c->v[i] > 0x10FFFF ? 0xFFFD : c->v[i], p);
    *p = 0;
    *out = s;
    return (size_t)(p - s);
}

static int same(const bc_cps *a, const bc_cps *b) {
    return a->n == b->n && (a->n == 0 || !memcmp(a->v, b->v, a->n * sizeof *a->v));
}

static void copy(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    push_all(out, in->v, in->n);
}

static void swap(bc_cps *a, bc_cps *b) {
    bc_cps t = *a;
    *a = *b;
    *b = t;
}

// ---------------------------------------------------------------- table lookups

static const bc_text_map *find_map(const bc_text_map *t, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < t[mid].cp) hi = mid;
        else if (cp > t[mid].cp) lo = mid + 1;
        else return &t[mid];
    }
    return NULL;
}

// An entity by name: s[0..len) (code points; only ASCII can match), then
// suffix (";" or "") appended.
static const bc_text_entity *find_entity(const bc_text_entity *t, size_t n, const uint32_t *s, size_t len,
                                         const char *suffix) {
    char key[40];
    size_t sl = strlen(suffix);
    if (len + sl >= sizeof key) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == 0 || s[i] >= 0x80) return NULL;
        key[i] = (char)s[i];
    }
    memcpy(key + len, suffix, sl + 1);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(key, t[mid].name);
        if (c < 0) hi = mid;
        else if (c > 0) lo = mid + 1;
        else return &t[mid];
    }
    return NULL;
}

// ---------------------------------------------------------------- NFC

enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7 };
enum { L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT };

static uint8_t ccc(uint32_t cp) {
    if (cp < 0x300) return 0;  // the first combining mark
    size_t lo = 0, hi = bc_nfc_ccc_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < bc_nfc_ccc[mid].first) hi = mid;
        else if (cp > bc_nfc_ccc[mid].last) lo = mid + 1;
        else return bc_nfc_ccc[mid].ccc;
    }
    return 0;
}

// The full canonical decomposition of cp, appended to out.
static void decompose(uint32_t cp, bc_cps *out) {
    if (cp < 0xC0) {  // the first decomposable character is U+00C0
        bc_cps_push(out, cp);
        return;
    }
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {  // Hangul: L V (T), by arithmetic
        uint32_t s = cp - S_BASE;
        bc_cps_push(out, L_BASE + s / N_COUNT);
        bc_cps_push(out, V_BASE + (s % N_COUNT) / T_COUNT);
        if (s % T_COUNT) bc_cps_push(out, T_BASE + s % T_COUNT);
        return;
    }
    size_t lo = 0, hi = bc_nfc_decomp_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < bc_nfc_decomp[mid].cp) hi = mid;
        else if (cp > bc_nfc_decomp[mid].cp) lo = mid + 1;
        else {
            push_all(out, bc_nfc_pool + bc_nfc_decomp[mid].off, bc_nfc_decomp[mid].len);
            return;
        }
    }
    bc_cps_push(out, cp);
}

// The primary composite of (a, b), or 0.
static uint32_t compose(uint32_t a, uint32_t b) {
    if (b < 0x300) return 0;  // every second character (Hangul V, T included) is U+0300 or above
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE && b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    size_t lo = 0, hi = bc_nfc_comp_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const bc_nfc_pair *p = &bc_nfc_comp[mid];
        if (a < p->first || (a == p->first && b < p->second)) hi = mid;
        else if (a > p->first || b > p->second) lo = mid + 1;
        else return p->composite;
    }
    return 0;
}

// NFC = full canonical decomposition, canonical ordering (a stable sort of
// each run of non-starters by combining class), then canonical composition:
// each character joins the last starter when nothing between them blocks it
// (a starter, or a mark of the same or a higher class).
void bc_text_nfc_cps(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) decompose(in->v[i], out);
    uint32_t *s = out->v;
    size_t n = out->n;
    for (size_t i = 1; i < n; i++) {  // insertion sort: runs are short, and it is stable
        uint8_t c = ccc(s[i]);
        if (!c) continue;
        uint32_t x = s[i];
        size_t j = i;
        while (j > 0) {
            uint8_t p = ccc(s[j - 1]);
            if (!p || p <= c) break;
            s[j] = s[j - 1];
            j--;
        }
        s[j] = x;
    }
    size_t k = 0;         // written so far (composition only ever shortens)
    size_t starter = n;   // index in s[0..k) of the last starter; n: none yet
    uint8_t last_cc = 0;  // class of s[k-1] when it is not the starter
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        uint8_t cc = ccc(c);
        if (starter < n) {
            int adjacent = starter == k - 1;
            int blocked = !adjacent && (last_cc == 0 || last_cc >= cc);
            uint32_t comp = blocked ? 0 : compose(s[starter], c);
            if (comp) {
                s[starter] = comp;
                continue;
            }
        }
        s[k++] = c;
        if (cc == 0) starter = k - 1;
        last_cc = cc;
    }
    out->n = k;
}

// ---------------------------------------------------------------- html.unescape

// html._invalid_charrefs: numeric references html.unescape remaps.
static const uint32_t charref_fix[][2] = {
    {0x00, 0xFFFD}, {0x0D, 0x0D},   {0x80, 0x20AC}, {0x81, 0x81},   {0x82, 0x201A}, {0x83, 0x192},
    {0x84, 0x201E}, {0x85, 0x2026}, {0x86, 0x2020}, {0x87, 0x2021}, {0x88, 0x2C6},  {0x89, 0x2030},
    {0x8A, 0x160},  {0x8B, 0x2039}, {0x8C, 0x152},  {0x8D, 0x8D},   {0x8E, 0x17D},  {0x8F, 0x8F},
    {0x90, 0x90},   {0x91, 0x2018}, {0x92, 0x2019}, {0x93, 0x201C}, {0x94, 0x201D}, {0x95, 0x2022},
    {0x96, 0x2013}, {0x97, 0x2014}, {0x98, 0x2DC},  {0x99, 0x2122}, {0x9A, 0x161},  {0x9B, 0x203A},
    {0x9C, 0x153},  {0x9D, 0x9D},   {0x9E, 0x17E},  {0x9F, 0x178},
};

// html._invalid_codepoints: numeric references html.unescape drops.
static int dropped_codepoint(uint32_t c) {
    return (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) ||
           (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

// A numeric reference's value, as html.unescape maps it (num saturated above 0x10FFFF).
static void charref(uint32_t num, bc_cps *out) {
    for (size_t i = 0; i < sizeof charref_fix / sizeof *charref_fix; i++)
        if (charref_fix[i][0] == num) {
            bc_cps_push(out, charref_fix[i][1]);
            return;
        }
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) bc_cps_push(out, 0xFFFD);
    else if (!dropped_codepoint(num)) bc_cps_push(out, num);
}

static int is_digit(uint32_t c, int hex) {
    return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

// Python's html.unescape: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
// replaced left to right. A name not in html5 gives its longest prefix (of 2
// or more characters) that is a name valid without ';', the rest as text.
static void html_unescape(const uint32_t *s, size_t n, bc_cps *out) {
    for (size_t i = 0; i < n;) {
        if (s[i] != '&' || i + 1 >= n) {
            bc_cps_push(out, s[i++]);
            continue;
        }
        size_t j = i + 1;
        if (s[j] == '#') {
            int hex = j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X');
            size_t d = j + 1 + (size_t)hex, e = d;
            uint32_t num = 0;
            while (e < n && is_digit(s[e], hex)) {
                uint32_t c = s[e++];
                uint32_t v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
                num = num > 0x10FFFF ? num : num * (hex ? 16 : 10) + v;  // saturates above 0x10FFFF
            }
            if (e == d) {  // "&#" without digits: not a reference
                bc_cps_push(out, s[i++]);
                continue;
            }
            if (e < n && s[e] == ';') e++;
            charref(num, out);
            i = e;
            continue;
        }
        size_t e = j;
        while (e < n && e - j < 32 && s[e] != '\t' && s[e] != '\n' && s[e] != '\f' && s[e] != ' ' && s[e] != '<' &&
               s[e] != '&' && s[e] != '#' && s[e] != ';')
            e++;
        if (e == j) {
            bc_cps_push(out, s[i++]);
            continue;
        }
        int semi = e < n && s[e] == ';';
        const bc_text_entity *ent = find_entity(bc_html5, bc_html5_len, s + j, e - j, semi ? ";" : "");
        if (ent) {
            push_all(out, ent->v, ent->n);
            i = e + (size_t)semi;
            continue;
        }
        size_t x;  // s[j..j+x) for x from len(name + ';'?) - 1 down to 2
        for (x = e - j + (size_t)semi - 1; x >= 2; x--)
            if ((ent = find_entity(bc_html5, bc_html5_len, s + j, x, ""))) break;
        if (ent && x >= 2) {
            push_all(out, ent->v, ent->n);
            i = j + x;  // the rest of the name (and the ';') stay as text: they hold no '&'
        } else {
            push_all(out, s + i, e + (size_t)semi - i);
            i = e + (size_t)semi;
        }
    }
}

void bc_text_html_unescape_cps(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    html_unescape(in->v, in->n, out);
}

// ---------------------------------------------------------------- ftfy's fixers

static int is_alnum_ascii(uint32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ftfy.fixes.unescape_html: each match of &#?[0-9A-Za-z]{1,24}; that is in
// ftfy's entity dict (html5 names with ';', and its all-caps forms), or a
// numeric reference whose html.unescape leaves no ';' behind.
static void ftfy_unescape_html(const bc_cps *in, bc_cps *out) {
    const uint32_t *s = in->v;
    size_t n = in->n;
    bc_cps tmp = {0};
    out->n = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, e;
        if (s[i] != '&') goto literal;
        if (j < n && s[j] == '#') j++;
        for (e = j; e < n && is_alnum_ascii(s[e]); e++) {}
        if (e == j || e - j > 24 || e >= n || s[e] != ';') goto literal;  // no match at this '&'
        if (j == i + 1) {  // a name
            const bc_text_entity *ent = find_entity(bc_html5, bc_html5_len, s + j, e - j, ";");
            if (!ent) ent = find_entity(bc_ftfy_upper, bc_ftfy_upper_len, s + j, e - j, ";");
            if (ent) push_all(out, ent->v, ent->n);
            else push_all(out, s + i, e + 1 - i);
        } else {  // "&#...;"
            tmp.n = 0;
            html_unescape(s + i, e + 1 - i, &tmp);
            int semi = 0;
            for (size_t k = 0; k < tmp.n; k++) semi |= tmp.v[k] == ';';
            if (semi) push_all(out, s + i, e + 1 - i);
            else push_all(out, tmp.v, tmp.n);
        }
        i = e + 1;
        continue;
    literal:
        bc_cps_push(out, s[i++]);
    }
    bc_cps_free(&tmp);
}

// uncurl_quotes on one character.
static uint32_t uncurl(uint32_t c) {
    if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) return '\'';
    if (c >= 0x201C && c <= 0x201F) return '"';
    return c;
}

// fix_c1_controls, fix_latin_ligatures, fix_character_width (U+3000 and
// U+FF01..U+FFEF), uncurl_quotes: ftfy's four passes, each a per-character
// map, fused into one: a character goes through the four maps in order (a
// ligature's "ʼn" gets its ʼ uncurled, as the later pass would).
static void ftfy_char_maps(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c < 0x80) {  // ASCII: none of the four maps touches it
            bc_cps_push(out, c);
            continue;
        }
        if (c <= 0x9F) c = bc_ftfy_c1[c - 0x80];  // no C1 replacement is a ligature or width form
        const bc_text_map *m = find_map(bc_ftfy_ligatures, bc_ftfy_ligatures_len, c);
        if (!m) m = find_map(bc_ftfy_width, bc_ftfy_width_len, c);  // no ligature part is a width form
        if (!m) {
            bc_cps_push(out, uncurl(c));
            continue;
        }
        for (int k = 0; k < m->n; k++) bc_cps_push(out, uncurl(m->v[k]));
    }
}

// fix_line_breaks: \r\n, \r, U+2028, U+2029, U+0085 to \n.
static void ftfy_line_breaks(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c == '\r' && i + 1 < in->n && in->v[i + 1] == '\n') continue;  // the \n follows
        bc_cps_push(out, c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85 ? '\n' : c);
    }
}

// remove_terminal_escapes (\033\[((?:\d|;)*)([a-zA-Z]), \d being any Nd), then
// remove_control_chars.
static int ftfy_control(uint32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

static void ftfy_escapes_controls(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    const uint32_t *s = in->v;
    for (size_t i = 0; i < in->n; i++) {
        if (s[i] == 0x1B && i + 1 < in->n && s[i + 1] == '[') {
            size_t e = i + 2;
            while (e < in->n && (s[e] == ';' || bc_unicode_category(s[e]) == BC_UCAT_ND)) e++;
            if (e < in->n && s[e] < 0x80 && ((s[e] | 0x20) >= 'a' && (s[e] | 0x20) <= 'z')) {
                i = e;  // the whole escape goes
                continue;
            }
        }
        if (!ftfy_control(s[i])) bc_cps_push(out, s[i]);
    }
}

// fix_surrogates: a high surrogate followed by a low one becomes the
// character they encode, any other surrogate U+FFFD. Text decoded from UTF-8
// holds none; code point callers may pass them (Python strings can hold them).
static void ftfy_surrogates(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < in->n && in->v[i + 1] >= 0xDC00 && in->v[i + 1] <= 0xDFFF) {
            bc_cps_push(out, 0x10000 + ((c - 0xD800) << 10) + (in->v[i + 1] - 0xDC00));
            i++;
        } else {
            bc_cps_push(out, c >= 0xD800 && c <= 0xDFFF ? 0xFFFD : c);
        }
    }
}

// One segment (a line with its '\n'): ftfy.fix_and_explain's loop, until
// nothing changes.
static void ftfy_segment(const uint32_t *s, size_t n, int html, bc_cps *out) {
    bc_cps cur = {0}, tmp = {0}, orig = {0};
    push_all(&cur, s, n);
    for (;;) {
        copy(&cur, &orig);
        if (html) {
            ftfy_unescape_html(&cur, &tmp);
            copy(&tmp, &cur);
        }
        if (bc_ftfy_fix_encoding(cur.v, cur.n, &tmp)) swap(&cur, &tmp);
        ftfy_char_maps(&cur, &tmp);
        ftfy_line_breaks(&tmp, &cur);
        ftfy_surrogates(&cur, &tmp);
        ftfy_escapes_controls(&tmp, &cur);
        bc_text_nfc_cps(&cur, &tmp);
        swap(&cur, &tmp);
        if (same(&cur, &orig)) break;
    }
    push_all(out, cur.v, cur.n);
    bc_cps_free(&cur);
    bc_cps_free(&tmp);
    bc_cps_free(&orig);
}

void bc_text_ftfy_cps(const bc_cps *in, bc_cps *out) {
    out->n = 0;
    int html = 1;  // "auto": off from the first segment holding a '<' on
    for (size_t pos = 0; pos < in->n;) {
        size_t end = pos, max_end = in->n - pos > 1000000 ? pos + 1000000 : in->n;  // max_decode_length
        while (end < max_end && in->v[end] != '\n') end++;
        if (end < max_end) end++;  // the segment keeps its '\n'
        for (size_t i = pos; i < end && html; i++)
            if (in->v[i] == '<') html = 0;
        ftfy_segment(in->v + pos, end - pos, html, out);
        pos = end;
    }
}

// ---------------------------------------------------------------- open_clip

// Python's str.isspace: White_Space plus U+001C..U+001F.
static int py_space(uint32_t c) { return (c >= 0x1C && c <= 0x1F) || bc_unicode_is_space(c); }

// " ".join(text.split()) in place: whitespace runs to one space, none at the ends.
static void collapse_space(bc_cps *c) {
    size_t m = 0;
    int gap = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (py_space(c->v[i])) {
            gap = m > 0;
            continue;
        }
        if (gap) c->v[m++] = ' ';
        gap = 0;
        c->v[m++] = c->v[i];
    }
    c->n = m;
}

// whitespace_clean(basic_clean(text)): ftfy.fix_text, html.unescape twice,
// strip, " ".join(split()).
void bc_text_openclip_clean_cps(const bc_cps *in, bc_cps *out) {
    bc_cps a = {0}, b = {0};
    bc_text_ftfy_cps(in, &a);
    bc_text_html_unescape_cps(&a, &b);
    bc_text_html_unescape_cps(&b, out);
    collapse_space(out);
    bc_cps_free(&a);
    bc_cps_free(&b);
}

// ---------------------------------------------------------------- byte versions

static size_t via_cps(void (*fn)(const bc_cps *, bc_cps *), const char *in, size_t len, char **out) {
    bc_cps a = {0}, b = {0};
    bc_cps_from_utf8(&a, in, len);
    fn(&a, &b);
    size_t n = to_utf8(&b, out);
    bc_cps_free(&a);
    bc_cps_free(&b);
    return n;
}

size_t bc_text_ftfy(const char *in, size_t len, char **out) { return via_cps(bc_text_ftfy_cps, in, len, out); }
size_t bc_text_html_unescape(const char *in, size_t len, char **out) {
    return via_cps(bc_text_html_unescape_cps, in, len, out);
}
size_t bc_text_openclip_clean(const char *in, size_t len, char **out) {
    return via_cps(bc_text_openclip_clean_cps, in, len, out);
}
size_t bc_text_nfc(const char *in, size_t len, char **out) { return via_cps(bc_text_nfc_cps, in, len, out); }
