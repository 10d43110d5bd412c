#!/usr/bin/env python3
"""Makes tests/golden/det_reward/cases.json: hand-made detection lists and the rewards
T2I-R1's own reward code gives them, for lib/reward/det_reward.c.

    python3 tests/golden/make_det_reward.py [T2I-R1 git dir or checkout]
        (from the repository root; default /work/.mirror/CaraJ7+T2I-R1/repo, a bare git
         dir of github.com/CaraJ7/T2I-R1; needs torch and numpy, no GPU, no weights)

How the compat numbers are made (they never come from our C):
  - src/t2i-r1/src/utils/reward_gdino.py is exec'd as it is. The GDino object is made
    without __init__ (no checkpoint) and its real __call__ runs: the no-nouns check, the
    task dispatch, the try/except around the spatial score, get_grounding_output in
    given-phrase mode (its real span -> phrase slicing and its real `> box_threshold`
    filter), get_object_score / get_numeracy_score / get_spatial_score /
    determine_position.
  - The detection prompt comes from make_detection_prompt of src/t2i-r1/src/open_r1/
    grpo.py, extracted with ast and exec'd alone (grpo.py imports the trainer).
  - Mocked: the GroundingDINO model, its tokenizer and create_positive_map_from_span.
    Each of our detections becomes one GroundingDINO query; its probability for noun
    span j is the detection's score when nouns[j] is the detection's phrase, else 0;
    create_positive_map_from_span returns one-hot rows (span j -> column j), so
    positive_maps @ logits.T hands each span exactly those scores. This is the mapping
    lib/reward/det_reward.h documents (detections of phrases that are not nouns
    reach no span, as in T2I-R1).
  - torchvision is not installed: torchvision.ops.nms is replaced by
    torchvision_nms() below, a line-by-line reimplementation of torchvision's CPU kernel
    (torchvision/csrc/ops/cpu/nms_kernel.cpp; the CUDA kernel T2I-R1 ran computes the
    same float32 IoU and the same greedy pass), in float32 numpy.
  - Cases where T2I-R1 raises outside its try (numeracy without numeracy_info) are
    marked "t2i_r1_raises"; the value expected of us there is our documented 0.

The fixed-mode values (every BC_DET_FIX_* bit) are computed by hand below, each with a
comment. A case lists the bits that change its value ("bits") and the expected value for
every subset of them ("expect", keyed by the mask as a decimal string): the C test runs
all 16 masks and looks up mask & bits, so a bit that changed another defect's numbers
would fail.

Output: {"phrases_rule": ..., "cases": [{"name", "query": {task_type, nouns,
spatial_info, numeracy_info}, "phrases": [...], "detections": [[cx, cy, w, h, score,
phrase index]], "bits", "expect": {mask: reward}, "t2i_r1_raises"?}],
"nms": [{"boxes": [[a, b, c, d, score]], "iou", "xyxy_keep": [...], "cxcywh_as_xyxy_keep":
[...]}]}
"""
import ast
import json
import math
import os
import subprocess
import sys
import types

import numpy as np
import torch

REPO = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/CaraJ7+T2I-R1/repo"
OUT = "tests/golden/det_reward/cases.json"

FIX_ABOVE, FIX_NEAR, FIX_NMS, FIX_PHRASE = 1, 2, 4, 8


def t2i_r1_source(path):
    if os.path.isdir(os.path.join(REPO, "src")):
        return open(os.path.join(REPO, path)).read()
    return subprocess.run(["git", "--git-dir", REPO, "show", "HEAD:" + path], check=True,
                          capture_output=True, text=True).stdout


