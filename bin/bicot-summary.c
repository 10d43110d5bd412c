// bicot-summary: a scored record stream → a table of the rewards: n, mean
// and std of every reward per task_type (or another key), as markdown or JSON.
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/draw.h"
#include "io/image.h"
#include "tool.h"

static const char usage[] =
    "usage: bicot-summary [options] < scored records > table.md\n"
    "\n"
    "Reads scored records (with a `rewards` map, as score-hps, score-det and score-vqa\n"
    "write it) and prints, for every reward name seen and every value of the grouping\n"
    "key (task_type by default), the number of values, their mean and their standard\n"
    "deviation, as a markdown table; a row `all` per reward covers every group.\n"
    "  std  the sample standard deviation (divisor n-1): the images are a sample of\n"
    "       what a model generates and the table estimates the spread of that; it is\n"
    "       also the std GRPO normalises advantages with. With n = 1 it is undefined (-).\n"
    "Records with an `errors` entry are left out of the statistics and counted on their\n"
    "own (per group, in the second table): a failed scorer must not pull a mean down.\n"
    "A record without the key (or with nil) is in the group \"(none)\". Groups are\n"
    "sorted by name (byte order); rewards come in the order they are first seen.\n"
    "Nothing is written to stdout but the table: records are read, not passed on.\n"
    "  --by KEY         group by KEY instead (a string or integer key: group, model, ...)\n"
    "  --json           print one JSON object instead of markdown:\n"
    "                   {\"by\", \"records\", \"with_errors\", \"std\": \"sample\",\n"
    "                    \"groups\": [{\"group\", \"records\", \"with_errors\",\n"
    "                                \"rewards\": {NAME: {\"n\", \"mean\", \"std\"}}}],\n"
    "                    \"all\": {same as a group}}  (std null when n < 2)\n"
    "  --title TEXT     the markdown heading (default: \"Rewards by KEY\")\n"
    "  --plot FILE.png  also draw the means as bars: one panel per reward (in table\n"
    "                   order, each on its own scale, a black line at 0), one bar per\n"
    "                   group (in table order, coloured by position; `all` dark grey,\n"
    "                   last) with a whisker of +-1 std. No text: read the table beside it\n"
    "\n"
    "Example:\n"
    "  bicot-img samples/ --prompts prompts.jsonl | score-hps --model hps | bicot-summary\n";

// Running mean and sum of squared deviations (Welford): one pass, and no
// cancellation when the values are close to each other (cosines of ~0.3).
typedef struct {
    size_t n;
    double mean, m2;
} running;

static void running_add(running *r, double x) {
    r->n++;
    double d = x - r->mean;
    r->mean += d / (double)r->n;
    r->m2 += d * (x - r->mean);
}

// Sample standard deviation; NAN when n < 2.
static double running_std(const running *r) { return r->n < 2 ? NAN : sqrt(r->m2 / (double)(r->n - 1)); }

typedef struct {
    char *name;
    size_t records, with_errors;
    running *rewards;  // [n_rewards]: one per reward name, in summary.rewards order
} group;

typedef struct {
    const char *by;
    char **rewards;  // reward names in first-seen order
    size_t n_rewards;
    group *groups;
    size_t n_groups;
    json_t *group_index;  // group name → index into groups
    group all;
} summary;

static size_t reward_index(summary *s, const char *name, size_t len) {
    for (size_t i = 0; i < s->n_rewards; i++)
        if (strlen(s->rewards[i]) == len && memcmp(s->rewards[i], name, len) == 0) return i;
    // a new reward: one more slot in every group (zeroed: nothing seen yet)
    s->rewards = bc_realloc(s->rewards, (s->n_rewards + 1) * sizeof *s->rewards);
    s->rewards[s->n_rewards] = bc_strndup(name, len);
    for (size_t g = 0; g <= s->n_groups; g++) {
        group *gr = g < s->n_groups ? &s->groups[g] : &s->all;
        gr->rewards = bc_realloc(gr->rewards, (s->n_rewards + 1) * sizeof *gr->rewards);
        gr->rewards[s->n_rewards] = (running){0};
    }
    return s->n_rewards++;
}

