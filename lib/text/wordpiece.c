// wordpiece.c: BERT's WordPiece tokenizer (see wordpiece.h).
//
// The reference is Hugging Face tokenizers' BertNormalizer + BertPreTokenizer
// + WordPiece model: what transformers' BertTokenizer (= BertTokenizerFast in
// transformers 5) runs, and what GIT's AutoProcessor used in T2I-R1. The old
// Python BertTokenizer (BertTokenizerLegacy in transformers 5) agrees except
// in three corners, where we follow tokenizers:
//   - it NFC-normalises the text first: differs when accents are kept
//     ("e" + U+0301 stays two code points here);
//   - str.lower() gives a word-final capital sigma "ς", tokenizers "σ";
//   - its Unicode data (Python's) is newer than tokenizers' category tables.
// The per-code-point facts (control, whitespace, punctuation, CJK, Mn,
// lowercase, NFD) come from lib/text/unicode_bert.c, measured on tokenizers.
//
// Steps for one piece of text between special tokens:
//   normalize   clean text (drop controls, whitespace -> ' '), space around
//               CJK ideographs, strip accents (NFD, drop Mn), lowercase;
//               in that order, as BertNormalizer does;
//   split       on whitespace; every punctuation character is a word;
//   wordpiece   greedy longest match from the left, "##" before every piece
//               but the first; one [UNK] for a word with no segmentation or
//               more than max_input_chars_per_word (100) characters.
#include "text/wordpiece.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "text/regex.h"
#include "text/unicode_bert.h"

#define MAX_ID (1 << 22)     // 4M ids: far above any real vocabulary, small enough to allocate
#define MAX_SPECIALS 1024    // special tokens matched in the text (BERT has 5)

// One vocabulary entry: a token string and its id.
typedef struct {
    char *s;
    size_t len;
    int32_t id;
} entry;

struct bc_wordpiece {
    entry *entries;       // [n_entries]: every distinct token string
    size_t n_entries;
    uint32_t *slots;      // [n_slots] open-addressing hash: entry index + 1, 0 = empty
    size_t n_slots;       // a power of two, at least twice n_entries
    const char **tokens;  // [n_ids] id -> token string (NULL where no token has that id)
    int32_t n_ids;        // largest id + 1
    size_t max_token_len; // longest token in bytes: no longer piece can match

    int32_t unk_id;
    char *prefix;  // continuing_subword_prefix, "##"
    size_t prefix_len;
    int max_chars;  // max_input_chars_per_word, 100

    int clean_text, handle_cjk, strip_accents, lowercase;

    entry *specials;  // tokens matched in the raw text before normalization ([CLS], [MASK], ...)
    size_t n_specials;
};

// ---------------------------------------------------------------- vocabulary

static size_t hash_of(const char *s, size_t len) { return (size_t)bc_hash64(s, len, 0); }

// The entry index of a token, or -1.
static long find_entry(const bc_wordpiece *t, const char *s, size_t len) {
    if (!t->n_slots) return -1;
    for (size_t i = hash_of(s, len) & (t->n_slots - 1);; i = (i + 1) & (t->n_slots - 1)) {
        uint32_t k = t->slots[i];
        if (!k) return -1;
        const entry *e = &t->entries[k - 1];
        if (e->len == len && memcmp(e->s, s, len) == 0) return (long)(k - 1);
    }
}

static void grow_slots(bc_wordpiece *t) {
    size_t n = 64;
    while (n < 2 * (t->n_entries + 1)) n *= 2;
    free(t->slots);
    t->slots = bc_calloc(n, sizeof *t->slots);
    t->n_slots = n;
    for (size_t k = 0; k < t->n_entries; k++) {
        size_t i = hash_of(t->entries[k].s, t->entries[k].len) & (n - 1);
        while (t->slots[i]) i = (i + 1) & (n - 1);
        t->slots[i] = (uint32_t)(k + 1);
    }
}

