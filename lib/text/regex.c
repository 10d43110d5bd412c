// regex.c: the pre-tokenizer regex engine (see regex.h).
//
// A pattern compiles to a small program for a backtracking machine, in the
// manner of Pike/Thompson VMs run depth-first: CHAR/ANY/CLASS consume one
// code point, SPLIT tries its first branch and keeps the second for
// backtracking, JMP jumps, LOOK runs a sub-program at the current position
// without consuming. Jumps are relative, so a compiled fragment can be copied
// (for {n,m}) or moved (when a SPLIT is inserted before it) as it is.
#include "text/regex.h"

#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------- Unicode

bc_ucat bc_unicode_category(uint32_t cp) {
    size_t lo = 0, hi = bc_ucat_ranges_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < bc_ucat_ranges[mid].first) hi = mid;
        else if (cp > bc_ucat_ranges[mid].last) lo = mid + 1;
        else return (bc_ucat)bc_ucat_ranges[mid].cat;
    }
    return BC_UCAT_CN;
}

// PropList.txt White_Space (stable since Unicode 6.3).
int bc_unicode_is_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

uint32_t bc_unicode_fold(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    size_t lo = 0, hi = bc_fold_pairs_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < bc_fold_pairs[mid][0]) hi = mid;
        else if (cp > bc_fold_pairs[mid][0]) lo = mid + 1;
        else return bc_fold_pairs[mid][1];
    }
    return cp;
}

// The code point starting at s[i] and its length in bytes; an invalid byte
// gives 0x110000 + byte, length 1.
static size_t utf8_next(const uint8_t *s, size_t len, size_t i, uint32_t *out) {
    uint8_t b = s[i];
    uint32_t cp = 0;
    size_t k = 0;  // continuation bytes
    if (b < 0x80) cp = b;
    else if (b >= 0xC2 && b <= 0xDF) cp = b & 0x1F, k = 1;
    else if (b >= 0xE0 && b <= 0xEF) cp = b & 0x0F, k = 2;
    else if (b >= 0xF0 && b <= 0xF4) cp = b & 0x07, k = 3;
    else k = (size_t)-1;  // never valid as a lead byte
    int ok = k != (size_t)-1;
    for (size_t j = 1; ok && j <= k; j++) {
        if (i + j >= len || (s[i + j] & 0xC0) != 0x80) ok = 0;
        else cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    // Overlong three/four-byte forms, surrogates and > U+10FFFF are invalid.
    if (ok && ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
               (k == 3 && (cp < 0x10000 || cp > 0x10FFFF))))
        ok = 0;
    if (!ok) cp = 0x110000 + b, k = 0;
    *out = cp;
    return k + 1;
}

size_t bc_utf8_decode(const uint8_t *s, size_t len, uint32_t *cps, size_t *offs) {
    size_t n = 0, i = 0;
    while (i < len) {
        offs[n] = i;
        i += utf8_next(s, len, i, &cps[n++]);
    }
    offs[n] = len;
    return n;
}

size_t bc_utf8_invalid_at(const uint8_t *s, size_t len) {
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_next(s, len, i, &cp);
        if (cp > 0x10FFFF) return i;
        i += k;
    }
    return len;
}

int bc_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// ---------------------------------------------------------------- program

enum { OP_CHAR, OP_ANY, OP_CLASS, OP_SPLIT, OP_JMP, OP_BOL, OP_EOL, OP_BOS, OP_EOS, OP_EOS_NL, OP_LOOK, OP_MATCH };

typedef struct {
    uint8_t op;
    uint8_t fold;    // CHAR/CLASS: compare case folds
    uint8_t neg;     // LOOK: negative lookahead
    uint32_t c;      // CHAR: the code point; CLASS: class index
    int32_t x, y;    // SPLIT: preferred / other target; JMP: target; LOOK: length of the sub-program
} inst;

enum { ITEM_RANGE, ITEM_CATS, ITEM_SPACE, ITEM_WORD };
typedef struct {
    uint8_t kind, neg;
    uint32_t lo, hi;   // RANGE (WORD: lo = 1 inside a class)
    uint32_t cats;     // CATS: bit per bc_ucat
} cls_item;

typedef struct {
    cls_item *items;
    size_t n, cap;
    int neg;
} cls;

struct bc_regex {
    inst *code;
    size_t ncode;
    cls *classes;
    size_t nclasses;
};

#define MAX_PROGRAM 200000

