/* Data sources, sharding and reference draws (SPEC §6.1, §3).  Runs on 1 and 2 ranks:
 * the sharded draw of each rank must equal the matching block of a single-process
 * draw of the whole batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proxflow/data/data.h"
#include "proxflow/core/rng.h"
#include "testutil.h"

#define PI 3.14159265358979323846

static pf_config cfg(const char *source, int dim, int k, double noise, double scale)
{
    pf_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.source, source);
    c.dim = dim;
    c.manifold_dim = k;
    c.noise = noise;
    c.data_scale = scale;
    c.reference = PF_REF_NORMAL;
    c.ref_scale = 1.0;
    c.ref_low = 0.0;
    c.ref_high = 1.0;
    c.batch = 64;
    c.seed = 1234;
    return c;
}

static pf_real *alloc_real(long n) { return malloc((size_t)(n > 0 ? n : 1) * sizeof(pf_real)); }

static int same(const pf_real *a, const pf_real *b, long n)
{
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* Tolerances that hold in float builds too. */
#define TOL_EXACT (sizeof(pf_real) == sizeof(double) ? 1e-10 : 2e-5)

/* ------------------------------------------------------------------- 2-D sets ---- */

static void check_2d_shape(const char *name, const pf_real *Y, int n)
{
    int bad = 0, hit[8] = {0};
    for (int i = 0; i < n; i++) {
        double x = Y[2 * i], y = Y[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) { bad++; continue; }
        if (!strcmp(name, "8gaussians")) {
            double best = 1e300;
            int kb = 0;
            for (int k = 0; k < 8; k++) {
                double dx = x - 2 * cos(k * PI / 4), dy = y - 2 * sin(k * PI / 4);
                double dd = sqrt(dx * dx + dy * dy);
                if (dd < best) { best = dd; kb = k; }
            }
            hit[kb]++;
            if (best > 1.4) bad++; /* 7 sigma */
        } else if (!strcmp(name, "checkerboard")) {
            int par = ((int)floor(x / 2) + (int)floor(y / 2)) & 1;
            if (fabs(x) > 4 || fabs(y) > 4 || par) bad++;
        } else if (!strcmp(name, "moons")) {
            double d1 = fabs(hypot(x + 0.5, y + 0.25) - 1) + (y < -0.25 - 1e-12 ? 1 : 0);
            double d2 = fabs(hypot(x - 0.5, y - 0.25) - 1) + (y > 0.25 + 1e-12 ? 1 : 0);
            if (fmin(d1, d2) > TOL_EXACT) bad++;
        } else if (!strcmp(name, "swissroll")) {
            double r = hypot(x, y), t = 5 * r;
            if (t < 1.5 * PI - 1e-6 || t > 4.5 * PI + 1e-6) bad++;
            else if (fabs(cos(t) - x / r) > 1e-5 || fabs(sin(t) - y / r) > 1e-5) bad++;
        } else if (!strcmp(name, "circles")) {
            double r = hypot(x, y);
            if (fmin(fabs(r - 1), fabs(r - 2)) > TOL_EXACT) bad++;
        }
    }
    CHECK(bad == 0, "%s: %d of %d points off the set", name, bad, n);
    if (!strcmp(name, "8gaussians"))
        for (int k = 0; k < 8; k++) CHECK(hit[k] > 0, "8gaussians: centre %d never drawn", k);
}

