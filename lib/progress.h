// progress.h: progress on stderr for long work. A bar redrawn in place when
// stderr is a terminal, plain lines (at most one every few seconds) when it
// is not; never anything on stdout.
#ifndef BICOT_PROGRESS_H
#define BICOT_PROGRESS_H

#include <stddef.h>

typedef struct {
    int enabled;
    int tty;              // redraw in place with \r
    const char *what;     // "records", "images", ...
    size_t total;         // 0 when unknown
    size_t done;
    double units;         // secondary count (tokens, images) for a rate
    const char *unit_name;
    double t0, last;
} bc_progress;

// what: name of the counted things; total: 0 when unknown.
void bc_progress_start(bc_progress *p, int enabled, const char *what, size_t total);
// Adds n done items and `units` of the secondary unit (may be 0).
void bc_progress_add(bc_progress *p, size_t n, double units, const char *unit_name);
// Final line (with a newline on a TTY).
void bc_progress_end(bc_progress *p);

#endif
