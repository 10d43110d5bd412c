// tool.h: what every stream program shares (DESIGN.md §2): the common
// options, the policy for a bad record (stop, or --keep-going), exit codes,
// progress on stderr, and --version.
//
// A tool's main reads:
//
//     bc_tool t;
//     bc_tool_init(&t, argc, argv);
//     for (i = 1; i < argc; i++) {
//         int used = bc_tool_option(&t, argc, argv, &i);   // common options
//         if (used) continue;
//         ... its own options ...
//     }
//     bc_tool_start(&t);                // opens stdin/stdout, progress
//     bc_record rec;
//     while (bc_tool_next(&t, &rec)) {
//         if (process(&rec, &err) < 0) bc_tool_fail(&t, &rec, &err);
//         else bc_tool_emit(&t, &rec);
//     }
//     return bc_tool_finish(&t);
#ifndef BICOT_TOOL_H
#define BICOT_TOOL_H

#include "io/stream.h"
#include "progress.h"

typedef struct {
    // common options
    const char *model;      // --model DIR
    int threads;            // --threads N (default: all cores)
    uint64_t seed;          // --seed S (default 0)
    int seed_set;
    int batch;              // --batch B (default 1)
    int keep_going;         // --keep-going
    int zstd;               // --zstd: zstd level for output (0: plain)
    int progress;           // --progress / --no-progress (default: stderr is a TTY)
    int no_output;          // set before bc_tool_start: records are counted, not written
    // what the tool prints for --help (set before bc_tool_option)
    const char *usage;
    const char *version;    // extra line for --version (may be NULL)
    // state
    bc_reader *in;
    bc_writer *out;
    size_t failed;          // records that failed under --keep-going
    size_t done;            // records written
    bc_progress prog;
} bc_tool;

void bc_tool_init(bc_tool *t, int argc, char **argv, const char *usage);
// Handles a common option at argv[*i] (advancing *i past its value):
// 1 if it was one, 0 if not. --help and --version print and exit 0;
// a missing or bad value exits 1 with a message.
int bc_tool_option(bc_tool *t, int argc, char **argv, int *i);
// For options the tool parses itself: the value after argv[*i] or exit 1.
const char *bc_tool_value(int argc, char **argv, int *i);
// An unknown option or stray argument: message, pointer to --help, exit 1.
void bc_tool_usage_error(const char *fmt, ...) BC_PRINTF(1, 2) BC_NORETURN;
// Prints the build line (BLAS, SIMD, threads, CUDA) to f.
void bc_print_build(FILE *f);

// Opens stdin/stdout as streams and starts progress.
void bc_tool_start(bc_tool *t);
// The next input record, or 0 at the end. A framing error writes nothing
// more, flushes what was written, reports and exits 2.
int bc_tool_next(bc_tool *t, bc_record *rec);
// Writes the record and frees it. A write error exits 2 (EPIPE: quietly, 0).
void bc_tool_emit(bc_tool *t, bc_record *rec);
// A record that could not be processed: one line on stderr naming it; the
// record passes through with an `errors` entry. Without --keep-going the
// tool then stops: output is flushed and the process exits 2. err may be
// NULL when the record was already reported with bc_tool_report().
void bc_tool_fail(bc_tool *t, bc_record *rec, const bc_err *err);
// The reporting half of bc_tool_fail: the stderr line and the `errors` entry.
void bc_tool_report(bc_tool *t, bc_record *rec, const bc_err *err);
// Flushes and closes the output; returns the exit code (0, or 3 if records
// failed under --keep-going). Write errors exit 2.
int bc_tool_finish(bc_tool *t);

// The record's own random stream: seeded from --seed and the record's id
// (its index when it has none), so a sample depends on nothing else (not
// batch size, not threads, not the records around it).
void bc_tool_record_rng(const bc_tool *t, const bc_record *rec, bc_rng *rng);

// Parses an integer option value with bounds; exits 1 naming the option.
long long bc_parse_int(const char *opt, const char *s, long long lo, long long hi);
double bc_parse_double(const char *opt, const char *s);

#endif