# ---- torchvision.ops.nms: faithful reimplementation (torchvision is not installed) -------
# torchvision/csrc/ops/cpu/nms_kernel.cpp, nms_kernel_impl<float>:
#   areas = (x2 - x1) * (y2 - y1)                        (float32, no +1)
#   order = scores.sort(stable=True, descending=True)
#   for each i in order not suppressed: keep i; for each later j not suppressed:
#     xx1 = max(ix1, x1[j]) ... w = max(0, xx2 - xx1), h = max(0, yy2 - yy1)
#     inter = w * h; ovr = inter / (iarea + areas[j] - inter)
#     if ovr > iou_threshold: suppress j
# std::max(a, b) is (a < b) ? b : a, std::min(a, b) is (b < a) ? b : a.
def torchvision_nms(boxes, scores, iou_threshold):
    b = boxes.detach().cpu().numpy().astype(np.float32)
    s = scores.detach().cpu().numpy().astype(np.float32)
    f = np.float32
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = ((x2 - x1) * (y2 - y1)).astype(np.float32)
    order = sorted(range(len(s)), key=lambda k: -float(s[k]))  # Python's sort is stable
    suppressed = [False] * len(s)
    keep = []
    smax = lambda a, c: c if a < c else a
    smin = lambda a, c: c if c < a else a
    with np.errstate(all="ignore"):
        for oi, i in enumerate(order):
            if suppressed[i]:
                continue
            keep.append(i)
            for j in order[oi + 1:]:
                if suppressed[j]:
                    continue
                xx1, yy1 = smax(x1[i], x1[j]), smax(y1[i], y1[j])
                xx2, yy2 = smin(x2[i], x2[j]), smin(y2[i], y2[j])
                w, h = smax(f(0), f(xx2 - xx1)), smax(f(0), f(yy2 - yy1))
                inter = f(w * h)
                ovr = f(inter / f(f(areas[i] + areas[j]) - inter))
                if float(ovr) > iou_threshold:
                    suppressed[j] = True
    return torch.tensor(keep, dtype=torch.long)
# ---- end of the nms reimplementation ------------------------------------------------------


def load_t2i_r1():
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    positive_map = {}

    def create_positive_map_from_span(tokenized, token_span):
        # one-hot: span j reads query probabilities column j
        m = torch.zeros(len(token_span), 256)
        for j in range(len(token_span)):
            m[j, j] = 1
        return m

    module("groundingdino")
    module("groundingdino.datasets")
    module("groundingdino.datasets.transforms")
    module("groundingdino.models", build_model=None)
    module("groundingdino.util", box_ops=None)
    module("groundingdino.util.slconfig", SLConfig=None)
    module("groundingdino.util.utils", clean_state_dict=None, get_phrases_from_posmap=None)
    module("groundingdino.util.vl_utils", create_positive_map_from_span=create_positive_map_from_span)
    module("torchvision")
    module("torchvision.ops", nms=torchvision_nms)
    ns = {"__name__": "reward_gdino"}
    exec(compile(t2i_r1_source("src/t2i-r1/src/utils/reward_gdino.py"), "reward_gdino.py", "exec"), ns)

    grpo = ast.parse(t2i_r1_source("src/t2i-r1/src/open_r1/grpo.py"))
    fn = [n for n in grpo.body if isinstance(n, ast.FunctionDef) and n.name == "make_detection_prompt"][0]
    gns = {}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "grpo.py", "exec"), gns)
    return ns["GDino"], gns["make_detection_prompt"]


GDino, make_detection_prompt = load_t2i_r1()


class FakeLogits:
    """outputs['pred_logits'] whose .sigmoid() gives the probabilities we chose exactly."""

    def __init__(self, probs):
        self.probs = probs

    def sigmoid(self):
        return self.probs[None]


class FakeModel:
    def __init__(self):
        self.tokenizer = lambda caption: None
        self.probs = self.boxes = None

    def parameters(self):
        return iter([torch.zeros(1)])

    def __call__(self, image, captions):
        return {"pred_logits": FakeLogits(self.probs), "pred_boxes": self.boxes[None]}


def make_gdino():
    g = GDino.__new__(GDino)  # no __init__: no config, no checkpoint
    g.box_threshold = 0.3
    g.text_threshold = None
    g.transform = lambda image, target: (torch.zeros(3, 2, 2), None)
    g.model = FakeModel()
    g.device = "cpu"
    return g


GD = make_gdino()


def phrases_of(q):
    """bc_det_phrases: nouns, obj1, obj2, numeracy names; deduplicated, in that order."""
    out = []
    names = list(q["nouns"] or [])
    if q.get("spatial_info"):
        names += [q["spatial_info"]["obj1"], q["spatial_info"]["obj2"]]
    for item in q.get("numeracy_info") or []:
        names.append(item["obj_name"])
    for n in names:
        if n is not None and n not in out:
            out.append(n)
    return out


