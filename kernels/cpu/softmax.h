// softmax.h: the column softmax of attention computed transposed (see
// softmax.c and lib/nn/ops_cpu.c attention_full).
#ifndef BICOT_SOFTMAX_H
#define BICOT_SOFTMAX_H

enum { BC_SOFTMAX_LANES = 32 };

// The softmax of attention's scores taken down columns, the keys in chunks
// (flash attention's online softmax). st is one chunk's scores [n, 32]
// row-major: column i holds one query's scores over n keys, already
// multiplied by log2(e) (so 2^s is e^(the true score)). max[i] and sum[i]
// carry column i's running max and Σe over the chunks before (−inf and 0
// before the first). In place, each column becomes e = 2^(s − the new
// running max: the chunk's max, where it is more than 64 above the old one,
// else the old one), which replaces max; scale[i] = 2^(old max − new max) is what
// the column's results from earlier chunks must be multiplied by (sum
// already is: sum = sum·scale + Σ chunk e). Weights below 2^−64 of the
// running max are 0 (softmax.c: FLUSH). Every column is a lane of the same
// vector operations: its results do not depend on the other columns. The
// AVX-512 path and the generic one (vexp.h) differ in the last bits.
void bc_softmax_columns_exp2_chunk(float *st, int n, float *max, float *sum, float *scale);

// The running max moves only when a chunk's scores go more than 64 above
// it (the weights are then at most 2^64: lazy rescaling, softmax.c: LAZY).
// So the chunks after the first can be done in one pass, their scores
// coming already less the running max (the GEMM's bias): no pass for the
// chunk's max, no subtraction. bc_softmax_columns_exp2_fixed takes a piece
// of such a chunk, st [n, 32]: e = 2^st in place, Σe added to sum[i] and
// top[i] = max(top[i], st) (start a chunk with 0 and −inf: a chunk may come
// in pieces). It returns 1 when some column's top is over 64 (or not a
// number): the caller then redoes the chunk, scores less nothing, with
// bc_softmax_columns_exp2_chunk; the columns that were within 64 get the
// same bits as they would have here, sum[i] through the chunk form equals
// the running sum + the sum here, and their scale is exactly 1.
int bc_softmax_columns_exp2_fixed(float *st, int n, float *sum, float *top);

// Uses the generic path even where AVX-512 is there (1), or not (0): for
// tests.
void bc_softmax_force_generic(int on);

#endif
