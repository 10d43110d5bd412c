#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "util.h"

// Redraws at most 10 times a second on a terminal; a plain line every 5
// seconds otherwise (logs stay short).
enum { BAR_WIDTH = 24 };
static const double TTY_PERIOD = 0.1, LOG_PERIOD = 5.0;

void bc_progress_start(bc_progress *p, int enabled, const char *what, size_t total) {
    *p = (bc_progress){0};
    p->enabled = enabled;
    p->tty = isatty(STDERR_FILENO);
    p->what = what;
    p->total = total;
    p->t0 = p->last = bc_now();
}

static void draw(bc_progress *p, double now, int final) {
    double dt = now - p->t0 > 1e-9 ? now - p->t0 : 1e-9;
    double rate = (double)p->done / dt;
    char line[256];
    int o = 0;
    if (p->total) {
        double frac = (double)p->done / (double)p->total;
        if (frac > 1) frac = 1;
        if (p->tty) {
            int fill = (int)(frac * BAR_WIDTH + 0.5);
            o += snprintf(line + o, sizeof line - (size_t)o, "[");
            for (int i = 0; i < BAR_WIDTH; i++) line[o++] = i < fill ? '#' : '.';
            o += snprintf(line + o, sizeof line - (size_t)o, "] ");
        }
        o += snprintf(line + o, sizeof line - (size_t)o, "%zu/%zu %s", p->done, p->total, p->what);
    } else {
        o += snprintf(line + o, sizeof line - (size_t)o, "%zu %s", p->done, p->what);
    }
    o += snprintf(line + o, sizeof line - (size_t)o, ", %.2f/s", rate);
    if (p->unit_name && p->units > 0)
        o += snprintf(line + o, sizeof line - (size_t)o, ", %.1f %s/s", p->units / dt, p->unit_name);
    if (p->total && p->done < p->total && rate > 0)
        o += snprintf(line + o, sizeof line - (size_t)o, ", ETA %.0fs", (double)(p->total - p->done) / rate);
    if (final) o += snprintf(line + o, sizeof line - (size_t)o, ", %.1fs", dt);
    if (p->tty)
        fprintf(stderr, "\r%s: %s\033[K%s", bc_progname, line, final ? "\n" : "");
    else
        fprintf(stderr, "%s: %s\n", bc_progname, line);
    p->last = now;
}

void bc_progress_add(bc_progress *p, size_t n, double units, const char *unit_name) {
    p->done += n;
    p->units += units;
    if (unit_name) p->unit_name = unit_name;
    if (!p->enabled) return;
    double now = bc_now();
    if (now - p->last >= (p->tty ? TTY_PERIOD : LOG_PERIOD)) draw(p, now, 0);
}

void bc_progress_end(bc_progress *p) {
    if (!p->enabled) return;
    draw(p, bc_now(), 1);
}
