// clip_tokenizer.c: CLIP's text tokenizer (see clip_tokenizer.h).
//
// The BPE itself is lib/text/bpe.c's, given a tokenizer.json built here (the
// vocab and merges, end_of_word_suffix "</w>", nothing else); this file does
// what comes before it (cleaning, the split regex, bytes to GPT-2's
// byte-level characters) and after it (SOT/EOT, truncation, padding).
#include "text/clip_tokenizer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "text/bpe.h"
#include "text/regex.h"
#include "text/text_clean.h"

struct bc_clip_tokenizer {
    bc_tokenizer *bpe;  // vocab + merges + "</w>"; pieces arrive cut and byte-mapped
    bc_regex *split;    // the split regex, special token names first
    int hf;             // 1: transformers' CLIPTokenizer behaviour, 0: open_clip's
    int sot, eot, pad, vocab_size;
    const char *sot_str, *eot_str;
    uint32_t byte_char[256];  // GPT-2 bytes_to_unicode
    uint8_t byte_order[256];  // the bytes in bytes_to_unicode's order (open_clip's ids 0..255)
};

static const char openclip_regex[] =
    "(?i)<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
// No (?i) here: transformers' CLIPTokenizer (and the checkpoints' tokenizer.json)
// split without it, on text already lower-cased ("'ſ" stays two pieces).
static const char hf_regex[] =
    "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
// others to U+0100.. in byte order; byte_order lists the kept bytes first.
static void init_bytes(bc_clip_tokenizer *tok) {
    int n = 0, k = 0;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (keep) tok->byte_char[b] = (uint32_t)b, tok->byte_order[k++] = (uint8_t)b;
    }
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (!keep) tok->byte_char[b] = (uint32_t)(256 + n++), tok->byte_order[k++] = (uint8_t)b;
    }
}

void bc_clip_tokenizer_free(bc_clip_tokenizer *tok) {
    if (!tok) return;
    bc_tokenizer_free(tok->bpe);
    bc_regex_free(tok->split);
    free(tok);
}

int bc_clip_tokenizer_sot(const bc_clip_tokenizer *tok) { return tok->sot; }
int bc_clip_tokenizer_eot(const bc_clip_tokenizer *tok) { return tok->eot; }
int bc_clip_tokenizer_pad(const bc_clip_tokenizer *tok) { return tok->pad; }
int bc_clip_tokenizer_vocab_size(const bc_clip_tokenizer *tok) { return tok->vocab_size; }

// ---------------------------------------------------------------- loading

// Splits a merges line "a b" into two tokens; 0 if it is not two tokens.
static int merge_parts(const char *line, size_t len, char **a, char **b) {
    const char *sp = memchr(line, ' ', len);
    if (!sp || sp == line || sp + 1 == line + len || memchr(sp + 1, ' ', (size_t)(line + len - sp - 1))) return 0;
    *a = bc_strndup(line, (size_t)(sp - line));
    *b = bc_strndup(sp + 1, (size_t)(line + len - sp - 1));
    return 1;
}

// Adds the merges of text (lines [first, first + max)) to the merges array;
// with vocab (open_clip), also each merged token with the next id, as open_clip
// builds its vocab (an empty line still takes an id).
static int read_merges(const char *text, size_t len, size_t first, size_t max, json_t *merges, json_t *vocab, int *next_id,
                       const char *name, bc_err *err) {
    size_t line = 0;
    for (size_t pos = 0; pos <= len && line < first + max; line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t l = end - pos;
        if (l && text[pos + l - 1] == '\r') l--;
        if (line >= first && !(line == 0 && l >= 8 && !memcmp(text + pos, "#version", 8))) {
            char *a, *b;
            if (merge_parts(text + pos, l, &a, &b)) {
                json_array_append_new(merges, json_pack("[ss]", a, b));
                if (vocab) {
                    char *ab = bc_asprintf("%s%s", a, b);
                    json_object_set_new(vocab, ab, json_integer((*next_id)++));
                    free(ab);
                }
                free(a), free(b);
            } else if (l && !vocab) {
                return bc_fail(err, "%s line %zu: expected \"left right\", got \"%.*s\"", name, line + 1, (int)l, text + pos);
            } else if (vocab) {
                if (l) return bc_fail(err, "%s line %zu: expected \"left right\", got \"%.*s\"", name, line + 1, (int)l, text + pos);
                (*next_id)++;  // open_clip: an empty line is an (unreachable) vocab entry ""
            }
        }
        if (!nl) break;
        pos = end + 1;
    }
    return 0;
}