typedef struct {
    const uint32_t *p;  // the pattern as code points
    size_t n, i;
    bc_regex *re;
    size_t cap;
    int fold;           // (?i) in effect
    int depth;
    bc_err *err;
    int failed;
} parser;

static int perr(parser *P, const char *what) {
    if (!P->failed) bc_fail(P->err, "regex: %s at character %zu", what, P->i);
    P->failed = 1;
    return -1;
}

static void emit_at(parser *P, size_t at, inst in) {
    bc_regex *re = P->re;
    if (re->ncode + 1 > P->cap) {
        P->cap = P->cap ? P->cap * 2 : 64;
        re->code = bc_realloc(re->code, P->cap * sizeof *re->code);
    }
    memmove(re->code + at + 1, re->code + at, (re->ncode - at) * sizeof *re->code);
    re->code[at] = in;
    re->ncode++;
}
static void emit(parser *P, inst in) { emit_at(P, P->re->ncode, in); }
static inst mk(int op, int32_t x, int32_t y) { inst in = {(uint8_t)op, 0, 0, 0, x, y}; return in; }

static int peek(parser *P) { return P->i < P->n ? (int)P->p[P->i] : -1; }

static uint32_t all_cats(const char *letters) {  // categories whose name starts with one of letters
    static const char names[BC_UCAT_COUNT][3] = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl",
                                                 "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc",
                                                 "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"};
    uint32_t m = 0;
    for (int c = 0; c < BC_UCAT_COUNT; c++)
        if (strchr(letters, names[c][0])) m |= 1u << c;
    return m;
}

// \p{Name}: one- or two-letter general category names. 0 if unknown.
static uint32_t cat_mask(const char *name) {
    static const char names[BC_UCAT_COUNT][3] = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl",
                                                 "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc",
                                                 "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"};
    size_t len = strlen(name);
    if (len == 1) {
        char s[2] = {name[0], 0};
        return strchr("LMNPSZC", name[0]) ? all_cats(s) : 0;
    }
    for (int c = 0; c < BC_UCAT_COUNT; c++)
        if (len == 2 && names[c][0] == name[0] && names[c][1] == name[1]) return 1u << c;
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// After a backslash: a class-like escape fills *item and returns 1; a single
// code point fills *cp and returns 0; -1 on error.
// in_class: inside [...] (where \w means something narrower, see is_word).
static int parse_escape(parser *P, cls_item *item, uint32_t *cp, int in_class) {
    int c = peek(P);
    if (c < 0) return perr(P, "pattern ends with a backslash");
    P->i++;
    memset(item, 0, sizeof *item);
    switch (c) {
    case 's': case 'S': item->kind = ITEM_SPACE; item->neg = c == 'S'; return 1;
    case 'd': case 'D': item->kind = ITEM_CATS; item->cats = 1u << BC_UCAT_ND; item->neg = c == 'D'; return 1;
    case 'w': case 'W': item->kind = ITEM_WORD; item->neg = c == 'W'; item->lo = (uint32_t)in_class; return 1;
    case 'p': case 'P': {
        char name[8];
        size_t k = 0;
        int neg = c == 'P';
        if (peek(P) == '{') {
            P->i++;
            if (peek(P) == '^') neg = !neg, P->i++;
            while (peek(P) >= 0 && peek(P) != '}' && k < sizeof name - 1) name[k++] = (char)P->p[P->i++];
            if (peek(P) != '}') return perr(P, "unterminated \\p{...}");
            P->i++;
        } else if (peek(P) >= 0 && peek(P) < 128) {
            name[k++] = (char)P->p[P->i++];
        }
        name[k] = 0;
        uint32_t m = cat_mask(name);
        if (!m) return perr(P, "unsupported property in \\p{...} (general categories only)");
        item->kind = ITEM_CATS;
        item->cats = m;
        item->neg = (uint8_t)neg;
        return 1;
    }
    case 'n': *cp = '\n'; return 0;
    case 'r': *cp = '\r'; return 0;
    case 't': *cp = '\t'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'v': *cp = '\v'; return 0;
    case 'a': *cp = 7; return 0;
    case 'e': *cp = 27; return 0;
    case '0': *cp = 0; return 0;
    case 'x': case 'u': {
        uint32_t v = 0;
        int digits = 0;
        if (c == 'x' && peek(P) == '{') {
            P->i++;
            while (peek(P) >= 0 && hexval(peek(P)) >= 0 && digits < 8) v = v * 16 + (uint32_t)hexval((int)P->p[P->i++]), digits++;
            if (peek(P) != '}' || !digits) return perr(P, "bad \\x{...}");
            P->i++;
        } else {
            int want = c == 'x' ? 2 : 4;
            while (digits < want && peek(P) >= 0 && hexval(peek(P)) >= 0) v = v * 16 + (uint32_t)hexval((int)P->p[P->i++]), digits++;
            if (!digits) return perr(P, "bad hex escape");
        }
        if (v > 0x10FFFF) return perr(P, "code point out of range");
        *cp = v;
        return 0;
    }
    default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9'))
            return perr(P, "unsupported escape");
        *cp = (uint32_t)c;  // an escaped punctuation or other character stands for itself
        return 0;
    }
}

