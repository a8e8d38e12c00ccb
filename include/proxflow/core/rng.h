/* proxflow: counter-based random numbers (SPEC §3).
 * Philox4x32-10 (Salmon et al., SC'11).  Every draw is a pure function of
 * (seed, iteration, purpose, global sample index, draw number), so the global batch
 * is the same for any number of ranks and threads, and the "RNG position" of a run
 * is just its iteration. */
#ifndef PROXFLOW_RNG_H
#define PROXFLOW_RNG_H

#include <stdint.h>

/* Purposes: one per kind of draw.  A discriminator sub-step k of an iteration uses
 * PF_PURPOSE(base, k) so the n_disc batches of one iteration are distinct. */
enum {
    PF_RNG_INIT_PHI = 1,     /* potential weights   (index = parameter index)   */
    PF_RNG_INIT_GAMMA,       /* discriminator weights                            */
    PF_RNG_REFERENCE,        /* reference samples x^0                            */
    PF_RNG_DATA,             /* data row within the sample's column / synthetic  */
    PF_RNG_INTERP,           /* interpolation weight s_i                         */
    PF_RNG_GEN_REFERENCE,    /* reference samples of the potential step          */
    PF_RNG_DIAG_REFERENCE,   /* fixed diagnostic batch                           */
    PF_RNG_DIAG_DATA,
    PF_RNG_DIAG_INTERP,
    PF_RNG_HELDOUT,          /* held-out synthetic data for evaluation           */
    PF_RNG_ISOMETRY,         /* random isometry of an embedded manifold          */
    PF_RNG_SAMPLE,           /* `proxflow sample` reference draws                */
    PF_RNG_METRIC,           /* projections of the sliced Wasserstein distance   */
    PF_RNG_CHAIN_POOL        /* `proxflow chain`: the pool entering link 1       */
};
#define PF_PURPOSE(base, sub) ((uint32_t)(base) | ((uint32_t)(sub) << 8))

typedef struct { uint32_t v[4]; } pf_u32x4;

/* One Philox4x32-10 block. */
pf_u32x4 pf_philox4x32(const uint32_t ctr[4], const uint32_t key[2]);

/* A stream of draws for one (seed, iteration, purpose, index): counter words are
 * (draw block, index, iteration, purpose), key = seed. */
typedef struct {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t buf[4];
    int have;          /* unused words left in buf */
    int has_spare;     /* Box-Muller spare         */
    double spare;
} pf_stream;

void pf_stream_init(pf_stream *s, uint64_t seed, uint64_t iteration, uint32_t purpose,
                    uint64_t index);
uint32_t pf_stream_u32(pf_stream *s);
double pf_stream_uniform(pf_stream *s);  /* in the open interval (0, 1), 53 bits */
double pf_stream_normal(pf_stream *s);   /* standard normal (Box-Muller)         */

#endif