static int vocab_id(json_t *vocab, const char *token, const char *name, bc_err *err) {
    json_t *v = json_object_get(vocab, token);
    if (!json_is_integer(v)) return bc_fail(err, "%s: no id for \"%s\"", name, token);
    return (int)json_integer_value(v);
}

// The BPE model as a tokenizer.json that lib/text/bpe.c reads.
static bc_tokenizer *make_bpe(json_t *vocab, json_t *merges, const char *unk, const char *name, bc_err *err) {
    json_t *model = json_pack("{s:s, s:O, s:O, s:s}", "type", "BPE", "vocab", vocab, "merges", merges,
                              "end_of_word_suffix", "</w>");
    if (unk) json_object_set_new(model, "unk_token", json_string(unk));
    json_t *root = json_pack("{s:o}", "model", model);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    bc_tokenizer *t = bc_tokenizer_parse(text, strlen(text), NULL, name, err);
    free(text);
    return t;
}

static int load_openclip(bc_clip_tokenizer *tok, const char *path, bc_err *err) {
    uint8_t *data;
    size_t len;
    if (bc_read_file(path, &data, &len, err) < 0) return -1;
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        free(data);
        return bc_fail(err, "%s is gzip-compressed: give the uncompressed merges file (gunzip -k it)", path);
    }
    json_t *vocab = json_object(), *merges = json_array();
    for (int i = 0; i < 256; i++) {  // the byte characters, then the same with "</w>"
        char u[8];
        int k = bc_utf8_encode(tok->byte_char[tok->byte_order[i]], u);
        u[k] = 0;
        json_object_set_new(vocab, u, json_integer(i));
        memcpy(u + k, "</w>", 5);
        json_object_set_new(vocab, u, json_integer(256 + i));
    }
    int id = 512;
    // open_clip: merges = lines[1 : 49152 - 256 - 2 + 1]
    int rc = read_merges((const char *)data, len, 1, 49152 - 256 - 2, merges, vocab, &id, path, err);
    free(data);
    if (rc == 0) {
        tok->sot = id, tok->eot = id + 1, tok->pad = 0, tok->vocab_size = id + 2;
        tok->bpe = make_bpe(vocab, merges, NULL, path, err);
    }
    json_decref(vocab);
    json_decref(merges);
    return rc < 0 || !tok->bpe ? -1 : 0;
}

static int load_hf(bc_clip_tokenizer *tok, const char *dir, bc_err *err) {
    char *vpath = bc_path_join(dir, "vocab.json"), *mpath = bc_path_join(dir, "merges.txt");
    json_error_t je;
    json_t *vocab = json_load_file(vpath, 0, &je), *merges = json_array();
    uint8_t *data = NULL;
    size_t len;
    int rc = 0;
    if (!json_is_object(vocab)) rc = bc_fail(err, "%s: expected a JSON object of token -> id (%s)", vpath, je.text);
    if (!rc) rc = bc_read_file(mpath, &data, &len, err);
    if (!rc) rc = read_merges((const char *)data, len, 0, (size_t)-1 / 2, merges, NULL, NULL, mpath, err);
    if (!rc && (tok->sot = vocab_id(vocab, "<|startoftext|>", vpath, err)) < 0) rc = -1;
    if (!rc && (tok->eot = vocab_id(vocab, "<|endoftext|>", vpath, err)) < 0) rc = -1;
    if (!rc) {
        tok->pad = tok->eot;  // CLIPTokenizer's pad_token is <|endoftext|>
        tok->bpe = make_bpe(vocab, merges, "<|endoftext|>", vpath, err);
        if (!tok->bpe) rc = -1;
        else tok->vocab_size = bc_tokenizer_vocab_size(tok->bpe);
    }
    json_decref(vocab);
    json_decref(merges);
    free(data);
    free(vpath);
    free(mpath);
    return rc;
}

