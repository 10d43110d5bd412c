// det_reward.h: T2I-R1's detector reward (reference/t2i-r1-spec.md §2.3),
// written once on top of a list of detections, whatever detector made them
// (OWLv2 today; GroundingDINO can join behind the same list).
//
// The detector's job ends at: for each query phrase, the boxes it found with
// their scores. This file turns those, and the record's metadata (task_type,
// nouns, spatial_info, numeracy_info), into the reward:
//   - no nouns at all: 1, whatever the task (T2I-R1 checks this first);
//   - object score (every task but spatial/numeracy, 'complex' included even
//     when it carries spatial_info): the fraction of nouns with at least one
//     kept detection;
//   - numeracy: per {obj_name, num} item, weight 1/len(items): + weight when
//     the count after NMS(iou 0.5) equals num, + 0.2·weight when some but the
//     wrong count, + 0 when none (so num = 0 never scores: T2I-R1's rule);
//   - spatial: 0.2 per detected object of obj1/obj2; when both, + 1/2 of the
//     locality score of the best-scoring box of each (the first one on a tie,
//     torch.argmax's rule).
//
// Phrase matching. T2I-R1 asks GroundingDINO with the caption
// " . ".join(nouns) + "." and one token span per noun (grpo.py
// make_detection_prompt); every kept (query, span) pair becomes a detection
// whose label is the span's text, and a noun / obj1 / obj2 / obj_name counts
// as detected when it is string-equal to some label. Our detectors answer
// per query phrase instead, so a bc_detection carries the index of its phrase.
// Without BC_DET_FIX_PHRASE we rebuild T2I-R1's labels exactly: for each noun
// in order (duplicates included), every kept detection of the phrase equal
// to that noun, labelled with the noun's span text (first word + " " + last
// word for several words, sliced from the caption at make_detection_prompt's
// offsets); detections of other phrases (obj names that are not nouns) do
// not exist for T2I-R1 and are dropped. Ties between equal scores therefore
// follow the detection array's order within one phrase: a detector should
// list its detections per phrase in query order, as GroundingDINO does.
//
// T2I-R1's code has defects (spec §2.3); by default they are fixed, and
// fixes = 0 reproduces the original numbers exactly (tests/golden/det_reward).
// Each bit changes only its own defect:
//   BC_DET_FIX_ABOVE   'above' and 'on top of' are scored like 'on the top
//                      of' (T2I-R1: a locality it does not list gives 0, so
//                      those 437 records top out at 0.4). Sign convention,
//                      from T2I-R1's own 'on the top of' branch: y points
//                      down, dy = cy(obj2) − cy(obj1), and obj1 is above obj2
//                      when dy > 0 and |dy| > |dx|.
//   BC_DET_FIX_NEAR    'near' / 'next to' / 'on side of': T2I-R1 compares
//                      centre distances in normalised units against 150 (a
//                      pixel figure), which is always met: always 1. Fixed:
//                      the gap between the two boxes (Euclidean distance
//                      between their edges, 0 when they touch or overlap)
//                      against near_threshold × the mean side of the two boxes
//                      ((w1 + h1 + w2 + h2) / 4): 1 when within, else
//                      threshold/gap, T2I-R1's soft fall-off. Why relative to
//                      the objects: "a cup near a plate" and "a bus near a
//                      house" differ by ten times in image distance; a fixed
//                      fraction of the image would call every small pair near
//                      or every large pair far. Default 0.5: the empty space
//                      between them is at most half an object's size for a
//                      full score, a score of 1/2 at one object's size.
//   BC_DET_FIX_NMS     NMS on corner (xyxy) boxes (T2I-R1 passes cxcywh
//                      boxes to torchvision's nms, which reads them as xyxy:
//                      for most boxes x2 = w < x1 = cx, a negative area, so
//                      nothing is ever suppressed and duplicates are counted).
//   BC_DET_FIX_PHRASE  labels are the detector's phrases themselves: a
//                      noun of three words or more matches (T2I-R1's label
//                      "toy set" for "toy train set" never does), spatial and
//                      numeracy names that are not among the nouns are asked
//                      for and can match, duplicate nouns do not duplicate
//                      detections.
// Not changed by any bit (T2I-R1's behaviour kept, documented here):
// obj1 == obj2 gives 0 (T2I-R1 raises on the empty obj2 list and catches it);
// spatial without spatial_info or locality gives 0 (same exception path);
// numeracy without numeracy_info gives 0 (T2I-R1 raises uncaught); locality
// strings are compared exactly (case and spaces matter).
#ifndef BICOT_DET_REWARD_H
#define BICOT_DET_REWARD_H

