// bicot-img: a folder of images → records (PNG bytes in `image`), and (-r)
// records → a folder of PNGs plus index.jsonl.
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/image.h"
#include "io/json.h"
#include "tool.h"

static const char usage[] =
    "usage: bicot-img [options] DIR > records        images in DIR -> records\n"
    "       bicot-img -r DIR [options] < records     records -> DIR/<id>.png + DIR/index.jsonl\n"
    "\n"
    "Forward: every *.png, *.jpg, *.jpeg in DIR (any case; sorted by name in byte order;\n"
    "not recursive; other files ignored) becomes one record, read one at a time:\n"
    "  id          the file name without its extension\n"
    "  image       PNG bytes: a PNG file's bytes unchanged (after checking they decode),\n"
    "              a JPEG decoded (as PIL does) and re-encoded as PNG\n"
    "  image_path  the file's path (DIR/name)\n"
    "Two files with the same id (a.png, a.jpg) are an error. A file that does not\n"
    "decode fails its record (exit 2, naming the file); with --keep-going the record\n"
    "(id, image_path, no image) passes on with an `errors` entry.\n"
    "  --prompts FILE   JSON Lines of prompts (T2I-R1's format: prompt, task_type,\n"
    "                   nouns, attr_nouns, spatial_info, numeracy_info; optional id).\n"
    "                   A prompt without an id gets its 0-based position among the\n"
    "                   non-empty lines, as bicot-json numbers them (so 0.png joins line 0).\n"
    "                   An image joins the prompt whose id equals its own; failing that,\n"
    "                   an image named <pid>#<k> or <pid>_<k> (k: digits; several samples\n"
    "                   of one prompt) joins prompt <pid> and gets `group`: <pid>.\n"
    "                   The prompt's keys (except id) follow the record's id, in order.\n"
    "                   Images with no prompt pass on without prompt keys, counted in a\n"
    "                   warning at the end; with --strict each one fails its record.\n"
    "  --strict         an image with no prompt is an error\n"
    "\n"
    "Reverse (-r DIR): reads records, writes each record's `image` (PNG bytes, unchanged)\n"
    "to DIR/<id>.png (through a temporary file and a rename: never a half-written PNG)\n"
    "and one JSON line per record to DIR/index.jsonl: every key except `image`, plus\n"
    "`image_path`. A record with no `image` is still listed (and writes no PNG). DIR is\n"
    "created if missing. File names come from ids: '/' and NUL become '_', leading dots\n"
    "become '_', a missing or empty id becomes the record's position (0, 1, ...); two\n"
    "records that give the same file name, or an id over 200 bytes, fail the record.\n"
    "  --index FILE     write the index to FILE instead of DIR/index.jsonl\n"
    "  --tee            also pass the records on to stdout, with `image_path` set\n"
    "                   (without it, -r writes nothing to stdout)\n"
    "\n"
    "Examples:\n"
    "  bicot-img samples/ --prompts prompts.jsonl | score-hps --model hps | bicot-json -r --brief\n"
    "  bicot-json prompts.jsonl | plan-cot | gen-tokens | vq-decode | bicot-img -r out/\n";

// ---- prompts ---------------------------------------------------------------

typedef struct {
    char *id;
    json_t *obj;  // the prompt line
    int used;     // joined to at least one image
} prompt;

typedef struct {
    const char *file;
    prompt *items;
    size_t n, cap;
    json_t *by_id;  // id → index into items (json integer)
} prompt_set;

// A prompt line's id as a string: a string id as is, an integer in decimal
// (as bc_record_id shows it), no id: its position. NULL if the id is another type.
static char *prompt_id(const json_t *obj, size_t position) {
    const json_t *id = json_object_get(obj, "id");
    if (!id) return bc_asprintf("%zu", position);
    if (json_is_string(id)) return bc_strndup(json_string_value(id), json_string_length(id));
    if (json_is_integer(id)) return bc_asprintf("%lld", (long long)json_integer_value(id));
    return NULL;
}

