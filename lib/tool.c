#include "tool.h"

#include "nn/ops.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BICOT_VERSION
#define BICOT_VERSION "0.1.0-dev"
#endif

void bc_tool_init(bc_tool *t, int argc, char **argv, const char *usage) {
    memset(t, 0, sizeof *t);
    bc_set_progname(argc > 0 ? argv[0] : "bicot");
    t->usage = usage;
    t->threads = bc_cpu_count();
    t->batch = 1;
    t->progress = isatty(STDERR_FILENO);
    // A closed downstream shows up as EPIPE from write(), handled as a quiet
    // exit, instead of killing us with a signal in the middle of a record.
    signal(SIGPIPE, SIG_IGN);
}

void bc_print_build(FILE *f) {
    const char *simd = "scalar";
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        simd = "avx512f";
    else if (__builtin_cpu_supports("avx2"))
        simd = "avx2";
    else
        simd = "sse2";
#endif
    fprintf(f, "bicot %s; BLAS: OpenBLAS; SIMD: %s (detected at run time); threads: %d; CUDA: %s\n", BICOT_VERSION,
            simd, bc_cpu_count(),
#ifdef BICOT_CUDA
            "yes"
#else
            "no"
#endif
    );
}

void bc_tool_usage_error(const char *fmt, ...) {
    fprintf(stderr, "%s: ", bc_progname);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", bc_progname);
    exit(BC_EXIT_USAGE);
}

const char *bc_tool_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) bc_tool_usage_error("option '%s' needs a value", argv[*i]);
    return argv[++*i];
}

long long bc_parse_int(const char *opt, const char *s, long long lo, long long hi) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || end == s || *end || v < lo || v > hi)
        bc_tool_usage_error("option '%s': expected an integer in [%lld, %lld], got '%s'", opt, lo, hi, s);
    return v;
}

double bc_parse_double(const char *opt, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) bc_tool_usage_error("option '%s': expected a number, got '%s'", opt, s);
    return v;
}

// "--name=value" or "--name value": returns the value, or NULL if argv[*i] is not --name.
static const char *option_value(const char *name, int argc, char **argv, int *i) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != 0) return NULL;
    return bc_tool_value(argc, argv, i);
}

int bc_tool_option(bc_tool *t, int argc, char **argv, int *i) {
    const char *a = argv[*i], *v;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        fputs(t->usage, stdout);
        fputs("\nCommon options:\n"
              "  --model DIR      model directory (config.json, weights, tokenizer.json)\n"
              "  --threads N      worker threads (default: all cores)\n"
              "  --seed S         random seed (default 0); with the record id it fixes each sample\n"
              "  --batch B        records processed together (default: 1, or min(threads, 8) for the\n"
              "                   tools that decode or score images: one per thread, each taking the next\n"
              "                   record when it is done); never changes results\n"
              "  --keep-going     a record that fails passes through with an `errors` entry\n"
              "  --zstd[=LEVEL]   compress the output stream (default level 3)\n"
              "  --progress, --no-progress   progress on stderr (default: on when stderr is a terminal)\n"
              "  --version        build information\n"
              "Exit status: 0 ok, 1 usage, 2 bad input stream / model / I/O (or a failed record\n"
              "without --keep-going), 3 some records failed under --keep-going.\n",
              stdout);
        exit(fflush(stdout) == 0 ? BC_EXIT_OK : BC_EXIT_FATAL);
    }
    if (strcmp(a, "--version") == 0) {
        printf("%s: ", bc_progname);
        bc_print_build(stdout);
        if (t->version) printf("%s\n", t->version);
        exit(fflush(stdout) == 0 ? BC_EXIT_OK : BC_EXIT_FATAL);
    }
    if ((v = option_value("--model", argc, argv, i))) {
        t->model = v;
    } else if ((v = option_value("--threads", argc, argv, i))) {
        t->threads = (int)bc_parse_int("--threads", v, 1, 4096);
    } else if ((v = option_value("--seed", argc, argv, i))) {
        t->seed = (uint64_t)bc_parse_int("--seed", v, 0, INT64_MAX);
        t->seed_set = 1;
    } else if ((v = option_value("--batch", argc, argv, i))) {
        t->batch = (int)bc_parse_int("--batch", v, 1, 1 << 20);
    } else if (strcmp(a, "--keep-going") == 0 || strcmp(a, "-k") == 0) {
        t->keep_going = 1;
    } else if (strcmp(a, "--zstd") == 0) {
        t->zstd = 3;
    } else if (strncmp(a, "--zstd=", 7) == 0) {
        t->zstd = (int)bc_parse_int("--zstd", a + 7, 1, 19);
    } else if (strcmp(a, "--progress") == 0) {
        t->progress = 1;
    } else if (strcmp(a, "--no-progress") == 0) {
        t->progress = 0;
    } else {
        return 0;
    }
    return 1;
}

