// regex.h: a small backtracking regex engine for the patterns that byte-level
// BPE pre-tokenizers use (tokenizer.json "Split" regexes, GPT-2's ByteLevel
// regex), with the semantics of Oniguruma, which Hugging Face tokenizers uses:
// leftmost match, alternatives tried in order, greedy quantifiers that
// backtrack.
//
// Supported: literals (UTF-8), `.`, classes `[...]` / `[^...]` with ranges,
// escapes and nested \p{..}; \s \S \d \D \w \W (Unicode, as Oniguruma:
// White_Space, Nd, and Oniguruma's word set, which differs inside a class);
// \p{X} \P{X} \pX for general categories (L, Lu, N, Nd, P, ...); \r \n \t \f
// \v \e \0 \xHH \x{H..} \uHHHH; groups ( ), (?: ), (?i: ), (?i) for the rest of
// the group; lookahead (?= ) (?! ); quantifiers ? * + {n} {n,} {n,m} and their
// lazy forms; anchors ^ $ (line anchors, as Ruby/Oniguruma) \A \z \Z.
// Unsupported (a clear compile error): backreferences, lookbehind, atomic
// groups, possessive quantifiers, \b, class set operations, a quantifier on
// something that can match the empty string.
//
// Categories are Unicode 16.0, the version of the Oniguruma inside
// tokenizers 0.23 (every code point checked against it for \p{L} \p{M} \p{N}
// \p{P} \p{S} \p{Z} \p{C} \s \w \d).
//
// Case-insensitive matching compares simple case folds (one code point to
// one), so (?i:'s) matches 's 'S and 'ſ as Oniguruma does; multi-code-point
// folds (ß ~ ss) are not applied.
//
// Text is an array of code points. Bytes that are not valid UTF-8 are given
// code points above 0x10FFFF by the caller: they belong to no category and
// match only negated classes and `.`.
#ifndef BICOT_TEXT_REGEX_H
#define BICOT_TEXT_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"

// Unicode general categories (the order of the tables in unicode_tables.c).
typedef enum {
    BC_UCAT_LU, BC_UCAT_LL, BC_UCAT_LT, BC_UCAT_LM, BC_UCAT_LO,
    BC_UCAT_MN, BC_UCAT_MC, BC_UCAT_ME,
    BC_UCAT_ND, BC_UCAT_NL, BC_UCAT_NO,
    BC_UCAT_PC, BC_UCAT_PD, BC_UCAT_PS, BC_UCAT_PE, BC_UCAT_PI, BC_UCAT_PF, BC_UCAT_PO,
    BC_UCAT_SM, BC_UCAT_SC, BC_UCAT_SK, BC_UCAT_SO,
    BC_UCAT_ZS, BC_UCAT_ZL, BC_UCAT_ZP,
    BC_UCAT_CC, BC_UCAT_CF, BC_UCAT_CS, BC_UCAT_CO, BC_UCAT_CN,
    BC_UCAT_COUNT
} bc_ucat;

typedef struct {
    uint32_t first, last;
    uint8_t cat;  // bc_ucat
} bc_ucat_range;

// Generated tables (lib/text/unicode_tables.c, tests/golden/make_unicode_tables.py).
extern const char bc_unicode_version[];
extern const bc_ucat_range bc_ucat_ranges[];
extern const size_t bc_ucat_ranges_len;
extern const uint32_t bc_fold_pairs[][2];
extern const size_t bc_fold_pairs_len;

// General category of a code point (BC_UCAT_CN when unassigned or > 0x10FFFF).
bc_ucat bc_unicode_category(uint32_t cp);
// The Unicode White_Space property (what \s matches).
int bc_unicode_is_space(uint32_t cp);
// Simple case folding (cp itself when it has none).
uint32_t bc_unicode_fold(uint32_t cp);

// Decodes UTF-8 into code points: cps[i] starts at byte offs[i]; offs[n] = len.
// An invalid byte becomes the code point 0x110000 + byte. cps and offs need
// room for len (+1 for offs) entries. Returns the number of code points.
size_t bc_utf8_decode(const uint8_t *s, size_t len, uint32_t *cps, size_t *offs);
// The offset of the first byte that is not valid UTF-8 (as bc_utf8_decode
// judges), or len when all of s is valid.
size_t bc_utf8_invalid_at(const uint8_t *s, size_t len);
// Encodes one code point (<= 0x10FFFF) as UTF-8 into out (4 bytes); returns its length.
int bc_utf8_encode(uint32_t cp, char *out);

typedef struct bc_regex bc_regex;

// Compiles a pattern (UTF-8, len bytes). NULL with err on a syntax error or
// an unsupported construct, naming the position.
bc_regex *bc_regex_compile(const char *pattern, size_t len, bc_err *err);
void bc_regex_free(bc_regex *re);

// Finds the leftmost match in text[from..n). 1 with [*ms, *me) set, 0 if
// none. A match that needs more than a fixed budget of backtracking steps is
// abandoned (reported as no match at that start position): patterns from
// files must not hang a tool.
int bc_regex_search(const bc_regex *re, const uint32_t *text, size_t n, size_t from, size_t *ms, size_t *me);

#endif