// Takes ownership of obj. where: "FILE:LINE" or "FILE: item N" for messages.
static void add_prompt(prompt_set *ps, json_t *obj, const char *where) {
    if (!json_is_object(obj))
        bc_die(BC_EXIT_FATAL, "%s: expected a JSON object, got %s", where, bc_json_type_name(obj));
    char *id = prompt_id(obj, ps->n);
    if (!id)
        bc_die(BC_EXIT_FATAL, "%s: key 'id': expected a string or integer, got %s", where,
               bc_json_type_name(json_object_get(obj, "id")));
    if (json_object_get(ps->by_id, id)) bc_die(BC_EXIT_FATAL, "%s: duplicate prompt id \"%s\"", where, id);
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 64;
        ps->items = bc_realloc(ps->items, ps->cap * sizeof *ps->items);
    }
    ps->items[ps->n] = (prompt){.id = id, .obj = obj};
    json_object_set_new(ps->by_id, id, json_integer((json_int_t)ps->n));
    ps->n++;
}

// Reads a JSON Lines file (or one JSON array of objects, as bicot-json accepts).
static void load_prompts(prompt_set *ps, const char *file) {
    ps->file = file;
    ps->by_id = json_object();
    FILE *f = fopen(file, "r");
    if (!f) bc_die(BC_EXIT_FATAL, "%s: %s", file, strerror(errno));
    int c;
    while ((c = getc(f)) != EOF && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
    }
    if (c != EOF) ungetc(c, f);
    json_error_t je;
    if (c == '[') {
        json_t *all = json_loadf(f, 0, &je);
        if (!all) bc_die(BC_EXIT_FATAL, "%s:%d: invalid JSON: %s", file, je.line, je.text);
        for (size_t i = 0; i < json_array_size(all); i++) {
            char where[512];
            snprintf(where, sizeof where, "%s: item %zu", file, i);
            add_prompt(ps, json_incref(json_array_get(all, i)), where);
        }
        json_decref(all);
    } else {
        char *text = NULL;
        size_t cap = 0;
        ssize_t len;
        for (size_t line = 1; (len = getline(&text, &cap, f)) >= 0; line++) {
            if (text[strspn(text, " \t\r\n")] == 0) continue;
            json_t *obj = json_loadb(text, (size_t)len, JSON_DECODE_ANY, &je);
            if (!obj) bc_die(BC_EXIT_FATAL, "%s:%zu: invalid JSON: %s (column %d)", file, line, je.text, je.column);
            char where[512];
            snprintf(where, sizeof where, "%s:%zu", file, line);
            add_prompt(ps, obj, where);
        }
        free(text);
    }
    if (ferror(f)) bc_die(BC_EXIT_FATAL, "%s: read error: %s", file, strerror(errno));
    fclose(f);
}

static prompt *find_prompt(const prompt_set *ps, const char *id) {
    const json_t *i = json_object_get(ps->by_id, id);
    return i ? &ps->items[json_integer_value(i)] : NULL;
}

// The prompt for an image id: exact match, else the id minus a sample suffix
// "#<digits>" or "_<digits>" (then *group is set to the prompt's id).
static prompt *join_prompt(const prompt_set *ps, const char *id, const char **group) {
    *group = NULL;
    prompt *p = find_prompt(ps, id);
    if (p) return p;
    size_t n = strlen(id), k = n;
    while (k > 0 && id[k - 1] >= '0' && id[k - 1] <= '9') k--;
    if (k == n || k < 2 || (id[k - 1] != '#' && id[k - 1] != '_')) return NULL;
    char *base = bc_strndup(id, k - 1);
    p = find_prompt(ps, base);
    free(base);
    if (p) *group = p->id;
    return p;
}

static void free_prompts(prompt_set *ps) {
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->items[i].id);
        json_decref(ps->items[i].obj);
    }
    free(ps->items);
    json_decref(ps->by_id);
}

