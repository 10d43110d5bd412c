// bpe.c: byte-level BPE from a Hugging Face tokenizer.json (see bpe.h).
//
// Encoding follows tokenizers' pipeline: added tokens are cut out of the text
// first; each stretch between them is normalized, pre-tokenized (a list of
// pieces, each pre-tokenizer splitting or rewriting every piece in turn) and
// each piece goes through the BPE model; the post-processor adds its special
// tokens around the result.
#include "text/bpe.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "text/regex.h"

// GPT-2's pre-tokenizer regex, built into tokenizers' ByteLevel (use_regex).
static const char gpt2_regex[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// ---------------------------------------------------------------- hash map: bytes -> int64

typedef struct {
    char *key;  // NULL: empty slot
    size_t klen;
    int64_t val;
} slot;

typedef struct {
    slot *s;
    size_t cap, n;  // cap: power of two
} smap;

static size_t smap_find(const smap *m, const void *key, size_t klen) {
    size_t i = (size_t)bc_hash64(key, klen, 0) & (m->cap - 1);
    while (m->s[i].key && (m->s[i].klen != klen || memcmp(m->s[i].key, key, klen) != 0)) i = (i + 1) & (m->cap - 1);
    return i;
}

static int smap_get(const smap *m, const void *key, size_t klen, int64_t *val) {
    if (!m->cap) return 0;
    size_t i = smap_find(m, key, klen);
    if (!m->s[i].key) return 0;
    *val = m->s[i].val;
    return 1;
}

static void smap_put(smap *m, const void *key, size_t klen, int64_t val) {
    if (2 * (m->n + 1) > m->cap) {  // keep the load under one half
        smap old = *m;
        m->cap = m->cap ? m->cap * 2 : 64;
        m->s = bc_calloc(m->cap, sizeof *m->s);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.s[i].key) {
                size_t j = smap_find(m, old.s[i].key, old.s[i].klen);
                m->s[j] = old.s[i];
                m->n++;
            }
        free(old.s);
    }
    size_t i = smap_find(m, key, klen);
    if (m->s[i].key) {
        m->s[i].val = val;
        return;
    }
    m->s[i].key = bc_malloc(klen ? klen : 1);
    memcpy(m->s[i].key, key, klen);
    m->s[i].klen = klen;
    m->s[i].val = val;
    m->n++;
}

static void smap_free(smap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->s[i].key);
    free(m->s);
    memset(m, 0, sizeof *m);
}

// ---------------------------------------------------------------- the tokenizer

enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
enum { PRE_SPLIT, PRE_DIGITS, PRE_BYTELEVEL };
enum { NORM_REPLACE, NORM_PREPEND };

typedef struct {
    int kind;
    bc_regex *re;      // SPLIT with a Regex pattern; BYTELEVEL with use_regex
    char *literal;     // SPLIT with a String pattern
    size_t literal_len;
    int behavior, invert;
    int individual;    // DIGITS
    int prefix_space;  // BYTELEVEL
} pre_step;

typedef struct {
    int kind;
    char *pattern, *content;  // REPLACE: pattern -> content; PREPEND: content
    size_t pattern_len, content_len;
} norm_step;

typedef struct {
    char *content;
    size_t len;
    int id, special, lstrip, rstrip;
    int normalized;  // matched in the normalized text (after the others were cut out)
} added_token;

struct bc_tokenizer {
    char *name;
    smap vocab;             // model.vocab: token string -> id (what BPE sees)
    smap added_ids;         // added token content -> id (looked up first, as HF does)
    char **tokens;          // [nids] id -> string (NULL when unused)
    uint8_t *special;       // [nids] added token marked special
    int nids;
    smap merges;            // (left id, right id) -> rank << 32 | merged id
    int ignore_merges, unk_id, fuse_unk;
    char *word_suffix;      // model.end_of_word_suffix ("</w>" for CLIP) or NULL
    size_t word_suffix_len;
    added_token *added;
    size_t nadded;
    norm_step *norms;
    size_t nnorms;
    pre_step *pres;
    size_t npres;
    int32_t *prefix, *suffix;  // what the post_processor adds around a sequence
    size_t nprefix, nsuffix;
    int bos, eos;
    int decoder;            // 0: none (join with spaces), 1: ByteLevel
    uint32_t byte_char[256];  // GPT-2 bytes_to_unicode
    int16_t char_byte[512];   // its inverse (byte-level chars are all below U+0200); -1 elsewhere
    pthread_mutex_t cache_lock;
    smap cache;               // piece -> offset << 20 | count into cache_ids
    int32_t *cache_ids;
    size_t cache_len, cache_cap;
};

#define MAX_ID (1 << 22)  // 4M ids: far above any real vocabulary, small enough to allocate
#define CACHE_MAX_IDS (1 << 22)

static void init_bytes(bc_tokenizer *tok) {
    int n = 0;
    for (int i = 0; i < 512; i++) tok->char_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        tok->byte_char[b] = keep ? (uint32_t)b : (uint32_t)(256 + n++);
        tok->char_byte[tok->byte_char[b]] = (int16_t)b;
    }
}

void bc_tokenizer_free(bc_tokenizer *tok) {
    if (!tok) return;
    free(tok->name);
    free(tok->word_suffix);
    smap_free(&tok->vocab);
    smap_free(&tok->added_ids);
    for (int i = 0; i < tok->nids; i++) free(tok->tokens[i]);
    free(tok->tokens);
    free(tok->special);
    smap_free(&tok->merges);
    for (size_t i = 0; i < tok->nadded; i++) free(tok->added[i].content);
    free(tok->added);
    for (size_t i = 0; i < tok->nnorms; i++) free(tok->norms[i].pattern), free(tok->norms[i].content);
    free(tok->norms);
    for (size_t i = 0; i < tok->npres; i++) bc_regex_free(tok->pres[i].re), free(tok->pres[i].literal);
    free(tok->pres);
    free(tok->prefix);
    free(tok->suffix);
    pthread_mutex_destroy(&tok->cache_lock);
    smap_free(&tok->cache);
    free(tok->cache_ids);
    free(tok);
}