static void cls_add(cls *k, cls_item it) {
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 8;
        k->items = bc_realloc(k->items, k->cap * sizeof *k->items);
    }
    k->items[k->n++] = it;
}

static uint32_t new_class(parser *P) {
    bc_regex *re = P->re;
    re->classes = bc_realloc(re->classes, (re->nclasses + 1) * sizeof *re->classes);
    memset(&re->classes[re->nclasses], 0, sizeof *re->classes);
    return (uint32_t)re->nclasses++;
}

// After '['.
static int parse_class(parser *P) {
    uint32_t idx = new_class(P);
    cls k = {0};
    if (peek(P) == '^') k.neg = 1, P->i++;
    int first = 1;
    for (;;) {
        int c = peek(P);
        if (c < 0) { P->re->classes[idx] = k; return perr(P, "unterminated character class"); }
        if (c == ']' && !first) { P->i++; break; }
        first = 0;
        if (c == '[' || (c == '&' && P->i + 1 < P->n && P->p[P->i + 1] == '&')) {
            P->re->classes[idx] = k;
            return perr(P, "nested classes and class set operations are not supported");
        }
        uint32_t lo;
        cls_item it;
        P->i++;
        if (c == '\\') {
            int r = parse_escape(P, &it, &lo, 1);
            if (r < 0) { P->re->classes[idx] = k; return -1; }
            if (r == 1) { cls_add(&k, it); continue; }
        } else {
            lo = (uint32_t)c;
        }
        uint32_t hi = lo;
        if (peek(P) == '-' && P->i + 1 < P->n && P->p[P->i + 1] != ']') {
            P->i++;
            int d = peek(P);
            P->i++;
            if (d == '\\') {
                int r = parse_escape(P, &it, &hi, 1);
                if (r < 0) { P->re->classes[idx] = k; return -1; }
                if (r == 1) { P->re->classes[idx] = k; return perr(P, "a class escape cannot end a range"); }
            } else {
                hi = (uint32_t)d;
            }
            if (hi < lo) { P->re->classes[idx] = k; return perr(P, "empty range in character class"); }
        }
        memset(&it, 0, sizeof it);
        it.kind = ITEM_RANGE;
        it.lo = lo;
        it.hi = hi;
        cls_add(&k, it);
    }
    P->re->classes[idx] = k;
    inst in = mk(OP_CLASS, 0, 0);
    in.c = idx;
    in.fold = (uint8_t)P->fold;
    emit(P, in);
    return 0;
}

static int parse_alt(parser *P, int *nullable);

