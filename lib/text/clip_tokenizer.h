// clip_tokenizer.h: the CLIP text tokenizer the reward models use, exact
// against open_clip's SimpleTokenizer (HPSv2) and transformers'
// CLIPTokenizer (PickScore, any HF CLIPModel directory).
//
// Two layouts, two reference behaviours:
//   open_clip  a merges file (bpe_simple_vocab_16e6.txt, uncompressed: gzip
//              is not among the linked libraries; `gunzip -k` it once).
//              Vocab = 256 byte chars + their 256 "</w>" forms + merges
//              (lines 1 .. 48894) + <start_of_text> + <end_of_text>.
//              Cleaning (lib/text/text_clean.h): ftfy.fix_text (all of it,
//              mojibake repair included), html.unescape twice, whitespace
//              collapse + strip, str.lower(); "<start_of_text>"/"<end_of_text>" in the
//              cleaned text become the special ids (they are alternatives
//              of the split regex). Padding: 0.
//   HF         a directory with vocab.json + merges.txt (CLIPTokenizer's
//              files). Special tokens <|startoftext|> / <|endoftext|> are cut
//              out of the raw text first (HF's added tokens); the rest is NFC'd
//              (tokenizers' NFC normalizer) and
//              lower-cased per character (Rust char::to_lowercase) without
//              HTML unescaping. Padding: the id of <|endoftext|> (CLIP's
//              pad_token).
// Both: the split regex 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// (case-insensitive), each piece to GPT-2's byte-level alphabet, BPE with
// "</w>" on the last character (lib/text/bpe.c), then [SOT] + ids + [EOT],
// cut to context_len with the last id forced to EOT.
//
// Known limits against the references (none arise for plain prompts):
//   - NFC is Unicode 16.0.0; ftfy uses Python's (14.0.0 in 3.11) and
//     tokenizers an older crate: they differ on characters added since;
//   - lower-casing: Unicode simple case folding, except for lowercase letters
//     and combining marks (kept as they are, as lower() does), plus İ -> i̇,
//     Cherokee, and (open_clip only) Python's final-sigma rule with a short
//     list of case-ignorable characters.
#ifndef BICOT_TEXT_CLIP_TOKENIZER_H
#define BICOT_TEXT_CLIP_TOKENIZER_H

#include <stdint.h>

#include "../util.h"

typedef struct bc_clip_tokenizer bc_clip_tokenizer;

// path: an open_clip merges file (.txt), or a directory with vocab.json +
// merges.txt (HF layout), or a directory holding bpe_simple_vocab_16e6.txt.
bc_clip_tokenizer *bc_clip_tokenizer_load(const char *path, bc_err *err);
void bc_clip_tokenizer_free(bc_clip_tokenizer *tok);

// Tokenizes text (NUL-terminated UTF-8) into out_ids[context_len] (77 for
// CLIP): SOT, the BPE ids, EOT, then padding. *n_real (when not NULL): the
// count before the padding (the EOT is at n_real - 1). context_len >= 2.
int bc_clip_tokenize(bc_clip_tokenizer *tok, const char *text, int context_len, int32_t *out_ids, int *n_real,
                     bc_err *err);

int bc_clip_tokenizer_sot(const bc_clip_tokenizer *tok);
int bc_clip_tokenizer_eot(const bc_clip_tokenizer *tok);
int bc_clip_tokenizer_pad(const bc_clip_tokenizer *tok);
// 1 + the largest id (49408 for the real vocabularies).
int bc_clip_tokenizer_vocab_size(const bc_clip_tokenizer *tok);

#endif