static void test_2d_sets(void)
{
    const char *names[] = {"8gaussians", "checkerboard", "moons", "swissroll", "circles"};
    const int n = 400;
    for (int s = 0; s < 5; s++) {
        pf_config c = cfg(names[s], 7 /* ignored */, 1, 0.0, 1.0);
        pf_data *D = pf_data_open(&c, n, 0, n);
        CHECK(pf_data_dim(D) == 2, "%s: dim %d", names[s], pf_data_dim(D));
        CHECK(!strcmp(pf_data_name(D), names[s]), "%s: name", names[s]);
        int H = -1;
        pf_data_image_shape(D, &H, NULL, NULL);
        CHECK(H == 0, "%s: not an image", names[s]);
        pf_real *A = alloc_real(2L * n), *B = alloc_real(2L * n), *P = alloc_real(2L * n);
        pf_data_draw(D, 3, PF_RNG_DATA, 0, n, A);
        pf_data_draw(D, 3, PF_RNG_DATA, 0, n, B);
        CHECK(same(A, B, 2L * n), "%s: deterministic", names[s]);
        pf_data_draw(D, 3, PF_RNG_DATA, 50, 80, P);
        CHECK(same(A + 100, P, 60), "%s: a sub-range draws the same samples", names[s]);
        pf_data_draw(D, 4, PF_RNG_DATA, 0, n, B);
        CHECK(!same(A, B, 2L * n), "%s: iterations differ", names[s]);
        pf_data_draw(D, 3, PF_RNG_DIAG_DATA, 0, n, B);
        CHECK(!same(A, B, 2L * n), "%s: purposes differ", names[s]);
        check_2d_shape(names[s], A, n);
        CHECK(pf_data_manifold_distance(D, A) == -1.0, "%s: no manifold", names[s]);
        pf_data_heldout(D, n, B);
        pf_data_draw(D, 0, PF_RNG_HELDOUT, 0, n, P);
        CHECK(same(B, P, 2L * n), "%s: held-out = (0, HELDOUT, k)", names[s]);

        /* scale multiplies the clean point */
        pf_config c3 = cfg(names[s], 2, 1, 0.0, 3.0);
        pf_data *D3 = pf_data_open(&c3, n, 0, n);
        pf_data_draw(D3, 3, PF_RNG_DATA, 0, n, B);
        double err = 0;
        for (long k = 0; k < 2L * n; k++) err = fmax(err, fabs(B[k] - 3 * A[k]));
        CHECK(err < 10 * TOL_EXACT, "%s: scale 3: max err %g", names[s], err);
        pf_data_close(D3);

        /* noise is added after the clean point: difference ~ 0.1 N(0,1) */
        pf_config cn = cfg(names[s], 2, 1, 0.1, 1.0);
        pf_data *Dn = pf_data_open(&cn, n, 0, n);
        pf_data_draw(Dn, 3, PF_RNG_DATA, 0, n, B);
        double s2 = 0;
        for (long k = 0; k < 2L * n; k++) s2 += (B[k] - A[k]) * (B[k] - A[k]);
        double sd = sqrt(s2 / (2.0 * n));
        CHECK(fabs(sd - 0.1) < 0.1 * 5 / sqrt(4.0 * n), "%s: noise std %g", names[s], sd);
        pf_data_close(Dn);

        free(A); free(B); free(P);
        pf_data_close(D);
    }
}

/* -------------------------------------------------------------- manifold sets ---- */

static void check_isometry(const char *tag, const pf_data *D, int m_expect)
{
    int m = -1;
    const double *Q = pf_data_isometry(D, &m);
    int d = pf_data_dim(D);
    CHECK(Q != NULL && m == m_expect, "%s: isometry m = %d (want %d)", tag, m, m_expect);
    if (!Q) return;
    double err = 0;
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            double s = 0;
            for (int r = 0; r < d; r++) s += Q[r * m + a] * Q[r * m + b];
            err = fmax(err, fabs(s - (a == b)));
        }
    CHECK(err < 1e-12, "%s: |Q^T Q - I| = %g", tag, err);
}

typedef struct { const char *name; int d, k, m; double tol; } mcase;

