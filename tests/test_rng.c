/* Philox4x32-10 and the streams built on it (SPEC §3). */
#include <math.h>
#include <stdint.h>

#include "proxflow/core/rng.h"
#include "testutil.h"

static void test_kat(void)
{
    /* Random123 kat_vectors, "philox4x32 10": counter[4] key[2] -> output[4]. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int t = 0; t < 3; t++) {
        pf_u32x4 o = pf_philox4x32(kat[t], kat[t] + 4);
        for (int k = 0; k < 4; k++)
            CHECK(o.v[k] == kat[t][6 + k], "kat %d word %d: %08x != %08x", t, k,
                  (unsigned)o.v[k], (unsigned)kat[t][6 + k]);
    }
}

static void test_stream_layout(void)
{
    /* key = seed (low, high); counter = (block, index, iteration, purpose); the four
     * words of a block come out in order, then the block number increments. */
    uint64_t seed = 0x0123456789abcdefULL;
    pf_stream s;
    pf_stream_init(&s, seed, 77, PF_RNG_DATA, 12345);
    uint32_t key[2] = {0x89abcdefu, 0x01234567u};
    for (uint32_t b = 0; b < 3; b++) {
        uint32_t ctr[4] = {b, 12345u, 77u, PF_RNG_DATA};
        pf_u32x4 o = pf_philox4x32(ctr, key);
        for (int k = 0; k < 4; k++) {
            uint32_t u = pf_stream_u32(&s);
            CHECK(u == o.v[k], "block %u word %d", (unsigned)b, k);
        }
    }
}

static uint32_t first_word(uint64_t seed, uint64_t it, uint32_t p, uint64_t i)
{
    pf_stream s;
    pf_stream_init(&s, seed, it, p, i);
    return pf_stream_u32(&s);
}

static void test_distinct(void)
{
    uint32_t base = first_word(42, 3, PF_RNG_REFERENCE, 7);
    CHECK(first_word(42, 3, PF_RNG_REFERENCE, 7) == base, "same stream identical");
    CHECK(first_word(43, 3, PF_RNG_REFERENCE, 7) != base, "seed");
    CHECK(first_word(42 + (1ULL << 32), 3, PF_RNG_REFERENCE, 7) != base, "seed high word");
    CHECK(first_word(42, 4, PF_RNG_REFERENCE, 7) != base, "iteration");
    CHECK(first_word(42, 3, PF_RNG_DATA, 7) != base, "purpose");
    CHECK(first_word(42, 3, PF_PURPOSE(PF_RNG_REFERENCE, 1), 7) != base, "sub-purpose");
    CHECK(first_word(42, 3, PF_RNG_REFERENCE, 8) != base, "index");

    /* Whole sequences: identical for equal streams, different otherwise. */
    pf_stream a, b, c;
    pf_stream_init(&a, 5, 1, PF_RNG_INTERP, 9);
    pf_stream_init(&b, 5, 1, PF_RNG_INTERP, 9);
    pf_stream_init(&c, 5, 1, PF_RNG_INTERP, 10);
    int same_ab = 1, same_ac = 0;
    for (int k = 0; k < 1000; k++) {
        double x = pf_stream_normal(&a), y = pf_stream_normal(&b), z = pf_stream_normal(&c);
        if (x != y) same_ab = 0;
        if (x == z) same_ac++;
    }
    CHECK(same_ab, "equal streams give equal normals");
    CHECK(same_ac == 0, "different streams collide %d times", same_ac);
}

static void test_moments(void)
{
    /* 1000 streams x 1000 draws = 1e6 draws of each kind. */
    const int S = 1000, K = 1000;
    const double n = (double)S * K;
    double su = 0, su2 = 0, umin = 1, umax = 0;
    double sn = 0, sn2 = 0, sn3 = 0, sn4 = 0;
    int bad = 0;
    for (int i = 0; i < S; i++) {
        pf_stream s, t;
        pf_stream_init(&s, 2024, 0, PF_RNG_SAMPLE, (uint64_t)i);
        pf_stream_init(&t, 2024, 1, PF_RNG_SAMPLE, (uint64_t)i);
        for (int k = 0; k < K; k++) {
            double u = pf_stream_uniform(&s);
            if (!(u > 0 && u < 1)) bad++;
            su += u;
            su2 += u * u;
            if (u < umin) umin = u;
            if (u > umax) umax = u;
            double z = pf_stream_normal(&t);
            sn += z;
            sn2 += z * z;
            sn3 += z * z * z;
            sn4 += z * z * z * z;
        }
    }
    CHECK(bad == 0, "%d uniforms outside (0,1)", bad);
    double mu = su / n, vu = su2 / n - mu * mu;
    /* standard errors: mean sqrt(1/12/n); variance sqrt((1/80 - 1/144)/n) */
    CHECK(fabs(mu - 0.5) < 5 * sqrt(1.0 / 12 / n), "uniform mean %.6f", mu);
    CHECK(fabs(vu - 1.0 / 12) < 5 * sqrt((1.0 / 80 - 1.0 / 144) / n), "uniform var %.6f", vu);
    CHECK(umin < 1e-5 && umax > 1 - 1e-5, "uniform range [%g, %g]", umin, umax);
    double mz = sn / n, vz = sn2 / n - mz * mz;
    CHECK(fabs(mz) < 5 * sqrt(1 / n), "normal mean %.6f", mz);
    CHECK(fabs(vz - 1) < 5 * sqrt(2 / n), "normal var %.6f", vz);
    CHECK(fabs(sn3 / n) < 5 * sqrt(15 / n), "normal third moment %.6f", sn3 / n);
    CHECK(fabs(sn4 / n - 3) < 5 * sqrt(96 / n), "normal fourth moment %.6f", sn4 / n);
}

static void test_uniform_extremes(void)
{
    /* u = k / 2^53 with 27 + 26 bits: the first two words determine the first
     * uniform exactly. */
    pf_stream s, t;
    pf_stream_init(&s, 11, 2, PF_RNG_INTERP, 3);
    pf_stream_init(&t, 11, 2, PF_RNG_INTERP, 3);
    uint64_t a = pf_stream_u32(&t) >> 5, b = pf_stream_u32(&t) >> 6;
    double expect = (double)((a << 26) | b) / 9007199254740992.0;
    CHECK(pf_stream_uniform(&s) == expect, "53-bit uniform construction");
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    test_kat();
    test_stream_layout();
    test_distinct();
    test_moments();
    test_uniform_extremes();
    return pf_test_finish("test_rng");
}
