/* The exact sum of core/xsum.c and the chunk layout of core/chunks.c (SPEC §3):
 *  - layout: chunks partition [0, n) in order, ranks own whole consecutive chunks, no
 *    rank beyond the chunk count owns any, sizes differ by at most one;
 *  - pf_xsum_reduce gives the same bits for every split of the same K arrays among the
 *    ranks of the job (all on rank 0, round robin, blocks, in reverse order) and every
 *    order of a rank's own arrays;
 *  - on values whose sums long double holds exactly (20-bit integers times a power of
 *    two, from 2^-990 to 2^990, also nearly cancelling), its value is the exact sum
 *    rounded once;
 *  - zeros stay zero, a NaN or Inf anywhere makes every result NaN on every rank;
 *  - pf_chunks_sum sums in chunk order whatever the rank count.
 * Registered on 1 and 4 ranks. */
#include "proxflow/core/chunks.h"
#include "proxflow/core/xsum.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { K = 24, NV = 1000 };

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}

/* K arrays of NV values; block b of the values has magnitudes around 2^e_b, from
 * 2^-990 to 2^990 (double; 2^-100..2^100 in float).  grid = 0: random full-precision
 * values; grid = 1: 20-bit integers times 2^e_b, whose sums are exact in long double;
 * grid = 2: the same with the last part cancelling the others' sum but for a little. */
static void make_parts(pf_real parts[K][NV], uint64_t seed, int grid)
{
    uint64_t s = seed;
    const int span = PF_EPS_REAL > 1e-10 ? 100 : 990; /* 2^(span + 20) stays finite */
    for (int j = 0; j < NV; j++) {
        const int e = (int)(j / 64 % 9) * span / 4 - span;
        for (int k = 0; k < K; k++) {
            double v;
            if (grid) v = ldexp((double)((int64_t)(lcg(&s) >> 33) - (1 << 19)), e);
            else v = ldexp((double)lcg(&s) / 9007199254740992.0 - 0.5, e);
            if (grid == 2 && k == K - 1) { /* cancels the others but for 3 units */
                double t = 0;
                for (int q = 0; q < K - 1; q++) t += parts[q][j];
                v = -t + ldexp(3.0, e);
            }
            parts[k][j] = (pf_real)v;
        }
        if (j % 97 == 0)
            for (int k = 0; k < K; k++) parts[k][j] = 0;
    }
}

/* The reduce when this rank holds the parts whose owner(k) is its rank. */
static void reduce_split(pf_real parts[K][NV], int (*owner)(int, int), int reverse, pf_real *out)
{
    const int r = pf_rank(), P = pf_nranks();
    pf_real *mine[K];
    int n = 0;
    for (int k = 0; k < K; k++)
        if (owner(k, P) == r) mine[n++] = parts[k];
    if (reverse)
        for (int a = 0, b = n - 1; a < b; a++, b--) {
            pf_real *t = mine[a];
            mine[a] = mine[b];
            mine[b] = t;
        }
    pf_xsum x;
    pf_xsum_alloc(&x, NV);
    pf_xsum_reduce(&x, mine, n, NV, out);
    pf_xsum_free(&x);
}

static int own_first(int k, int P) { (void)k, (void)P; return 0; }
static int own_rr(int k, int P) { return k % P; }
static int own_block(int k, int P) { int a, b; for (int r = 0; r < P; r++) { pf_block(K, r, P, &a, &b); if (k >= a && k < b) return r; } return 0; }
static int own_last(int k, int P) { (void)k; return P - 1; }