// ---------------------------------------------------------------- loading

static int lookup(const bc_tokenizer *tok, const char *s, size_t len) {
    int64_t v;
    return smap_get(&tok->vocab, s, len, &v) ? (int)v : -1;
}

// Records id -> s, and s -> id in map.
static void set_token(bc_tokenizer *tok, smap *map, int id, const char *s, size_t len) {
    if (id >= tok->nids) {
        int n = tok->nids ? tok->nids : 256;
        while (n <= id) n *= 2;
        tok->tokens = bc_realloc(tok->tokens, (size_t)n * sizeof *tok->tokens);
        tok->special = bc_realloc(tok->special, (size_t)n);
        for (int i = tok->nids; i < n; i++) tok->tokens[i] = NULL, tok->special[i] = 0;
        tok->nids = n;
    }
    free(tok->tokens[id]);
    tok->tokens[id] = bc_strndup(s, len);
    smap_put(map, s, len, id);
}

static int get_id(json_t *j, const char *what, int *id, bc_err *err) {
    if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) >= MAX_ID)
        return bc_fail(err, "%s: expected an id in [0, %d), got %s", what, MAX_ID, bc_json_type_name(j));
    *id = (int)json_integer_value(j);
    return 0;
}

static int load_model(bc_tokenizer *tok, json_t *model, bc_err *err) {
    if (!json_is_object(model)) return bc_fail(err, "model: expected an object");
    const char *type = json_string_value(json_object_get(model, "type"));
    json_t *vocab = json_object_get(model, "vocab"), *merges = json_object_get(model, "merges");
    if (type && strcmp(type, "BPE") != 0)
        return bc_fail(err, "model.type \"%s\" is not supported (only byte-level BPE)", type);
    if (!json_is_object(vocab)) return bc_fail(err, "model.vocab: expected an object of token -> id");
    if (!type && !merges) return bc_fail(err, "model: no type and no merges, not a BPE model");
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        int id;
        if (get_id(val, "model.vocab", &id, err) < 0) {
            bc_err_prefix(err, "token \"%s\"", key);
            return -1;
        }
        set_token(tok, &tok->vocab, id, key, strlen(key));
    }
    if (merges && !json_is_array(merges)) return bc_fail(err, "model.merges: expected an array");
    size_t rank;
    json_array_foreach(merges, rank, val) {
        char *left = NULL;  // the left token of an "a b" merge
        const char *a, *b;
        if (json_is_string(val)) {  // "a b"
            const char *s = json_string_value(val), *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ') || sp == s || !sp[1])
                return bc_fail(err, "model.merges[%zu]: expected \"left right\", got \"%s\"", rank, s);
            a = left = bc_strndup(s, (size_t)(sp - s));
            b = sp + 1;
        } else if (json_is_array(val) && json_array_size(val) == 2 && json_is_string(json_array_get(val, 0)) &&
                   json_is_string(json_array_get(val, 1))) {
            a = json_string_value(json_array_get(val, 0));
            b = json_string_value(json_array_get(val, 1));
        } else {
            return bc_fail(err, "model.merges[%zu]: expected \"left right\" or [\"left\", \"right\"]", rank);
        }
        size_t la = strlen(a), lb = strlen(b);
        int ia = lookup(tok, a, la), ib = lookup(tok, b, lb);
        char *ab = bc_malloc(la + lb + 1);
        memcpy(ab, a, la);
        memcpy(ab + la, b, lb);
        int iab = lookup(tok, ab, la + lb);
        if (ia < 0 || ib < 0)
            bc_fail(err, "model.merges[%zu]: token \"%s\" is not in model.vocab", rank, ia < 0 ? a : b);
        else if (iab < 0)
            bc_fail(err, "model.merges[%zu]: merged token \"%.*s\" is not in model.vocab", rank, (int)(la + lb), ab);
        free(ab);
        free(left);
        if (ia < 0 || ib < 0 || iab < 0) return -1;
        int32_t pair[2] = {ia, ib};
        int64_t old;
        if (!smap_get(&tok->merges, pair, sizeof pair, &old))  // the first (lowest) rank wins, as in HF
            smap_put(&tok->merges, pair, sizeof pair, (int64_t)rank << 32 | (uint32_t)iab);
    }
    json_t *ig = json_object_get(model, "ignore_merges");
    tok->ignore_merges = json_is_true(ig);
    tok->fuse_unk = json_is_true(json_object_get(model, "fuse_unk"));
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    tok->unk_id = unk ? lookup(tok, unk, strlen(unk)) : -1;
    const char *prefix = json_string_value(json_object_get(model, "continuing_subword_prefix"));
    const char *suffix = json_string_value(json_object_get(model, "end_of_word_suffix"));
    if (prefix && *prefix) return bc_fail(err, "model: continuing_subword_prefix is not supported");
    if (suffix && *suffix) {  // CLIP: the last symbol of each piece carries the suffix
        tok->word_suffix_len = strlen(suffix);
        tok->word_suffix = bc_strndup(suffix, tok->word_suffix_len);
    }
    return 0;
}