def t2i_r1_reward(q, dets):
    """T2I-R1's GDino.__call__ on one image whose detector output is `dets`."""
    nouns = q["nouns"]
    nq = max(len(dets), 1)
    probs = torch.zeros(nq, 256, dtype=torch.float32)
    boxes = torch.zeros(nq, 4, dtype=torch.float32)
    for k, (name, cx, cy, w, h, s) in enumerate(dets):
        boxes[k] = torch.tensor([cx, cy, w, h], dtype=torch.float32)
        for j, noun in enumerate(nouns):
            if noun == name:
                probs[k, j] = s
    GD.model.probs, GD.model.boxes = probs, boxes
    text_prompt, token_spans = make_detection_prompt(nouns)
    kwargs = dict(task_type=[q.get("task_type")], nouns=[nouns], spatial_info=[q.get("spatial_info")],
                  numeracy_info=[q.get("numeracy_info")],
                  det_prompt=[{"text_prompt": text_prompt, "token_spans": token_spans}])
    try:
        with open(os.devnull, "w") as null:  # __call__ prints on a spatial failure
            saved, sys.stdout = sys.stdout, null
            try:
                return float(GD(prompts=[q.get("prompt", "")], images=[None], **kwargs)[0]), False
            finally:
                sys.stdout = saved
    except Exception as e:  # outside T2I-R1's own try: a crash of its training loop
        print(f"  T2I-R1 raises {type(e).__name__}: {e}")
        return None, True


cases = []


def case(name, q, dets, expect, bits=0, note=None):
    """expect: {mask: value} for the masks other than 0 (mask 0 comes from T2I-R1)."""
    q = dict(q)
    q.setdefault("task_type", None)
    q.setdefault("spatial_info", None)
    q.setdefault("numeracy_info", None)
    compat, raises = t2i_r1_reward(q, dets)
    phrases = phrases_of(q)
    det_rows = [[cx, cy, w, h, s, phrases.index(n)] for (n, cx, cy, w, h, s) in dets]
    want = {"0": 0.0 if raises else compat}
    for mask, v in expect.items():
        want[str(mask)] = v
    # every subset of `bits` must be given
    for m in range(16):
        if m & ~bits == 0 and str(m) not in want:
            raise SystemExit(f"{name}: no expectation for mask {m}")
    c = {"name": name, "query": q, "phrases": phrases, "detections": det_rows, "bits": bits, "expect": want}
    if raises:
        c["t2i_r1_raises"] = True
    if note:
        c["note"] = note
    cases.append(c)
    print(f"{name:40s} compat {want['0']!r:22} " + " ".join(f"{k}:{v:.6g}" for k, v in want.items() if k != "0"))


def same(v):
    """Cases no bit changes: T2I-R1's value holds for every mask (bits = 0)."""
    return {}


# ---- object score --------------------------------------------------------------------------
# weight 1/len(nouns) per noun found among the labels. Labels: T2I-R1's span text.
case("object: one of two", {"task_type": "color", "nouns": ["cat", "dog"]},
     [("cat", .3, .3, .2, .2, .5)], same(0))
case("object: all three", {"task_type": "object", "nouns": ["cat", "dog", "bird"]},
     [("cat", .3, .3, .2, .2, .5), ("dog", .6, .6, .2, .2, .9), ("bird", .1, .1, .1, .1, .31)], same(0))
case("object: none found", {"task_type": "non", "nouns": ["cat", "dog"]}, [], same(0))
# 0.3f is not > 0.3f (float32 comparison): dropped; 0.31 kept
case("object: score at threshold", {"task_type": "shape", "nouns": ["cat", "dog"]},
     [("cat", .3, .3, .2, .2, .3), ("dog", .3, .3, .2, .2, .31)], same(0))
case("object: below threshold", {"task_type": "texture", "nouns": ["cat"]},
     [("cat", .3, .3, .2, .2, .29)], same(0))
case("object: task_type absent", {"nouns": ["cat", "dog"]}, [("dog", .5, .5, .2, .2, .8)], same(0))
# 'complex' with spatial_info still takes the object score
case("object: complex with spatial_info",
     {"task_type": "complex", "nouns": ["cat", "dog", "sofa"],
      "spatial_info": {"obj1": "cat", "obj2": "dog", "locality": "left of"}},
     [("cat", .25, .5, .2, .2, .9), ("dog", .75, .5, .2, .2, .9)], same(0))
