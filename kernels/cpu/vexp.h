// vexp.h: e^x in plain float arithmetic that compilers vectorise (libm's
// expf is one call per element), for the softmax of attention and SiLU.
//
// x = n·ln2 + r with n = round(x·log2 e) and |r| <= ln2/2 (ln2 in two parts,
// the first exact: Cody & Waite), e^r by Cephes' expf polynomial (relative
// error ~1e-7), times 2ⁿ built in the exponent bits. x is first clamped to
// [−87, 88] on its bits (a float select can stop a loop from vectorising),
// which keeps 2ⁿ a normal float (n in [−126, 127]): e^x below e^−87
// (~1.6e-38) comes out as e^−87 and above e^88 as e^88 (~1.7e38), which
// neither a softmax weight nor SiLU can tell from the true value. Round to nearest is done with the
// shifter 1.5·2²³: its low mantissa bits then hold n, read back as bits (a
// float-to-int conversion would also block vectorisation under
// -ftrapping-math).
#ifndef BICOT_VEXP_H
#define BICOT_VEXP_H

#include <stdint.h>
#include <string.h>

static inline float bc_vexp(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    // negative floats order by their bits reversed: x < −87 <=> u > bits(−87)
    if (u > 0xc2ae0000u) u = 0xc2ae0000u;                          // −87.0f
    if (u < 0x80000000u && u > 0x42b00000u) u = 0x42b00000u;      // 88.0f
    memcpy(&x, &u, sizeof x);
    const float shifter = 12582912.0f;  // 1.5·2²³
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    uint32_t tbits;
    memcpy(&tbits, &t, sizeof tbits);
    float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    // tbits = 0x4B400000 + n: adding the bias and shifting pushes the
    // shifter's bits out and leaves n + 127 (in [1, 254]) as the exponent.
    uint32_t bits = (tbits + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return (p * r * r + r + 1.0f) * scale;
}

#endif
