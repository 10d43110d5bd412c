// det_reward.c: T2I-R1's detector reward on a detection list (det_reward.h).
//
// A port of T2I-R1's reward_gdino.py (get_object_score, get_numeracy_score,
// get_spatial_score, determine_position) and of torchvision.ops.nms. Box
// geometry is computed in float32, as T2I-R1 computes it on float32 tensors,
// so that threshold comparisons fall the same way; the sums of the reward are
// in double, as T2I-R1 adds Python floats.
#include "det_reward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bc_det_options bc_det_default_options(void) {
    bc_det_options o;
    o.box_threshold = 0.3f;   // GDino.box_threshold
    o.nms_iou = 0.5f;         // get_numeracy_score's nms(..., 0.5)
    o.iou_threshold = 0.1f;   // determine_position's iou_threshold
    o.near_threshold = 0.5f;  // BC_DET_FIX_NEAR: gap up to half the mean box side (header)
    o.fixes = BC_DET_FIX_ALL;
    return o;
}

bc_det_options bc_det_compat_options(void) {
    bc_det_options o = bc_det_default_options();
    o.fixes = 0;
    return o;
}

// T2I-R1's distance_threshold: a pixel figure applied to normalised centres.
#define T2I_R1_DISTANCE_THRESHOLD 150.0f

static int str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

// ---- phrases ---------------------------------------------------------------

static int add_phrase(const char **list, int n, const char *s) {
    if (!s) return n;
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return n;
    list[n] = s;
    return n + 1;
}

int bc_det_phrases(const bc_det_query *q, const char ***phrases) {
    int cap = q->n_nouns + 2 + q->n_num;
    const char **list = bc_malloc((size_t)cap * sizeof *list);  // cap >= 2
    int n = 0;
    for (int i = 0; i < q->n_nouns; i++) n = add_phrase(list, n, q->nouns[i]);
    n = add_phrase(list, n, q->obj1);
    n = add_phrase(list, n, q->obj2);
    for (int i = 0; i < q->n_num; i++) n = add_phrase(list, n, q->num_names[i]);
    if (n == 0) {
        free(list);
        list = NULL;
    }
    *phrases = list;
    return n;
}

// ---- T2I-R1's labels ---------------------------------------------------------

// Python's str.strip() for the characters it can meet in nouns: ASCII
// whitespace and the separators \x1c-\x1f (which isspace() counts too).
// Non-ASCII whitespace (U+00A0 and the like) is not stripped: a noun would
// need one at its very end to notice.
static int py_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

// caption[s:e] with Python's clamping (indexes are never negative here).
static void py_slice(bc_buf *out, const char *caption, size_t len, size_t s, size_t e) {
    if (s > len) s = len;
    if (e > len) e = len;
    if (e > s) bc_buf_put(out, caption + s, e - s);
}

// The label GroundingDINO's given-phrase mode gives each noun's detections in
// T2I-R1: grpo.py make_detection_prompt builds caption = " . ".join(nouns) +
// "." and a token span per noun; get_grounding_output labels a detection
// ' '.join(caption[s:e] for each span). One word: the (stripped) word's length
// from the noun's start. Several words (split on single spaces of the
// stripped noun): the first word's length from the start and the last word's
// length back from start + len(unstripped noun). The pointer moves on by the
// stripped word's length + 3 for one word, len(noun) + 3 for several, so
// nouns with outer spaces shift every later span, as in T2I-R1. Offsets in
// bytes give the same slices as Python's code points as long as every length
// comes from the same unit. Returns n malloc'd strings.
static char **t2i_r1_labels(const char *const *nouns, int n) {
    bc_buf caption = {0};
    for (int i = 0; i < n; i++) {
        if (i) bc_buf_puts(&caption, " . ");
        bc_buf_puts(&caption, nouns[i]);
    }
    bc_buf_puts(&caption, ".");
    const char *cap = caption.data;
    size_t cap_len = caption.len;

    char **labels = bc_malloc((size_t)(n ? n : 1) * sizeof *labels);
    size_t pointer = 0;
    for (int i = 0; i < n; i++) {
        const char *noun = nouns[i];
        size_t total = strlen(noun);
        size_t a = 0, b = total;  // the stripped noun is noun[a:b]
        while (a < b && py_space((unsigned char)noun[a])) a++;
        while (b > a && py_space((unsigned char)noun[b - 1])) b--;
        const char *first_space = memchr(noun + a, ' ', b - a);
        bc_buf label = {0};
        if (!first_space) {
            size_t length = b - a;
            py_slice(&label, cap, cap_len, pointer, pointer + length);
            pointer += length + 3;
        } else {
            size_t beg_len = (size_t)(first_space - (noun + a));
            size_t last_space = b - 1;
            while (noun[last_space] != ' ') last_space--;
            size_t end_len = b - last_space - 1;
            py_slice(&label, cap, cap_len, pointer, pointer + beg_len);
            bc_buf_putc(&label, ' ');
            py_slice(&label, cap, cap_len, pointer + total - end_len, pointer + total);
            pointer += total + 3;
        }
        labels[i] = label.data ? label.data : bc_strdup("");  // bc_buf keeps a NUL after the data
    }
    bc_buf_free(&caption);
    return labels;
}