case("object: two-word noun", {"task_type": "color", "nouns": ["teddy bear", "cat"]},
     [("teddy bear", .5, .5, .3, .3, .7)], same(0))
# T2I-R1 labels "toy train set" "toy set": never found (0 of 1). FIX_PHRASE: found (1).
case("object: three-word noun", {"task_type": "color", "nouns": ["toy train set"]},
     [("toy train set", .5, .5, .3, .3, .7)], {FIX_PHRASE: 1.0}, FIX_PHRASE)
# labels collide: "toy train set" -> "toy set", which is the second noun: T2I-R1 counts
# "toy set" found (1/2) though only the train set was detected. FIX_PHRASE: the train set
# is found, "toy set" is not: also 1/2.
case("object: label collision", {"task_type": "color", "nouns": ["toy train set", "toy set"]},
     [("toy train set", .5, .5, .3, .3, .7)], {FIX_PHRASE: 0.5}, FIX_PHRASE)
# double space: T2I-R1's label is "teddy bear" != "teddy  bear": 0. FIX_PHRASE: 1.
case("object: double space in noun", {"task_type": "color", "nouns": ["teddy  bear"]},
     [("teddy  bear", .5, .5, .3, .3, .7)], {FIX_PHRASE: 1.0}, FIX_PHRASE)
# a leading space shifts the spans of every later noun: T2I-R1 labels " ca" and "t ."
# (slices of " cat . dog.") and finds nothing. FIX_PHRASE: both found: 1.
case("object: leading space shifts spans", {"task_type": "color", "nouns": [" cat", "dog"]},
     [(" cat", .5, .5, .3, .3, .7), ("dog", .2, .2, .1, .1, .7)], {FIX_PHRASE: 1.0}, FIX_PHRASE)
case("object: duplicate nouns", {"task_type": "color", "nouns": ["cat", "cat", "dog"]},
     [("cat", .5, .5, .3, .3, .7)], {FIX_PHRASE: 2 / 3}, FIX_PHRASE)
case("object: no nouns", {"task_type": "color", "nouns": []}, [], same(0))
case("object: no nouns, spatial", {"task_type": "spatial", "nouns": [],
                                    "spatial_info": {"obj1": "cat", "obj2": "dog", "locality": "left of"}},
     [], same(0))

# ---- numeracy --------------------------------------------------------------------------------
# Three well separated cats. As xyxy (FIX_NMS) they are disjoint: 3 kept. As cxcywh read
# as xyxy (T2I-R1), x2 = w = 0.1 < x1 = cx: negative areas, zero intersections, IoU -0:
# nothing suppressed either: 3.
three = [("cat", .2, .5, .1, .1, .9), ("cat", .5, .5, .1, .1, .8), ("cat", .8, .5, .1, .1, .7)]
case("numeracy: exact", {"task_type": "numeracy", "nouns": ["cat"], "numeracy_info": [{"obj_name": "cat", "num": 3}]},
     three, same(0))
case("numeracy: wrong count", {"task_type": "numeracy", "nouns": ["cat"],
                                "numeracy_info": [{"obj_name": "cat", "num": 4}]}, three, same(0))
case("numeracy: none", {"task_type": "numeracy", "nouns": ["cat"],
                         "numeracy_info": [{"obj_name": "cat", "num": 2}]}, [], same(0))
# A duplicate: the first two boxes are the same cat (xyxy IoU = 0.09/0.11 = 0.82 > 0.5).
# FIX_NMS: 2 kept == num -> 1. T2I-R1 (negative areas): 3 kept != 2 -> 0.2.
dup = [("cat", .2, .5, .1, .1, .9), ("cat", .21, .5, .1, .1, .8), ("cat", .8, .5, .1, .1, .7)]
case("numeracy: duplicate suppressed", {"task_type": "numeracy", "nouns": ["cat"],
                                        "numeracy_info": [{"obj_name": "cat", "num": 2}]},
     dup, {FIX_NMS: 1.0}, FIX_NMS)