static group *find_group(summary *s, const char *name) {
    json_t *i = json_object_get(s->group_index, name);
    if (i) return &s->groups[json_integer_value(i)];
    s->groups = bc_realloc(s->groups, (s->n_groups + 1) * sizeof *s->groups);
    group *g = &s->groups[s->n_groups];
    *g = (group){.name = bc_strdup(name), .rewards = bc_calloc(s->n_rewards + 1, sizeof(running))};
    json_object_set_new(s->group_index, name, json_integer((json_int_t)s->n_groups));
    s->n_groups++;
    return g;
}

// The record's group name into buf: the key's string or integer value,
// "(none)" when it is absent or nil (names longer than buf are cut).
static int group_name(const bc_record *rec, const char *key, char *buf, size_t size, bc_err *err) {
    const msgpack_object *v = bc_record_get(rec, key);
    if (!v || v->type == MSGPACK_OBJECT_NIL) snprintf(buf, size, "(none)");
    else if (v->type == MSGPACK_OBJECT_STR) {
        if (memchr(v->via.str.ptr, 0, v->via.str.size)) return bc_fail(err, "key '%s': a NUL byte in the value", key);
        snprintf(buf, size, "%.*s", (int)v->via.str.size, v->via.str.ptr);
    } else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) snprintf(buf, size, "%llu", (unsigned long long)v->via.u64);
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) snprintf(buf, size, "%lld", (long long)v->via.i64);
    else return bc_fail(err, "key '%s': expected a string or integer to group by, got %s", key, bc_type_name(v));
    return 0;
}

// Checks the record's rewards (a map of names to numbers) before counting
// anything, so a bad record changes no statistic.
static int check_rewards(const bc_record *rec, bc_err *err) {
    const msgpack_object *r = bc_record_get(rec, "rewards");
    if (!r) return 0;
    if (r->type != MSGPACK_OBJECT_MAP) return bc_fail(err, "key 'rewards': expected a map, got %s", bc_type_name(r));
    for (uint32_t i = 0; i < r->via.map.size; i++) {
        const msgpack_object *k = &r->via.map.ptr[i].key, *v = &r->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return bc_fail(err, "key 'rewards': expected string names, got a %s key", bc_type_name(k));
        if (v->type != MSGPACK_OBJECT_FLOAT32 && v->type != MSGPACK_OBJECT_FLOAT64 &&
            v->type != MSGPACK_OBJECT_POSITIVE_INTEGER && v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return bc_fail(err, "key 'rewards.%.*s': expected a number, got %s", (int)k->via.str.size, k->via.str.ptr,
                           bc_type_name(v));
    }
    return 0;
}

static double number(const msgpack_object *v) {
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)v->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)v->via.i64;
    default: return v->via.f64;
    }
}

static int add_record(summary *s, const bc_record *rec, bc_err *err) {
    char name[1024];
    if (group_name(rec, s->by, name, sizeof name, err) < 0 || check_rewards(rec, err) < 0) return -1;
    group *g = find_group(s, name);
    g->records++;
    s->all.records++;
    const msgpack_object *errors = bc_record_get(rec, "errors");
    if (errors && !(errors->type == MSGPACK_OBJECT_NIL ||
                    (errors->type == MSGPACK_OBJECT_ARRAY && errors->via.array.size == 0))) {
        g->with_errors++;
        s->all.with_errors++;
        return 0;
    }
    const msgpack_object *r = bc_record_get(rec, "rewards");
    for (uint32_t i = 0; r && i < r->via.map.size; i++) {
        const msgpack_object *k = &r->via.map.ptr[i].key;
        size_t ri = reward_index(s, k->via.str.ptr, k->via.str.size);  // may grow g->rewards, not move g
        double x = number(&r->via.map.ptr[i].val);
        running_add(&g->rewards[ri], x);
        running_add(&s->all.rewards[ri], x);
    }
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(((const group *)a)->name, ((const group *)b)->name); }