// ---- forward: folder → records ---------------------------------------------

static int image_extension(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && dot != name &&
           (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The image files of dir (regular files, or links to them), sorted.
static char **list_images(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) bc_die(BC_EXIT_FATAL, "%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!image_extension(e->d_name)) continue;
        char *path = bc_path_join(dir, e->d_name);
        struct stat st;
        int regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (!regular) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            names = bc_realloc(names, cap * sizeof *names);
        }
        names[n++] = bc_strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names;
}

static char *id_of(const char *name) { return bc_strndup(name, (size_t)(strrchr(name, '.') - name)); }

// Ids must be unique in a stream: a.png and a.jpg would both be "a".
static void check_unique_ids(const char *dir, char **names, size_t n) {
    json_t *seen = json_object();
    for (size_t i = 0; i < n; i++) {
        char *id = id_of(names[i]);
        json_t *first = json_object_getn(seen, id, strlen(id));
        if (first)
            bc_die(BC_EXIT_FATAL, "%s: %s and %s both give the id \"%s\"", dir, names[json_integer_value(first)],
                   names[i], id);
        json_object_setn_new_nocheck(seen, id, strlen(id), json_integer((json_int_t)i));
        free(id);
    }
    json_decref(seen);
}

// The PNG bytes for the file's record: the file itself when it is a PNG
// that decodes, or the decoded JPEG encoded as PNG. *png may be `data`.
static int image_png(const uint8_t *data, size_t len, const uint8_t **png, size_t *png_len, uint8_t **fresh,
                     bc_err *err) {
    bc_image img;
    *fresh = NULL;
    if (bc_image_decode(data, len, &img, err) < 0) return -1;
    int rc = 0;
    if (bc_is_png(data, len)) {
        *png = data;
        *png_len = len;
    } else {
        rc = bc_png_encode(img.rgb, img.w, img.h, fresh, png_len, err);
        *png = *fresh;
    }
    bc_image_free(&img);
    return rc;
}

typedef struct {
    bc_tool *t;
    const char *dir;
    prompt_set prompts;
    int have_prompts, strict;
    size_t no_prompt;  // images that matched no prompt
} forward_state;

// Builds and writes (or fails) the record of one file.
static void forward_one(forward_state *st, const char *name, size_t index) {
    bc_record rec;
    bc_record_init(&rec);
    rec.index = index;
    char *id = id_of(name), *path = bc_path_join(st->dir, name);
    bc_record_set(&rec, "id", bc_obj_cstr(&rec, id));
    bc_err err = {{0}};
    int failed = 0;
    if (st->have_prompts) {
        const char *group;
        prompt *p = join_prompt(&st->prompts, id, &group);
        if (p) {
            p->used = 1;
            const char *key;
            json_t *val;
            json_object_foreach(p->obj, key, val) {
                if (strcmp(key, "id") != 0) bc_record_set(&rec, key, bc_json_to_object(&rec, val));
            }
            if (group) bc_record_set(&rec, "group", bc_obj_cstr(&rec, group));
        } else {
            st->no_prompt++;
            if (st->strict) {
                bc_fail(&err, "%s: no prompt with id \"%s\" (nor a sample suffix #k/_k of one) in %s", path, id,
                        st->prompts.file);
                failed = 1;
            }
        }
    }
    uint8_t *data = NULL, *fresh = NULL;
    size_t len = 0, png_len = 0;
    const uint8_t *png = NULL;
    if (!failed) {
        if (bc_read_file(path, &data, &len, &err) < 0 || image_png(data, len, &png, &png_len, &fresh, &err) < 0) {
            if (data) bc_err_prefix(&err, "%s", path);
            failed = 1;
        } else {
            bc_record_set(&rec, "image", bc_obj_bin(&rec, png, png_len));
        }
    }
    bc_record_set(&rec, "image_path", bc_obj_cstr(&rec, path));
    free(data);
    free(fresh);
    free(id);
    free(path);
    if (failed) bc_tool_fail(st->t, &rec, &err);
    else bc_tool_emit(st->t, &rec);
}

static int forward(bc_tool *t, const char *dir, const char *prompts_file, int strict) {
    forward_state st = {.t = t, .dir = dir, .strict = strict};
    if (prompts_file) {
        load_prompts(&st.prompts, prompts_file);
        st.have_prompts = 1;
    }
    size_t n = 0;
    char **names = list_images(dir, &n);
    check_unique_ids(dir, names, n);
    t->in = NULL;  // no input stream: records come from the folder
    t->out = bc_writer_new(stdout, t->zstd);
    bc_progress_start(&t->prog, t->progress, "images", n);
    for (size_t i = 0; i < n; i++) forward_one(&st, names[i], i);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st.have_prompts) {
        size_t unused = 0;
        for (size_t i = 0; i < st.prompts.n; i++) unused += !st.prompts.items[i].used;
        if (st.no_prompt && !strict)
            bc_warn("%zu of %zu images had no prompt in %s", st.no_prompt, n, prompts_file);
        if (unused) bc_warn("%zu of %zu prompts in %s had no image", unused, st.prompts.n, prompts_file);
        free_prompts(&st.prompts);
    }
    return bc_tool_finish(t);
}