bc_clip_tokenizer *bc_clip_tokenizer_load(const char *path, bc_err *err) {
    bc_clip_tokenizer *tok = bc_calloc(1, sizeof *tok);
    init_bytes(tok);
    int rc;
    char *vocab_json = bc_is_dir(path) ? bc_path_join(path, "vocab.json") : NULL;
    FILE *f = vocab_json ? fopen(vocab_json, "r") : NULL;
    if (f) {
        fclose(f);
        tok->hf = 1;
        rc = load_hf(tok, path, err);
    } else if (vocab_json) {
        char *file = bc_path_join(path, "bpe_simple_vocab_16e6.txt");
        rc = load_openclip(tok, file, err);
        free(file);
    } else {
        rc = load_openclip(tok, path, err);
    }
    free(vocab_json);
    const char *re = tok->hf ? hf_regex : openclip_regex;
    if (!rc && !(tok->split = bc_regex_compile(re, strlen(re), err))) rc = -1;
    tok->sot_str = tok->hf ? "<|startoftext|>" : "<start_of_text>";
    tok->eot_str = tok->hf ? "<|endoftext|>" : "<end_of_text>";
    if (rc < 0) {
        bc_err_prefix(err, "CLIP tokenizer %s (an open_clip merges .txt, or a directory with vocab.json + merges.txt)",
                      path);
        bc_clip_tokenizer_free(tok);
        return NULL;
    }
    return tok;
}

// ---------------------------------------------------------------- cleaning, on code points

static int cased(uint32_t c) {
    bc_ucat k = bc_unicode_category(c);
    return k == BC_UCAT_LU || k == BC_UCAT_LL || k == BC_UCAT_LT;
}

static int case_ignorable(uint32_t c) {
    static const uint32_t extra[] = {0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
                                     0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
    bc_ucat k = bc_unicode_category(c);
    if (k == BC_UCAT_MN || k == BC_UCAT_ME || k == BC_UCAT_CF || k == BC_UCAT_LM || k == BC_UCAT_SK) return 1;
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
        if (c == extra[i]) return 1;
    return 0;
}

// Python's Final_Sigma: a cased letter before (skipping case-ignorables), none after.
static int final_sigma(const uint32_t *s, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && case_ignorable(s[j - 1])) j--;
    if (j == 0 || !cased(s[j - 1])) return 0;
    for (j = i + 1; j < n && case_ignorable(s[j]); j++) {}
    return !(j < n && cased(s[j]));
}

// Lower-cases in place of out (str.lower / Rust to_lowercase); sigma: apply
// the final-sigma rule (Python does, Rust's per-character mapping does not).
static void lower(const bc_cps *in, bc_cps *out, int sigma) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        bc_ucat k = bc_unicode_category(c);
        if (c == 0x130) {  // İ -> i + combining dot above (the one multi-character lowercase)
            bc_cps_push(out, 'i');
            bc_cps_push(out, 0x307);
        } else if (c == 0x3A3 && sigma && final_sigma(in->v, in->n, i)) {
            bc_cps_push(out, 0x3C2);
        } else if (c >= 0x13A0 && c <= 0x13EF) {  // Cherokee folds the other way
            bc_cps_push(out, 0xAB70 + (c - 0x13A0));
        } else if (c >= 0x13F0 && c <= 0x13F5) {
            bc_cps_push(out, c + 8);
        } else if (c > 0x10FFFF || k == BC_UCAT_LL || k == BC_UCAT_MN) {  // µ ſ ς ϐ ... fold but are lowercase already
            bc_cps_push(out, c);
        } else {
            bc_cps_push(out, bc_unicode_fold(c));
        }
    }
}

// ---------------------------------------------------------------- encoding

static void push(int32_t **ids, size_t *n, size_t *cap, int32_t id) {
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 128;
        *ids = bc_realloc(*ids, *cap * sizeof **ids);
    }
    (*ids)[(*n)++] = id;
}

static int equals(const uint32_t *s, size_t n, const char *ascii) {
    size_t k = 0;
    while (k < n && ascii[k] && s[k] == (uint8_t)ascii[k]) k++;
    return k == n && !ascii[k];
}