// ---- the plot ------------------------------------------------------------------

enum { BAR_W = 12, BAR_GAP = 4, PANEL_PAD = 12, PLOT_H = 160, PLOT_MARGIN = 10 };
// Labels (lib/io/draw.h's 5×7 font): the reward's name above its panel, and
// under the panels a legend, one line per group: its colour and name.
enum { TITLE_H = BC_DRAW_HEIGHT + 8, LEGEND_LINE = BC_DRAW_HEIGHT + 6 };

typedef struct {
    uint8_t *rgb;  // [h][w][3]
    int w, h;
} canvas;

static void fill(canvas *c, int x0, int y0, int x1, int y1, const uint8_t colour[3]) {
    if (x0 > x1) { int t = x0; x0 = x1; x1 = t; }
    if (y0 > y1) { int t = y0; y0 = y1; y1 = t; }
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < c->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < c->w; x++) memcpy(c->rgb + ((size_t)y * c->w + x) * 3, colour, 3);
}

// The row of value v on a panel whose scale runs from hi (row top) to lo (row bottom).
static int plot_row(double v, double lo, double hi, int top, int bottom) {
    return top + (int)lround((hi - v) / (hi - lo) * (bottom - top));
}

// The groups a reward has values in, then `all`: the bars of its panel.
static size_t panel_bars(const summary *s, size_t r, const group **bars) {
    size_t n = 0;
    for (size_t g = 0; g < s->n_groups; g++)
        if (s->groups[g].rewards[r].n) bars[n++] = &s->groups[g];
    bars[n++] = &s->all;
    return n;
}

