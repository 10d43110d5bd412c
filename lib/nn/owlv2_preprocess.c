// owlv2_preprocess.c: OWLv2's image preprocessing (reward-models-spec.md §4.2),
// exact against transformers' Owlv2ImageProcessorPil, which is the original
// (scenic / skimage.transform.resize) recipe:
//   uint8 -> float32 (v · rescale_factor, computed in double as numpy does)
//   -> pad bottom/right with 0 to max(w, h) square
//   -> resize to S×S: scipy.ndimage.gaussian_filter(σ = max(0, (in/out − 1)/2)
//      per axis, truncate 4, mode "mirror") then scipy.ndimage.zoom(order=1,
//      mode="mirror", grid_mode=True), clipped to the padded input's min/max
//   -> (x − mean)/std in float32, channel-first.
// For T2I-R1's 384² images going to 960² there is no gaussian (upscaling) and
// the resize is plain bilinear with half-pixel centres and mirrored edges.
//
// scipy computes each filter pass and each interpolated value in double and
// stores float32; we do the same, so values agree to the last bit except for
// rare double-rounding ties.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owlv2.h"

// scipy's "mirror" extension (d c b | a b c d | c b a): index i of a line of n.
static long mirror_index(long i, long n) {
    if (n <= 1) return 0;
    long period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

// scipy's map_coordinate for mode mirror: a coordinate outside [0, n-1]
// folded back in (the interpolation below then mirrors the indices it needs).
static double mirror_coordinate(double c, long n) {
    if (n <= 1) return 0;
    double period = 2.0 * (double)(n - 1);
    if (c < 0) {
        c = period * (double)(long)(-c / period) + c;
        c = c <= (double)(1 - n) ? c + period : -c;
    } else if (c > (double)(n - 1)) {
        c -= period * (double)(long)(c / period);
        if (c >= (double)n) c = period - c;
    }
    return c;
}

// scipy.ndimage.gaussian_filter1d along one axis of img, in place: `count`
// lines of `n` samples `stride` floats apart; line l starts at
// (l / inner)·outer + l % inner. Weights exp(−x²/(2σ²)) normalised, radius
// int(4σ + 0.5).
static void gaussian_pass(float *img, int n, long stride, int count, long inner, long outer, double sigma) {
    int radius = (int)(4.0 * sigma + 0.5);
    double *wt = bc_malloc((size_t)(radius + 1) * sizeof *wt);  // [radius + 1]: w[0] centre, w[j] = w[-j]
    double sum = 0, k = -0.5 / (sigma * sigma);
    for (int j = -radius; j <= radius; j++) sum += exp(k * (double)j * (double)j);
    for (int j = 0; j <= radius; j++) wt[j] = exp(k * (double)j * (double)j) / sum;
    double *line = bc_malloc((size_t)(n + 2 * radius) * sizeof *line);  // [radius | n | radius]
    for (int l = 0; l < count; l++) {
        float *p = img + (l / inner) * outer + l % inner;
        for (int i = -radius; i < n + radius; i++) line[i + radius] = p[mirror_index(i, n) * stride];
        for (int i = 0; i < n; i++) {
            const double *c = line + i + radius;
            // NI_Correlate1D's symmetric-kernel sum: centre, then pairs
            double t = c[0] * wt[0];
            for (int j = 1; j <= radius; j++) t += (c[-j] + c[j]) * wt[j];
            p[i * stride] = (float)t;
        }
    }
    free(line);
    free(wt);
}

// Linear interpolation positions of one axis: for each output index, the two
// input indices and the weight of the second (scipy zoom, grid_mode).
typedef struct {
    long i0, i1;
    double t;
} tap_t;

static tap_t *axis_taps(int n_in, int n_out) {
    tap_t *taps = bc_malloc((size_t)n_out * sizeof *taps);
    double zoom = (double)n_in / (double)n_out;
    for (int k = 0; k < n_out; k++) {
        double c = mirror_coordinate(((double)k + 0.5) * zoom - 0.5, n_in);
        double start = floor(c);
        taps[k].t = c - start;
        taps[k].i0 = mirror_index((long)start, n_in);
        taps[k].i1 = mirror_index((long)start + 1, n_in);
    }
    return taps;
}

void bc_owlv2_resize(const float *img, int w, int h, int C, int out_w, int out_h, float *out) {
    size_t n = (size_t)w * (size_t)h * (size_t)C;
    float lo = img[0], hi = img[0];  // _clip_warp_output: the input's range
    for (size_t i = 1; i < n; i++) {
        if (img[i] < lo) lo = img[i];
        if (img[i] > hi) hi = img[i];
    }
    // anti-aliasing: σ per axis from the scale factor, 0 (skipped) when growing
    double sy = fmax(0.0, ((double)h / out_h - 1.0) / 2.0), sx = fmax(0.0, ((double)w / out_w - 1.0) / 2.0);
    float *filtered = bc_malloc(n * sizeof *filtered);  // [h, w, C]
    memcpy(filtered, img, n * sizeof *filtered);
    // scipy filters axis 0 (along y: one line per (x, c)) first, then axis 1
    // (along x: one line per (y, c))
    long row = (long)w * C;
    if (sy > 1e-15) gaussian_pass(filtered, h, row, w * C, row, 0, sy);
    if (sx > 1e-15) gaussian_pass(filtered, w, C, h * C, C, row, sx);
    tap_t *ty = axis_taps(h, out_h), *tx = axis_taps(w, out_w);
    for (int y = 0; y < out_h; y++) {
        const float *r0 = filtered + (size_t)ty[y].i0 * w * C, *r1 = filtered + (size_t)ty[y].i1 * w * C;
        double wy0 = 1.0 - ty[y].t, wy1 = ty[y].t;
        for (int x = 0; x < out_w; x++) {
            double wx0 = 1.0 - tx[x].t, wx1 = tx[x].t;
            size_t a = (size_t)tx[x].i0 * C, b = (size_t)tx[x].i1 * C;
            for (int c = 0; c < C; c++) {
                double v = r0[a + c] * wy0 * wx0 + r0[b + c] * wy0 * wx1 + r1[a + c] * wy1 * wx0 +
                           r1[b + c] * wy1 * wx1;
                float f = (float)v;
                out[((size_t)y * out_w + x) * C + c] = f < lo ? lo : f > hi ? hi : f;
            }
        }
    }
    free(tx);
    free(ty);
    free(filtered);
}

void bc_owlv2_preprocess(const bc_owlv2 *m, const uint8_t *rgb, int w, int h, float *chw) {
    const bc_owlv2_config *c = bc_owlv2_config_of(m);
    int S = c->image_size;
    int pw = c->do_pad && h > w ? h : w, ph = c->do_pad && w > h ? w : h;  // padded size
    float *padded = bc_calloc((size_t)pw * (size_t)ph * 3, sizeof *padded);  // [ph, pw, 3], 0 = the pad
    float *resized = bc_malloc((size_t)S * (size_t)S * 3 * sizeof *resized);  // [S, S, 3]
    double scale = c->do_rescale ? c->rescale_factor : 1.0;
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w * 3; i++)
            padded[(size_t)y * pw * 3 + i] = (float)(rgb[(size_t)y * w * 3 + i] * scale);
    bc_owlv2_resize(padded, pw, ph, 3, S, S, resized);
    for (int ch = 0; ch < 3; ch++) {
        // numpy normalises in the image's dtype: mean and std cast to float32
        float mean = c->do_normalize ? (float)c->mean[ch] : 0.0f, std = c->do_normalize ? (float)c->std[ch] : 1.0f;
        float *plane = chw + (size_t)ch * S * S;
        for (size_t i = 0; i < (size_t)S * S; i++) plane[i] = (resized[i * 3 + ch] - mean) / std;
    }
    free(resized);
    free(padded);
}