// One atom, appended to the program. *nullable: it can match the empty string.
static int parse_atom(parser *P, int *nullable) {
    int c = peek(P);
    *nullable = 0;
    P->i++;
    switch (c) {
    case '(': {
        if (++P->depth > 200) return perr(P, "groups nested too deeply");
        int saved_fold = P->fold, look = -1;
        if (peek(P) == '?') {
            P->i++;
            int d = peek(P);
            if (d == ':') P->i++;
            else if (d == '=' || d == '!') look = d == '!', P->i++;
            else if (d == '<' && P->i + 1 < P->n && (P->p[P->i + 1] == '=' || P->p[P->i + 1] == '!'))
                return perr(P, "lookbehind is not supported");
            else if (d == '<' || d == '\'') {  // named group: a group like any other here
                int close = d == '<' ? '>' : '\'';
                while (peek(P) >= 0 && peek(P) != close) P->i++;
                if (peek(P) != close) return perr(P, "unterminated group name");
                P->i++;
            } else {
                int on = 1, fold = P->fold;
                for (;;) {
                    d = peek(P);
                    if (d == 'i') fold = on;
                    else if (d == '-') on = 0;
                    else if (d == ':' || d == ')') break;
                    else return perr(P, "unsupported group flag or construct");
                    P->i++;
                }
                P->i++;
                if (d == ')') {  // (?i): to the end of the enclosing group
                    P->fold = fold;
                    P->depth--;
                    *nullable = 1;
                    return 0;
                }
                P->fold = fold;
            }
        }
        size_t start = P->re->ncode;
        int inner = 0;
        if (parse_alt(P, &inner) < 0) return -1;
        if (peek(P) != ')') return perr(P, "missing )");
        P->i++;
        P->fold = saved_fold;
        P->depth--;
        if (look >= 0) {
            emit(P, mk(OP_MATCH, 0, 0));
            inst in = mk(OP_LOOK, (int32_t)(P->re->ncode - start), 0);
            in.neg = (uint8_t)look;
            emit_at(P, start, in);
            *nullable = 1;
        } else {
            *nullable = inner;
        }
        return 0;
    }
    case '[': return parse_class(P);
    case '.': emit(P, mk(OP_ANY, 0, 0)); return 0;
    case '^': emit(P, mk(OP_BOL, 0, 0)); *nullable = 1; return 0;
    case '$': emit(P, mk(OP_EOL, 0, 0)); *nullable = 1; return 0;
    case '*': case '+': case '?': P->i--; return perr(P, "nothing to repeat");
    case '\\': {
        int d = peek(P);
        if (d == 'A' || d == 'z' || d == 'Z') {
            P->i++;
            emit(P, mk(d == 'A' ? OP_BOS : d == 'z' ? OP_EOS : OP_EOS_NL, 0, 0));
            *nullable = 1;
            return 0;
        }
        cls_item it;
        uint32_t cp;
        int r = parse_escape(P, &it, &cp, 0);
        if (r < 0) return -1;
        if (r == 1) {
            uint32_t idx = new_class(P);
            cls_add(&P->re->classes[idx], it);
            inst in = mk(OP_CLASS, 0, 0);
            in.c = idx;
            emit(P, in);
            return 0;
        }
        inst in = mk(OP_CHAR, 0, 0);
        in.c = cp;
        in.fold = (uint8_t)P->fold;
        emit(P, in);
        return 0;
    }
    default: {
        inst in = mk(OP_CHAR, 0, 0);
        in.c = (uint32_t)c;
        in.fold = (uint8_t)P->fold;
        emit(P, in);
        return 0;
    }
    }
}

// {n}, {n,}, {n,m} after '{'; -1 for max = infinity. 0 when it is not a
// quantifier (then '{' is a literal, as in Oniguruma); P->i is left after '}'.
static int parse_braces(parser *P, int *mn, int *mx) {
    size_t save = P->i;
    long a = 0, b = -1;
    int digits = 0;
    P->i++;
    while (peek(P) >= '0' && peek(P) <= '9' && a < 100000) a = a * 10 + (peek(P) - '0'), P->i++, digits++;
    if (!digits) { P->i = save; return 0; }
    if (peek(P) == ',') {
        P->i++;
        if (peek(P) >= '0' && peek(P) <= '9') {
            b = 0;
            while (peek(P) >= '0' && peek(P) <= '9' && b < 100000) b = b * 10 + (peek(P) - '0'), P->i++;
        }
    } else {
        b = a;
    }
    if (peek(P) != '}') { P->i = save; return 0; }
    P->i++;
    *mn = (int)a;
    *mx = (int)b;
    return 1;
}