# The other way: two big boxes at the top left, cx < w. Read as xyxy: [0.3,0.3,0.6,0.6]
# and [0.35,0.35,0.6,0.6]: IoU 0.0625/0.09 = 0.69 > 0.5, one suppressed: 1 kept == num 1
# -> 1. As corners: [0,0,0.6,0.6] and [0.05,0.05,0.65,0.65]: IoU 0.3025/0.4175 = 0.72:
# also 1 kept -> 1. Both modes agree here...
case("numeracy: big boxes agree", {"task_type": "numeracy", "nouns": ["cat"],
                                   "numeracy_info": [{"obj_name": "cat", "num": 1}]},
     [("cat", .3, .3, .6, .6, .9), ("cat", .35, .35, .6, .6, .8)], same(0))
# ...and here they differ the other way: read as xyxy, [0.1,0.1,0.5,0.5] and
# [0.2,0.2,0.5,0.5] overlap 0.09 over 0.16: IoU 0.5625 > 0.5, one suppressed: 1 kept
# != 2 -> 0.2 (T2I-R1). As corners: [-0.15,-0.15,0.35,0.35] and [-0.05,-0.05,0.45,0.45]:
# IoU 0.16/0.34 = 0.47: 2 kept == 2 -> 1.0 with FIX_NMS.
case("numeracy: cxcywh vs xyxy", {"task_type": "numeracy", "nouns": ["cat"],
                                   "numeracy_info": [{"obj_name": "cat", "num": 2}]},
     [("cat", .1, .1, .5, .5, .9), ("cat", .2, .2, .5, .5, .8)], {FIX_NMS: 1.0}, FIX_NMS)
# Two items, weight 1/2: cats exact (1/2), dogs seen but 1 != 2 (0.2/2): 0.6.
case("numeracy: two items", {"task_type": "numeracy", "nouns": ["cat", "dog"],
                             "numeracy_info": [{"obj_name": "cat", "num": 2}, {"obj_name": "dog", "num": 2}]},
     [("cat", .2, .5, .1, .1, .9), ("dog", .5, .5, .1, .1, .8), ("cat", .8, .5, .1, .1, .7)], same(0))
# Equal scores: the count does not depend on which of the tied boxes is kept.
case("numeracy: tied scores", {"task_type": "numeracy", "nouns": ["cat"],
                               "numeracy_info": [{"obj_name": "cat", "num": 2}]},
     [("cat", .2, .5, .1, .1, .8), ("cat", .21, .5, .1, .1, .8), ("cat", .8, .5, .1, .1, .8)],
     {FIX_NMS: 1.0}, FIX_NMS)
# num 0: no box -> `continue` -> 0, in every mode (T2I-R1's rule kept).
case("numeracy: num 0", {"task_type": "numeracy", "nouns": ["cat"],
                         "numeracy_info": [{"obj_name": "cat", "num": 0}]}, [], same(0))
# obj_name not among the nouns: T2I-R1 never asks for it: 0. FIX_PHRASE asks: 1 box == 1.
case("numeracy: obj_name not a noun", {"task_type": "numeracy", "nouns": ["cat"],
                                       "numeracy_info": [{"obj_name": "kitten", "num": 1}]},
     [("kitten", .5, .5, .2, .2, .9)], {FIX_PHRASE: 1.0}, FIX_PHRASE)
# three-word obj_name: label "toy set" never equals "toy train set": 0; FIX_PHRASE: 1.
case("numeracy: three-word name", {"task_type": "numeracy", "nouns": ["toy train set"],
                                   "numeracy_info": [{"obj_name": "toy train set", "num": 1}]},
     [("toy train set", .5, .5, .2, .2, .9)], {FIX_PHRASE: 1.0}, FIX_PHRASE)
# duplicate nouns: T2I-R1 sees each cat twice (one copy per span); as cxcywh the copies
# never suppress each other: 2 kept != 1 -> 0.2. FIX_NMS alone: identical corner boxes
# suppress (IoU 1): 1 kept -> 1. FIX_PHRASE alone: one copy, 1 kept -> 1. Both: 1.
case("numeracy: duplicate nouns", {"task_type": "numeracy", "nouns": ["cat", "cat"],
                                   "numeracy_info": [{"obj_name": "cat", "num": 1}]},
     [("cat", .5, .5, .2, .2, .9)], {FIX_NMS: 1.0, FIX_PHRASE: 1.0, FIX_NMS | FIX_PHRASE: 1.0},
     FIX_NMS | FIX_PHRASE)