// Adds token -> id. A token seen before takes the new id: transformers'
// load_vocab fills a dict line by line, so the last line of a duplicate wins
// (tokenizers' WordPiece.from_file does the same).
static void add_token(bc_wordpiece *t, const char *s, size_t len, int32_t id, size_t *cap) {
    long k = find_entry(t, s, len);
    if (k >= 0) {
        t->entries[k].id = id;
        return;
    }
    if (t->n_entries == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        t->entries = bc_realloc(t->entries, *cap * sizeof *t->entries);
    }
    t->entries[t->n_entries++] = (entry){bc_strndup(s, len), len, id};
    if (2 * (t->n_entries + 1) > t->n_slots) grow_slots(t);
    else {
        size_t i = hash_of(s, len) & (t->n_slots - 1);
        while (t->slots[i]) i = (i + 1) & (t->n_slots - 1);
        t->slots[i] = (uint32_t)t->n_entries;
    }
    if (len > t->max_token_len) t->max_token_len = len;
}

// After every token is in: the id -> token table, and the [UNK] check.
static int finish_vocab(bc_wordpiece *t, const char *unk, const char *what, bc_err *err) {
    if (!t->n_entries) return bc_fail(err, "%s: empty vocabulary", what);
    t->n_ids = 0;
    for (size_t k = 0; k < t->n_entries; k++)
        if (t->entries[k].id + 1 > t->n_ids) t->n_ids = t->entries[k].id + 1;
    t->tokens = bc_calloc((size_t)t->n_ids, sizeof *t->tokens);
    for (size_t k = 0; k < t->n_entries; k++) t->tokens[t->entries[k].id] = t->entries[k].s;
    long u = find_entry(t, unk, strlen(unk));
    if (u < 0) return bc_fail(err, "%s: the unknown token \"%s\" is not in the vocabulary", what, unk);
    t->unk_id = t->entries[u].id;
    return 0;
}

// vocab.txt: one token per line, id = line number. Lines end at "\n", "\r\n"
// or a lone "\r" (Python reads text files with universal newlines), and the
// last line needs no end.
static int parse_vocab_txt(bc_wordpiece *t, const char *data, size_t len, const char *path, bc_err *err) {
    size_t cap = 0, pos = 0;
    int32_t line = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && data[end] != '\n' && data[end] != '\r') end++;
        if (line >= MAX_ID) return bc_fail(err, "%s: more than %d lines", path, MAX_ID);
        if (bc_utf8_invalid_at((const uint8_t *)data + pos, end - pos) < end - pos) return bc_fail(err, "%s: line %d: invalid UTF-8", path, line + 1);
        add_token(t, data + pos, end - pos, line++, &cap);
        if (end + 1 < len && data[end] == '\r' && data[end + 1] == '\n') end++;
        pos = end + 1;
    }
    return finish_vocab(t, "[UNK]", path, err);
}

static void add_special(bc_wordpiece *t, const char *s, size_t len, int32_t id) {
    if (!len || t->n_specials >= MAX_SPECIALS) return;
    if (!t->specials) t->specials = bc_calloc(MAX_SPECIALS, sizeof *t->specials);
    t->specials[t->n_specials++] = (entry){bc_strndup(s, len), len, id};
}

// A bool field of a JSON object into *out: 1/0, or dflt when absent or null.
static int json_flag(json_t *obj, const char *key, int dflt, int *out, const char *what, bc_err *err) {
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return bc_fail(err, "%s: %s: expected true/false, got %s", what, key, bc_json_type_name(v));
    *out = !v || json_is_null(v) ? dflt : json_is_true(v);
    return 0;
}