static void test_manifold_sets(void)
{
    const mcase cases[] = {
        {"sphere", 5, 1, 2, 1e-12}, {"sphere", 10, 2, 3, 1e-12}, {"sphere", 4, 3, 4, 1e-12},
        {"circle", 2, 0, 2, 1e-12}, {"circle", 3, 0, 2, 1e-12},  {"torus", 3, 0, 3, 1e-12},
        {"torus", 7, 0, 3, 1e-12},  {"swissroll3d", 3, 0, 3, 1e-9},
        {"swissroll3d", 6, 0, 3, 1e-9}};
    const int n = 300;
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const mcase *mc = &cases[t];
        char tag[64];
        snprintf(tag, sizeof tag, "%s k=%d d=%d", mc->name, mc->k, mc->d);
        for (int sc = 0; sc < 2; sc++) {
            double scale = sc ? 2.5 : 1.0;
            pf_config c = cfg(mc->name, mc->d, mc->k, 0.0, scale);
            pf_data *D = pf_data_open(&c, n, 0, n);
            CHECK(pf_data_dim(D) == mc->d, "%s: dim %d", tag, pf_data_dim(D));
            check_isometry(tag, D, mc->m);
            pf_real *A = alloc_real((long)n * mc->d), *B = alloc_real((long)n * mc->d);
            pf_data_draw(D, 1, PF_RNG_DATA, 0, n, A);
            pf_data_draw(D, 1, PF_RNG_DATA, 0, n, B);
            CHECK(same(A, B, (long)n * mc->d), "%s: deterministic", tag);
            double dmax = 0;
            for (int i = 0; i < n; i++)
                dmax = fmax(dmax, pf_data_manifold_distance(D, A + (size_t)i * mc->d));
            double tol = sizeof(pf_real) == sizeof(double) ? mc->tol * scale : 1e-5 * scale;
            CHECK(dmax < tol, "%s scale %g: max distance %g", tag, scale, dmax);
            if (!strcmp(mc->name, "sphere") || !strcmp(mc->name, "circle")) {
                double err = 0;
                for (int i = 0; i < n; i++) {
                    double r2 = 0;
                    for (int j = 0; j < mc->d; j++) r2 += A[i * mc->d + j] * A[i * mc->d + j];
                    err = fmax(err, fabs(sqrt(r2) - scale));
                }
                CHECK(err < 10 * TOL_EXACT, "%s: radius error %g", tag, err);
            }
            free(A); free(B);
            pf_data_close(D);
        }
        /* with noise the points leave the manifold */
        pf_config c = cfg(mc->name, mc->d, mc->k, 0.05, 1.0);
        pf_data *D = pf_data_open(&c, n, 0, n);
        pf_real *A = alloc_real((long)n * mc->d);
        pf_data_draw(D, 1, PF_RNG_DATA, 0, n, A);
        double mean = 0;
        for (int i = 0; i < n; i++) mean += pf_data_manifold_distance(D, A + (size_t)i * mc->d) / n;
        CHECK(mean > 0.01 && mean < 0.2, "%s: noisy mean distance %g", tag, mean);
        free(A);
        pf_data_close(D);
    }
}

/* A unit vector orthogonal to the range of Q (needs d > m), from a fixed stream. */
static void orth_unit(const double *Q, int d, int m, uint64_t idx, double *v)
{
    pf_stream s;
    pf_stream_init(&s, 99, 0, PF_RNG_SAMPLE, idx);
    for (int r = 0; r < d; r++) v[r] = pf_stream_normal(&s);
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < m; j++) {
            double dot = 0;
            for (int r = 0; r < d; r++) dot += Q[r * m + j] * v[r];
            for (int r = 0; r < d; r++) v[r] -= dot * Q[r * m + j];
        }
    double nrm = 0;
    for (int r = 0; r < d; r++) nrm += v[r] * v[r];
    for (int r = 0; r < d; r++) v[r] /= sqrt(nrm);
}

/* Push points p of the manifold by delta along a unit normal inside the span of Q
 * (in-manifold normal nz, given in the intrinsic coordinates) and by eps along a
 * direction orthogonal to the span: the distance must be sqrt(delta^2 + eps^2). */