// Added tokens get their ids as HF's loader gives them, whatever "id" the
// file states (HF only warns when they differ): the model's id when the
// content is in model.vocab, else the next id after the model vocab and the
// added tokens so far. A repeated content keeps its first id.
static int load_added(bc_tokenizer *tok, json_t *added, bc_err *err) {
    if (!added || json_is_null(added)) return 0;
    if (!json_is_array(added)) return bc_fail(err, "added_tokens: expected an array");
    tok->added = bc_calloc(json_array_size(added) + 1, sizeof *tok->added);
    int model_size = (int)tok->vocab.n, max_id = -1;
    size_t i;
    json_t *a;
    json_array_foreach(added, i, a) {
        json_t *cj = json_object_get(a, "content");
        if (!json_is_string(cj) || !json_string_length(cj))
            return bc_fail(err, "added_tokens[%zu]: expected a non-empty \"content\"", i);
        int64_t seen;
        if (smap_get(&tok->added_ids, json_string_value(cj), json_string_length(cj), &seen)) continue;
        added_token *t = &tok->added[tok->nadded++];
        t->len = json_string_length(cj);
        t->content = bc_strndup(json_string_value(cj), t->len);
        t->special = json_is_true(json_object_get(a, "special"));
        json_t *norm = json_object_get(a, "normalized");
        t->normalized = norm ? json_is_true(norm) : !t->special;
        t->lstrip = json_is_true(json_object_get(a, "lstrip"));
        t->rstrip = json_is_true(json_object_get(a, "rstrip"));
        int id = lookup(tok, t->content, t->len);
        if (id < 0) id = max_id < 0 ? model_size : (max_id >= model_size || model_size == 0) ? max_id + 1 : model_size;
        if (id >= MAX_ID) return bc_fail(err, "added_tokens[%zu]: id %d too large", i, id);
        if (id > max_id) max_id = id;
        t->id = id;
        set_token(tok, &tok->added_ids, id, t->content, t->len);
        tok->special[id] = (uint8_t)t->special;
    }
    return 0;
}

static int load_normalizer(bc_tokenizer *tok, json_t *n, bc_err *err) {
    if (!n || json_is_null(n)) return 0;
    const char *type = json_string_value(json_object_get(n, "type"));
    if (!type) return bc_fail(err, "normalizer: expected an object with a \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "normalizers");
        size_t i;
        json_t *sub;
        if (!json_is_array(list)) return bc_fail(err, "normalizer Sequence: expected \"normalizers\": [...]");
        json_array_foreach(list, i, sub) if (load_normalizer(tok, sub, err) < 0) return -1;
        return 0;
    }
    norm_step st = {0};
    if (!strcmp(type, "Replace")) {
        json_t *pat = json_object_get(json_object_get(n, "pattern"), "String");
        json_t *content = json_object_get(n, "content");
        if (!json_is_string(pat) || !json_string_length(pat) || !json_is_string(content))
            return bc_fail(err, "normalizer Replace: only a non-empty String pattern with a string content is supported");
        st.kind = NORM_REPLACE;
        st.pattern_len = json_string_length(pat);
        st.pattern = bc_strndup(json_string_value(pat), st.pattern_len);
        st.content_len = json_string_length(content);
        st.content = bc_strndup(json_string_value(content), st.content_len);
    } else if (!strcmp(type, "Prepend")) {
        json_t *content = json_object_get(n, "prepend");
        if (!json_is_string(content)) return bc_fail(err, "normalizer Prepend: expected \"prepend\": string");
        st.kind = NORM_PREPEND;
        st.content_len = json_string_length(content);
        st.content = bc_strndup(json_string_value(content), st.content_len);
    } else {
        return bc_fail(err, "normalizer type \"%s\" is not supported", type);
    }
    tok->norms = bc_realloc(tok->norms, (tok->nnorms + 1) * sizeof *tok->norms);
    tok->norms[tok->nnorms++] = st;
    return 0;
}

static int load_pre(bc_tokenizer *tok, json_t *p, bc_err *err) {
    if (!p || json_is_null(p)) return 0;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type) return bc_fail(err, "pre_tokenizer: expected an object with a \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "pretokenizers");
        size_t i;
        json_t *sub;
        if (!json_is_array(list)) return bc_fail(err, "pre_tokenizer Sequence: expected \"pretokenizers\": [...]");
        json_array_foreach(list, i, sub) if (load_pre(tok, sub, err) < 0) return -1;
        return 0;
    }
    pre_step st = {0};
    if (!strcmp(type, "Split")) {
        static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
        json_t *pat = json_object_get(p, "pattern");
        json_t *re = json_object_get(pat, "Regex"), *str = json_object_get(pat, "String");
        const char *behavior = json_string_value(json_object_get(p, "behavior"));
        st.kind = PRE_SPLIT;
        st.behavior = -1;
        for (int i = 0; behavior && i < 5; i++)
            if (!strcmp(behavior, names[i])) st.behavior = i;
        if (st.behavior < 0) return bc_fail(err, "pre_tokenizer Split: unknown behavior \"%s\"", behavior ? behavior : "(none)");
        st.invert = json_is_true(json_object_get(p, "invert"));
        if (json_is_string(re)) {
            st.re = bc_regex_compile(json_string_value(re), json_string_length(re), err);
            if (!st.re) {
                bc_err_prefix(err, "pre_tokenizer Split pattern \"%s\"", json_string_value(re));
                return -1;
            }
        } else if (json_is_string(str) && json_string_length(str)) {
            st.literal_len = json_string_length(str);
            st.literal = bc_strndup(json_string_value(str), st.literal_len);
        } else {
            return bc_fail(err, "pre_tokenizer Split: expected \"pattern\": {\"Regex\": ...} or {\"String\": ...}");
        }
    } else if (!strcmp(type, "Digits")) {
        st.kind = PRE_DIGITS;
        st.individual = json_is_true(json_object_get(p, "individual_digits"));
    } else if (!strcmp(type, "ByteLevel")) {
        st.kind = PRE_BYTELEVEL;
        st.prefix_space = json_is_true(json_object_get(p, "add_prefix_space"));
        json_t *use = json_object_get(p, "use_regex");
        if (!use || json_is_true(use)) st.re = bc_regex_compile(gpt2_regex, strlen(gpt2_regex), err);
        if ((!use || json_is_true(use)) && !st.re) return -1;
    } else {
        return bc_fail(err, "pre_tokenizer type \"%s\" is not supported", type);
    }
    tok->pres = bc_realloc(tok->pres, (tok->npres + 1) * sizeof *tok->pres);
    tok->pres[tok->npres++] = st;
    return 0;
}