#include "../util.h"

// One detection: a box for one query phrase.
typedef struct {
    float cx, cy, w, h;  // normalised centre/size in [0, 1] of the image (y down)
    float score;         // detector confidence in [0, 1] (thresholded here: see box_threshold)
    int phrase;          // index into the query phrases the detector was given
} bc_detection;

// What the reward needs of a record (borrowed strings).
typedef struct {
    const char *task_type;       // NULL when absent
    const char **nouns;          // [n_nouns]
    int n_nouns;
    // spatial_info (NULL obj1 when absent)
    const char *obj1, *obj2, *locality;
    // numeracy_info
    const char **num_names;      // [n_num] obj_name
    const int *num_counts;       // [n_num] num
    int n_num;
} bc_det_query;

enum {
    BC_DET_FIX_ABOVE = 1,
    BC_DET_FIX_NEAR = 2,
    BC_DET_FIX_NMS = 4,
    BC_DET_FIX_PHRASE = 8,
    BC_DET_FIX_ALL = 15,
};

typedef struct {
    float box_threshold;   // keep detections with score > this, compared in float32 like
                           // T2I-R1's tensor > 0.3 (a score of exactly 0.3f is dropped)
    float nms_iou;         // numeracy NMS: suppress when IoU > this (0.5)
    float iou_threshold;   // locality overlap threshold (0.1): 1 below it, threshold/IoU above
    float near_threshold;  // BC_DET_FIX_NEAR only: allowed gap in mean box sides (0.5);
                           // without the fix T2I-R1's 150 is used, whatever this says
    int fixes;             // BC_DET_FIX_* bits; 0 = T2I-R1 exactly (--t2i-r1-compat)
} bc_det_options;

// The defaults: T2I-R1's thresholds with every fix on.
bc_det_options bc_det_default_options(void);
// T2I-R1 exactly: the same thresholds, fixes = 0.
bc_det_options bc_det_compat_options(void);

// The phrases to give the detector for a record: the nouns, plus spatial obj1/obj2
// and numeracy obj_names not already among them, deduplicated, in that order.
// Returns the count; *phrases is a bc_malloc'd array of borrowed pointers
// (free() it; NULL when the count is 0).
int bc_det_phrases(const bc_det_query *q, const char ***phrases);

// The reward of one record from its detections (phrase indexes refer to
// `phrases`, as returned by bc_det_phrases; out-of-range indexes are
// ignored). Detections with score <= box_threshold are ignored.
double bc_det_reward(const bc_det_query *q, const char **phrases, int n_phrases, const bc_detection *d, int n,
                     const bc_det_options *opt);

// The locality score of T2I-R1's determine_position for corner boxes
// b = {x1, y1, x2, y2} (normalised, y down): 0 for a locality it does not
// know. Exposed for tests.
float bc_det_locality_score(const char *locality, const float b1[4], const float b2[4], const bc_det_options *opt);

// Greedy NMS over n boxes, torchvision.ops.nms exactly: order by score
// descending with a stable sort (equal scores keep their array order), keep
// the first remaining box, suppress every later one whose IoU with it is
// > iou, where IoU = inter / (area1 + area2 − inter) in float32 with no +1
// (a NaN IoU suppresses nothing). treat_cxcywh_as_xyxy = 1 reproduces
// T2I-R1: the (cx, cy, w, h) fields are read as (x1, y1, x2, y2); 0 converts
// them to corners first. Writes the kept indexes, in that order, to keep[]
// (room for n) and returns their count.
int bc_det_nms(const bc_detection *d, int n, float iou, int treat_cxcywh_as_xyxy, int *keep);

#endif