# numeracy_info missing: T2I-R1 raises outside its try (len(None)); we give 0.
case("numeracy: no numeracy_info", {"task_type": "numeracy", "nouns": ["cat"]},
     [("cat", .5, .5, .2, .2, .9)], same(0))

# ---- spatial -----------------------------------------------------------------------------------
# Layouts of obj1 = cat, obj2 = dog (cx, cy, w, h), y down. dx = c2x - c1x, dy = c2y - c1y.
LAYOUTS = {
    # cat left of dog, apart: dx 0.5, dy 0, IoU 0
    "H": ((.25, .5, .2, .2), (.75, .5, .2, .2)),
    # cat above dog: dy 0.5
    "V": ((.5, .25, .2, .2), (.5, .75, .2, .2)),
    # cat below dog: dy -0.5
    "U": ((.5, .75, .2, .2), (.5, .25, .2, .2)),
    # overlapping, cat a little left: dx 0.1, dy 0, IoU 0.06/0.12 = 0.5 -> 0.1/0.5 = 0.2
    "O": ((.45, .5, .3, .3), (.55, .5, .3, .3)),
    # far diagonal, small boxes: dx = dy = 0.8 (|dx| > |dy| false for every axis rule)
    "D": ((.1, .1, .1, .1), (.9, .9, .1, .1)),
}
# Locality scores with every fix on, by hand:
#   left: H 1, O 0.2;      right: nothing (dx >= 0 everywhere);
#   below: U 1;            top (and above/on top of with FIX_ABOVE): V 1;
#   near with FIX_NEAR (gap vs 0.5 x mean side):
#     H, V, U: gap 0.5 - 0.2 = 0.3, mean side 0.2, allowed 0.1 -> 0.1/0.3 = 1/3
#     O: overlap, gap 0 -> 1
#     D: gap sqrt(0.7^2 + 0.7^2) = 0.98995, allowed 0.05 -> 0.050508
#   T2I-R1's near (150 on normalised centres): 1 everywhere.
FIXED_POS = {
    "left": {"H": 1, "O": 0.2}, "right": {}, "below": {"U": 1}, "top": {"V": 1},
    "near": {"H": 1 / 3, "V": 1 / 3, "U": 1 / 3, "O": 1, "D": 0.05 / math.sqrt(0.98)},
}
GROUP = {"left of": "left", "on the left of": "left", "right of": "right", "on the right of": "right",
         "below": "below", "on the bottom of": "below", "on the top of": "top", "top of": "top",
         "above": "above", "on top of": "above", "near": "near", "next to": "near", "on side of": "near"}
for loc in ["left of", "on the left of", "right of", "on the right of", "below", "on the bottom of",
            "on the top of", "top of", "above", "on top of", "near", "next to", "on side of",
            "in front of", "Left of", "left  of", "behind"]:
    for lay, (b1, b2) in LAYOUTS.items():
        g = GROUP.get(loc)
        q = {"task_type": "spatial", "nouns": ["cat", "dog"],
             "spatial_info": {"obj1": "cat", "obj2": "dog", "locality": loc}}
        dets = [("cat",) + b1 + (.8,), ("dog",) + b2 + (.7,)]
        # 0.4 for the two objects + locality / 2
        if g == "above":  # T2I-R1: 0 -> 0.4; FIX_ABOVE: like top
            case(f"spatial: {loc} {lay}", q, dets, {FIX_ABOVE: 0.4 + FIXED_POS["top"].get(lay, 0) / 2}, FIX_ABOVE)
        elif g == "near":  # T2I-R1: always 1 -> 0.9; FIX_NEAR: the gap rule
            case(f"spatial: {loc} {lay}", q, dets, {FIX_NEAR: 0.4 + FIXED_POS["near"][lay] / 2}, FIX_NEAR)
        else:  # no bit changes these (unknown localities: 0 -> 0.4 in every mode)
            want = 0.4 + (FIXED_POS[g].get(lay, 0) / 2 if g else 0)
            case(f"spatial: {loc} {lay}", q, dets, {}, 0)
            assert abs(cases[-1]["expect"]["0"] - want) < 1e-6, (loc, lay, cases[-1]["expect"]["0"], want)