static void push_id(int32_t **v, size_t *n, int32_t id) {
    *v = bc_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = id;
}

static int load_post(bc_tokenizer *tok, json_t *p, bc_err *err) {
    if (!p || json_is_null(p)) return 0;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type) return bc_fail(err, "post_processor: expected an object with a \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "processors");
        size_t i;
        json_t *sub;
        if (!json_is_array(list)) return bc_fail(err, "post_processor Sequence: expected \"processors\": [...]");
        json_array_foreach(list, i, sub) if (load_post(tok, sub, err) < 0) return -1;
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) return 0;  // only adjusts offsets
    if (!strcmp(type, "TemplateProcessing")) {
        json_t *single = json_object_get(p, "single"), *specials = json_object_get(p, "special_tokens");
        if (!json_is_array(single)) return bc_fail(err, "post_processor TemplateProcessing: expected \"single\": [...]");
        int seen_sequence = 0;
        size_t i;
        json_t *piece;
        json_array_foreach(single, i, piece) {
            if (json_object_get(piece, "Sequence")) {
                seen_sequence = 1;
                continue;
            }
            const char *name = json_string_value(json_object_get(json_object_get(piece, "SpecialToken"), "id"));
            json_t *ids = json_object_get(json_object_get(specials, name ? name : ""), "ids");
            if (!name || !json_is_array(ids))
                return bc_fail(err, "post_processor TemplateProcessing: single[%zu] names no token of special_tokens", i);
            size_t k;
            json_t *idj;
            json_array_foreach(ids, k, idj) {
                int id;
                if (get_id(idj, "post_processor special_tokens ids", &id, err) < 0) return -1;
                if (seen_sequence) push_id(&tok->suffix, &tok->nsuffix, id);
                else push_id(&tok->prefix, &tok->nprefix, id);
            }
        }
        return 0;
    }
    if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
        int cls, sep;
        if (get_id(json_array_get(json_object_get(p, "cls"), 1), "post_processor cls", &cls, err) < 0 ||
            get_id(json_array_get(json_object_get(p, "sep"), 1), "post_processor sep", &sep, err) < 0)
            return -1;
        push_id(&tok->prefix, &tok->nprefix, cls);
        push_id(&tok->suffix, &tok->nsuffix, sep);
        return 0;
    }
    return bc_fail(err, "post_processor type \"%s\" is not supported", type);
}

static int load_decoder(bc_tokenizer *tok, json_t *d, bc_err *err) {
    if (!d || json_is_null(d)) return 0;
    const char *type = json_string_value(json_object_get(d, "type"));
    if (!type) return bc_fail(err, "decoder: expected an object with a \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(d, "decoders");
        size_t i;
        json_t *sub;
        if (!json_is_array(list)) return bc_fail(err, "decoder Sequence: expected \"decoders\": [...]");
        json_array_foreach(list, i, sub) if (load_decoder(tok, sub, err) < 0) return -1;
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) {
        tok->decoder = 1;
        return 0;
    }
    return bc_fail(err, "decoder type \"%s\" is not supported", type);
}

// tokenizer_config.json's bos_token / eos_token: a string or {"content": ...}.
static int config_token(const bc_tokenizer *tok, json_t *cfg, const char *key) {
    json_t *v = json_object_get(cfg, key);
    if (json_is_object(v)) v = json_object_get(v, "content");
    if (!json_is_string(v)) return -1;
    return bc_tokenizer_token_id(tok, json_string_value(v));
}

bc_tokenizer *bc_tokenizer_parse(const char *text, size_t len, const char *config_json, const char *name,
                                 bc_err *err) {
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root) {
        bc_fail(err, "%s: not valid JSON: %s (line %d, column %d)", name, je.text, je.line, je.column);
        return NULL;
    }
    bc_tokenizer *tok = bc_calloc(1, sizeof *tok);
    tok->name = bc_strdup(name);
    pthread_mutex_init(&tok->cache_lock, NULL);
    init_bytes(tok);
    tok->bos = tok->eos = tok->unk_id = -1;
    int rc = json_is_object(root) ? 0 : bc_fail(err, "expected a JSON object");
    if (!rc && !json_object_get(root, "model")) rc = bc_fail(err, "no \"model\"");
    if (!rc) rc = load_model(tok, json_object_get(root, "model"), err);
    if (!rc) rc = load_added(tok, json_object_get(root, "added_tokens"), err);
    if (!rc) rc = load_normalizer(tok, json_object_get(root, "normalizer"), err);
    if (!rc) rc = load_pre(tok, json_object_get(root, "pre_tokenizer"), err);
    if (!rc) rc = load_post(tok, json_object_get(root, "post_processor"), err);
    if (!rc) rc = load_decoder(tok, json_object_get(root, "decoder"), err);
    json_decref(root);
    if (rc < 0) {
        bc_err_prefix(err, "%s", name);
        bc_tokenizer_free(tok);
        return NULL;
    }
    json_t *cfg = config_json ? json_loads(config_json, 0, NULL) : NULL;
    tok->bos = tok->nprefix ? tok->prefix[0] : config_token(tok, cfg, "bos_token");
    tok->eos = config_token(tok, cfg, "eos_token");
    if (tok->eos < 0 && tok->nsuffix) tok->eos = tok->suffix[tok->nsuffix - 1];
    json_decref(cfg);
    return tok;
}

bc_tokenizer *bc_tokenizer_load(const char *path, bc_err *err) {
    char *file = bc_is_dir(path) ? bc_path_join(path, "tokenizer.json") : bc_strdup(path);
    uint8_t *data = NULL, *cfg = NULL;
    size_t len = 0, cfg_len = 0;
    if (bc_read_file(file, &data, &len, err) < 0) {
        bc_err_prefix(err, "tokenizer (a tokenizer.json or a directory holding one)");
        free(file);
        return NULL;
    }
    char *slash = strrchr(file, '/');
    char *dir = slash ? bc_strndup(file, (size_t)(slash - file)) : bc_strdup(".");
    char *cfg_path = bc_path_join(dir, "tokenizer_config.json");
    bc_err ignored;
    if (bc_read_file(cfg_path, &cfg, &cfg_len, &ignored) < 0) cfg = NULL;
    bc_tokenizer *tok = bc_tokenizer_parse((const char *)data, len, (const char *)cfg, file, err);
    free(data);
    free(cfg);
    free(cfg_path);
    free(dir);
    free(file);
    return tok;
}

