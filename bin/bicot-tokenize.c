// bicot-tokenize: a tokenizer.json on text lines. Each line of stdin becomes
// one JSON array of token ids on stdout (with the special tokens the
// tokenizer's post_processor adds, e.g. DeepSeek's BOS); --decode goes the
// other way. Not a stream tool: lines in, lines out, for people and for the
// pipeline tests.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "text/bpe.h"
#include "tool.h"
#include "util.h"

static const char usage[] =
    "usage: bicot-tokenize --model DIR|tokenizer.json [options] < lines\n"
    "\n"
    "Encodes each line of stdin (without its newline) and prints its ids as a\n"
    "JSON array, one line per input line.\n"
    "  --model PATH      a model directory holding tokenizer.json, or the file\n"
    "  --no-special      do not add the post_processor's special tokens (BOS)\n"
    "  --json            input lines are JSON strings (\"a\\nb\"), for text with newlines\n"
    "  --decode          input lines are JSON arrays of ids; prints the text\n"
    "                    (one JSON string per line with --json)\n"
    "  --skip-special    with --decode: drop special tokens\n"
    "  --info            print {\"vocab_size\", \"bos\", \"eos\"} and exit\n"
    "  --id TOKEN        print the id of TOKEN (-1 if absent) and exit\n"
    "  --help this text; --version the build\n"
    "\n"
    "example:\n"
    "  echo 'a red apple' | bicot-tokenize --model ~/models/Janus-Pro-1B\n"
    "  echo '[100000, 17464, 11]' | bicot-tokenize --model ~/models/Janus-Pro-1B --decode\n"
    "\n"
    "exit: 0 ok, 1 usage, 2 unreadable tokenizer, bad input line or write error\n";

static void print_json(json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
}

int main(int argc, char **argv) {
    bc_set_progname(argv[0]);
    const char *model = NULL, *id_of = NULL;
    int decode = 0, special = 1, skip = 0, json = 0, info = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return BC_EXIT_OK;
        } else if (!strcmp(a, "--version")) {
            bc_print_build(stdout);
            return fflush(stdout) == 0 ? BC_EXIT_OK : BC_EXIT_FATAL;
        } else if (!strcmp(a, "--model") || !strcmp(a, "--id")) {
            if (i + 1 >= argc) bc_die(BC_EXIT_USAGE, "%s needs a value (see --help)", a);
            if (!strcmp(a, "--model")) model = argv[++i];
            else id_of = argv[++i];
        } else if (!strcmp(a, "--decode")) {
            decode = 1;
        } else if (!strcmp(a, "--no-special")) {
            special = 0;
        } else if (!strcmp(a, "--skip-special")) {
            skip = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--info")) {
            info = 1;
        } else {
            bc_die(BC_EXIT_USAGE, "unknown argument '%s' (see --help)", a);
        }
    }
    if (!model) bc_die(BC_EXIT_USAGE, "no --model given (see --help)");

    bc_err err = {""};
    bc_tokenizer *tok = bc_tokenizer_load(model, &err);
    if (!tok) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    if (info || id_of) {
        if (id_of) {
            printf("%d\n", bc_tokenizer_token_id(tok, id_of));
        } else {
            json_t *o = json_object();
            json_object_set_new(o, "vocab_size", json_integer(bc_tokenizer_vocab_size(tok)));
            json_object_set_new(o, "bos", json_integer(bc_tokenizer_bos(tok)));
            json_object_set_new(o, "eos", json_integer(bc_tokenizer_eos(tok)));
            print_json(o);
            json_decref(o);
        }
    } else {
        char *line = NULL;
        size_t cap = 0, lineno = 0;
        ssize_t got;
        while ((got = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            size_t len = (size_t)got;
            if (len && line[len - 1] == '\n') line[--len] = 0;
            json_error_t je;
            json_t *in = NULL;
            if (json || decode) {
                in = json_loadb(line, len, JSON_DECODE_ANY, &je);
                if (!in || (decode ? !json_is_array(in) : !json_is_string(in)))
                    bc_die(BC_EXIT_FATAL, "stdin line %zu: expected a JSON %s", lineno, decode ? "array of ids" : "string");
            }
            if (decode) {
                size_t n = json_array_size(in);
                int32_t *ids = bc_malloc((n + 1) * sizeof *ids);
                for (size_t k = 0; k < n; k++) {
                    json_t *v = json_array_get(in, k);
                    if (!json_is_integer(v)) bc_die(BC_EXIT_FATAL, "stdin line %zu: item %zu is not an integer", lineno, k);
                    ids[k] = (int32_t)json_integer_value(v);
                }
                size_t dlen;
                char *text = bc_tokenizer_decode(tok, ids, n, skip, &dlen, &err);
                if (!text) bc_die(BC_EXIT_FATAL, "stdin line %zu: %s", lineno, err.msg);
                if (json) {
                    json_t *s = json_stringn(text, dlen);
                    print_json(s);
                    json_decref(s);
                } else {
                    fwrite(text, 1, dlen, stdout);
                    fputc('\n', stdout);
                }
                free(text);
                free(ids);
            } else {
                const char *text = in ? json_string_value(in) : line;
                size_t tlen = in ? json_string_length(in) : len;
                int32_t *ids;
                size_t n;
                if (bc_tokenizer_encode(tok, text, tlen, special, &ids, &n, &err) < 0)
                    bc_die(BC_EXIT_FATAL, "stdin line %zu: %s", lineno, err.msg);
                fputc('[', stdout);
                for (size_t k = 0; k < n; k++) printf(k ? ",%d" : "%d", ids[k]);
                fputs("]\n", stdout);
                free(ids);
            }
            json_decref(in);
        }
        free(line);
    }
    bc_tokenizer_free(tok);
    if (fflush(stdout) != 0 || ferror(stdout)) bc_die(BC_EXIT_FATAL, "write error on stdout");
    return BC_EXIT_OK;
}