// tokenizer.json with a WordPiece model. Fields and defaults as tokenizers'
// serde: unk_token "[UNK]", continuing_subword_prefix "##",
// max_input_chars_per_word 100; BertNormalizer clean_text/handle_chinese_chars
// true, strip_accents null (= lowercase), lowercase true.
static int parse_tokenizer_json(bc_wordpiece *t, const char *data, size_t len, const char *path, bc_err *err) {
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    if (!root) return bc_fail(err, "%s: line %d: %s", path, je.line, je.text);
    int rc = -1;
    json_t *model = json_object_get(root, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(root) || !json_is_object(model)) {
        bc_fail(err, "%s: expected an object with a \"model\" object", path);
        goto done;
    }
    if (!type || strcmp(type, "WordPiece") != 0) {
        bc_fail(err, "%s: model.type: expected \"WordPiece\", got %s%s%s", path, type ? "\"" : "", type ? type : "none",
                type ? "\"" : "");
        goto done;
    }
    if (!json_is_object(vocab)) {
        bc_fail(err, "%s: model.vocab: expected an object of token -> id", path);
        goto done;
    }
    size_t cap = 0;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= MAX_ID) {
            bc_fail(err, "%s: model.vocab[\"%.40s\"]: expected an id in [0, %d)", path, key, MAX_ID);
            goto done;
        }
        add_token(t, key, strlen(key), (int32_t)json_integer_value(val), &cap);
    }
    json_t *unk = json_object_get(model, "unk_token"), *prefix = json_object_get(model, "continuing_subword_prefix");
    json_t *maxc = json_object_get(model, "max_input_chars_per_word");
    if ((unk && !json_is_string(unk)) || (prefix && !json_is_string(prefix)) || (maxc && !json_is_integer(maxc)) ||
        (maxc && json_integer_value(maxc) < 0)) {
        bc_fail(err, "%s: model: unk_token and continuing_subword_prefix must be strings, max_input_chars_per_word "
                "a count", path);
        goto done;
    }
    if (prefix) {
        free(t->prefix);
        t->prefix = bc_strdup(json_string_value(prefix));
        t->prefix_len = strlen(t->prefix);
    }
    if (maxc) t->max_chars = json_integer_value(maxc) > 1000000 ? 1000000 : (int)json_integer_value(maxc);
    if (finish_vocab(t, unk ? json_string_value(unk) : "[UNK]", path, err) < 0) goto done;

    json_t *norm = json_object_get(root, "normalizer");
    if (norm && !json_is_null(norm)) {
        const char *nt = json_string_value(json_object_get(norm, "type"));
        if (!nt || strcmp(nt, "BertNormalizer") != 0) {
            bc_fail(err, "%s: normalizer: only BertNormalizer is supported, got %s", path, nt ? nt : "no type");
            goto done;
        }
        if (json_flag(norm, "clean_text", 1, &t->clean_text, path, err) < 0 ||
            json_flag(norm, "handle_chinese_chars", 1, &t->handle_cjk, path, err) < 0 ||
            json_flag(norm, "lowercase", 1, &t->lowercase, path, err) < 0 ||
            json_flag(norm, "strip_accents", -1, &t->strip_accents, path, err) < 0)
            goto done;
    } else {
        t->clean_text = t->handle_cjk = t->lowercase = 0;  // no normalizer: the text as it is
        t->strip_accents = 0;
    }
    json_t *pre = json_object_get(root, "pre_tokenizer");
    const char *pt = json_string_value(json_object_get(pre, "type"));
    if (!pt || strcmp(pt, "BertPreTokenizer") != 0) {
        bc_fail(err, "%s: pre_tokenizer: only BertPreTokenizer is supported, got %s", path, pt ? pt : "none");
        goto done;
    }
    // Added tokens are matched in the raw text (tokenizers does so for those
    // with "normalized": false, which is every BERT special token; a
    // normalized one would be matched after normalization there).
    json_t *added = json_object_get(root, "added_tokens"), *a;
    size_t i;
    json_array_foreach(added, i, a) {
        json_t *content = json_object_get(a, "content"), *id = json_object_get(a, "id");
        if (json_is_string(content) && json_is_integer(id) && json_integer_value(id) >= 0 &&
            json_integer_value(id) < t->n_ids)
            add_special(t, json_string_value(content), json_string_length(content), (int32_t)json_integer_value(id));
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

// tokenizer_config.json beside a vocab.txt: do_lower_case, strip_accents,
// tokenize_chinese_chars (transformers' BertTokenizer arguments).
static int read_tokenizer_config(bc_wordpiece *t, const char *dir, bc_err *err) {
    char *path = bc_path_join(dir, "tokenizer_config.json");
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    int rc = 0;
    if (root) {
        if (json_flag(root, "do_lower_case", 1, &t->lowercase, path, err) < 0 ||
            json_flag(root, "strip_accents", -1, &t->strip_accents, path, err) < 0 ||
            json_flag(root, "tokenize_chinese_chars", 1, &t->handle_cjk, path, err) < 0)
            rc = -1;
        json_decref(root);
    } else if (file_exists(path)) {
        rc = bc_fail(err, "%s: line %d: %s", path, je.line, je.text);
    }
    free(path);
    return rc;
}

static bc_wordpiece *new_tokenizer(void) {
    bc_wordpiece *t = bc_calloc(1, sizeof *t);
    t->prefix = bc_strdup("##");
    t->prefix_len = 2;
    t->max_chars = 100;
    t->clean_text = t->handle_cjk = t->lowercase = 1;
    t->strip_accents = -1;
    return t;
}

// Reads the vocabulary and settings of one file's bytes into t, then applies
// the caller's lowercase choice.
static int parse_into(bc_wordpiece *t, const char *data, size_t len, int json, int lowercase, const char *name,
                      bc_err *err) {
    if ((json ? parse_tokenizer_json(t, data, len, name, err) : parse_vocab_txt(t, data, len, name, err)) < 0)
        return -1;
    if (!json) {
        // transformers' BertTokenizer registers these five as special tokens
        static const char *const names[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
        for (int i = 0; i < 5; i++) {
            long k = find_entry(t, names[i], strlen(names[i]));
            if (k >= 0) add_special(t, names[i], strlen(names[i]), t->entries[k].id);
        }
    }
    if (lowercase >= 0) t->lowercase = lowercase != 0;
    // strip_accents unset follows lowercase, as in the original BERT
    if (t->strip_accents < 0) t->strip_accents = t->lowercase;
    return 0;
}

bc_wordpiece *bc_wordpiece_parse(const char *data, size_t len, int json, int lowercase, const char *name, bc_err *err) {
    bc_wordpiece *t = new_tokenizer();
    if (parse_into(t, data, len, json, lowercase, name, err) < 0) {
        bc_wordpiece_free(t);
        return NULL;
    }
    return t;
}

bc_wordpiece *bc_wordpiece_load(const char *path, int lowercase, bc_err *err) {
    bc_wordpiece *t = new_tokenizer();
    char *file = NULL;
    uint8_t *data = NULL;
    size_t len;
    int json = 0;
    if (bc_is_dir(path)) {
        file = bc_path_join(path, "tokenizer.json");
        json = file_exists(file);
        if (!json) {
            free(file);
            file = bc_path_join(path, "vocab.txt");
            if (!file_exists(file)) {
                bc_fail(err, "%s: no tokenizer.json or vocab.txt in the directory", path);
                goto fail;
            }
            if (read_tokenizer_config(t, path, err) < 0) goto fail;
        }
    } else {
        file = bc_strdup(path);
        json = ends_with(path, ".json");
    }
    if (bc_read_file(file, &data, &len, err) < 0) goto fail;
    if (parse_into(t, (const char *)data, len, json, lowercase, file, err) < 0) goto fail;
    free(data);
    free(file);
    return t;
fail:
    free(data);
    free(file);
    bc_wordpiece_free(t);
    return NULL;
}

void bc_wordpiece_free(bc_wordpiece *t) {
    if (!t) return;
    for (size_t k = 0; k < t->n_entries; k++) free(t->entries[k].s);
    for (size_t k = 0; k < t->n_specials; k++) free(t->specials[k].s);
    free(t->entries);
    free(t->specials);
    free(t->slots);
    free(t->tokens);
    free(t->prefix);
    free(t);
}

int32_t bc_wordpiece_id(const bc_wordpiece *t, const char *token) {
    long k = find_entry(t, token, strlen(token));
    return k < 0 ? -1 : t->entries[k].id;
}

const char *bc_wordpiece_token(const bc_wordpiece *t, int32_t id) {
    return id >= 0 && id < t->n_ids ? t->tokens[id] : NULL;
}

int bc_wordpiece_vocab_size(const bc_wordpiece *t) { return t->n_ids; }

// ---------------------------------------------------------------- normalization

// A growable array of code points.
typedef struct {
    uint32_t *v;
    size_t n, cap;
} cps;

static void push(cps *a, uint32_t c) {
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->v = bc_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = c;
}

static uint8_t range_value(const bc_bert_range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].first) hi = mid;
        else if (cp > r[mid].last) lo = mid + 1;
        else return r[mid].value;
    }
    return 0;
}