static void check_layout(void)
{
    const int ns[] = {1, 2, 7, 30, 200, 513};
    const int Ks[] = {1, 2, 3, 8, 16, 1024};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof Ks / sizeof Ks[0]; b++)
            for (int P = 1; P <= 5; P++) {
                const int n = ns[a];
                int next_c = 0, next_i = 0, minr = n, maxr = 0;
                for (int r = 0; r < P; r++) {
                    pf_chunks ch;
                    pf_chunks_init(&ch, n, Ks[b], r, P);
                    CHECK(ch.K == (Ks[b] < n ? Ks[b] : n), "K of n=%d K=%d", n, Ks[b]);
                    CHECK(ch.c0 == next_c && ch.c1 >= ch.c0, "rank %d of %d: chunks [%d, %d) after %d", r,
                          P, ch.c0, ch.c1, next_c);
                    CHECK(ch.i0 == next_i || ch.c0 == ch.c1, "rank %d: samples from %d, want %d", r, ch.i0, next_i);
                    for (int c = ch.c0; c < ch.c1; c++) {
                        int x, y;
                        pf_chunk_rows(&ch, c, &x, &y);
                        CHECK(x == next_i && y > x && y - x <= ch.max_rows, "chunk %d [%d, %d)", c, x, y);
                        if (y - x < minr) minr = y - x;
                        if (y - x > maxr) maxr = y - x;
                        next_i = y;
                    }
                    CHECK(ch.c0 == ch.c1 || ch.i1 == next_i, "rank %d: samples to %d, want %d", r, ch.i1, next_i);
                    next_c = ch.c1;
                }
                CHECK(next_c == (Ks[b] < n ? Ks[b] : n) && next_i == n, "n=%d K=%d P=%d: covered %d chunks %d samples",
                      n, Ks[b], P, next_c, next_i);
                CHECK(maxr - minr <= 1, "chunk sizes %d..%d", minr, maxr);
            }
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    check_layout();
    static pf_real parts[K][NV];
    static pf_real out[4][NV];
    for (int grid = 0; grid < 3; grid++) {
        make_parts(parts, 11 + grid, grid);
        int (*owners[4])(int, int) = {own_first, own_rr, own_block, own_last};
        for (int o = 0; o < 4; o++) reduce_split(parts, owners[o], o == 3, out[o]);
        for (int o = 1; o < 4; o++)
            CHECK(memcmp(out[0], out[o], sizeof out[0]) == 0, "split %d gives other bits (values %d)", o, grid);
        int zeros_ok = 1, exact = 0;
        for (int j = 0; j < NV; j++) {
            if (j % 97 == 0) zeros_ok &= out[0][j] == 0;
            if (!grid) continue;
            /* on the grid the sum is exact in long double (<= 25 bits): the result must be
             * that sum rounded once to pf_real */
            long double ex = 0;
            for (int k = 0; k < K; k++) ex += (long double)parts[k][j];
            const pf_real want = (pf_real)(double)ex;
            const int same = memcmp(&out[0][j], &want, sizeof want) == 0;
            if (!same || j == NV - 1) /* one check per failure kind, not a flood */
                CHECK(same, "value %d (values %d): %.17g, exact %.17g", j, grid, (double)out[0][j],
                      (double)want);
            if (!same) break;
            exact++;
        }
        CHECK(zeros_ok, "a column of zeros does not sum to 0 (values %d)", grid);
        if (pf_rank() == 0)
            printf("exact sum of %d arrays of %d values (%s): same bits for 4 splits over %d rank(s)%s\n",
                   K, NV, grid == 0 ? "random, 2^-990..2^990 (float: 2^-100..2^100)" : grid == 1 ? "on a grid" : "on a grid, cancelling",
                   pf_nranks(), exact ? ", equal to the exact sum rounded once" : "");
    }
    /* non-finite: NaN or Inf anywhere -> NaN everywhere on every rank */
    make_parts(parts, 5, 0);
    parts[K - 1][NV / 2] = (pf_real)INFINITY;
    reduce_split(parts, own_rr, 0, out[0]);
    int nan_all = 1;
    for (int j = 0; j < NV; j++) nan_all &= isnan((double)out[0][j]);
    CHECK(nan_all, "an Inf in one part did not make every sum NaN");
    /* ordered scalar sums: pf_chunks_sum of 1e16, 1, -1e16 per chunk in order */
    pf_chunks ch;
    pf_chunks_init(&ch, 9, 9, pf_rank(), pf_nranks());
    double loc[9], tot;
    const double vals[9] = {1e16, 1, -1e16, 3, 1e-3, -2, 7e15, 0.5, -7e15};
    for (int c = ch.c0; c < ch.c1; c++) loc[c - ch.c0] = vals[c];
    pf_chunks_sum(&ch, loc, 1, &tot);
    double want = 0;
    for (int c = 0; c < 9; c++) want += vals[c];
    CHECK(memcmp(&tot, &want, sizeof tot) == 0, "pf_chunks_sum %.17g, the chunk-order sum %.17g", tot, want);
    return pf_test_finish("test_xsum");
}