static int parse_concat(parser *P, int *nullable) {
    *nullable = 1;
    for (;;) {
        int c = peek(P);
        if (c < 0 || c == '|' || c == ')') return 0;
        size_t start = P->re->ncode;
        int null_atom;
        if (c == '{') {  // a literal brace unless it is a quantifier (which has nothing to repeat here)
            int a, b;
            if (parse_braces(P, &a, &b)) return perr(P, "nothing to repeat");
        }
        if (parse_atom(P, &null_atom) < 0) return -1;
        for (;;) {
            c = peek(P);
            int mn, mx;
            if (c == '?') mn = 0, mx = 1, P->i++;
            else if (c == '*') mn = 0, mx = -1, P->i++;
            else if (c == '+') mn = 1, mx = -1, P->i++;
            else if (c == '{' && parse_braces(P, &mn, &mx)) {}
            else break;
            int greedy = 1;
            if (peek(P) == '?') greedy = 0, P->i++;
            else if (peek(P) == '+') return perr(P, "possessive quantifiers are not supported");
            if (mx >= 0 && mx < mn) return perr(P, "bad repetition range");
            if (mx != 1 && mx != 0 && null_atom) return perr(P, "a repeated group that can match the empty string is not supported");
            size_t len = P->re->ncode - start;
            if ((size_t)(mx < 0 ? mn + 1 : mx) * (len + 2) + P->re->ncode > MAX_PROGRAM)
                return perr(P, "pattern too large");
            inst *frag = bc_malloc((len ? len : 1) * sizeof *frag);
            memcpy(frag, P->re->code + start, len * sizeof *frag);
            P->re->ncode = start;
            for (int k = 0; k < mn; k++)
                for (size_t j = 0; j < len; j++) emit(P, frag[j]);
            if (mx < 0) {  // L: SPLIT body, out; body; JMP L
                size_t at = P->re->ncode;
                emit(P, greedy ? mk(OP_SPLIT, 1, (int32_t)len + 2) : mk(OP_SPLIT, (int32_t)len + 2, 1));
                for (size_t j = 0; j < len; j++) emit(P, frag[j]);
                emit(P, mk(OP_JMP, -(int32_t)(P->re->ncode - at), 0));
            } else {
                for (int k = mn; k < mx; k++) {  // SPLIT body, out; body
                    emit(P, greedy ? mk(OP_SPLIT, 1, (int32_t)len + 1) : mk(OP_SPLIT, (int32_t)len + 1, 1));
                    for (size_t j = 0; j < len; j++) emit(P, frag[j]);
                }
            }
            free(frag);
            null_atom = null_atom || mn == 0;
        }
        *nullable = *nullable && null_atom;
    }
}

static int parse_alt(parser *P, int *nullable) {
    size_t start = P->re->ncode;
    if (parse_concat(P, nullable) < 0) return -1;
    if (peek(P) != '|') return 0;
    P->i++;
    size_t mid = P->re->ncode;
    int null_rest;
    if (parse_alt(P, &null_rest) < 0) return -1;
    size_t len1 = mid - start, len2 = P->re->ncode - mid;
    // SPLIT first, rest; first; JMP out; rest
    emit_at(P, mid, mk(OP_JMP, (int32_t)len2 + 1, 0));
    emit_at(P, start, mk(OP_SPLIT, 1, (int32_t)len1 + 2));
    *nullable = *nullable || null_rest;
    return 0;
}

void bc_regex_free(bc_regex *re) {
    if (!re) return;
    for (size_t i = 0; i < re->nclasses; i++) free(re->classes[i].items);
    free(re->classes);
    free(re->code);
    free(re);
}

bc_regex *bc_regex_compile(const char *pattern, size_t len, bc_err *err) {
    uint32_t *cps = bc_malloc((len + 1) * sizeof *cps);
    size_t *offs = bc_malloc((len + 1) * sizeof *offs);
    size_t n = bc_utf8_decode((const uint8_t *)pattern, len, cps, offs);
    free(offs);
    for (size_t i = 0; i < n; i++)
        if (cps[i] > 0x10FFFF) {
            free(cps);
            bc_fail(err, "regex: pattern is not valid UTF-8");
            return NULL;
        }
    bc_regex *re = bc_calloc(1, sizeof *re);
    parser P = {cps, n, 0, re, 0, 0, 0, err, 0};
    int nullable;
    int rc = parse_alt(&P, &nullable);
    if (rc == 0 && P.i < P.n) rc = perr(&P, "unbalanced )");
    free(cps);
    if (rc < 0) {
        bc_regex_free(re);
        return NULL;
    }
    emit(&P, mk(OP_MATCH, 0, 0));
    return re;
}

// ---------------------------------------------------------------- matching

