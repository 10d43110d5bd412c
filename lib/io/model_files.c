// model_files.c: which files bc_weights_open() reads for a path, and the
// sharded-model index (weights.h, safetensors.h).
//
// A model directory is read the way transformers reads one, in this order:
//   model.safetensors.index.json    sharded safetensors
//   model.safetensors               one file
//   *.safetensors                   every one, sorted by name
//   pytorch_model.bin.index.json    sharded PyTorch pickles
//   pytorch_model.bin               one pickle
//   a single *.bin / *.pt / *.pth   (several without an index is an error)
// A path may also name one weights file or an index json directly. Both
// kinds of index go through the same code: each distinct shard is loaded
// once, then every tensor of the weight_map must be in the shard it names.
#include "safetensors.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int is_safetensors_name(const char *name) { return ends_with(name, ".safetensors"); }

static int is_torch_name(const char *name) {
    return ends_with(name, ".bin") || ends_with(name, ".pt") || ends_with(name, ".pth");
}

// ---- the index ------------------------------------------------------------

void bc_weight_index_free(bc_weight_index *ix) {
    for (size_t i = 0; i < ix->n; i++) free(ix->tensor[i]);
    for (size_t i = 0; i < ix->nshards; i++) free(ix->shards[i]);
    free(ix->tensor);
    free(ix->shard);
    free(ix->shards);
    memset(ix, 0, sizeof *ix);
}

// A shard must stay inside the index's directory.
static int safe_shard_name(const char *s) {
    if (!*s || *s == '/') return 0;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += n;
        if (*p == '/') p++;
    }
    return 1;
}

static int compare_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int bc_weight_index_parse(bc_weight_index *ix, const char *text, size_t len, const char *name, bc_err *err) {
    memset(ix, 0, sizeof *ix);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root)
        return bc_fail(err, "%s: not valid JSON: %s (line %d, column %d)", name, jerr.text, jerr.line, jerr.column);
    json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map)) {
        char desc[96];
        bc_json_describe(map, desc, sizeof desc);
        json_decref(root);
        return bc_fail(err, "%s: 'weight_map' should be an object (tensor name -> shard file), got %s", name, desc);
    }
    size_t n = json_object_size(map);
    if (n == 0) {
        json_decref(root);
        return bc_fail(err, "%s: the weight_map is empty", name);
    }

    ix->tensor = bc_calloc(n, sizeof *ix->tensor);
    ix->shard = bc_calloc(n, sizeof *ix->shard);
    char **shard_of = bc_calloc(n, sizeof *shard_of);  // borrowed from root
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach(map, key, val) {
        if (!json_is_string(val) || !safe_shard_name(json_string_value(val))) {
            char desc[96];
            bc_json_describe(val, desc, sizeof desc);
            rc = bc_fail(err, "%s: tensor '%s': the shard should be a file name relative to the index, got %s", name,
                         key, desc);
            break;
        }
        ix->tensor[ix->n] = bc_strdup(key);
        shard_of[ix->n] = (char *)json_string_value(val);
        ix->n++;
    }

    // The distinct shard names, sorted, then each tensor's index among them.
    if (rc == 0) {
        char **sorted = bc_malloc(n * sizeof *sorted);
        memcpy(sorted, shard_of, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, compare_str);
        ix->shards = bc_calloc(n, sizeof *ix->shards);
        for (size_t i = 0; i < n; i++)
            if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0) ix->shards[ix->nshards++] = bc_strdup(sorted[i]);
        for (size_t i = 0; i < n; i++) {
            char **hit = bsearch(&shard_of[i], ix->shards, ix->nshards, sizeof *ix->shards, compare_str);
            ix->shard[i] = (size_t)(hit - ix->shards);
        }
        free(sorted);
    }
    free(shard_of);
    json_decref(root);
    if (rc < 0) bc_weight_index_free(ix);
    return rc;
}

// ---- loading --------------------------------------------------------------

// One weights file, by its extension.
static int load_file(bc_weights *w, const char *path, bc_err *err) {
    if (is_safetensors_name(path)) return bc_safetensors_load(w, path, err);
    if (is_torch_name(path)) return bc_torch_load(w, path, err);
    return bc_fail(err, "%s: unknown weights format (expected .safetensors, .bin, .pt, .pth or an .index.json)", path);
}

// `name` in the directory of `path` (as given: "a/b.json" + "c" -> "a/c").
static char *sibling_path(const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    if (!slash) return bc_strdup(name);
    return bc_asprintf("%.*s/%s", (int)(slash - path), path, name);
}