static void test_distance_functions(void)
{
    const char *names[] = {"sphere", "torus", "swissroll3d"};
    const int dims[] = {6, 5, 4}, ks[] = {2, 0, 0};
    const double scales[] = {1.5, 1.5, 1.0}, dmax[] = {0.6, 0.3, 0.1};
    const double tol = sizeof(pf_real) == sizeof(double) ? 1e-9 : 1e-4;
    const int n = 200;
    for (int t = 0; t < 3; t++) {
        const int d = dims[t];
        pf_config c = cfg(names[t], d, ks[t], 0.0, scales[t]);
        pf_data *D = pf_data_open(&c, n, 0, n);
        int m;
        const double *Q = pf_data_isometry(D, &m);
        pf_real *P = alloc_real((long)n * d), *x = alloc_real(d);
        double *v = malloc(d * sizeof *v), z[4], nz[4];
        pf_data_draw(D, 0, PF_RNG_DATA, 0, n, P);
        double worst = 0;
        int hi_done = 0;
        for (int i = 0; i < n; i++) {
            const pf_real *p = P + (size_t)i * d;
            for (int j = 0; j < m; j++) {
                z[j] = 0;
                for (int r = 0; r < d; r++) z[j] += Q[r * m + j] * p[r] / scales[t];
            }
            if (t == 0) { /* sphere: radial normal */
                for (int j = 0; j < m; j++) nz[j] = z[j];
            } else if (t == 1) { /* torus R = 1, r = 0.4: away from the core circle */
                double rho = hypot(z[0], z[1]);
                nz[0] = (z[0] - z[0] / rho) / 0.4;
                nz[1] = (z[1] - z[1] / rho) / 0.4;
                nz[2] = z[2] / 0.4;
            } else { /* swiss roll (t cos t, h, t sin t)/5, t = 5 |(z0, z2)| */
                double tt = 5 * hypot(z[0], z[2]);
                double ta = cos(tt) - tt * sin(tt), tb = sin(tt) + tt * cos(tt);
                double nn = hypot(ta, tb);
                nz[0] = -tb / nn; nz[1] = 0; nz[2] = ta / nn;
            }
            double delta = dmax[t] * (2.0 * ((i * 37) % 101) / 100.0 - 1.0);
            double eps = (i % 3) * 0.2;
            orth_unit(Q, d, m, (uint64_t)i, v);
            double hexcess = 0;
            if (t == 2 && i % 4 == 0) { /* beyond the roll's edge h = 10.5/5 */
                hexcess = 0.3;
                hi_done++;
            }
            for (int r = 0; r < d; r++) {
                double s = 0;
                for (int j = 0; j < m; j++) s += Q[r * m + j] * nz[j];
                double h = 0;
                if (hexcess > 0)
                    h = Q[r * m + 1] * ((z[1] >= 0 ? 2.1 + hexcess : -2.1 - hexcess) - z[1]) * scales[t];
                x[r] = (pf_real)(p[r] + delta * s + eps * v[r] + h);
            }
            double expect = sqrt(delta * delta + eps * eps + hexcess * hexcess * scales[t] * scales[t]);
            double got = pf_data_manifold_distance(D, x);
            worst = fmax(worst, fabs(got - expect));
        }
        CHECK(worst < tol, "%s: distance of pushed points off by %g", names[t], worst);
        if (t == 2) CHECK(hi_done > 0, "swissroll3d: edge cases exercised");
        free(P); free(x); free(v);
        pf_data_close(D);
    }
}

/* ----------------------------------------------------------------- row sources ---- */

static void make_rows(long M, int d, pf_real *rows)
{
    for (long j = 0; j < M; j++)
        for (int r = 0; r < d; r++) rows[j * d + r] = (pf_real)(j * (r + 1) + 0.25 * r);
}

/* Rank r of P owns columns [N r / P, N (r+1) / P). */
static void block_of(int N, int r, int P, int *i0, int *i1)
{
    *i0 = (int)((long)N * r / P);
    *i1 = (int)((long)N * (r + 1) / P);
}