// Oniguruma's Unicode \w, as measured against tokenizers code point by code
// point: letters, marks, Nd, Nl, Pc and the Other_Alphabetic symbols
// (circled / squared Latin letters, from PropList.txt). Outside a class,
// Oniguruma's Latin-1 table also counts the No characters below U+0100
// ("²", "½") as word characters; inside a class it does not.
static int is_word(uint32_t c, int in_class) {
    if (c > 0x10FFFF) return 0;
    const uint32_t mask = (1u << BC_UCAT_LU) | (1u << BC_UCAT_LL) | (1u << BC_UCAT_LT) | (1u << BC_UCAT_LM) |
                          (1u << BC_UCAT_LO) | (1u << BC_UCAT_NL) | (1u << BC_UCAT_MN) | (1u << BC_UCAT_MC) |
                          (1u << BC_UCAT_ME) | (1u << BC_UCAT_ND) | (1u << BC_UCAT_PC);
    bc_ucat cat = bc_unicode_category(c);
    if ((mask >> cat) & 1) return 1;
    if (!in_class && c < 0x100 && cat == BC_UCAT_NO) return 1;
    return (c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
           (c >= 0x1F170 && c <= 0x1F189);
}

static int class_has(const cls *k, uint32_t c) {
    for (size_t i = 0; i < k->n; i++) {
        const cls_item *it = &k->items[i];
        int in;
        if (it->kind == ITEM_RANGE) in = c >= it->lo && c <= it->hi;
        else if (it->kind == ITEM_SPACE) in = bc_unicode_is_space(c);
        else if (it->kind == ITEM_WORD) in = is_word(c, it->lo);
        else in = c <= 0x10FFFF && ((it->cats >> bc_unicode_category(c)) & 1);
        if (in != it->neg) return 1;
    }
    return 0;
}

static int class_match(const bc_regex *re, const inst *in, uint32_t c) {
    const cls *k = &re->classes[in->c];
    int in_class = class_has(k, c);
    if (!in_class && in->fold) {
        // Try the folded form and, for ASCII letters, the other case.
        uint32_t f = bc_unicode_fold(c);
        in_class = (f != c && class_has(k, f)) || (f >= 'a' && f <= 'z' && class_has(k, f - 32));
    }
    return in_class != k->neg;
}

typedef struct {
    int32_t pc;
    size_t pos;
} frame;

#define STEP_BUDGET (1L << 22)

// Runs the program from pc at pos. 1 on MATCH (*end set), 0 on failure, -1
// when the step budget ran out.
static int run(const bc_regex *re, int32_t pc, const uint32_t *t, size_t n, size_t pos, size_t *end, long *budget) {
    frame local[32];
    frame *stack = local;
    size_t sp = 0, cap = 32;
    int result = 0;
    for (;;) {
        if (--*budget < 0) { result = -1; break; }
        const inst *in = &re->code[pc];
        int ok = 1;
        switch (in->op) {
        case OP_CHAR:
            ok = pos < n && (t[pos] == in->c || (in->fold && bc_unicode_fold(t[pos]) == bc_unicode_fold(in->c)));
            if (ok) pos++, pc++;
            break;
        case OP_ANY:
            ok = pos < n && t[pos] != '\n';
            if (ok) pos++, pc++;
            break;
        case OP_CLASS:
            ok = pos < n && class_match(re, in, t[pos]);
            if (ok) pos++, pc++;
            break;
        case OP_SPLIT:
            if (sp == cap) {
                frame *bigger = bc_malloc(cap * 2 * sizeof *bigger);
                memcpy(bigger, stack, sp * sizeof *stack);
                if (stack != local) free(stack);
                stack = bigger;
                cap *= 2;
            }
            stack[sp].pc = pc + in->y;
            stack[sp++].pos = pos;
            pc += in->x;
            break;
        case OP_JMP: pc += in->x; break;
        case OP_BOL: ok = pos == 0 || t[pos - 1] == '\n'; pc++; break;
        case OP_EOL: ok = pos == n || t[pos] == '\n'; pc++; break;
        case OP_BOS: ok = pos == 0; pc++; break;
        case OP_EOS: ok = pos == n; pc++; break;
        case OP_EOS_NL: ok = pos == n || (pos + 1 == n && t[pos] == '\n'); pc++; break;
        case OP_LOOK: {
            size_t ignored;
            int r = run(re, pc + 1, t, n, pos, &ignored, budget);
            if (r < 0) { result = -1; goto done; }
            ok = r != in->neg;
            pc += in->x + 1;
            break;
        }
        case OP_MATCH:
            *end = pos;
            result = 1;
            goto done;
        }
        if (!ok) {
            if (sp == 0) break;
            sp--;
            pc = stack[sp].pc;
            pos = stack[sp].pos;
        }
    }
done:
    if (stack != local) free(stack);
    return result;
}

int bc_regex_search(const bc_regex *re, const uint32_t *text, size_t n, size_t from, size_t *ms, size_t *me) {
    for (size_t s = from; s <= n; s++) {
        long budget = STEP_BUDGET;
        size_t end;
        if (run(re, 0, text, n, s, &end, &budget) == 1) {
            *ms = s;
            *me = end;
            return 1;
        }
    }
    return 0;
}