static int load_index(bc_weights *w, const char *path, bc_err *err) {
    uint8_t *text;
    size_t len;
    if (bc_read_file(path, &text, &len, err) < 0) return -1;
    bc_weight_index ix;
    int rc = bc_weight_index_parse(&ix, (const char *)text, len, path, err);
    free(text);
    if (rc < 0) return -1;

    // Each shard adds its file(s) to w: files [first[s], first[s + 1]) are shard s's.
    size_t *first = bc_calloc(ix.nshards + 1, sizeof *first);
    for (size_t s = 0; s < ix.nshards && rc == 0; s++) {
        char *shard_path = sibling_path(path, ix.shards[s]);
        first[s] = bc_weights_file_count(w);
        rc = load_file(w, shard_path, err);
        free(shard_path);
    }
    first[ix.nshards] = bc_weights_file_count(w);

    for (size_t i = 0; i < ix.n && rc == 0; i++) {
        const bc_tensor *t = bc_weights_find(w, ix.tensor[i]);
        size_t s = ix.shard[i];
        if (!t)
            rc = bc_fail(err, "%s: tensor '%s' is listed in shard '%s', but that shard does not hold it", path,
                         ix.tensor[i], ix.shards[s]);
        else if ((size_t)t->file < first[s] || (size_t)t->file >= first[s + 1])
            rc = bc_fail(err, "%s: tensor '%s' is listed in shard '%s', but was found in %s", path, ix.tensor[i],
                         ix.shards[s], bc_weights_file(w, (size_t)t->file));
    }
    free(first);
    bc_weight_index_free(&ix);
    return rc;
}

// The regular files (symlinks followed, as in the hub cache) of a directory, sorted.
static int list_dir(const char *dir, char ***names, size_t *n, bc_err *err) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return bc_fail(err, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        char *full = bc_path_join(dir, e->d_name);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            *names = bc_realloc(*names, (*n + 1) * sizeof **names);
            (*names)[(*n)++] = bc_strdup(e->d_name);
        }
        free(full);
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof **names, compare_str);
    return 0;
}

static int has_name(char **names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

// "a, b, c" (at most `max` names, then "... (N in all)") into a fresh string.
static char *join_names(char **names, size_t n, int (*keep)(const char *), size_t max) {
    char *out = bc_strdup("");
    size_t shown = 0, kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep(names[i])) continue;
        kept++;
        if (shown == max) continue;
        char *next = bc_asprintf("%s%s%s", out, shown ? ", " : "", names[i]);
        free(out);
        out = next;
        shown++;
    }
    if (kept > shown) {
        char *next = bc_asprintf("%s, ... (%zu in all)", out, kept);
        free(out);
        out = next;
    }
    return out;
}

// Loads dir/name as a weights file or an index, by its name.
static int load_named(bc_weights *w, const char *dir, const char *name, bc_err *err) {
    char *path = bc_path_join(dir, name);
    int rc = ends_with(name, ".index.json") ? load_index(w, path, err) : load_file(w, path, err);
    free(path);
    return rc;
}

// Picks the weights of a directory (order in the comment at the top).
static int choose_and_load(bc_weights *w, const char *dir, char **names, size_t n, bc_err *err) {
    size_t nsafe = 0, ntorch = 0;
    for (size_t i = 0; i < n; i++) {
        nsafe += is_safetensors_name(names[i]);
        ntorch += is_torch_name(names[i]);
    }
    if (has_name(names, n, "model.safetensors.index.json"))
        return load_named(w, dir, "model.safetensors.index.json", err);
    if (has_name(names, n, "model.safetensors")) return load_named(w, dir, "model.safetensors", err);
    if (nsafe) {
        for (size_t i = 0; i < n; i++)
            if (is_safetensors_name(names[i]) && load_named(w, dir, names[i], err) < 0) return -1;
        return 0;
    }
    if (has_name(names, n, "pytorch_model.bin.index.json"))
        return load_named(w, dir, "pytorch_model.bin.index.json", err);
    if (has_name(names, n, "pytorch_model.bin")) return load_named(w, dir, "pytorch_model.bin", err);
    if (ntorch == 1) {
        for (size_t i = 0; i < n; i++)
            if (is_torch_name(names[i])) return load_named(w, dir, names[i], err);
    }
    if (ntorch > 1) {
        char *list = join_names(names, n, is_torch_name, 10);
        int rc = bc_fail(err,
                         "%s: several PyTorch files (%s) and no pytorch_model.bin.index.json; name the one to load",
                         dir, list);
        free(list);
        return rc;
    }
    char *list = join_names(names, n, NULL, 20);
    int rc = bc_fail(err, "%s: no weights found (looked for model.safetensors.index.json, model.safetensors, "
                          "*.safetensors, pytorch_model.bin.index.json, pytorch_model.bin, *.bin, *.pt, *.pth); "
                          "it holds: %s",
                     dir, n ? list : "no files");
    free(list);
    return rc;
}

static int load_dir(bc_weights *w, const char *dir, bc_err *err) {
    char **names;
    size_t n;
    if (list_dir(dir, &names, &n, err) < 0) return -1;
    int rc = choose_and_load(w, dir, names, n, err);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

bc_weights *bc_weights_open(const char *path, bc_err *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        bc_fail(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    bc_weights *w = bc_weights_new(path);
    int rc;
    if (S_ISDIR(st.st_mode)) rc = load_dir(w, path, err);
    else if (ends_with(path, ".index.json")) rc = load_index(w, path, err);
    else rc = load_file(w, path, err);
    if (rc < 0) {
        bc_weights_close(w);
        return NULL;
    }
    return w;
}