static int flags_of(uint32_t cp) { return range_value(bc_bert_ranges, bc_bert_ranges_len, cp); }

static const bc_bert_map *find_map(const bc_bert_map *m, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < m[mid].cp) hi = mid;
        else if (cp > m[mid].cp) lo = mid + 1;
        else return &m[mid];
    }
    return NULL;
}

// Appends the full canonical decomposition of cp (Hangul syllables by the
// arithmetic of Unicode ch. 3.12, the rest from the table).
static void decompose(cps *out, uint32_t cp) {
    if (cp >= 0xAC00 && cp <= 0xD7A3) {
        uint32_t s = cp - 0xAC00;
        push(out, 0x1100 + s / 588);
        push(out, 0x1161 + (s % 588) / 28);
        if (s % 28) push(out, 0x11A7 + s % 28);
        return;
    }
    const bc_bert_map *m = find_map(bc_bert_nfd, bc_bert_nfd_len, cp);
    if (!m) {
        push(out, cp);
        return;
    }
    for (int i = 0; i < m->len; i++) push(out, bc_bert_pool[m->off + i]);
}

// NFD = decompose, then put each run of combining marks (class != 0) in
// stable order of class; then drop the nonspacing marks. The order matters
// only for the few marks that survive (spacing ones with a class).
static void strip_accents(cps *a, cps *tmp) {
    tmp->n = 0;
    for (size_t i = 0; i < a->n; i++) decompose(tmp, a->v[i]);
    for (size_t i = 1; i < tmp->n; i++) {  // insertion sort inside runs: runs are short
        uint8_t c = range_value(bc_bert_ccc, bc_bert_ccc_len, tmp->v[i]);
        if (!c) continue;
        uint32_t x = tmp->v[i];
        size_t j = i;
        while (j > 0) {
            uint8_t p = range_value(bc_bert_ccc, bc_bert_ccc_len, tmp->v[j - 1]);
            if (!p || p <= c) break;
            tmp->v[j] = tmp->v[j - 1];
            j--;
        }
        tmp->v[j] = x;
    }
    a->n = 0;
    for (size_t i = 0; i < tmp->n; i++)
        if (!(flags_of(tmp->v[i]) & BC_BERT_MARK)) push(a, tmp->v[i]);
}

