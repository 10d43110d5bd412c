// ftfy_encoding.h: ftfy's fix_encoding (ftfy 6.3.1, default TextFixerConfig),
// the mojibake repair that bc_text_ftfy runs on each segment (text_clean.h).
//
// Mojibake is text that was encoded as UTF-8 and decoded with a single-byte
// codec ("cafÃ©" for "café"). ftfy's heuristic, step by step, repeated until
// the text stops changing:
//   1. ASCII text, or text that does not look bad (is_bad: about forty rules
//      on pairs and triples of character classes, "Ã©", "â€", lowercase
//      accented letter + currency sign, ...), is left alone.
//   2. Each codec of bc_ftfy_charmaps in turn (latin-1, sloppy-windows-1252,
//      -1251, -1250, -1253, -1254, -1257, iso-8859-2, macroman, cp437) that
//      can encode every character: encode; put back byte A0 where a space
//      replaced it inside a UTF-8 sequence (restore_byte_a0; not for
//      macroman); in the sloppy codecs, turn UTF-8 sequences that lost bytes
//      to U+FFFD (encoded as 0x1A) into U+FFFD (replace_lossy_sequences);
//      decode as UTF-8 (as "utf-8-variants", which also reads CESU-8
//      surrogate pairs and Java's C0 80 null, when byte ED or C0 is there).
//      The first that decodes wins.
//   3. Else runs that look like UTF-8 read as single bytes are fixed one by
//      one, each on its own (decode_inconsistent_utf8), if that changes
//      anything.
//   4. Else C1 controls U+0080..U+009F become their Windows-1252 characters.
//
// Text is code points (uint32_t); bytes that were not UTF-8 (0x110000 + byte,
// text_clean.h) belong to no class and no codec, as any character outside
// them would.
//
// Where this can differ from Python: step 3 calls fix_encoding on pieces,
// which may do the same on smaller pieces; Python stops with RecursionError
// when that nests a few hundred levels deep (its limit is 1000 frames, a few
// per level), here a piece 100 levels down is left as it is.
#ifndef BICOT_TEXT_FTFY_ENCODING_H
#define BICOT_TEXT_FTFY_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "text/text_clean.h"

// ftfy.fix_encoding of s[0..n): 1 when it changes the text, which then
// replaces out's contents; 0 when the text stays as it is (out then holds
// nothing of use). out must not hold s.
int bc_ftfy_fix_encoding(const uint32_t *s, size_t n, bc_cps *out);
// ftfy.badness.is_bad: does s[0..n) look like it holds mojibake?
int bc_ftfy_is_bad(const uint32_t *s, size_t n);

// ---------------------------------------------------------------- generated tables (lib/text/ftfy_tables.c)

// Character classes, one bit each: the categories of ftfy.badness
// (MOJIBAKE_CATEGORIES), the UTF-8 clues of ftfy.chardata (UTF8_CLUES), and \s.
enum {
    BC_FTFY_COMMON = 1u << 0,        // no-break space, soft hyphen, dashes, ... (common anywhere)
    BC_FTFY_C1 = 1u << 1,            // U+0080..U+009F
    BC_FTFY_BAD = 1u << 2,           // ¦ ¤ ¨ ¬ ¯ ¸ ƒ ˆ ... nearly only seen in mojibake
    BC_FTFY_LAW = 1u << 3,           // ¶ §
    BC_FTFY_CURRENCY = 1u << 4,      // ¢ £ ¥ ₧ €
    BC_FTFY_START = 1u << 5,         // punctuation that starts things: ¡ « ¿ © ‘ “ • ...
    BC_FTFY_END = 1u << 6,           // punctuation that ends things: ® » ˝ ” › ™
    BC_FTFY_NUMERIC = 1u << 7,       // ² ³ ¹ ± ¼ ½ ¾ × µ ÷ ⁄ ∂ ∆ ∏ ∑ √ ∞ ∩ ∫ ≈ ≠ ≡ ≤ ≥ №
    BC_FTFY_KAOMOJI = 1u << 8,       // letters of emoticon faces: Ò..Ö ò..ö ° ...
    BC_FTFY_UPPER_ACC = 1u << 9,     // uppercase accented Latin
    BC_FTFY_LOWER_ACC = 1u << 10,    // lowercase accented Latin
    BC_FTFY_UPPER_COMMON = 1u << 11, // Þ, Greek and Cyrillic capitals
    BC_FTFY_LOWER_COMMON = 1u << 12, // Greek and Cyrillic small letters
    BC_FTFY_BOX = 1u << 13,          // box drawing and block characters
    BC_FTFY_FIRST2 = 1u << 14,       // a byte C2..DF in one of the codecs: starts 2-byte UTF-8
    BC_FTFY_FIRST3 = 1u << 15,       // a byte E0..EF: starts 3-byte UTF-8
    BC_FTFY_FIRST4 = 1u << 16,       // a byte F0 or F3: starts 4-byte UTF-8
    BC_FTFY_CONT = 1u << 17,         // a byte 80..BF (or a space for A0): UTF-8 continuation
    BC_FTFY_CONT_STRICT = 1u << 18,  // the same without spaces, dashes, quotes, bullet, ellipsis
    BC_FTFY_SPACE = 1u << 19,        // \s of Python's re
};

typedef struct {
    uint32_t cp, bits;
} bc_ftfy_class;

typedef struct {
    uint32_t cp;
    uint8_t byte;
} bc_ftfy_byte;

enum { BC_FTFY_N_CHARMAPS = 10 };

typedef struct {
    const char *name;  // Python's codec name, as ftfy spells it
    int sloppy;        // a sloppy-windows-125x codec: byte 0x1A stands for U+FFFD
    // The characters of bytes 0x80..0xFF and 0x1A, sorted by code point; any
    // other byte is the ASCII character of its own number.
    bc_ftfy_byte high[129];
} bc_ftfy_charmap;

extern const uint32_t bc_ftfy_class_low[256];
extern const bc_ftfy_class bc_ftfy_class_high[];
extern const size_t bc_ftfy_class_high_len;
extern const uint32_t bc_ftfy_word[][2];
extern const size_t bc_ftfy_word_len;
extern const bc_ftfy_charmap bc_ftfy_charmaps[BC_FTFY_N_CHARMAPS];

#endif