// ---- the prediction list -------------------------------------------------------

// One entry of T2I-R1's (boxes_filt, pred_phrases, all_logits) triple.
typedef struct {
    const char *label;
    bc_detection det;
} pred;

static int valid_kept(const bc_detection *d, int n_phrases, const bc_det_options *opt) {
    // float32 comparison: torch compares a float32 tensor with 0.3 as 0.3f
    return d->phrase >= 0 && d->phrase < n_phrases && d->score > opt->box_threshold;
}

// The predictions the scores look at (header: "Phrase matching"). *labels
// gets the strings to free (NULL in fixed mode).
static pred *make_preds(const bc_det_query *q, const char **phrases, int n_phrases, const bc_detection *d, int n,
                        const bc_det_options *opt, int *n_pred, char ***labels) {
    int np = 0;
    *labels = NULL;
    if (opt->fixes & BC_DET_FIX_PHRASE) {
        pred *p = bc_malloc((size_t)(n ? n : 1) * sizeof *p);
        for (int k = 0; k < n; k++)
            if (valid_kept(&d[k], n_phrases, opt)) p[np++] = (pred){phrases[d[k].phrase], d[k]};
        *n_pred = np;
        return p;
    }
    // Per noun in order, duplicates included: each span of the caption gets
    // its own copy of the detections, as GroundingDINO scores every span.
    size_t cap = (size_t)q->n_nouns * (size_t)n;
    pred *p = bc_malloc((cap ? cap : 1) * sizeof *p);
    *labels = t2i_r1_labels(q->nouns, q->n_nouns);
    for (int j = 0; j < q->n_nouns; j++)
        for (int k = 0; k < n; k++)
            if (valid_kept(&d[k], n_phrases, opt) && strcmp(phrases[d[k].phrase], q->nouns[j]) == 0)
                p[np++] = (pred){(*labels)[j], d[k]};
    *n_pred = np;
    return p;
}

static int label_found(const pred *p, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (str_eq(p[i].label, name)) return 1;
    return 0;
}

// ---- boxes ---------------------------------------------------------------------

// cxcywh -> xyxy as get_spatial_score does it on the tensor, in place:
// boxes[:, :2] -= boxes[:, 2:] / 2, then boxes[:, 2:] += boxes[:, :2], so
// x2 = w + x1 (not cx + w/2: the float32 roundings differ).
static void to_corners(const bc_detection *d, float b[4]) {
    b[0] = d->cx - d->w / 2;
    b[1] = d->cy - d->h / 2;
    b[2] = d->w + b[0];
    b[3] = d->h + b[1];
}

// Python's max(0, t) / min(a, b) on tensors, and std::max / std::min in
// torchvision's kernel, keep the first argument unless the second compares
// greater (smaller): a NaN second argument never replaces the first.
static float py_max(float a, float b) { return b > a ? b : a; }
static float py_min(float a, float b) { return b < a ? b : a; }

// ---- NMS ------------------------------------------------------------------------