// Rust's char::to_lowercase, one code point at a time (so no final-sigma rule).
static void lowercase(cps *a, cps *tmp) {
    tmp->n = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint32_t cp = a->v[i];
        if (cp < 0x80) {
            push(tmp, cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            continue;
        }
        const bc_bert_map *m = find_map(bc_bert_lower_multi, bc_bert_lower_multi_len, cp);
        if (m) {
            for (int k = 0; k < m->len; k++) push(tmp, bc_bert_pool[m->off + k]);
            continue;
        }
        size_t lo = 0, hi = bc_bert_lower_len;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cp < bc_bert_lower[mid].first) hi = mid;
            else if (cp > bc_bert_lower[mid].last) lo = mid + 1;
            else {
                const bc_bert_lower_run *r = &bc_bert_lower[mid];
                if ((cp - r->first) % r->step == 0) cp = (uint32_t)((int32_t)cp + r->delta);  // else between pairs
                break;
            }
        }
        push(tmp, cp);
    }
    cps swap = *a;
    *a = *tmp;
    *tmp = swap;
}

// ---------------------------------------------------------------- encoding

// Work buffers of one encode call.
typedef struct {
    cps text, tmp;
    bc_buf piece;     // the candidate piece: prefix + UTF-8 bytes
    char *word;       // [word_cap] the word being segmented, UTF-8
    size_t *starts;   // [word_cap + 1] byte offset of each character in word
    size_t word_cap;
    int32_t *out;     // pieces of the current word, before they are known to be all found
    size_t n_out, out_cap;
} work;

static void emit(int32_t **ids, size_t *n, size_t *cap, int32_t id) {
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *ids = bc_realloc(*ids, *cap * sizeof **ids);
    }
    (*ids)[(*n)++] = id;
}

static long lookup(const bc_wordpiece *t, work *w, int continuing, const char *s, size_t len) {
    w->piece.len = 0;
    if (continuing) bc_buf_put(&w->piece, t->prefix, t->prefix_len);
    bc_buf_put(&w->piece, s, len);
    if (w->piece.len > t->max_token_len) return -1;
    return find_entry(t, w->piece.data, w->piece.len);
}

