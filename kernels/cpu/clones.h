// clones.h: BC_CLONES compiles a kernel for AVX-512, AVX2 and baseline
// x86-64 and lets the loader pick one for the CPU at run time (GCC's
// target_clones); elsewhere it is nothing. The kernels using it are written
// as plain loops with no reassociation, so every clone gives the same bits.
#ifndef BICOT_CLONES_H
#define BICOT_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BC_CLONES
#endif

#endif