sp = lambda loc, **kw: {"task_type": "spatial", "nouns": kw.get("nouns", ["cat", "dog"]),
                        "spatial_info": {"obj1": kw.get("o1", "cat"), "obj2": kw.get("o2", "dog"), "locality": loc}}
case("spatial: only obj1", sp("left of"), [("cat", .25, .5, .2, .2, .8)], same(0))
case("spatial: only obj2", sp("left of"), [("dog", .25, .5, .2, .2, .8)], same(0))
case("spatial: neither", sp("left of"), [], same(0))
case("spatial: dog below threshold", sp("left of"), [("cat", .25, .5, .2, .2, .8), ("dog", .75, .5, .2, .2, .3)],
     same(0))
# obj1 == obj2: T2I-R1 raises on torch.stack([]) and its except gives 0 (every mode).
case("spatial: obj1 == obj2 detected", sp("left of", nouns=["cat"], o2="cat"),
     [("cat", .25, .5, .2, .2, .8), ("cat", .75, .5, .2, .2, .7)], same(0))
case("spatial: obj1 == obj2 one box", sp("left of", nouns=["cat"], o2="cat"), [("cat", .25, .5, .2, .2, .8)], same(0))
case("spatial: obj1 == obj2 none", sp("left of", nouns=["cat"], o2="cat"), [], same(0))
# best-scoring box per object: the 0.9 cat is left of the dog -> 0.9; swapped -> 0.4.
case("spatial: best box left", sp("left of"),
     [("cat", .9, .5, .1, .1, .5), ("cat", .1, .5, .1, .1, .9), ("dog", .5, .5, .1, .1, .8)], same(0))
case("spatial: best box right", sp("left of"),
     [("cat", .9, .5, .1, .1, .9), ("cat", .1, .5, .1, .1, .5), ("dog", .5, .5, .1, .1, .8)], same(0))
# tie: torch.argmax takes the first: the left cat -> 0.9
case("spatial: tied best box", sp("left of"),
     [("cat", .1, .5, .1, .1, .9), ("cat", .9, .5, .1, .1, .9), ("dog", .5, .5, .1, .1, .8)], same(0))
# spatial_info missing: TypeError in the try -> 0
case("spatial: no spatial_info", {"task_type": "spatial", "nouns": ["cat", "dog"]},
     [("cat", .25, .5, .2, .2, .8), ("dog", .75, .5, .2, .2, .7)], same(0))
# obj2 not among the nouns: T2I-R1 never asks for it: 0.2. FIX_PHRASE: both -> 0.9.
case("spatial: obj2 not a noun", sp("left of", nouns=["cat"]),
     [("cat", .25, .5, .2, .2, .8), ("dog", .75, .5, .2, .2, .7)], {FIX_PHRASE: 0.9}, FIX_PHRASE)
# three-word obj1: label "toy set": only the dog: 0.2. FIX_PHRASE: 0.9.
case("spatial: three-word obj1", sp("left of", nouns=["toy train set", "dog"], o1="toy train set"),
     [("toy train set", .25, .5, .2, .2, .8), ("dog", .75, .5, .2, .2, .7)], {FIX_PHRASE: 0.9}, FIX_PHRASE)
# empty boxes: IoU 0/0 = NaN, neither IoU branch: 0 -> 0.4 (every mode)
case("spatial: empty boxes", sp("left of"), [("cat", .25, .5, 0, 0, .8), ("dog", .75, .5, 0, 0, .7)], same(0))
# near with FIX_NEAR on empty boxes far apart: gap 0.5, allowed 0 -> 0/0.5 = 0 -> 0.4
case("spatial: near empty boxes", sp("near"), [("cat", .25, .5, 0, 0, .8), ("dog", .75, .5, 0, 0, .7)],
     {FIX_NEAR: 0.4}, FIX_NEAR)