// One word (code points v[0..n)) -> ids, greedy longest match first.
static void wordpiece_word(const bc_wordpiece *t, work *w, const uint32_t *v, size_t n, int32_t **ids, size_t *n_ids,
                           size_t *cap) {
    if (n > (size_t)t->max_chars) {
        emit(ids, n_ids, cap, t->unk_id);
        return;
    }
    if (4 * n + 1 > w->word_cap) {
        w->word_cap = 4 * n + 1;
        w->word = bc_realloc(w->word, w->word_cap);
        w->starts = bc_realloc(w->starts, (w->word_cap + 1) * sizeof *w->starts);
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        w->starts[i] = len;
        len += (size_t)bc_utf8_encode(v[i], w->word + len);
    }
    w->starts[n] = len;
    w->n_out = 0;
    for (size_t start = 0; start < n;) {
        // the longest piece from start that is in the vocabulary
        size_t end = n;
        long found = -1;
        // skip lengths that exceed the longest token outright
        while (end > start && w->starts[end] - w->starts[start] + (start ? t->prefix_len : 0) > t->max_token_len) end--;
        for (; end > start; end--) {
            found = lookup(t, w, start > 0, w->word + w->starts[start], w->starts[end] - w->starts[start]);
            if (found >= 0) break;
        }
        if (found < 0) {  // no segmentation: the whole word is unknown
            emit(ids, n_ids, cap, t->unk_id);
            return;
        }
        if (w->n_out == w->out_cap) {
            w->out_cap = w->out_cap ? 2 * w->out_cap : 16;
            w->out = bc_realloc(w->out, w->out_cap * sizeof *w->out);
        }
        w->out[w->n_out++] = t->entries[found].id;
        start = end;
    }
    for (size_t i = 0; i < w->n_out; i++) emit(ids, n_ids, cap, w->out[i]);
}

// Code points v[0..n) of text with no special token in it -> ids.
static void encode_plain(const bc_wordpiece *t, work *w, const uint32_t *v, size_t n, int32_t **ids, size_t *n_ids,
                         size_t *cap) {
    cps *a = &w->text;
    a->n = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = v[i];
        int f = flags_of(c);
        if (t->clean_text) {
            if (f & BC_BERT_CONTROL) continue;
            if (f & BC_BERT_SPACE) c = ' ';
        }
        if (t->handle_cjk && (f & BC_BERT_CJK)) {
            push(a, ' ');
            push(a, c);
            push(a, ' ');
        } else
            push(a, c);
    }
    if (t->strip_accents) strip_accents(a, &w->tmp);
    if (t->lowercase) lowercase(a, &w->tmp);
    // split: whitespace separates words, each punctuation character is one
    size_t word = 0;
    for (size_t k = 0; k <= a->n; k++) {
        int f = k < a->n ? flags_of(a->v[k]) : BC_BERT_SPACE;
        if (f & (BC_BERT_SPACE | BC_BERT_PUNCT)) {
            if (k > word) wordpiece_word(t, w, a->v + word, k - word, ids, n_ids, cap);
            if (f & BC_BERT_PUNCT) wordpiece_word(t, w, a->v + k, 1, ids, n_ids, cap);
            word = k + 1;
        }
    }
}

int bc_wordpiece_encode(const bc_wordpiece *t, const char *text, size_t len, int32_t **ids, size_t *n, bc_err *err) {
    uint32_t *cp = bc_malloc((len + 1) * sizeof *cp);     // [m] code points
    size_t *offs = bc_malloc((len + 1) * sizeof *offs);   // [m + 1] byte offset of each
    size_t m = bc_utf8_decode((const uint8_t *)text, len, cp, offs);
    for (size_t i = 0; i < m; i++)
        if (cp[i] > 0x10FFFF) {
            bc_fail(err, "text: invalid UTF-8 at byte %zu", offs[i]);
            free(cp);
            free(offs);
            return -1;
        }
    size_t cap = *n;  // *ids holds *n ids; emit grows it from there
    work w = {0};
    size_t start = 0;  // first code point not yet encoded
    for (size_t i = 0; i <= m;) {
        // the longest special token that starts at code point i (tokenizers: leftmost longest)
        const entry *best = NULL;
        for (size_t k = 0; k < t->n_specials && i < m; k++) {
            const entry *e = &t->specials[k];
            if (e->len <= len - offs[i] && memcmp(text + offs[i], e->s, e->len) == 0 && (!best || e->len > best->len))
                best = e;
        }
        if (!best && i < m) {
            i++;
            continue;
        }
        if (i > start) encode_plain(t, &w, cp + start, i - start, ids, n, &cap);
        if (!best) break;
        emit(ids, n, &cap, best->id);
        // skip the code points the token covers (valid UTF-8: it ends on a boundary)
        size_t end = offs[i] + best->len;
        while (i < m && offs[i] < end) i++;
        start = i;
    }
    free(w.text.v);
    free(w.tmp.v);
    bc_buf_free(&w.piece);
    free(w.word);
    free(w.starts);
    free(w.out);
    free(cp);
    free(offs);
    return 0;
}
