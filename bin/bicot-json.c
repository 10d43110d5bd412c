// bicot-json: JSON Lines to records, and (-r) records to JSON Lines.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "tool.h"

static const char usage[] =
    "usage: bicot-json [options] [FILE...]     JSON Lines (or one JSON array) -> records\n"
    "       bicot-json -r [--brief] < records  records -> JSON Lines\n"
    "\n"
    "Forward (default): each line of FILE (or stdin) is a JSON object and becomes one\n"
    "record with the same keys in the same order. A file whose first character is '['\n"
    "is read as one JSON array of objects. Blank lines are skipped. A record without\n"
    "an `id` gets its 0-based position among the objects read (\"0\", \"1\", ...), as\n"
    "its first key; T2I-R1's prompt files read unchanged.\n"
    "  --no-id          do not add ids\n"
    "  --bin KEYS       comma-separated keys whose string values are base64 and become\n"
    "                   msgpack bin (default: image), the inverse of -r\n"
    "\n"
    "Reverse (-r): every record becomes one compact JSON line, keys in order; bin\n"
    "values as base64 strings, floats as the shortest decimal that reads back exactly.\n"
    "  -r, --reverse    records -> JSON Lines\n"
    "  --brief          bin values as {\"bytes\": N}\n"
    "\n"
    "Example:\n"
    "  bicot-json prompts.jsonl | plan-cot -n 8 | gen-tokens | vq-decode | bicot-json -r --brief | head\n";

// Splits "a,b,c" into a NULL-terminated list (the string is modified).
static char **split_keys(char *s) {
    size_t n = 1;
    for (char *p = s; *p; p++) n += *p == ',';
    char **keys = bc_calloc(n + 1, sizeof *keys);
    size_t i = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) keys[i++] = tok;
    return keys;
}

typedef struct {
    bc_tool *t;
    int add_ids;
    char **bin_keys;
    size_t count;   // objects converted (the next automatic id)
    size_t bad;     // lines that failed under --keep-going
} forward_state;

// Converts one parsed JSON value into a record and writes it.
// where: "file:line" for messages.
static void emit_json(forward_state *st, json_t *j, const char *where) {
    bc_err err;
    bc_record rec;
    bc_record_init(&rec);
    rec.index = st->count;
    if (st->add_ids && json_is_object(j) && !json_object_get(j, "id")) {
        char id[32];
        snprintf(id, sizeof id, "%zu", st->count);
        bc_record_set(&rec, "id", bc_obj_cstr(&rec, id));
    }
    if (bc_record_from_json(&rec, j, (const char *const *)st->bin_keys, &err) < 0) {
        bc_record_free(&rec);
        bc_warn("%s: %s", where, err.msg);
        if (!st->t->keep_going) {
            bc_writer_close(st->t->out, NULL);
            exit(BC_EXIT_FATAL);
        }
        st->bad++;
        return;
    }
    st->count++;
    bc_tool_emit(st->t, &rec);
}

static void bad_json(forward_state *st, const char *where, const json_error_t *je) {
    bc_warn("%s: invalid JSON: %s (column %d)", where, je->text, je->column);
    if (!st->t->keep_going) {
        bc_writer_close(st->t->out, NULL);
        exit(BC_EXIT_FATAL);
    }
    st->bad++;
}

static void forward_file(forward_state *st, FILE *f, const char *name) {
    // Peek at the first non-space character: '[' means one JSON array.
    int c;
    while ((c = getc(f)) != EOF && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
    }
    if (c == EOF) return;
    ungetc(c, f);
    if (c == '[') {
        json_error_t je;
        json_t *all = json_loadf(f, JSON_DECODE_ANY, &je);
        if (!all) {
            char where[512];
            snprintf(where, sizeof where, "%s:%d", name, je.line);
            bad_json(st, where, &je);
            return;
        }
        for (size_t i = 0; i < json_array_size(all); i++) {
            char where[512];
            snprintf(where, sizeof where, "%s: item %zu", name, i);
            emit_json(st, json_array_get(all, i), where);
        }
        json_decref(all);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (size_t lineno = 1; (n = getline(&line, &cap, f)) >= 0; lineno++) {
        size_t k = strspn(line, " \t\r\n");
        if (line[k] == 0) continue;
        char where[512];
        snprintf(where, sizeof where, "%s:%zu", name, lineno);
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)n, JSON_DECODE_ANY, &je);
        if (!j) {
            bad_json(st, where, &je);
            continue;
        }
        emit_json(st, j, where);
        json_decref(j);
    }
    if (ferror(f)) bc_die(BC_EXIT_FATAL, "%s: read error: %s", name, strerror(errno));
    free(line);
}

// Records on stdin -> JSON Lines on stdout.
static int reverse(int flags) {
    bc_reader *in = bc_reader_new(stdin, "stdin");
    bc_buf line = {0};
    bc_record rec;
    bc_err err;
    int got, rc = BC_EXIT_OK, write_error = 0;
    while (!write_error && (got = bc_reader_next(in, &rec, &err)) > 0) {
        line.len = 0;
        bc_json_write_record(&line, &rec, flags);
        bc_buf_putc(&line, '\n');
        bc_record_free(&rec);
        write_error = fwrite(line.data, 1, line.len, stdout) != line.len;
    }
    if (!write_error && got < 0) {
        fprintf(stderr, "%s: %s\n", bc_progname, err.msg);
        rc = BC_EXIT_FATAL;
    }
    if (write_error || fflush(stdout) != 0) {
        // a reader that went away (| head) is a quiet success
        if (errno != EPIPE) {
            bc_warn("stdout: write error: %s", strerror(errno));
            rc = BC_EXIT_FATAL;
        }
    }
    bc_buf_free(&line);
    bc_reader_free(in);
    return rc;
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    int rev = 0, flags = 0, add_ids = 1;
    char default_bins[] = "image", *bins = default_bins;
    const char **files = bc_calloc((size_t)argc, sizeof *files);
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "-r") == 0 || strcmp(a, "--reverse") == 0) rev = 1;
        else if (strcmp(a, "--brief") == 0) flags |= BC_JSON_BIN_BRIEF;
        else if (strcmp(a, "--no-id") == 0) add_ids = 0;
        else if (strcmp(a, "--bin") == 0) bins = (char *)bc_tool_value(argc, argv, &i);
        else if (a[0] == '-' && a[1]) bc_tool_usage_error("unknown option '%s'", a);
        else files[nfiles++] = a;
    }
    if (rev) {
        if (nfiles) bc_tool_usage_error("-r reads records from stdin only");
        free(files);
        return reverse(flags);
    }
    t.out = bc_writer_new(stdout, t.zstd);
    bc_progress_start(&t.prog, t.progress, "records", 0);
    forward_state st = {.t = &t, .add_ids = add_ids, .bin_keys = split_keys(bins)};
    if (nfiles == 0) {
        forward_file(&st, stdin, "stdin");
    }
    for (int i = 0; i < nfiles; i++) {
        FILE *f = strcmp(files[i], "-") == 0 ? stdin : fopen(files[i], "r");
        if (!f) {
            bc_writer_close(t.out, NULL);
            bc_die(BC_EXIT_FATAL, "%s: %s", files[i], strerror(errno));
        }
        forward_file(&st, f, files[i]);
        if (f != stdin) fclose(f);
    }
    free(st.bin_keys);
    free(files);
    t.failed = st.bad;
    t.in = NULL;
    return bc_tool_finish(&t);
}
