/* proxflow: Philox4x32-10 counter-based random numbers (SPEC §3).
 *
 * The block function is Random123's philox4x32 with 10 rounds (Salmon et al., SC'11),
 * checked against Random123's kat_vectors in tests/test_rng.c.  A stream is keyed by
 * the seed (low word, high word) and counts blocks in counter word 0; the other
 * counter words are (index, iteration, purpose), so a draw is a pure function of
 * (seed, iteration, purpose, index, draw number) and never of the rank or thread. */
#include "proxflow/core/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio          */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1           */

static inline void mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

pf_u32x4 pf_philox4x32(const uint32_t ctr[4], const uint32_t key[2])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* key schedule: bump between rounds (Random123 philox4x32bumpkey) */
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo32(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo32(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    }
    pf_u32x4 out = {{c0, c1, c2, c3}};
    return out;
}

void pf_stream_init(pf_stream *s, uint64_t seed, uint64_t iteration, uint32_t purpose,
                    uint64_t index)
{
    s->key[0] = (uint32_t)seed;
    s->key[1] = (uint32_t)(seed >> 32);
    s->ctr[0] = 0;                    /* block number within the stream */
    s->ctr[1] = (uint32_t)index;      /* low 32 bits (SPEC §3: < 2^32 samples) */
    s->ctr[2] = (uint32_t)iteration;  /* low 32 bits */
    s->ctr[3] = purpose;
    s->buf[0] = s->buf[1] = s->buf[2] = s->buf[3] = 0;
    s->have = 0;
    s->has_spare = 0;
    s->spare = 0.0;
}

uint32_t pf_stream_u32(pf_stream *s)
{
    if (s->have == 0) {
        pf_u32x4 b = pf_philox4x32(s->ctr, s->key);
        for (int k = 0; k < 4; k++) s->buf[k] = b.v[k];
        s->ctr[0]++;
        s->have = 4;
    }
    return s->buf[4 - s->have--];
}

double pf_stream_uniform(pf_stream *s)
{
    /* 53 random bits k (27 from one word, 26 from the next); u = k / 2^53 lies in
     * [0, 1 - 2^-53].  k = 0 (probability 2^-53) is redrawn, so u is never 0 and,
     * since every value is exactly representable, never 1. */
    for (;;) {
        uint64_t a = pf_stream_u32(s) >> 5, b = pf_stream_u32(s) >> 6;
        uint64_t k = (a << 26) | b;
        if (k) return (double)k * 0x1.0p-53;
    }
}

double pf_stream_normal(pf_stream *s)
{
    if (s->has_spare) {
        s->has_spare = 0;
        return s->spare;
    }
    /* Box-Muller: u1 in (0,1) keeps log finite; the sine half is kept as the spare. */
    double u1 = pf_stream_uniform(s), u2 = pf_stream_uniform(s);
    double r = sqrt(-2.0 * log(u1));
    double a = 6.283185307179586476925286766559 * u2;
    s->spare = r * sin(a);
    s->has_spare = 1;
    return r * cos(a);
}
