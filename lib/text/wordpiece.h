// wordpiece.h: BERT's WordPiece tokenizer (reference/reward-models-spec.md
// §2.2): what GIT's VQA questions are written in (bert-base-uncased vocab).
//
// Loads vocab.txt (one token per line, id = 0-based line number) or a
// tokenizer.json whose model is WordPiece (with its BertNormalizer /
// BertPreTokenizer settings). Encoding is exactly tokenizers' (what
// transformers' BertTokenizer runs, and GIT's AutoProcessor in T2I-R1):
//   clean text (drop NUL, U+FFFD, control chars; whitespace -> space),
//   space around CJK ideographs, strip accents (NFD, drop Mn) and lowercase
//   when do_lower_case, split on whitespace and punctuation, then greedy
//   longest-match-first WordPiece with the "##" continuation prefix, [UNK]
//   for a word with no segmentation or longer than 100 characters.
// The old Python BertTokenizer differs in a few corners (see wordpiece.c).
#ifndef BICOT_WORDPIECE_H
#define BICOT_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"

typedef struct bc_wordpiece bc_wordpiece;

// path: a vocab.txt or tokenizer.json file, or a directory holding either
// (tokenizer.json preferred; beside a vocab.txt, tokenizer_config.json's
// do_lower_case / strip_accents / tokenize_chinese_chars are read).
// lowercase: 1/0, or -1 for the file's setting (vocab.txt alone: 1,
// bert-base-uncased's); accents are stripped when lowercasing unless the
// file says otherwise. vocab.txt: id = line number (lines end at \n, \r\n or
// \r), a token listed twice takes its last line's id, as transformers does.
// tokenizer.json: model WordPiece, normalizer BertNormalizer (or none),
// pre_tokenizer BertPreTokenizer; its added_tokens are matched in the text.
// A token holding a NUL byte cannot be read from a tokenizer.json (jansson).
bc_wordpiece *bc_wordpiece_load(const char *path, int lowercase, bc_err *err);
// The same from bytes in memory: a vocab.txt (json = 0) or a tokenizer.json
// (json = 1); name is what messages call it.
bc_wordpiece *bc_wordpiece_parse(const char *data, size_t len, int json, int lowercase, const char *name, bc_err *err);
void bc_wordpiece_free(bc_wordpiece *t);

// Ids of text without special tokens added (add_special_tokens=False; a
// special token written in the text, "[MASK]", is still its id). Appends to
// *ids (bc_realloc'd, *n updated). Fails only on invalid UTF-8.
int bc_wordpiece_encode(const bc_wordpiece *t, const char *text, size_t len, int32_t **ids, size_t *n, bc_err *err);
// The id of a token string ("[CLS]", "yes"), or -1.
int32_t bc_wordpiece_id(const bc_wordpiece *t, const char *token);
// The token string of an id, or NULL (also for the id of a vocab.txt line
// whose token appears again later).
const char *bc_wordpiece_token(const bc_wordpiece *t, int32_t id);
// Largest id + 1 (the embedding rows a model needs).
int bc_wordpiece_vocab_size(const bc_wordpiece *t);

#endif
