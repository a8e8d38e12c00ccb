/* proxflow (private): loops compiled for several x86-64 levels and picked at load time.
 *
 * PF_CLONES on a function compiles it also for x86-64-v4 (AVX-512: 8 doubles / 16
 * floats) and AVX2 (4 / 8); the loader picks the version the CPU runs.  Same operations
 * in the same order, and proxflow builds with -std=c11 (no FMA contraction): every
 * version gives identical bits (tests/test_vmath.c compares the picked one with a
 * baseline build; tests/test_xsum.c checks the exact sums). */
#ifndef PROXFLOW_CORE_CLONES_H
#define PROXFLOW_CORE_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(PF_NO_CLONES)
#define PF_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define PF_CLONES
#endif

#endif
