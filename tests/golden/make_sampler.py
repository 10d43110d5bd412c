#!/usr/bin/env python3
"""Reference draws for lib/nn/sample.c, made with transformers' own logits
warpers (TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, in the
order generate() applies them) and an inverse-CDF draw from a uniform number u
that the C test hands to its sampler too ("the same RNG stream to both").

Writes tests/golden/sampler/cases.json (settings, u values, expected token and
its log-probability under the warped distribution, and the plain
log-softmax) and logits_<n>.f32 (raw little-endian float32 logits).
Run: python3 tests/golden/make_sampler.py
"""
import json, os
import numpy as np
import torch
from transformers.generation.logits_process import (TemperatureLogitsWarper, TopKLogitsWarper,
                                                    TopPLogitsWarper)

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sampler")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(1234)
cases = []
for n, scale in [(50, 3.0), (1000, 2.0), (16384, 4.0)]:
    logits = (rng.standard_normal(n) * scale).astype(np.float32)
    logits.tofile(os.path.join(here, f"logits_{n}.f32"))
    for temperature, top_k, top_p in [(1.0, 0, 1.0), (0.7, 0, 1.0), (1.0, 50, 1.0), (1.0, 0, 0.9),
                                      (1.3, 20, 0.8), (1.0, 1, 1.0), (0.5, 0, 0.3)]:
        scores = torch.from_numpy(logits).unsqueeze(0)
        if temperature != 1.0:
            scores = TemperatureLogitsWarper(temperature)(None, scores)
        if top_k > 0:
            scores = TopKLogitsWarper(top_k)(None, scores)
        if top_p < 1.0:
            scores = TopPLogitsWarper(top_p)(None, scores)
        warped = scores[0].double()
        probs = torch.softmax(warped, dim=-1)
        logp_all = torch.log_softmax(warped, dim=-1)
        cdf = torch.cumsum(probs, dim=-1)
        draws = []
        for u in rng.random(8).tolist():
            idx = int(torch.searchsorted(cdf, torch.tensor([u * float(cdf[-1])], dtype=torch.float64), right=True)[0])
            idx = min(idx, n - 1)
            draws.append({"u": u, "token": idx, "logp": float(logp_all[idx])})
        kept = int((probs > 0).sum())
        cases.append({"n": n, "temperature": temperature, "top_k": top_k, "top_p": top_p,
                      "kept": kept, "draws": draws})
    ls = torch.log_softmax(torch.from_numpy(logits).double() / 0.8, dim=-1)
    cases.append({"n": n, "log_softmax_temperature": 0.8,
                  "log_softmax": {str(i): float(ls[i]) for i in [0, n // 3, n - 1]}})
json.dump({"cases": cases}, open(os.path.join(here, "cases.json"), "w"), indent=1)
print("wrote", here)
