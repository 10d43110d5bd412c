#!/usr/bin/env python3
"""The polynomial of kernels/cpu/softmax.c's 2^r on [-1/2, 1/2].

p(r) = 1 + r*(c1 + c2 r + ... + c6 r^5), the constant 1 exact (so a key
at the running max weighs exactly 1), with the least largest relative
error: Lawson's iteratively reweighted least squares on a dense grid
converges to the minimax fit. Prints the float32 coefficients and the
error of the fit in exact arithmetic and evaluated in float32 by Horner's
rule with fused multiply-adds rounded as the kernel does (numpy rounds
each step, so this is an upper bound of the fused form).

    python3 tests/golden/fit_exp2.py [degree]   (default 6)
"""
import sys

import numpy as np

deg = int(sys.argv[1]) if len(sys.argv) > 1 else 6
r = np.linspace(-0.5, 0.5, 20001)
f = 2.0**r
A = np.stack([r**k for k in range(1, deg + 1)], 1) / f[:, None]  # relative error: divide by f
b = (f - 1) / f
w = np.ones_like(r)
for _ in range(200):
    sw = np.sqrt(w)
    c, *_ = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)
    w = w * np.abs(A @ c - b)
    w /= w.sum()
cf = [np.float32(x) for x in c]
rr = r.astype(np.float32)
p = cf[-1]
for k in range(deg - 2, -1, -1):
    p = (p * rr + cf[k]).astype(np.float32)
p = (p * rr + np.float32(1)).astype(np.float32)
print("coefficients c1..c%d:" % deg, ", ".join("%.8e" % x for x in cf))
print("largest relative error: %.2e exact, %.2e in float32" % (np.max(np.abs(A @ c - b)),
                                                              np.max(np.abs(p.astype(np.float64) - f) / f)))