# above with obj1 lower (below): FIX_ABOVE scores 0 for the position: 0.4 in every mode
case("spatial: above but below", sp("above"), [("cat", .5, .8, .2, .2, .8), ("dog", .5, .2, .2, .2, .7)], same(0))
# detections of another phrase are ignored
case("spatial: extra phrase", sp("left of", nouns=["cat", "dog", "sofa"]),
     [("sofa", .5, .5, .9, .9, .99), ("cat", .25, .5, .2, .2, .8), ("dog", .75, .5, .2, .2, .7)], same(0))

# ---- nms alone ----------------------------------------------------------------------------------
# Random clusters: centres in a small square and sizes large enough that corner boxes
# overlap (FIX_NMS suppresses), and centres below the sizes so that cxcywh read as xyxy
# still gives positive areas and overlaps (T2I-R1's nms suppresses too). Scores rounded
# to 2 decimals so that ties happen; the last set is all ties (the stable order decides).
rng = np.random.default_rng(7)
nms_sets = []
for t, (lo, hi, smin, smax, iou) in enumerate([(.1, .3, .2, .5, .5), (.1, .3, .2, .5, .3), (.2, .5, .1, .4, .5),
                                                 (.1, .4, .3, .6, .7), (.05, .25, .2, .4, .5), (.1, .3, .2, .5, .5)]):
    n = 16
    c = rng.uniform(lo, hi, size=(n, 2))
    sz = rng.uniform(smin, smax, size=(n, 2))
    sc = rng.uniform(0.3, 1.0, size=n).round(2)
    if t == 5:
        sc[:] = 0.5
    boxes = [[round(float(c[i, 0]), 3), round(float(c[i, 1]), 3), round(float(sz[i, 0]), 3),
              round(float(sz[i, 1]), 3), float(sc[i])] for i in range(n)]
    b = torch.tensor([r[:4] for r in boxes], dtype=torch.float32)
    scores = torch.tensor([r[4] for r in boxes], dtype=torch.float32)
    xyxy = b.clone()
    xyxy[:, :2] -= xyxy[:, 2:] / 2  # the corners get_spatial_score (and FIX_NMS) compute
    xyxy[:, 2:] += xyxy[:, :2]
    nms_sets.append({"boxes": boxes, "iou": iou, "xyxy_keep": torchvision_nms(xyxy, scores, iou).tolist(),
                     "cxcywh_as_xyxy_keep": torchvision_nms(b, scores, iou).tolist()})
    print(f"nms set {t}: iou {iou}, kept {len(nms_sets[-1]['xyxy_keep'])} as corners, "
          f"{len(nms_sets[-1]['cxcywh_as_xyxy_keep'])} as T2I-R1 reads them, of {n}")
# IoU exactly 0.5 in float32 (suppression needs > 0.5, so nothing is suppressed): corners
# [0,0,1,1] and [0,0,0.5,1] from (0.5,0.5,1,1) and (0.25,0.5,0.5,1); and (0,0,1,1) with
# (0,0,0.5,1), which T2I-R1 reads as xyxy [0,0,1,1] and [0,0,0.5,1] (and whose corners
# [-0.5,-0.5,0.5,0.5] and [-0.25,-0.5,0.25,0.5] also meet at exactly 0.5).
boxes = [[.5, .5, 1, 1, .9], [.25, .5, .5, 1, .8], [0, 0, 1, 1, .7], [0, 0, .5, 1, .6]]
b = torch.tensor([r[:4] for r in boxes], dtype=torch.float32)
scores = torch.tensor([r[4] for r in boxes], dtype=torch.float32)
xyxy = b.clone()
xyxy[:, :2] -= xyxy[:, 2:] / 2
xyxy[:, 2:] += xyxy[:, :2]
nms_sets.append({"boxes": boxes, "iou": 0.5, "xyxy_keep": torchvision_nms(xyxy, scores, 0.5).tolist(),
                 "cxcywh_as_xyxy_keep": torchvision_nms(b, scores, 0.5).tolist()})
print(f"nms IoU 0.5 exactly: {nms_sets[-1]['xyxy_keep']} / {nms_sets[-1]['cxcywh_as_xyxy_keep']}")

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"phrases_rule": "nouns, obj1, obj2, numeracy obj_names; deduplicated, in that order",
               "cases": cases, "nms": nms_sets}, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(nms_sets)} nms sets -> {OUT}")