// ---------------------------------------------------------------- BPE on one piece

typedef struct {
    uint32_t rank;
    uint32_t pos;  // index of the left symbol
    int32_t left, right, merged;
} merge_cand;

static int cand_less(const merge_cand *a, const merge_cand *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(merge_cand *h, size_t *n, merge_cand c) {
    size_t i = (*n)++;
    h[i] = c;
    while (i > 0 && cand_less(&h[i], &h[(i - 1) / 2])) {
        merge_cand t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static merge_cand heap_pop(merge_cand *h, size_t *n) {
    merge_cand top = h[0];
    h[0] = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && cand_less(&h[l], &h[m])) m = l;
        if (r < *n && cand_less(&h[r], &h[m])) m = r;
        if (m == i) break;
        merge_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

static int pair_merge(const bc_tokenizer *tok, int32_t a, int32_t b, uint32_t pos, merge_cand *c) {
    int32_t pair[2] = {a, b};
    int64_t v;
    if (!smap_get(&tok->merges, pair, sizeof pair, &v)) return 0;
    c->rank = (uint32_t)(v >> 32);
    c->merged = (int32_t)(v & 0xffffffff);
    c->pos = pos;
    c->left = a;
    c->right = b;
    return 1;
}

// Appends the ids of one piece (in the model's alphabet) to out. Symbols
// live in a linked list; the candidate merges sit in a min-heap by (rank,
// position), so a word of n symbols costs O(n log n), and a candidate whose
// symbols changed since it was pushed is skipped when popped.
static void bpe_word(const bc_tokenizer *tok, const char *w, size_t len, int32_t **out, size_t *nout) {
    if (tok->ignore_merges) {
        int id = lookup(tok, w, len);
        if (id >= 0) {
            push_id(out, nout, id);
            return;
        }
    }
    int32_t *ids = bc_malloc((len + 1) * sizeof *ids);
    int32_t *next = bc_malloc((len + 1) * sizeof *next), *prev = bc_malloc((len + 1) * sizeof *prev);
    size_t n = 0;
    for (size_t i = 0; i < len;) {  // one symbol per UTF-8 character (an invalid byte alone)
        size_t k = 1;
        uint8_t b = (uint8_t)w[i];
        size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        while (k < want && i + k < len && ((uint8_t)w[i + k] & 0xC0) == 0x80) k++;
        int id;
        if (tok->word_suffix && i + k == len) {  // the last character: looked up with the end-of-word suffix, as HF
            char *last = bc_malloc(k + tok->word_suffix_len);
            memcpy(last, w + i, k);
            memcpy(last + k, tok->word_suffix, tok->word_suffix_len);
            id = lookup(tok, last, k + tok->word_suffix_len);
            free(last);
        } else {
            id = lookup(tok, w + i, k);
        }
        i += k;
        if (id < 0) {  // not in the vocab: unk (fused if asked), or dropped as HF does without unk
            if (tok->unk_id < 0) continue;
            if (tok->fuse_unk && n > 0 && ids[n - 1] == tok->unk_id) continue;
            id = tok->unk_id;
        }
        ids[n++] = id;
    }
    for (size_t i = 0; i < n; i++) prev[i] = (int32_t)i - 1, next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    merge_cand *heap = bc_malloc((2 * n + 1) * sizeof *heap);
    size_t nheap = 0;
    merge_cand c;
    for (size_t i = 0; i + 1 < n; i++)
        if (pair_merge(tok, ids[i], ids[i + 1], (uint32_t)i, &c)) heap_push(heap, &nheap, c);
    while (nheap > 0) {
        c = heap_pop(heap, &nheap);
        int32_t l = (int32_t)c.pos, r = next[l];
        if (ids[l] != c.left || r < 0 || ids[r] != c.right) continue;  // stale
        ids[l] = c.merged;
        ids[r] = -1;  // dead
        next[l] = next[r];
        if (next[r] >= 0) prev[next[r]] = l;
        if (prev[l] >= 0 && pair_merge(tok, ids[prev[l]], ids[l], (uint32_t)prev[l], &c)) heap_push(heap, &nheap, c);
        if (next[l] >= 0 && pair_merge(tok, ids[l], ids[next[l]], (uint32_t)l, &c)) heap_push(heap, &nheap, c);
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = next[i]) push_id(out, nout, ids[i]);
    free(heap);
    free(ids);
    free(next);
    free(prev);
}

// bpe_word through a cache of pieces already seen (a prompt repeats its
// words; a piece is looked up before any merging).
static void bpe_cached(bc_tokenizer *tok, const char *w, size_t len, int32_t **out, size_t *nout) {
    int64_t v;
    pthread_mutex_lock(&tok->cache_lock);
    if (smap_get(&tok->cache, w, len, &v)) {
        size_t off = (size_t)(v >> 20), cnt = (size_t)(v & 0xfffff);
        for (size_t i = 0; i < cnt; i++) push_id(out, nout, tok->cache_ids[off + i]);
        pthread_mutex_unlock(&tok->cache_lock);
        return;
    }
    pthread_mutex_unlock(&tok->cache_lock);
    size_t start = *nout;
    bpe_word(tok, w, len, out, nout);
    size_t cnt = *nout - start;
    if (cnt >= 0xfffff || len > 256) return;  // long pieces are not worth keeping
    pthread_mutex_lock(&tok->cache_lock);
    if (tok->cache_len + cnt > CACHE_MAX_IDS) {  // full: start again
        smap_free(&tok->cache);
        tok->cache_len = 0;
    }
    if (tok->cache_len + cnt > tok->cache_cap) {
        tok->cache_cap = (tok->cache_len + cnt) * 2;
        tok->cache_ids = bc_realloc(tok->cache_ids, tok->cache_cap * sizeof *tok->cache_ids);
    }
    if (cnt) memcpy(tok->cache_ids + tok->cache_len, *out + start, cnt * sizeof **out);
    smap_put(&tok->cache, w, len, (int64_t)tok->cache_len << 20 | (int64_t)cnt);
    tok->cache_len += cnt;
    pthread_mutex_unlock(&tok->cache_lock);
}

// ---------------------------------------------------------------- pre-tokenization

// The pieces of a stretch of text: byte ranges of an arena that grows when a
// step rewrites a piece (ByteLevel).
typedef struct {
    size_t off, len;
} piece;

typedef struct {
    bc_buf arena;
    piece *p;
    size_t n, cap;
} pieces;

static void pieces_add(pieces *ps, size_t off, size_t len) {
    if (!len) return;  // HF drops empty pieces
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->p = bc_realloc(ps->p, ps->cap * sizeof *ps->p);
    }
    ps->p[ps->n].off = off;
    ps->p[ps->n++].len = len;
}

typedef struct {
    size_t start, end;  // bytes, relative to the piece
    int match;
} span;

// Applies a split behaviour to the spans (matches and the gaps between them,
// in order, covering the piece) and adds the resulting pieces to out.
static void split_spans(span *s, size_t ns, int behavior, int invert, size_t base, pieces *out) {
    if (invert)
        for (size_t i = 0; i < ns; i++) s[i].match = !s[i].match;
    // Merge into s in place; then emit. Mirrors tokenizers' SplitDelimiterBehavior.
    size_t m = 0;
    int prev_match = 0;
    if (behavior == SPLIT_MERGED_NEXT) {
        // From the back: a match joins the piece after it.
        size_t k = ns;
        for (size_t ii = ns; ii-- > 0;) {
            span cur = s[ii];
            if (cur.match && !prev_match && k < ns) s[k].start = cur.start;
            else s[--k] = (span){cur.start, cur.end, 0};
            prev_match = cur.match;
        }
        for (size_t i = k; i < ns; i++) pieces_add(out, base + s[i].start, s[i].end - s[i].start);
        return;
    }
    for (size_t i = 0; i < ns; i++) {
        span cur = s[i];
        int join;
        switch (behavior) {
        case SPLIT_REMOVED:
            if (cur.match) continue;
            join = 0;
            break;
        case SPLIT_MERGED_PREV: join = cur.match && !prev_match && m > 0; break;
        case SPLIT_CONTIGUOUS: join = cur.match == prev_match && m > 0; break;
        default: join = 0; break;  // Isolated
        }
        if (join) s[m - 1].end = cur.end;
        else s[m++] = (span){cur.start, cur.end, 0};
        prev_match = cur.match;
    }
    for (size_t i = 0; i < m; i++) pieces_add(out, base + s[i].start, s[i].end - s[i].start);
}

// Scratch buffers for one pre-tokenization step.
typedef struct {
    uint32_t *cps;
    size_t *offs;
    span *spans;
    size_t cap;
} scratch;

static void scratch_fit(scratch *sc, size_t len) {
    if (len + 1 <= sc->cap) return;
    sc->cap = (len + 1) * 2;
    sc->cps = bc_realloc(sc->cps, sc->cap * sizeof *sc->cps);
    sc->offs = bc_realloc(sc->offs, sc->cap * sizeof *sc->offs);
    sc->spans = bc_realloc(sc->spans, (2 * sc->cap + 1) * sizeof *sc->spans);
}

// Regex matches of a piece (non-empty, non-overlapping, left to right), as spans.
static size_t regex_spans(const bc_regex *re, const char *s, size_t len, scratch *sc) {
    scratch_fit(sc, len);
    size_t n = bc_utf8_decode((const uint8_t *)s, len, sc->cps, sc->offs), ns = 0, prev = 0, at = 0, ms, me;
    while (at <= n && bc_regex_search(re, sc->cps, n, at, &ms, &me)) {
        if (me == ms) {  // empty matches split nothing
            at = ms + 1;
            continue;
        }
        if (ms > prev) sc->spans[ns++] = (span){sc->offs[prev], sc->offs[ms], 0};
        sc->spans[ns++] = (span){sc->offs[ms], sc->offs[me], 1};
        prev = at = me;
    }
    if (prev < n) sc->spans[ns++] = (span){sc->offs[prev], len, 0};
    return ns;
}

static size_t literal_spans(const char *lit, size_t llen, const char *s, size_t len, scratch *sc) {
    scratch_fit(sc, len);
    size_t ns = 0, prev = 0;
    for (size_t i = 0; i + llen <= len;) {
        if (memcmp(s + i, lit, llen) == 0) {
            if (i > prev) sc->spans[ns++] = (span){prev, i, 0};
            sc->spans[ns++] = (span){i, i + llen, 1};
            i += llen;
            prev = i;
        } else {
            i++;
        }
    }
    if (prev < len) sc->spans[ns++] = (span){prev, len, 0};
    return ns;
}

static size_t digit_spans(const char *s, size_t len, scratch *sc) {
    scratch_fit(sc, len);
    size_t n = bc_utf8_decode((const uint8_t *)s, len, sc->cps, sc->offs), ns = 0;
    for (size_t i = 0; i < n; i++) {
        bc_ucat c = bc_unicode_category(sc->cps[i]);
        int digit = sc->cps[i] <= 0x10FFFF && (c == BC_UCAT_ND || c == BC_UCAT_NL || c == BC_UCAT_NO);
        if (!digit && ns > 0 && !sc->spans[ns - 1].match) sc->spans[ns - 1].end = sc->offs[i + 1];
        else sc->spans[ns++] = (span){sc->offs[i], sc->offs[i + 1], digit};
    }
    return ns;
}

// Appends s to the arena as byte-level characters (each byte -> one char).
static void byte_level_map(const bc_tokenizer *tok, const char *s, size_t len, bc_buf *arena) {
    for (size_t i = 0; i < len; i++) {
        char u[4];
        int k = bc_utf8_encode(tok->byte_char[(uint8_t)s[i]], u);
        bc_buf_put(arena, u, (size_t)k);
    }
}

static void pre_tokenize(const bc_tokenizer *tok, pieces *ps, scratch *sc) {
    for (size_t st = 0; st < tok->npres; st++) {
        const pre_step *step = &tok->pres[st];
        // The new pieces share the arena (splits only cut; ByteLevel appends
        // rewritten pieces to it), so it passes from ps to out.
        pieces out = {ps->arena, NULL, 0, 0};
        for (size_t i = 0; i < ps->n; i++) {
            piece p = ps->p[i];
            size_t ns;
            if (step->kind == PRE_SPLIT) {
                const char *s = out.arena.data + p.off;
                ns = step->re ? regex_spans(step->re, s, p.len, sc) : literal_spans(step->literal, step->literal_len, s, p.len, sc);
                split_spans(sc->spans, ns, step->behavior, step->invert, p.off, &out);
            } else if (step->kind == PRE_DIGITS) {
                ns = digit_spans(out.arena.data + p.off, p.len, sc);
                split_spans(sc->spans, ns, step->individual ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS, 0, p.off, &out);
            } else {  // ByteLevel: optional prefix space, optional GPT-2 split, then bytes -> chars
                // (into a copy: appending to the arena may move it)
                char *text = bc_malloc(p.len + 2);
                size_t tlen = 0;
                if (step->prefix_space && (p.len == 0 || out.arena.data[p.off] != ' ')) text[tlen++] = ' ';
                memcpy(text + tlen, out.arena.data + p.off, p.len);
                tlen += p.len;
                if (step->re) {
                    ns = regex_spans(step->re, text, tlen, sc);
                } else {
                    scratch_fit(sc, tlen);
                    ns = 0;
                    if (tlen) sc->spans[ns++] = (span){0, tlen, 0};
                }
                for (size_t k = 0; k < ns; k++) {
                    size_t off = out.arena.len;
                    byte_level_map(tok, text + sc->spans[k].start, sc->spans[k].end - sc->spans[k].start, &out.arena);
                    pieces_add(&out, off, out.arena.len - off);
                }
                free(text);
            }
        }
        free(ps->p);
        *ps = out;
    }
}

// ---------------------------------------------------------------- encoding

static int next_added(const bc_tokenizer *tok, int normalized, const char *s, size_t len, size_t pos, size_t *ms,
                      size_t *me);

static void normalize(const bc_tokenizer *tok, const char *s, size_t len, bc_buf *out) {
    bc_buf cur = {0};
    bc_buf_put(&cur, s, len);
    for (size_t k = 0; k < tok->nnorms; k++) {
        const norm_step *st = &tok->norms[k];
        bc_buf next = {0};
        if (st->kind == NORM_PREPEND) {
            if (cur.len) bc_buf_put(&next, st->content, st->content_len);
            bc_buf_put(&next, cur.data, cur.len);
        } else {
            for (size_t i = 0; i < cur.len;) {
                if (i + st->pattern_len <= cur.len && memcmp(cur.data + i, st->pattern, st->pattern_len) == 0) {
                    bc_buf_put(&next, st->content, st->content_len);
                    i += st->pattern_len;
                } else {
                    bc_buf_putc(&next, cur.data[i++]);
                }
            }
        }
        bc_buf_free(&cur);
        cur = next;
    }
    bc_buf_put(out, cur.data ? cur.data : "", cur.len);
    bc_buf_free(&cur);
}

// A stretch of text between the added tokens that are not normalized:
// normalize it, cut out the normalized added tokens, and run the pieces
// between them through the pre-tokenizers and the model (HF's order).
static void encode_stretch(bc_tokenizer *tok, const char *s, size_t len, scratch *sc, int32_t **ids, size_t *n) {
    bc_buf norm = {0};
    normalize(tok, s, len, &norm);
    for (size_t pos = 0; pos < norm.len;) {
        size_t ms = norm.len, me = norm.len;
        int a = next_added(tok, 1, norm.data, norm.len, pos, &ms, &me);
        if (ms > pos) {
            pieces ps = {{0}, NULL, 0, 0};
            bc_buf_put(&ps.arena, norm.data + pos, ms - pos);
            pieces_add(&ps, 0, ps.arena.len);
            pre_tokenize(tok, &ps, sc);
            for (size_t i = 0; i < ps.n; i++) bpe_cached(tok, ps.arena.data + ps.p[i].off, ps.p[i].len, ids, n);
            free(ps.p);
            bc_buf_free(&ps.arena);
        }
        if (a >= 0) push_id(ids, n, tok->added[a].id);
        pos = me;
    }
    bc_buf_free(&norm);
}

static int is_space_at(const char *s, size_t len, size_t i, size_t *k) {
    uint32_t cp[4];
    size_t offs[5];
    size_t want = (uint8_t)s[i] >= 0xF0 ? 4 : (uint8_t)s[i] >= 0xE0 ? 3 : (uint8_t)s[i] >= 0xC0 ? 2 : 1;
    if (want > len - i) want = len - i;
    bc_utf8_decode((const uint8_t *)s + i, want, cp, offs);
    *k = offs[1];
    return bc_unicode_is_space(cp[0]);
}

// The leftmost-longest added token (of those with the given normalized flag) at or after pos: [*ms, *me) including any
// whitespace its lstrip/rstrip absorb; its index, or -1.
static int next_added(const bc_tokenizer *tok, int normalized, const char *s, size_t len, size_t pos, size_t *ms,
                      size_t *me) {
    for (size_t i = pos; i < len; i++) {
        int best = -1;
        for (size_t a = 0; a < tok->nadded; a++) {
            const added_token *t = &tok->added[a];
            if (t->normalized == normalized && t->content[0] == s[i] && t->len <= len - i && memcmp(s + i, t->content, t->len) == 0 &&
                (best < 0 || t->len > tok->added[best].len))
                best = (int)a;
        }
        if (best < 0) continue;
        const added_token *t = &tok->added[best];
        size_t start = i, end = i + t->len, k;
        if (t->lstrip)
            while (start > pos) {
                size_t back = start - 1;
                while (back > pos && ((uint8_t)s[back] & 0xC0) == 0x80) back--;
                if (!is_space_at(s, len, back, &k) || back + k != start) break;
                start = back;
            }
        if (t->rstrip)
            while (end < len && is_space_at(s, len, end, &k)) end += k;
        *ms = start;
        *me = end;
        return best;
    }
    return -1;
}

int bc_tokenizer_encode(bc_tokenizer *tok, const char *text, size_t len, int add_special, int32_t **ids, size_t *n,
                        bc_err *err) {
    int32_t *out = NULL;
    size_t nout = 0;
    scratch sc = {0};
    if (add_special)
        for (size_t i = 0; i < tok->nprefix; i++) push_id(&out, &nout, tok->prefix[i]);
    for (size_t pos = 0; pos < len;) {
        size_t ms = len, me = len;
        int a = next_added(tok, 0, text, len, pos, &ms, &me);
        if (ms > pos) encode_stretch(tok, text + pos, ms - pos, &sc, &out, &nout);
        if (a >= 0) push_id(&out, &nout, tok->added[a].id);
        pos = me;
    }
    if (add_special)
        for (size_t i = 0; i < tok->nsuffix; i++) push_id(&out, &nout, tok->suffix[i]);
    free(sc.cps);
    free(sc.offs);
    free(sc.spans);
    *ids = out ? out : bc_malloc(sizeof *out);
    *n = nout;
    (void)err;
    return 0;
}

// ---------------------------------------------------------------- decoding

// Appends bytes as UTF-8 with each maximal invalid subpart replaced by U+FFFD
// (what Rust's String::from_utf8_lossy and Python's errors="replace" do).
static void put_lossy(bc_buf *out, const uint8_t *s, size_t len) {
    for (size_t i = 0; i < len;) {
        uint8_t b = s[i];
        size_t need = 0;
        uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (b < 0x80) { bc_buf_putc(out, (char)b); i++; continue; }
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b >= 0xE0 && b <= 0xEF) need = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        else if (b >= 0xF0 && b <= 0xF4) need = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        size_t k = 1;
        while (need && k <= need && i + k < len) {
            uint8_t c = s[i + k];
            if (k == 1 ? (c < lo || c > hi) : (c & 0xC0) != 0x80) break;
            k++;
        }
        if (need && k == need + 1) bc_buf_put(out, s + i, k);
        else bc_buf_put(out, "\xEF\xBF\xBD", 3);
        i += k;
    }
}

char *bc_tokenizer_decode(const bc_tokenizer *tok, const int32_t *ids, size_t n, int skip_special, size_t *len,
                          bc_err *err) {
    bc_buf bytes = {0}, out = {0};
    uint32_t *cps = NULL;
    size_t *offs = NULL, cap = 0;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        int id = ids[i];
        if (id < 0 || id >= tok->nids || !tok->tokens[id]) {
            free(cps), free(offs), bc_buf_free(&bytes), bc_buf_free(&out);
            bc_fail(err, "%s: id %d at position %zu is not in the vocabulary", tok->name, id, i);
            return NULL;
        }
        if (skip_special && tok->special[id]) continue;
        const char *t = tok->tokens[id];
        size_t tlen = strlen(t);
        if (!tok->decoder) {  // no decoder: tokens joined by spaces, as tokenizers does
            if (!first) bc_buf_putc(&bytes, ' ');
            bc_buf_put(&bytes, t, tlen);
            first = 0;
            continue;
        }
        // ByteLevel: each char back to its byte; a token with a char outside
        // the byte alphabet (an added token such as "<｜▁pad▁｜>") goes as it is.
        if (tlen + 1 > cap) {
            cap = 2 * (tlen + 1);
            cps = bc_realloc(cps, cap * sizeof *cps);
            offs = bc_realloc(offs, cap * sizeof *offs);
        }
        size_t nc = bc_utf8_decode((const uint8_t *)t, tlen, cps, offs), start = bytes.len, k;
        for (k = 0; k < nc; k++) {
            if (cps[k] >= 512 || tok->char_byte[cps[k]] < 0) break;
            bc_buf_putc(&bytes, (char)tok->char_byte[cps[k]]);
        }
        if (k < nc) {
            bytes.len = start;
            bc_buf_put(&bytes, t, tlen);
        }
    }
    put_lossy(&out, (const uint8_t *)(bytes.data ? bytes.data : ""), bytes.len);
    bc_buf_free(&bytes);
    free(cps);
    free(offs);
    if (!out.data) bc_buf_put(&out, "", 0);
    if (len) *len = out.len;
    return out.data;
}

// ---------------------------------------------------------------- lookups

int bc_tokenizer_token_id(const bc_tokenizer *tok, const char *token) {
    int64_t v;
    if (smap_get(&tok->added_ids, token, strlen(token), &v)) return (int)v;
    return lookup(tok, token, strlen(token));
}

const char *bc_tokenizer_token(const bc_tokenizer *tok, int id) {
    return id >= 0 && id < tok->nids ? tok->tokens[id] : NULL;
}

int bc_tokenizer_bos(const bc_tokenizer *tok) { return tok->bos; }
int bc_tokenizer_eos(const bc_tokenizer *tok) { return tok->eos; }

int bc_tokenizer_vocab_size(const bc_tokenizer *tok) {
    int n = tok->nids;
    while (n > 0 && !tok->tokens[n - 1]) n--;
    return n;
}