// Splits cleaned text into pieces and BPE-encodes each, appending ids.
static int encode_clean(bc_clip_tokenizer *tok, const bc_cps *text, bc_buf *piece, int32_t **ids, size_t *n,
                        size_t *cap, bc_err *err) {
    size_t at = 0, ms, me;
    while (at < text->n && bc_regex_search(tok->split, text->v, text->n, at, &ms, &me)) {
        if (me == ms) {
            at = ms + 1;
            continue;
        }
        at = me;
        if (!tok->hf && equals(text->v + ms, me - ms, tok->sot_str)) {  // open_clip's cache holds the specials
            push(ids, n, cap, tok->sot);
            continue;
        }
        if (!tok->hf && equals(text->v + ms, me - ms, tok->eot_str)) {
            push(ids, n, cap, tok->eot);
            continue;
        }
        piece->len = 0;
        for (size_t i = ms; i < me; i++) {  // UTF-8 bytes, each as its byte-level character
            char u[4];
            uint32_t c = text->v[i];
            int k = c > 0x10FFFF ? (u[0] = (char)(c - 0x110000), 1) : bc_utf8_encode(c, u);
            for (int b = 0; b < k; b++) {
                char m[4];
                int mk = bc_utf8_encode(tok->byte_char[(uint8_t)u[b]], m);
                bc_buf_put(piece, m, (size_t)mk);
            }
        }
        int32_t *pids;
        size_t np;
        if (bc_tokenizer_encode(tok->bpe, piece->data, piece->len, 0, &pids, &np, err) < 0) return -1;
        for (size_t i = 0; i < np; i++) push(ids, n, cap, pids[i]);
        free(pids);
    }
    return 0;
}

// The first special token name in raw[from..n) (HF cuts them out first): its
// position, and which (0 SOT, 1 EOT), or n.
static size_t next_special(const bc_clip_tokenizer *tok, const uint32_t *s, size_t n, size_t from, int *which) {
    size_t ls = strlen(tok->sot_str), le = strlen(tok->eot_str);
    for (size_t i = from; i < n; i++) {
        if (i + ls <= n && equals(s + i, ls, tok->sot_str)) return *which = 0, i;
        if (i + le <= n && equals(s + i, le, tok->eot_str)) return *which = 1, i;
    }
    return n;
}

int bc_clip_tokenize(bc_clip_tokenizer *tok, const char *text, int context_len, int32_t *out_ids, int *n_real,
                     bc_err *err) {
    if (context_len < 2) return bc_fail(err, "CLIP tokenizer: context length %d is below 2", context_len);
    bc_cps raw = {0}, a = {0}, b = {0};
    bc_cps_from_utf8(&raw, text, strlen(text));
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    bc_buf piece = {0};
    int rc = 0;
    push(&ids, &n, &cap, tok->sot);
    if (!tok->hf) {  // open_clip: ftfy.fix_text, html.unescape twice, whitespace, lower(), then the regex
        bc_text_openclip_clean_cps(&raw, &b);
        lower(&b, &a, 1);
        // Under the `regex` module's IGNORECASE, U+0345 (whose fold is ι) is
        // matched by no alternative of the split: it parts pieces as a space
        // does (every other code point was checked to match as without it).
        for (size_t i = 0; i < a.n; i++)
            if (a.v[i] == 0x345) a.v[i] = ' ';
        rc = encode_clean(tok, &a, &piece, &ids, &n, &cap, err);
    } else {  // HF: special tokens out of the raw text, each stretch NFC'd and lower-cased, then the regex
        for (size_t pos = 0; pos <= raw.n && rc == 0;) {
            int which = -1;
            size_t at = next_special(tok, raw.v, raw.n, pos, &which);
            // The normalizer's Replace(\s+, " ") is not needed: the split drops whitespace either way.
            bc_cps stretch = {raw.v + pos, at - pos, 0};
            bc_text_nfc_cps(&stretch, &b);
            lower(&b, &a, 0);
            rc = encode_clean(tok, &a, &piece, &ids, &n, &cap, err);
            if (which < 0) break;
            push(&ids, &n, &cap, which ? tok->eot : tok->sot);
            pos = at + strlen(which ? tok->eot_str : tok->sot_str);
        }
    }
    push(&ids, &n, &cap, tok->eot);
    if (rc == 0) {
        size_t keep = n < (size_t)context_len ? n : (size_t)context_len;
        memcpy(out_ids, ids, keep * sizeof *ids);
        out_ids[keep - 1] = tok->eot;  // a no-op unless truncated: both references end with EOT
        for (size_t i = keep; i < (size_t)context_len; i++) out_ids[i] = tok->pad;
        if (n_real) *n_real = (int)keep;
    }
    free(ids);
    bc_cps_free(&raw);
    bc_cps_free(&a);
    bc_cps_free(&b);
    bc_buf_free(&piece);
    return rc;
}
