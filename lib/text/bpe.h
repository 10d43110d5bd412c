// bpe.h: byte-level BPE tokenizers driven entirely by a Hugging Face
// tokenizer.json (DeepSeek-LLM / Janus-Pro, GPT-2, Llama-3 shapes): nothing
// about a particular tokenizer is built in; everything comes from the file.
//
// What is read from tokenizer.json:
//   model          type "BPE": vocab, merges ("a b" strings or ["a","b"]
//                  pairs), ignore_merges, unk_token (+ fuse_unk),
//                  end_of_word_suffix (CLIP's "</w>": joined to the last
//                  character of every piece before merging; decode leaves it
//                  in the text). Other model
//                  types (WordPiece, Unigram, WordLevel) are refused.
//   added_tokens   matched first, as whole strings, leftmost-longest, like HF:
//                  those with normalized=false on the raw text, the others on
//                  the normalized text between them; lstrip/rstrip honoured;
//                  "special" decides what decode(skip_special) drops. Their ids
//                  are given as HF's loader gives them (the model's id when the
//                  content is in model.vocab, else the next free id in file
//                  order), whatever "id" says: the two agree in real files.
//   normalizer     null, Sequence, Replace (String pattern), Prepend.
//   pre_tokenizer  null, Sequence, Split (String or Regex pattern, every
//                  behavior, invert), Digits, ByteLevel (add_prefix_space,
//                  use_regex with GPT-2's built-in regex).
//   post_processor null, TemplateProcessing, ByteLevel, Sequence,
//                  RobertaProcessing / BertProcessing (single sequence only).
//   decoder        null, ByteLevel, Sequence of those.
// tokenizer_config.json beside it, when present, gives bos_token/eos_token.
//
// Differences from HF, none of which arise for DeepSeek's, GPT-2's or
// Llama-3's files: single_word is ignored; empty regex matches are dropped
// before the split behaviours merge pieces; BPE dropout is not applied.
// Input that is not valid UTF-8 is accepted: each invalid byte goes through
// as its own byte (HF's API cannot receive it); a byte whose byte-level
// character is not in model.vocab (DeepSeek lacks C0 C1 F5..FF) is dropped,
// as HF drops characters outside the vocab when there is no unk_token.
// Decoding a partial UTF-8 sequence at the end (streaming) is not handled:
// decode whole sequences; invalid bytes become U+FFFD as in HF.
//
// Thread safety: a loaded tokenizer may encode and decode from several
// threads at once (the piece cache behind encode has a lock).
#ifndef BICOT_TEXT_BPE_H
#define BICOT_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"

typedef struct bc_tokenizer bc_tokenizer;

// path: a tokenizer.json file or a model directory holding one.
bc_tokenizer *bc_tokenizer_load(const char *path, bc_err *err);
// The same from the text of a tokenizer.json (name for messages);
// config_json: the text of tokenizer_config.json or NULL.
bc_tokenizer *bc_tokenizer_parse(const char *json, size_t len, const char *config_json, const char *name,
                                 bc_err *err);
void bc_tokenizer_free(bc_tokenizer *tok);

// Encodes len bytes of text into a fresh array *ids (free() it) of *n ids.
// add_special: add what the post_processor adds (DeepSeek: BOS in front).
int bc_tokenizer_encode(bc_tokenizer *tok, const char *text, size_t len, int add_special, int32_t **ids,
                        size_t *n, bc_err *err);
// Decodes ids into a fresh NUL-terminated UTF-8 string (free() it); special
// tokens dropped when skip_special. *len (when len is not NULL): its length,
// which counts NUL bytes a token may hold. NULL with err on an id out of range.
char *bc_tokenizer_decode(const bc_tokenizer *tok, const int32_t *ids, size_t n, int skip_special, size_t *len,
                          bc_err *err);

// The id of a token given as its string ("<｜▁pad▁｜>", or a vocab entry in
// byte-level form like "Ġthe"); -1 if absent.
int bc_tokenizer_token_id(const bc_tokenizer *tok, const char *token);
// The string of an id (vocab form), NULL if out of range or unused.
const char *bc_tokenizer_token(const bc_tokenizer *tok, int id);
// BOS: the special token the post_processor puts first, else
// tokenizer_config.json's bos_token. EOS: tokenizer_config.json's
// eos_token, else the special token the post_processor puts last. -1 if none.
int bc_tokenizer_bos(const bc_tokenizer *tok);
int bc_tokenizer_eos(const bc_tokenizer *tok);
// 1 + the largest id in the vocab or the added tokens.
int bc_tokenizer_vocab_size(const bc_tokenizer *tok);

#endif