// ---- reverse: records → folder ---------------------------------------------

enum { MAX_NAME = 200 };

typedef struct {
    bc_tool *t;
    const char *dir;
    const char *index_path;
    FILE *index;
    json_t *names;  // file names written so far (a set)
    bc_buf line;
} reverse_state;

// mkdir -p.
static int make_dirs(const char *dir, bc_err *err) {
    char *p = bc_strdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            bc_fail(err, "cannot create %s: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    if (!bc_is_dir(dir)) return bc_fail(err, "%s: not a directory", dir);
    return 0;
}

// The record's file name (without .png): its id, made safe (see --help).
static int file_name(const bc_record *rec, char *out, bc_err *err) {
    const msgpack_object *id = bc_record_get(rec, "id");
    size_t n = 0;
    if (id && id->type == MSGPACK_OBJECT_STR) {
        if (id->via.str.size > MAX_NAME)
            return bc_fail(err, "id is %u bytes long, more than the %d a file name may take here",
                           (unsigned)id->via.str.size, MAX_NAME);
        memcpy(out, id->via.str.ptr, id->via.str.size);
        n = id->via.str.size;
        out[n] = 0;
    } else {
        bc_record_id(rec, out, MAX_NAME + 1);  // integer ids; "" otherwise
        n = strlen(out);
    }
    if (n == 0) n = (size_t)snprintf(out, MAX_NAME + 1, "%zu", rec->index);
    for (size_t i = 0; i < n; i++)
        if (out[i] == '/' || out[i] == 0) out[i] = '_';
    for (size_t i = 0; i < n && out[i] == '.'; i++) out[i] = '_';
    return 0;
}

// One index line: every key of the record except `image`.
static int write_index_line(reverse_state *st, const bc_record *rec, bc_err *err) {
    bc_buf *b = &st->line;
    b->len = 0;
    bc_buf_putc(b, '{');
    int first = 1;
    for (size_t i = 0; i < rec->n; i++) {
        if (bc_obj_is_str(&rec->keys[i], "image")) continue;
        if (!first) bc_buf_putc(b, ',');
        first = 0;
        bc_json_write(b, &rec->keys[i], 0);
        bc_buf_putc(b, ':');
        bc_json_write(b, &rec->vals[i], 0);
    }
    bc_buf_puts(b, "}\n");
    if (fwrite(b->data, 1, b->len, st->index) != b->len)
        return bc_fail(err, "%s: write error: %s", st->index_path, strerror(errno));
    return 0;
}

static void close_index(reverse_state *st) {
    if (fclose(st->index) != 0) bc_die(BC_EXIT_FATAL, "%s: write error: %s", st->index_path, strerror(errno));
    st->index = NULL;
}

// Writes the record's PNG and sets image_path; -1 with err when the record
// cannot be written (its index line is still written by the caller).
static int write_image(reverse_state *st, bc_record *rec, bc_err *err) {
    const msgpack_object *image = bc_record_get(rec, "image");
    if (!image) return 0;  // listed in the index, no PNG
    const uint8_t *png;
    size_t len;
    if (bc_get_bin(rec, "image", &png, &len, err) < 0) return -1;
    if (!bc_is_png(png, len))
        return bc_fail(err, "key 'image': expected PNG bytes, got %zu bytes of something else", len);
    char name[MAX_NAME + 8];
    if (file_name(rec, name, err) < 0) return -1;
    strcat(name, ".png");
    if (json_object_get(st->names, name))
        return bc_fail(err, "file name %s was already written for an earlier record (ids too alike)", name);
    char *path = bc_path_join(st->dir, name);
    int rc = bc_write_file_atomic(path, png, len, err);
    if (rc == 0) {
        json_object_set_new_nocheck(st->names, name, json_true());
        bc_record_set(rec, "image_path", bc_obj_cstr(rec, path));
    }
    free(path);
    return rc;
}

static int reverse(bc_tool *t, const char *dir, const char *index_path, int tee) {
    bc_err err;
    if (make_dirs(dir, &err) < 0) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    char *default_index = bc_path_join(dir, "index.jsonl");
    reverse_state st = {.t = t, .dir = dir, .index_path = index_path ? index_path : default_index};
    st.index = fopen(st.index_path, "w");
    if (!st.index) bc_die(BC_EXIT_FATAL, "%s: %s", st.index_path, strerror(errno));
    st.names = json_object();
    // Without --tee the records are only counted (bc_tool_emit writes nothing).
    t->no_output = !tee;
    bc_tool_start(t);
    bc_progress_start(&t->prog, t->progress, "images", 0);
    bc_record rec;
    while (bc_tool_next(t, &rec)) {
        if (write_image(&st, &rec, &err) < 0) {
            // listed in the index with its error before the usual failure policy
            bc_tool_report(t, &rec, &err);
            bc_err werr;
            if (write_index_line(&st, &rec, &werr) < 0) bc_die(BC_EXIT_FATAL, "%s", werr.msg);
            if (!t->keep_going) close_index(&st);
            bc_tool_fail(t, &rec, NULL);
            continue;
        }
        if (write_index_line(&st, &rec, &err) < 0) bc_die(BC_EXIT_FATAL, "%s", err.msg);
        bc_tool_emit(t, &rec);
    }
    close_index(&st);
    json_decref(st.names);
    bc_buf_free(&st.line);
    free(default_index);
    return bc_tool_finish(t);
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    const char *dir = NULL, *prompts = NULL, *index = NULL;
    int rev = 0, strict = 0, tee = 0;
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "-r") == 0 || strcmp(a, "--reverse") == 0) rev = 1;
        else if (strcmp(a, "--prompts") == 0) prompts = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--index") == 0) index = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--strict") == 0) strict = 1;
        else if (strcmp(a, "--tee") == 0) tee = 1;
        else if (a[0] == '-' && a[1]) bc_tool_usage_error("unknown option '%s'", a);
        else if (dir) bc_tool_usage_error("one directory only (got '%s' and '%s')", dir, a);
        else dir = a;
    }
    if (!dir) bc_tool_usage_error("a directory is needed");
    if (rev) {
        if (prompts || strict) bc_tool_usage_error("--prompts and --strict go with the forward direction, not -r");
        return reverse(&t, dir, index, tee);
    }
    if (index || tee) bc_tool_usage_error("--index and --tee go with -r");
    if (!bc_is_dir(dir)) bc_die(BC_EXIT_FATAL, "%s: not a directory", dir);
    return forward(&t, dir, prompts, strict);
}