void bc_tool_record_rng(const bc_tool *t, const bc_record *rec, bc_rng *rng) {
    char id[512];
    bc_record_id(rec, id, sizeof id);
    if (!id[0]) snprintf(id, sizeof id, "#%zu", rec->index);
    bc_rng_seed(rng, bc_hash64(id, strlen(id), t->seed));
}

void bc_tool_start(bc_tool *t) {
    bc_ops_set_threads(t->threads);
    t->in = bc_reader_new(stdin, "stdin");
    t->out = t->no_output ? NULL : bc_writer_new(stdout, t->zstd);
    bc_progress_start(&t->prog, t->progress, "records", 0);
}

// Ends the process after a write error: quietly when downstream went away.
static void BC_NORETURN write_failed(bc_tool *t, const bc_err *err) {
    if (bc_writer_epipe(t->out)) exit(BC_EXIT_OK);
    bc_die(BC_EXIT_FATAL, "stdout: %s", err->msg);
}

// Flushes what was written so far and exits with code.
static void BC_NORETURN finish_and_exit(bc_tool *t, int code) {
    bc_err err;
    int rc = t->out ? bc_writer_close(t->out, &err) : 0;
    t->out = NULL;
    if (rc == -1) bc_warn("stdout: %s", err.msg);
    exit(rc == -1 ? BC_EXIT_FATAL : code);
}

int bc_tool_next(bc_tool *t, bc_record *rec) {
    bc_err err;
    int got = bc_reader_next(t->in, rec, &err);
    if (got >= 0) return got;
    // Framing error: everything before it is already written; make it reach
    // the reader downstream, then stop.
    bc_progress_end(&t->prog);
    fprintf(stderr, "%s: %s\n", bc_progname, err.msg);
    finish_and_exit(t, BC_EXIT_FATAL);
}

void bc_tool_emit(bc_tool *t, bc_record *rec) {
    bc_err err;
    if (t->out && bc_writer_put(t->out, rec, &err) < 0) write_failed(t, &err);
    bc_record_free(rec);
    t->done++;
    bc_progress_add(&t->prog, 1, 0, NULL);
}

void bc_tool_report(bc_tool *t, bc_record *rec, const bc_err *err) {
    char line[2048];
    bc_record_error_line(rec, err->msg, line, sizeof line);
    fprintf(stderr, "%s\n", line);
    bc_record_add_error(rec, bc_progname, err->msg);
}

void bc_tool_fail(bc_tool *t, bc_record *rec, const bc_err *err) {
    // The record is never lost: it goes on with what went wrong attached.
    if (err) bc_tool_report(t, rec, err);
    bc_tool_emit(t, rec);
    t->failed++;
    if (!t->keep_going) {
        bc_progress_end(&t->prog);
        fprintf(stderr, "%s: stopped (use --keep-going to pass failed records on and continue)\n", bc_progname);
        finish_and_exit(t, BC_EXIT_FATAL);
    }
}

int bc_tool_finish(bc_tool *t) {
    bc_err err;
    bc_progress_end(&t->prog);
    bc_reader_free(t->in);
    t->in = NULL;
    int rc = t->out ? bc_writer_close(t->out, &err) : 0;
    t->out = NULL;
    if (rc == -2) return BC_EXIT_OK;  // downstream closed: quiet
    if (rc < 0) bc_die(BC_EXIT_FATAL, "stdout: %s", err.msg);
    if (t->failed) {
        bc_warn("%zu of %zu records failed", t->failed, t->done);
        return BC_EXIT_PARTIAL;
    }
    return BC_EXIT_OK;
}