static void test_rows_in_process(void)
{
    const long M = 37;
    const int d = 3, Ns[] = {5, 10, 11, 37};
    pf_real *rows = alloc_real(M * d);
    make_rows(M, d, rows);
    for (int a = 0; a < 4; a++) {
        const int N = Ns[a];
        pf_config c = cfg("rows-test", 0, 0, 0.0, 1.0);
        pf_data *full = pf_data_from_rows(&c, N, 0, N, rows, M, d);
        CHECK(pf_data_n_rows(full) == M, "N=%d: full holds all rows", N);
        pf_real *Yf = alloc_real((long)N * d), *Yp = alloc_real((long)N * d);
        for (int P = 1; P <= 4; P++) {
            for (int r = 0; r < P; r++) {
                int i0, i1;
                block_of(N, r, P, &i0, &i1);
                pf_data *D = pf_data_from_rows(&c, N, i0, i1, rows, M, d);
                long cnt = 0;
                for (long j = 0; j < M; j++) cnt += (j % N >= i0 && j % N < i1);
                CHECK(pf_data_n_rows(D) == cnt && pf_shard_count(M, N, i0, i1) == cnt,
                      "N=%d P=%d r=%d: holds %ld rows, want %ld", N, P, r, pf_data_n_rows(D), cnt);
                const long *ids = pf_data_row_ids(D);
                const pf_real *R = pf_data_rows(D);
                int bad = 0;
                for (long k = 0; k < pf_data_n_rows(D); k++) {
                    if (ids[k] % N < i0 || ids[k] % N >= i1 || (k && ids[k] <= ids[k - 1])) bad++;
                    if (memcmp(R + k * d, rows + ids[k] * d, d * sizeof *R)) bad++;
                }
                CHECK(bad == 0, "N=%d P=%d r=%d: shard rows/ids wrong (%d)", N, P, r, bad);
                for (uint64_t it = 0; it < 5; it++) {
                    pf_data_draw(full, it, PF_RNG_DATA, 0, N, Yf);
                    if (i1 > i0) pf_data_draw(D, it, PF_RNG_DATA, i0, i1, Yp);
                    CHECK(same(Yf + (size_t)i0 * d, Yp, (long)(i1 - i0) * d),
                          "N=%d P=%d r=%d it=%d: rank block differs from full batch", N, P, r,
                          (int)it);
                    if (i1 - i0 > 1) {
                        pf_data_draw(D, it, PF_RNG_DATA, i0 + 1, i1, Yp);
                        CHECK(same(Yf + (size_t)(i0 + 1) * d, Yp, (long)(i1 - i0 - 1) * d),
                              "N=%d P=%d r=%d: sub-range draw", N, P, r);
                    }
                }
                pf_data_close(D);
            }
        }
        /* Stratification: sample i only ever sees rows of column i, and over many
         * iterations sees all of them. */
        int bad = 0, missing = 0;
        for (int i = 0; i < N; i++) {
            long nc = (M - 1 - i) / N + 1;
            int seen[64] = {0};
            for (uint64_t it = 0; it < 200; it++) {
                pf_data_draw(full, it, PF_RNG_DATA, i, i + 1, Yp);
                long j = (long)llround(Yp[0]);
                if (j % N != i) bad++;
                else seen[j / N] = 1;
            }
            for (long r = 0; r < nc; r++) missing += !seen[r];
        }
        CHECK(bad == 0, "N=%d: %d draws outside their column", N, bad);
        CHECK(missing == 0, "N=%d: %d rows never drawn in 200 iterations", N, missing);
        free(Yf); free(Yp);
        pf_data_close(full);
    }

    /* held-out of a row source: the shard's rows in order (cycled), or given rows */
    pf_config c = cfg("rows-test", 0, 0, 0.0, 1.0);
    pf_data *D = pf_data_from_rows(&c, 10, 3, 6, rows, M, d);
    long nr = pf_data_n_rows(D);
    pf_real *H = alloc_real(2 * nr * d);
    pf_data_heldout(D, (int)(2 * nr), H);
    CHECK(same(H, pf_data_rows(D), nr * d) && same(H + nr * d, pf_data_rows(D), nr * d),
          "held-out = shard rows, cycled");
    pf_data_set_heldout(D, rows + 30 * d, 4);
    pf_data_heldout(D, 6, H);
    CHECK(same(H, rows + 30 * d, 4 * d) && same(H + 4 * d, rows + 30 * d, 2 * d),
          "held-out = given rows, cycled");
    pf_data_set_image_shape(D, 28, 28, 1);
    int hh, ww, cc;
    pf_data_image_shape(D, &hh, &ww, &cc);
    CHECK(hh == 28 && ww == 28 && cc == 1, "image shape");
    CHECK(pf_data_manifold_distance(D, rows) == -1.0, "rows: no manifold");
    pf_data_close(D);
    free(H);
    free(rows);
}

