// meta.h: the reward metadata of a record (DESIGN.md §1, T2I-R1's training
// file: reference/t2i-r1-spec.md §2.5), read once and shared by score-vqa and
// score-det: task_type, nouns, attr_nouns, spatial_info, numeracy_info.
//
// Every field is optional in the stream (null and absent are the same);
// present fields of the wrong type are errors naming the field, e.g.
// "key 'numeracy_info': item 1: 'num' must be an integer, got str".
// Shapes (T2I-R1's file): task_type str; nouns, attr_nouns [str];
// spatial_info {obj1: str, obj2: str, locality: str}, all three required
// when the map is there (other keys ignored); numeracy_info [{obj_name: str,
// num: int}] (an integral float such as 4.0 counts as an int; it must fit
// int32). An empty attr_nouns array is present (attr_nouns_present = 1, no
// items), which is not the same as absent for score-vqa.
#ifndef BICOT_REWARD_META_H
#define BICOT_REWARD_META_H

#include "../io/stream.h"
#include "det_reward.h"

typedef struct {
    char *task_type;      // NULL when absent
    char **nouns;         // [n_nouns]
    int n_nouns;
    char **attr_nouns;    // [n_attr_nouns]; attr_nouns_present = 0 when absent/null
    int n_attr_nouns, attr_nouns_present;
    char *obj1, *obj2, *locality;  // spatial_info; NULL when absent
    char **num_names;     // numeracy_info[i].obj_name
    int *num_counts;      // numeracy_info[i].num
    int n_num;
} bc_reward_meta;

// Reads the fields from rec (copies: rec may be freed after). Fails with a
// message naming the field (bc_record_error_line adds the record).
int bc_reward_meta_read(const bc_record *rec, bc_reward_meta *m, bc_err *err);
void bc_reward_meta_free(bc_reward_meta *m);
// The detector reward's view of m (borrowed pointers into m).
bc_det_query bc_reward_meta_det_query(const bc_reward_meta *m);

#endif
