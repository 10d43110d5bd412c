// unicode_bert.h: the Unicode tables behind BERT's WordPiece normalizer
// (lib/text/wordpiece.c), generated into unicode_bert.c by
// tests/golden/make_unicode_bert.py, which measures each code point on Hugging
// Face tokenizers' BertNormalizer / BertPreTokenizer (their Unicode data is
// older than the project's 16.0 tables, so these are kept apart).
#ifndef BICOT_TEXT_UNICODE_BERT_H
#define BICOT_TEXT_UNICODE_BERT_H

#include <stddef.h>
#include <stdint.h>

enum {
    BC_BERT_CONTROL = 1,  // removed by clean_text (NUL, U+FFFD and "other" categories but \t \n \r)
    BC_BERT_SPACE = 2,    // whitespace: a space after clean_text, a split point for the pre-tokenizer
    BC_BERT_PUNCT = 4,    // punctuation: a word of its own
    BC_BERT_CJK = 8,      // CJK ideograph: spaced by handle_chinese_chars
    BC_BERT_MARK = 16,    // nonspacing mark (Mn): dropped when stripping accents
};

typedef struct {
    uint32_t first, last;
    uint8_t value;  // BC_BERT_* flags, or a combining class
} bc_bert_range;

typedef struct {
    uint32_t first, last;
    uint32_t step;  // 1 for a block of capitals, 2 for alternating upper/lower pairs
    int32_t delta;
} bc_bert_lower_run;

typedef struct {
    uint32_t cp;
    uint16_t off;  // into bc_bert_pool
    uint8_t len;
} bc_bert_map;

extern const char bc_bert_unicode_source[];
extern const bc_bert_range bc_bert_ranges[];
extern const size_t bc_bert_ranges_len;
extern const bc_bert_lower_run bc_bert_lower[];
extern const size_t bc_bert_lower_len;
extern const bc_bert_map bc_bert_lower_multi[];
extern const size_t bc_bert_lower_multi_len;
extern const bc_bert_map bc_bert_nfd[];
extern const size_t bc_bert_nfd_len;
extern const bc_bert_range bc_bert_ccc[];
extern const size_t bc_bert_ccc_len;
extern const uint32_t bc_bert_pool[];

#endif