int bc_det_nms(const bc_detection *d, int n, float iou, int treat_cxcywh_as_xyxy, int *keep) {
    if (n <= 0) return 0;
    float(*box)[4] = bc_malloc((size_t)n * sizeof *box);  // [n][x1 y1 x2 y2]
    float *area = bc_malloc((size_t)n * sizeof *area);    // [n]
    int *order = bc_malloc((size_t)n * sizeof *order);    // [n] indexes by score, descending
    unsigned char *suppressed = bc_calloc((size_t)n, 1);  // [n]
    for (int i = 0; i < n; i++) {
        if (treat_cxcywh_as_xyxy) {
            box[i][0] = d[i].cx, box[i][1] = d[i].cy, box[i][2] = d[i].w, box[i][3] = d[i].h;
        } else {
            to_corners(&d[i], box[i]);
        }
        area[i] = (box[i][2] - box[i][0]) * (box[i][3] - box[i][1]);
    }
    // Stable insertion sort, descending (torchvision: scores.sort(stable=True,
    // descending=True)): equal scores keep their array order.
    for (int i = 0; i < n; i++) {
        int v = i, j = i - 1;
        while (j >= 0 && d[order[j]].score < d[v].score) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
    // torchvision's CPU kernel (nms_kernel.cpp); its CUDA kernel, which
    // T2I-R1 ran, computes the same float32 IoU and the same greedy pass.
    int kept = 0;
    for (int oi = 0; oi < n; oi++) {
        int i = order[oi];
        if (suppressed[i]) continue;
        keep[kept++] = i;
        for (int oj = oi + 1; oj < n; oj++) {
            int j = order[oj];
            if (suppressed[j]) continue;
            float xx1 = py_max(box[i][0], box[j][0]), yy1 = py_max(box[i][1], box[j][1]);
            float xx2 = py_min(box[i][2], box[j][2]), yy2 = py_min(box[i][3], box[j][3]);
            float w = py_max(0.0f, xx2 - xx1), h = py_max(0.0f, yy2 - yy1);
            float inter = w * h;
            float ovr = inter / (area[i] + area[j] - inter);
            if ((double)ovr > (double)iou) suppressed[j] = 1;
        }
    }
    free(box);
    free(area);
    free(order);
    free(suppressed);
    return kept;
}

// ---- locality ----------------------------------------------------------------------

static int is_one_of(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return 1;
    return 0;
}

// determine_position's soft score along one axis: `along` must have the
// wanted sign (checked by the caller) and dominate `across`.
static float axis_score(float along, float across, float iou, float iou_threshold) {
    if (!(fabsf(along) > fabsf(across))) return 0;
    if (iou < iou_threshold) return 1;
    // torch evaluates 0.1 / iou as iou.reciprocal() * 0.1 (Tensor.__rtruediv__)
    if (iou >= iou_threshold) return (1.0f / iou) * iou_threshold;
    return 0;  // NaN IoU (two empty boxes): neither branch, score stays 0
}

// The fixed 'near': gap between the boxes against near_threshold x the mean
// box side (header, BC_DET_FIX_NEAR).
static float near_score_fixed(const float b1[4], const float b2[4], float dx, float dy, float near_threshold) {
    float w1 = b1[2] - b1[0], h1 = b1[3] - b1[1], w2 = b2[2] - b2[0], h2 = b2[3] - b2[1];
    float gap_x = fmaxf(0.0f, fabsf(dx) - (w1 + w2) / 2);
    float gap_y = fmaxf(0.0f, fabsf(dy) - (h1 + h2) / 2);
    float gap = sqrtf(gap_x * gap_x + gap_y * gap_y);
    float allowed = near_threshold * (w1 + h1 + w2 + h2) / 4;
    if (gap <= allowed) return 1;
    return allowed / gap;
}

float bc_det_locality_score(const char *locality, const float b1[4], const float b2[4], const bc_det_options *opt) {
    static const char *const near[] = {"next to", "on side of", "near", NULL};
    static const char *const right[] = {"on the right of", "right of", NULL};
    static const char *const left[] = {"on the left of", "left of", NULL};
    static const char *const below[] = {"on the bottom of", "below", NULL};
    static const char *const top[] = {"on the top of", "top of", NULL};
    static const char *const above[] = {"above", "on top of", NULL};  // BC_DET_FIX_ABOVE
    if (!locality) return 0;

    // Centres, distances and IoU in float32, in determine_position's order.
    float c1x = (b1[0] + b1[2]) / 2, c1y = (b1[1] + b1[3]) / 2;
    float c2x = (b2[0] + b2[2]) / 2, c2y = (b2[1] + b2[3]) / 2;
    float dx = c2x - c1x, dy = c2y - c1y;  // y down: dy > 0 means obj1 is higher
    float x_overlap = py_max(0.0f, py_min(b1[2], b2[2]) - py_max(b1[0], b2[0]));
    float y_overlap = py_max(0.0f, py_min(b1[3], b2[3]) - py_max(b1[1], b2[1]));
    float inter = x_overlap * y_overlap;
    float area1 = (b1[2] - b1[0]) * (b1[3] - b1[1]);
    float area2 = (b2[2] - b2[0]) * (b2[3] - b2[1]);
    float iou = inter / (area1 + area2 - inter);
    float thr = opt->iou_threshold;

    if (is_one_of(locality, near)) {
        if (opt->fixes & BC_DET_FIX_NEAR) return near_score_fixed(b1, b2, dx, dy, opt->near_threshold);
        float t = T2I_R1_DISTANCE_THRESHOLD;
        if (fabsf(dx) < t || fabsf(dy) < t) return 1;
        float far = py_max(fabsf(dx), fabsf(dy));
        return (1.0f / far) * t;
    }
    if (is_one_of(locality, right)) return dx < 0 ? axis_score(dx, dy, iou, thr) : 0;
    if (is_one_of(locality, left)) return dx > 0 ? axis_score(dx, dy, iou, thr) : 0;
    if (is_one_of(locality, below)) return dy < 0 ? axis_score(dy, dx, iou, thr) : 0;
    if (is_one_of(locality, top) || ((opt->fixes & BC_DET_FIX_ABOVE) && is_one_of(locality, above)))
        return dy > 0 ? axis_score(dy, dx, iou, thr) : 0;
    return 0;  // any other locality
}

// ---- the three scores -------------------------------------------------------------

// get_object_score: each noun found among the labels adds 1/len(nouns).
static double object_score(const bc_det_query *q, const pred *p, int np) {
    double weight = 1.0 / q->n_nouns, score = 0;
    for (int i = 0; i < q->n_nouns; i++)
        if (label_found(p, np, q->nouns[i])) score += weight;
    return score;
}

// get_numeracy_score.
static double numeracy_score(const bc_det_query *q, const pred *p, int np, const bc_det_options *opt) {
    if (q->n_num <= 0) return 0;  // T2I-R1: 1 / len(None or []) raises
    bc_detection *boxes = bc_malloc((size_t)(np ? np : 1) * sizeof *boxes);  // [np] this item's boxes
    int *keep = bc_malloc((size_t)(np ? np : 1) * sizeof *keep);               // [np]
    double weight = 1.0 / q->n_num, score = 0;
    for (int i = 0; i < q->n_num; i++) {
        int m = 0;
        for (int k = 0; k < np; k++)
            if (str_eq(p[k].label, q->num_names[i])) boxes[m++] = p[k].det;
        if (m == 0) continue;
        int kept = bc_det_nms(boxes, m, opt->nms_iou, !(opt->fixes & BC_DET_FIX_NMS), keep);
        score += kept == q->num_counts[i] ? 1 * weight : 0.2 * weight;
    }
    free(boxes);
    free(keep);
    return score;
}

// The first highest-scoring prediction labelled name (torch.argmax).
static const pred *best_pred(const pred *p, int np, const char *name) {
    const pred *best = NULL;
    for (int k = 0; k < np; k++)
        if (str_eq(p[k].label, name) && (!best || p[k].det.score > best->det.score)) best = &p[k];
    return best;
}

// get_spatial_score, with the try/except of __call__ around it.
static double spatial_score(const bc_det_query *q, const pred *p, int np, const bc_det_options *opt) {
    if (!q->obj1) return 0;  // spatial_info None: TypeError, caught -> 0
    double score = 0;
    if (label_found(p, np, q->obj1)) score += 0.2;  // object appearance score
    if (label_found(p, np, q->obj2)) score += 0.2;
    if (score != 0.4) return score;  // 0.2 + 0.2 == 0.4 exactly in double, as in Python
    // obj1 == obj2: get_nms_boxes puts every box in obj1's list (if/elif),
    // torch.stack([]) of obj2's raises, and the except gives 0. A missing
    // locality raises a KeyError at the same point.
    if (strcmp(q->obj1, q->obj2) == 0 || !q->locality) return 0;
    float b1[4], b2[4];
    to_corners(&best_pred(p, np, q->obj1)->det, b1);
    to_corners(&best_pred(p, np, q->obj2)->det, b2);
    return score + (double)bc_det_locality_score(q->locality, b1, b2, opt) / 2;
}

double bc_det_reward(const bc_det_query *q, const char **phrases, int n_phrases, const bc_detection *d, int n,
                     const bc_det_options *opt) {
    if (q->n_nouns == 0) return 1;  // "if no nouns in the prompt, skip with reward is 1"
    int np;
    char **labels;
    pred *p = make_preds(q, phrases, n_phrases, d, n, opt, &np, &labels);
    double score;
    if (str_eq(q->task_type, "spatial"))
        score = spatial_score(q, p, np, opt);
    else if (str_eq(q->task_type, "numeracy"))
        score = numeracy_score(q, p, np, opt);
    else
        score = object_score(q, p, np);
    if (labels) {
        for (int i = 0; i < q->n_nouns; i++) free(labels[i]);
        free(labels);
    }
    free(p);
    return score;
}
