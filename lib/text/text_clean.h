// text_clean.h: the text cleaning CLIP tokenizers run before BPE.
//
//   bc_text_ftfy           ftfy.fix_text (ftfy 6.3.1, default TextFixerConfig),
//                          what open_clip's basic_clean runs first
//   bc_text_html_unescape  Python's html.unescape (open_clip runs it twice)
//   bc_text_openclip_clean open_clip's whitespace_clean(basic_clean(text)):
//                          ftfy, html.unescape twice, whitespace collapsed
//                          (lower() is left to the tokenizer)
//   bc_text_nfc            Unicode NFC (transformers' CLIPTokenizer normalizer;
//                          also ftfy's last step)
//
// bc_text_ftfy, step by step, as ftfy.fix_text runs them. The text is cut into
// segments after each '\n' (and every 10^6 code points: max_decode_length);
// each segment is fixed on its own, repeating the steps below until nothing
// changes:
//   unescape_html          "auto": entities with ';' only (html5 names, ftfy's
//                          all-caps forms such as &EACUTE;, &#..; references
//                          whose html.unescape consumes the ';'); disabled for
//                          the segment holding a literal '<' and for every
//                          segment after it (ftfy keeps the changed config)
//   fix_encoding           mojibake repair (lib/text/ftfy_encoding.c): text
//                          that looks like UTF-8 read as Latin-1, Windows-
//                          1250..1254/1257, ISO-8859-2, MacRoman or CP437 (the
//                          "is_bad" heuristic) is re-encoded and decoded as
//                          UTF-8, with restore_byte_a0, replace_lossy_sequences,
//                          CESU-8 / Java-null decoding, decode_inconsistent_utf8
//                          for pieces, and C1 controls as Windows-1252 last
//   fix_c1_controls        U+0080..U+009F as sloppy-windows-1252 (U+0085 -> …)
//   fix_latin_ligatures    ﬁ -> fi, Ĳ -> IJ, ǅ -> Dž, ... (ftfy's 22)
//   fix_character_width    fullwidth / halfwidth forms (U+FF01..U+FFEF as
//                          NFKC), U+3000 -> space
//   uncurl_quotes          U+02BC U+2018..U+201B -> ', U+201C..U+201F -> "
//   fix_line_breaks        \r\n \r U+2028 U+2029 U+0085 -> \n
//   fix_surrogates         surrogate pairs joined, lone surrogates -> U+FFFD
//                          (only the code point functions can be given any)
//   remove_terminal_escapes ESC [ (digits | ;)* letter removed (digits: any Nd)
//   remove_control_chars   U+0000..08, 0B, 0E..1F, 7F, 206A..206F, FEFF,
//                          FFF9..FFFC removed
//   normalization          NFC
// Every step of ftfy.fix_text is done.
// Unicode data: 16.0.0 (lib/text/unicode_nfc.c); ftfy uses the Python's own
// (14.0.0 in 3.11), which only differs on characters added since.
//
// Bytes that are not valid UTF-8: the byte functions write U+FFFD for each
// (their output is always valid UTF-8); the code point functions carry them
// through as the code points 0x110000 + byte (lib/text/regex.h's convention),
// untouched, blocking composition as a starter would.
#ifndef BICOT_TEXT_TEXT_CLEAN_H
#define BICOT_TEXT_TEXT_CLEAN_H

#include <stddef.h>
#include <stdint.h>

// A growable array of code points.
typedef struct {
    uint32_t *v;
    size_t n, cap;
} bc_cps;

void bc_cps_push(bc_cps *c, uint32_t cp);
void bc_cps_free(bc_cps *c);
// UTF-8 bytes to code points (appended), invalid bytes as 0x110000 + byte.
void bc_cps_from_utf8(bc_cps *c, const char *s, size_t len);

// Code point versions: read in, replace out's contents (in != out).
void bc_text_ftfy_cps(const bc_cps *in, bc_cps *out);
void bc_text_html_unescape_cps(const bc_cps *in, bc_cps *out);
void bc_text_openclip_clean_cps(const bc_cps *in, bc_cps *out);
void bc_text_nfc_cps(const bc_cps *in, bc_cps *out);
// Byte versions: *out is a new NUL-terminated UTF-8 string (free() it); the
// return value is its length.
size_t bc_text_ftfy(const char *in, size_t len, char **out);
size_t bc_text_html_unescape(const char *in, size_t len, char **out);
size_t bc_text_openclip_clean(const char *in, size_t len, char **out);
size_t bc_text_nfc(const char *in, size_t len, char **out);

// ---------------------------------------------------------------- generated tables (lib/text/unicode_nfc.c)

typedef struct {
    uint32_t first, last;
    uint8_t ccc;
} bc_nfc_ccc_range;

typedef struct {
    uint32_t cp;
    uint16_t off;  // into bc_nfc_pool
    uint8_t len;
} bc_nfc_decomp_entry;

typedef struct {
    uint32_t first, second, composite;
} bc_nfc_pair;

typedef struct {
    const char *name;  // html5: as the dict spells it, ';' included when it has one
    uint32_t v[3];
    uint8_t n;
} bc_text_entity;

typedef struct {
    uint32_t cp;
    uint32_t v[3];
    uint8_t n;
} bc_text_map;

extern const char bc_nfc_source[];
extern const bc_nfc_ccc_range bc_nfc_ccc[];
extern const size_t bc_nfc_ccc_len;
extern const bc_nfc_decomp_entry bc_nfc_decomp[];
extern const size_t bc_nfc_decomp_len;
extern const uint32_t bc_nfc_pool[];
extern const bc_nfc_pair bc_nfc_comp[];
extern const size_t bc_nfc_comp_len;
extern const bc_text_entity bc_html5[];
extern const size_t bc_html5_len;
extern const bc_text_entity bc_ftfy_upper[];
extern const size_t bc_ftfy_upper_len;
extern const bc_text_map bc_ftfy_width[];
extern const size_t bc_ftfy_width_len;
extern const bc_text_map bc_ftfy_ligatures[];
extern const size_t bc_ftfy_ligatures_len;
extern const uint32_t bc_ftfy_c1[32];

#endif