/* The real multi-rank check: each rank builds only its shard and draws its block. */
static void test_rows_mpi(void)
{
    const int P = pf_nranks(), r = pf_rank();
    const long Ms[] = {37, 11, 1000};
    const int Ns[] = {11, 11, 64}, d = 2;
    for (int a = 0; a < 3; a++) {
        long M = Ms[a];
        int N = Ns[a], i0, i1;
        pf_real *rows = alloc_real(M * d);
        make_rows(M, d, rows);
        pf_config c = cfg("rows-mpi", 0, 0, 0.0, 1.0);
        block_of(N, r, P, &i0, &i1);
        pf_data *D = pf_data_from_rows(&c, N, i0, i1, rows, M, d);
        pf_data *F = pf_data_from_rows(&c, N, 0, N, rows, M, d);
        pf_real *Yf = alloc_real((long)N * d), *Yp = alloc_real((long)N * d);
        int diff = 0;
        for (uint64_t it = 0; it < 20; it++) {
            pf_data_draw(F, it, PF_PURPOSE(PF_RNG_DATA, it % 3), 0, N, Yf);
            if (i1 > i0) pf_data_draw(D, it, PF_PURPOSE(PF_RNG_DATA, it % 3), i0, i1, Yp);
            diff += !same(Yf + (size_t)i0 * d, Yp, (long)(i1 - i0) * d);
        }
        CHECK(diff == 0, "rank %d/%d, M=%ld N=%d: %d iterations differ from the full batch",
              r, P, M, N, diff);
        if (M == N) { /* one row per column: sample i is row i */
            pf_data_draw(D, 7, PF_RNG_DATA, i0, i1, Yp);
            CHECK(same(Yp, rows + (size_t)i0 * d, (long)(i1 - i0) * d), "N = M: identity");
        }
        free(Yf); free(Yp); free(rows);
        pf_data_close(D);
        pf_data_close(F);
    }
}

/* ----------------------------------------------------------------- reference ---- */

static void test_reference(void)
{
    const int n = 20000, d = 3;
    pf_real *X = alloc_real((long)n * d), *Y = alloc_real((long)n * d);
    pf_config c = cfg("8gaussians", 2, 1, 0, 1);
    c.reference = PF_REF_NORMAL;
    c.ref_scale = 0.7;
    pf_reference_draw(&c, d, 5, PF_RNG_REFERENCE, 0, n, X);
    double s = 0, s2 = 0, N = (double)n * d;
    for (long k = 0; k < (long)n * d; k++) { s += X[k]; s2 += X[k] * X[k]; }
    double mean = s / N, var = s2 / N - mean * mean;
    CHECK(fabs(mean) < 5 * 0.7 / sqrt(N), "normal reference mean %g", mean);
    CHECK(fabs(var - 0.49) < 5 * 0.49 * sqrt(2 / N), "normal reference var %g", var);
    pf_reference_draw(&c, d, 5, PF_RNG_REFERENCE, 100, 200, Y);
    CHECK(same(X + 100 * d, Y, 100L * d), "reference sub-range");
    pf_reference_draw(&c, d, 5, PF_RNG_GEN_REFERENCE, 0, n, Y);
    CHECK(!same(X, Y, (long)n * d), "reference purposes differ");

    c.reference = PF_REF_UNIFORM;
    c.ref_low = 0.0;
    c.ref_high = 0.5;
    pf_reference_draw(&c, d, 5, PF_RNG_REFERENCE, 0, n, X);
    double lo = 1e300, hi = -1e300;
    s = s2 = 0;
    for (long k = 0; k < (long)n * d; k++) {
        s += X[k];
        s2 += X[k] * X[k];
        lo = fmin(lo, X[k]);
        hi = fmax(hi, X[k]);
    }
    mean = s / N;
    var = s2 / N - mean * mean;
    CHECK(lo >= 0 && hi <= 0.5 && lo < 0.001 && hi > 0.499, "uniform range [%g, %g]", lo, hi);
    CHECK(fabs(mean - 0.25) < 5 * 0.5 / sqrt(12 * N), "uniform mean %g", mean);
    CHECK(fabs(var - 0.25 / 12) < 5 * 0.25 * sqrt(1.0 / 80 - 1.0 / 144) / sqrt(N),
          "uniform var %g", var);
    free(X); free(Y);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    test_2d_sets();
    test_manifold_sets();
    test_distance_functions();
    test_rows_in_process();
    test_rows_mpi();
    test_reference();
    return pf_test_finish("test_data");
}