static int write_plot(const summary *s, const char *path, bc_err *err) {
    static const uint8_t palette[8][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                          {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {188, 189, 34}};
    static const uint8_t white[3] = {255, 255, 255}, panel_bg[3] = {240, 240, 240}, black[3] = {0, 0, 0},
                         all_colour[3] = {80, 80, 80};
    const group **bars = bc_malloc((s->n_groups + 1) * sizeof *bars);
    canvas c = {.w = PANEL_PAD, .h = TITLE_H + PLOT_H + PLOT_MARGIN + (int)(s->n_groups + 1) * LEGEND_LINE};
    for (size_t r = 0; r < s->n_rewards; r++) {
        int title_w = (int)strlen(s->rewards[r]) * BC_DRAW_ADVANCE;
        int bars_w = (int)panel_bars(s, r, bars) * (BAR_W + BAR_GAP) + BAR_GAP;
        c.w += (title_w > bars_w ? title_w : bars_w) + PANEL_PAD;
    }
    int legend_w = 0;
    for (size_t g = 0; g <= s->n_groups; g++) {
        int w = 2 * PANEL_PAD + BAR_W + (int)strlen(g < s->n_groups ? s->groups[g].name : "all") * BC_DRAW_ADVANCE;
        if (w > legend_w) legend_w = w;
    }
    if (legend_w > c.w) c.w = legend_w;
    c.rgb = bc_malloc((size_t)c.w * c.h * 3);
    fill(&c, 0, 0, c.w - 1, c.h - 1, white);
    int x = PANEL_PAD;
    for (size_t r = 0; r < s->n_rewards; r++) {
        size_t n = panel_bars(s, r, bars);
        // this reward's scale: every mean +- std, and 0
        double lo = 0, hi = 0;
        for (size_t b = 0; b < n; b++) {
            const running *st = &bars[b]->rewards[r];
            double sd = running_std(st), m = st->mean;
            if (isnan(sd)) sd = 0;
            if (m - sd < lo) lo = m - sd;
            if (m + sd > hi) hi = m + sd;
        }
        if (!(hi > lo)) hi = lo + 1;  // all zero (or not finite): any scale
        int top = TITLE_H + PLOT_MARGIN, bottom = TITLE_H + PLOT_H - 1 - PLOT_MARGIN;
        int zero = plot_row(0, lo, hi, top, bottom);
        int width = (int)n * (BAR_W + BAR_GAP) + BAR_GAP, title_w = (int)strlen(s->rewards[r]) * BC_DRAW_ADVANCE;
        bc_draw_text(c.rgb, c.w, c.h, x, 4, 1, s->rewards[r], -1);
        fill(&c, x, TITLE_H, x + width - 1, TITLE_H + PLOT_H - 1, panel_bg);
        for (size_t b = 0; b < n; b++) {
            const running *st = &bars[b]->rewards[r];
            int bx = x + BAR_GAP + (int)b * (BAR_W + BAR_GAP);
            const uint8_t *colour = bars[b] == &s->all ? all_colour : palette[(bars[b] - s->groups) % 8];
            if (!isfinite(st->mean)) continue;
            fill(&c, bx, zero, bx + BAR_W - 1, plot_row(st->mean, lo, hi, top, bottom), colour);
            double sd = running_std(st);
            if (isfinite(sd))  // the whisker: mean +- std
                fill(&c, bx + BAR_W / 2 - 1, plot_row(st->mean + sd, lo, hi, top, bottom), bx + BAR_W / 2,
                     plot_row(st->mean - sd, lo, hi, top, bottom), black);
        }
        fill(&c, x, zero, x + width - 1, zero, black);
        x += (title_w > width ? title_w : width) + PANEL_PAD;
    }
    for (size_t g = 0; g <= s->n_groups; g++) {  // the legend
        int y = TITLE_H + PLOT_H + PLOT_MARGIN + (int)g * LEGEND_LINE;
        fill(&c, PANEL_PAD, y, PANEL_PAD + BAR_W - 1, y + BC_DRAW_HEIGHT - 1, g < s->n_groups ? palette[g % 8] : all_colour);
        bc_draw_text(c.rgb, c.w, c.h, 2 * PANEL_PAD + BAR_W, y, 1, g < s->n_groups ? s->groups[g].name : "all", -1);
    }
    free(bars);
    uint8_t *png = NULL;
    size_t len = 0;
    int rc = bc_png_encode(c.rgb, c.w, c.h, &png, &len, err);
    if (rc == 0) rc = bc_write_file_atomic(path, png, len, err);
    free(png);
    free(c.rgb);
    return rc;
}

// ---- output ------------------------------------------------------------------

// A table cell's text: '|' escaped and line breaks as spaces, so that a
// group name cannot break the table.
static void markdown_text(const char *text) {
    for (const char *c = text; *c; c++) {
        if (*c == '|') fputs("\\|", stdout);
        else if (*c == '\n' || *c == '\r') putchar(' ');
        else putchar(*c);
    }
}

static void markdown_number(double v) {
    if (isnan(v)) printf(" - |");
    else printf(" %.4f |", v);
}

static void print_markdown(const summary *s, const char *title) {
    if (title) printf("## %s\n\n", title);
    else printf("## Rewards by %s\n\n", s->by);
    printf("%zu records, %zu with errors (left out of the statistics). std: sample standard deviation "
           "(n-1).\n\n",
           s->all.records, s->all.with_errors);
    if (s->n_rewards == 0) {
        printf("No rewards in the records.\n\n");
    } else {
        printf("| reward | ");
        markdown_text(s->by);
        printf(" | n | mean | std |\n|---|---|---:|---:|---:|\n");
        for (size_t r = 0; r < s->n_rewards; r++) {
            for (size_t g = 0; g <= s->n_groups; g++) {
                const group *gr = g < s->n_groups ? &s->groups[g] : &s->all;
                const running *st = &gr->rewards[r];
                if (st->n == 0 && g < s->n_groups) continue;  // this group never had this reward
                printf("| ");
                markdown_text(s->rewards[r]);
                printf(" | ");
                markdown_text(g < s->n_groups ? gr->name : "**all**");
                printf(" | %zu |", st->n);
                markdown_number(st->n ? st->mean : NAN);
                markdown_number(running_std(st));
                printf("\n");
            }
        }
        printf("\n");
    }
    printf("| ");
    markdown_text(s->by);
    printf(" | records | with errors |\n|---|---:|---:|\n");
    for (size_t g = 0; g <= s->n_groups; g++) {
        const group *gr = g < s->n_groups ? &s->groups[g] : &s->all;
        printf("| ");
        markdown_text(g < s->n_groups ? gr->name : "**all**");
        printf(" | %zu | %zu |\n", gr->records, gr->with_errors);
    }
}

static json_t *json_number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *group_json(const summary *s, const group *g) {
    json_t *o = json_object(), *rewards = json_object();
    if (g != &s->all) json_object_set_new(o, "group", json_string(g->name));
    json_object_set_new(o, "records", json_integer((json_int_t)g->records));
    json_object_set_new(o, "with_errors", json_integer((json_int_t)g->with_errors));
    for (size_t r = 0; r < s->n_rewards; r++) {
        const running *st = &g->rewards[r];
        if (st->n == 0) continue;
        json_t *x = json_object();
        json_object_set_new(x, "n", json_integer((json_int_t)st->n));
        json_object_set_new(x, "mean", json_number_or_null(st->mean));
        json_object_set_new(x, "std", json_number_or_null(running_std(st)));
        json_object_set_new(rewards, s->rewards[r], x);
    }
    json_object_set_new(o, "rewards", rewards);
    return o;
}

static void print_json(const summary *s) {
    json_t *o = json_object(), *groups = json_array();
    json_object_set_new(o, "by", json_string(s->by));
    json_object_set_new(o, "records", json_integer((json_int_t)s->all.records));
    json_object_set_new(o, "with_errors", json_integer((json_int_t)s->all.with_errors));
    json_object_set_new(o, "std", json_string("sample"));
    for (size_t g = 0; g < s->n_groups; g++) json_array_append_new(groups, group_json(s, &s->groups[g]));
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "all", group_json(s, &s->all));
    // 17 significant digits: every double reads back exactly
    json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    printf("\n");
    json_decref(o);
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    summary s = {.by = "task_type"};
    const char *title = NULL, *plot = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "--by") == 0) s.by = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--json") == 0) as_json = 1;
        else if (strcmp(a, "--title") == 0) title = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--plot") == 0) plot = bc_tool_value(argc, argv, &i);
        else if (a[0] == '-' && a[1]) bc_tool_usage_error("unknown option '%s'", a);
        else bc_tool_usage_error("no arguments but options (records come on stdin): '%s'", a);
    }
    s.group_index = json_object();

    t.no_output = 1;  // stdout is for the table
    bc_tool_start(&t);
    bc_record rec;
    bc_err err;
    while (bc_tool_next(&t, &rec)) {
        if (add_record(&s, &rec, &err) < 0) bc_tool_fail(&t, &rec, &err);
        else bc_tool_emit(&t, &rec);
    }
    int rc = bc_tool_finish(&t);

    if (s.n_groups) qsort(s.groups, s.n_groups, sizeof *s.groups, by_name);
    if (plot && write_plot(&s, plot, &err) < 0) bc_die(BC_EXIT_FATAL, "--plot %s: %s", plot, err.msg);
    if (as_json) print_json(&s);
    else print_markdown(&s, title);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE) return BC_EXIT_OK;
        bc_die(BC_EXIT_FATAL, "stdout: write error: %s", strerror(errno));
    }

    for (size_t g = 0; g < s.n_groups; g++) {
        free(s.groups[g].name);
        free(s.groups[g].rewards);
    }
    free(s.groups);
    free(s.all.rewards);
    for (size_t r = 0; r < s.n_rewards; r++) free(s.rewards[r]);
    free(s.rewards);
    json_decref(s.group_index);
    return rc;
}
