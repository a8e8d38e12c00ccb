/* The paper code's low-dimensional sets and the embedding of 2-D sets in R^d (issue 19,
 * docs/DATA.md, docs/notes_lowdim.md §1): moments of pinwheel, moons_hg and spirals2
 * against values derived from data_generator.py's definitions, the arms of the
 * pinwheel, the embedding (Q^T Q = I, plane coordinates = the 2-D draw, pad = zeros
 * after the first two coordinates, distance to the plane), and the draw of sample i
 * being the same whatever the rank count (run on 1 and 2 ranks). */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "proxflow/data/data.h"
#include "proxflow/core/rng.h"
#include "testutil.h"

#define PI 3.14159265358979323846

static pf_config cfg(const char *source, int dim, pf_embedding emb, double noise)
{
    char s[600], d[32], e[40], nz[40];
    snprintf(s, sizeof s, "data.source=%s", source);
    snprintf(d, sizeof d, "data.dim=%d", dim);
    snprintf(e, sizeof e, "data.embedding=%s",
             emb == PF_EMBED_PAD ? "pad" : emb == PF_EMBED_ISOMETRY ? "isometry" : "auto");
    snprintf(nz, sizeof nz, "data.noise=%.17g", noise);
    const char *sets[] = {s, d, e, nz, "train.seed=1234", "train.batch=64", NULL};
    pf_config c;
    pf_test_config(&c, sets);
    return c;
}

static pf_real *draw(const pf_config *c, int n, uint64_t it, pf_data **out)
{
    pf_data *D = pf_data_open(c, n, 0, n);
    pf_real *Y = malloc(sizeof(pf_real) * (size_t)n * pf_data_dim(D));
    pf_data_draw(D, it, PF_RNG_DATA, 0, n, Y);
    if (out) *out = D;
    else pf_data_close(D);
    return Y;
}

/* mean and standard error of f over the n points */
typedef struct { double mean, se; } stat;
static stat moment(const pf_real *Y, int n, double (*f)(const pf_real *))
{
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double v = f(Y + 2 * i);
        s += v;
        s2 += v * v;
    }
    double m = s / n;
    return (stat){m, sqrt(fmax(s2 / n - m * m, 0) / n)};
}
static double f_x(const pf_real *p) { return p[0]; }
static double f_y(const pf_real *p) { return p[1]; }
static double f_xx(const pf_real *p) { return (double)p[0] * p[0]; }
static double f_yy(const pf_real *p) { return (double)p[1] * p[1]; }
static double f_rr(const pf_real *p) { return f_xx(p) + f_yy(p); }

static void check_moment(const char *set, const char *what, stat s, double expect)
{
    CHECK(fabs(s.mean - expect) < 5 * s.se + 1e-12, "%s: %s = %.5f, derived %.5f (5 se = %.5f)", set,
          what, s.mean, expect, 5 * s.se);
}

/* ------------------------------------------------------------ the three sets ---- */

/* E[g(n)] for n = 3 pi sqrt(u), u ~ U(0,1), by Simpson's rule on u (independent of the
 * closed forms below: the test of spirals2's two second moments) */
static double spiral_mean(double (*g)(double))
{
    const int K = 200000;
    double s = 0;
    for (int k = 0; k <= K; k++) {
        double u = (double)k / K, w = (k == 0 || k == K) ? 1 : (k % 2 ? 4 : 2);
        s += w * g(3 * PI * sqrt(u));
    }
    return s / (3.0 * K);
}
static double g_cc(double n) { return n * n * cos(n) * cos(n); }
static double g_ss(double n) { return n * n * sin(n) * sin(n); }
static double g_c(double n) { return n * cos(n); }
static double g_s(double n) { return n * sin(n); }

static void test_sets(void)
{
    const int n = 60000;
    /* pinwheel: 1.4 (r, s) R(a), r ~ N(1, 0.09), s ~ N(0, 0.01), a = 2 pi k / 5 + 0.25 e^r:
     * mean 0 (five arms at 2 pi k / 5), E|p|^2 = 1.96 (1 + 0.09 + 0.01) = 2.156 */
    pf_config c = cfg("pinwheel", 7 /* ignored: auto */, PF_EMBED_AUTO, 0);
    pf_data *D;
    pf_real *Y = draw(&c, n, 3, &D);
    CHECK(pf_data_dim(D) == 2 && pf_data_isometry(D, NULL) == NULL, "pinwheel: a 2-D set");
    CHECK(pf_data_manifold_distance(D, Y) == -1.0, "pinwheel in R^2: no manifold");
    pf_data_close(D);
    check_moment("pinwheel", "E x", moment(Y, n, f_x), 0);
    check_moment("pinwheel", "E y", moment(Y, n, f_y), 0);
    check_moment("pinwheel", "E |p|^2", moment(Y, n, f_rr), 2.156);
    /* the arms: the polar angle th = atan2(s, r) - a, so -th - 0.25 e^{|p|/1.4} is
     * 2 pi k / 5 up to atan2(s, r) (sd 0.1) and |p|/1.4 - r (s^2 / 2r) */
    int arm[5] = {0}, off = 0;
    for (int i = 0; i < n; i++) {
        double th = atan2(Y[2 * i + 1], Y[2 * i]), rho = hypot(Y[2 * i], Y[2 * i + 1]) / 1.4;
        double a = fmod(-th - 0.25 * exp(rho) + 20 * PI, 2 * PI), k = floor(a / (2 * PI / 5) + 0.5);
        if (fabs(a - k * 2 * PI / 5) > 0.4) off++;
        arm[(int)k % 5]++;
    }
    CHECK(off < n / 100, "pinwheel: %d of %d points off the arms", off, n);
    for (int k = 0; k < 5; k++)
        CHECK(fabs(arm[k] - n / 5.0) < 5 * sqrt(n * 0.16) + off, "pinwheel: arm %d has %d points", k,
              arm[k]);
    free(Y);

    /* moons_hg: 4.2 (m + 0.05 g - (0.5, 0.2)), m on the upper (cos t, sin t) or lower
     * (1 - cos t, 0.5 - sin t) moon: E = 4.2 (0, 0.05); E x^2 = 17.64 (0.75 + 0.0025);
     * E y^2 = 17.64 (0.565 - 1/pi + 0.0025) (E sin t = 2/pi) */
    c = cfg("moons_hg", 2, PF_EMBED_AUTO, 0);
    Y = draw(&c, n, 3, NULL);
    check_moment("moons_hg", "E x", moment(Y, n, f_x), 0);
    check_moment("moons_hg", "E y", moment(Y, n, f_y), 0.21);
    check_moment("moons_hg", "E x^2", moment(Y, n, f_xx), 17.64 * 0.7525);
    check_moment("moons_hg", "E y^2", moment(Y, n, f_yy), 17.64 * (0.5675 - 1 / PI));
    /* the moons are unit circles about (0, 0) and (1, 0.5) in m, with 0.05 noise */
    int far = 0;
    double s2 = 0;
    for (int i = 0; i < n; i++) {
        double mx = Y[2 * i] / 4.2 + 0.5, my = Y[2 * i + 1] / 4.2 + 0.2;
        double e = fmin(fabs(hypot(mx, my) - 1), fabs(hypot(mx - 1, my - 0.5) - 1));
        far += e > 0.25; /* 5 sigma */
        s2 += e * e;
    }
    CHECK(far == 0, "moons_hg: %d points 5 sigma off both moons", far);
    CHECK(sqrt(s2 / n) > 0.04 && sqrt(s2 / n) < 0.052, "moons_hg: rms distance %g to the moons, noise 0.05",
          sqrt(s2 / n));
    free(Y);

    /* spirals2: 0.64 (+-p/3 + 0.1 g), p = (-n cos n + u2/2, n sin n + u3/2): mean 0,
     * E x^2 = 0.4096 ((E n^2 cos^2 n - E[n cos n]/2 + 1/12) / 9 + 0.01), E y^2 likewise
     * with sin and +E[n sin n]/2; the closed forms E n^2 = 9 pi^2 / 2, E n cos n =
     * -4 / (3 pi), E n sin n = 2 - 8 / (9 pi^2) check the quadrature */
    double ecc = spiral_mean(g_cc), ess = spiral_mean(g_ss), ec = spiral_mean(g_c), es = spiral_mean(g_s);
    CHECK(fabs(ecc + ess - 4.5 * PI * PI) < 1e-6 && fabs(ec + 4 / (3 * PI)) < 1e-6 &&
              fabs(es - 2 + 8 / (9 * PI * PI)) < 1e-6,
          "spiral quadrature: %g %g %g", ecc + ess, ec, es);
    c = cfg("spirals2", 2, PF_EMBED_AUTO, 0);
    Y = draw(&c, n, 3, NULL);
    check_moment("spirals2", "E x", moment(Y, n, f_x), 0);
    check_moment("spirals2", "E y", moment(Y, n, f_y), 0);
    check_moment("spirals2", "E x^2", moment(Y, n, f_xx), 0.4096 * ((ecc - ec / 2 + 1.0 / 12) / 9 + 0.01));
    check_moment("spirals2", "E y^2", moment(Y, n, f_yy), 0.4096 * ((ess + es / 2 + 1.0 / 12) / 9 + 0.01));
    free(Y);
}

/* --------------------------------------------------------------- embedding ---- */

static double qtq_error(const double *Q, int d, int m)
{
    double err = 0;
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            double s = 0;
            for (int r = 0; r < d; r++) s += Q[r * m + a] * Q[r * m + b];
            err = fmax(err, fabs(s - (a == b)));
        }
    return err;
}

static void test_embedding(void)
{
    const char *sets[] = {"pinwheel", "moons_hg", "spirals2", "circles", "8gaussians"};
    const int dims[] = {2, 7, 12}, n = 500;
    const double tol = PF_ROUNDOFF(1e-13) * 20; /* |x| <= ~7 */
    for (int s = 0; s < 5; s++) {
        pf_config c2 = cfg(sets[s], 2, PF_EMBED_AUTO, 0);
        pf_real *Z = draw(&c2, n, 5, NULL); /* the 2-D draw */
        for (int e = 0; e < 2; e++)
            for (int t = 0; t < 3; t++) {
                const int d = dims[t];
                const pf_embedding emb = e ? PF_EMBED_PAD : PF_EMBED_ISOMETRY;
                char tag[80];
                snprintf(tag, sizeof tag, "%s %s d=%d", sets[s], e ? "pad" : "isometry", d);
                pf_config c = cfg(sets[s], d, emb, 0);
                pf_data *D;
                pf_real *X = draw(&c, n, 5, &D);
                int m = 0;
                const double *Q = pf_data_isometry(D, &m);
                CHECK(pf_data_dim(D) == d && Q && m == 2, "%s: dim %d, m %d", tag, pf_data_dim(D), m);
                if (!Q) { free(X); pf_data_close(D); continue; }
                CHECK(qtq_error(Q, d, 2) < 1e-14, "%s: |Q^T Q - I| = %g", tag, qtq_error(Q, d, 2));
                /* the plane coordinates Q^T x are the 2-D set's draw (same stream) */
                double err = 0, off = 0, md = -HUGE_VAL;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < 2; j++) {
                        double z = 0;
                        for (int r = 0; r < d; r++) z += Q[r * 2 + j] * X[(size_t)i * d + r];
                        err = fmax(err, fabs(z - Z[2 * i + j]));
                    }
                for (int i = 0; i < n; i++) {
                    for (int r = 2; r < d; r++) off = fmax(off, fabs(X[(size_t)i * d + r]));
                    md = fmax(md, pf_data_manifold_distance(D, X + (size_t)i * d));
                }
                CHECK(err < tol, "%s: plane coordinates differ from the 2-D draw by %g", tag, err);
                if (e) { /* pad: Q = [e1 e2], x = (z, 0, ..., 0) exactly */
                    int unit = 1;
                    for (int r = 0; r < d; r++)
                        for (int j = 0; j < 2; j++) unit &= Q[r * 2 + j] == (r == j);
                    CHECK(unit && off == 0 && err == 0, "%s: zero padding (max |x_r|, r >= 2: %g)", tag, off);
                }
                if (d == 2)
                    CHECK(md == -1.0, "%s: a set filling R^2 has no manifold distance (%g)", tag, md);
                else
                    CHECK(md >= 0 && md < tol, "%s: clean points off the plane by %g", tag, md);
                pf_data_close(D);
                free(X);
            }
        free(Z);
    }

    /* the isometry is the manifold sets' one (same streams): circle in R^7 */
    pf_config a = cfg("pinwheel", 7, PF_EMBED_ISOMETRY, 0), b = cfg("circle", 7, PF_EMBED_AUTO, 0);
    pf_data *Da = pf_data_open(&a, 4, 0, 4), *Db = pf_data_open(&b, 4, 0, 4);
    CHECK(!memcmp(pf_data_isometry(Da, NULL), pf_data_isometry(Db, NULL), 14 * sizeof(double)),
          "pinwheel's Q = circle's Q for the same seed");
    pf_data_close(Da);
    pf_data_close(Db);
    /* manifold sets may be padded too: a 2-sphere in the first 3 of 6 coordinates */
    pf_config sp = cfg("sphere", 6, PF_EMBED_PAD, 0);
    sp.manifold_dim = 2;
    pf_data *Ds;
    pf_real *S = draw(&sp, n, 1, &Ds);
    double off = 0, rad = 0;
    for (int i = 0; i < n; i++) {
        for (int r = 3; r < 6; r++) off = fmax(off, fabs(S[i * 6 + r]));
        rad = fmax(rad, fabs(hypot(hypot(S[i * 6], S[i * 6 + 1]), S[i * 6 + 2]) - 1));
    }
    CHECK(off == 0 && rad < PF_ROUNDOFF(1e-14) * 10, "sphere pad: off %g, radius error %g", off, rad);
    pf_data_close(Ds);
    free(S);

    /* distance to the plane: a point pushed by eps along e_r (r >= 2, pad) is eps away;
     * noise 0.1 in R^12 puts the points sqrt(10) 0.1 (chi, 10 dof) off the plane */
    pf_config p = cfg("moons_hg", 12, PF_EMBED_PAD, 0);
    pf_data *Dp;
    pf_real *X = draw(&p, n, 2, &Dp);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double eps = 0.01 * (i % 17);
        X[(size_t)i * 12 + 2 + i % 10] += (pf_real)eps;
        worst = fmax(worst, fabs(pf_data_manifold_distance(Dp, X + (size_t)i * 12) - eps));
    }
    CHECK(worst < PF_ROUNDOFF(1e-13) * 100, "moons_hg pad: distance off by %g", worst);
    pf_data_close(Dp);
    free(X);
    pf_config q = cfg("moons_hg", 12, PF_EMBED_ISOMETRY, 0.1);
    X = draw(&q, 4000, 2, &Dp);
    double mean = 0;
    for (int i = 0; i < 4000; i++) mean += pf_data_manifold_distance(Dp, X + (size_t)i * 12) / 4000;
    /* E chi_10 = sqrt(2) Gamma(5.5) / Gamma(5) = 3.0843; sd 0.69, so 5 se = 0.0055 (x 0.1) */
    CHECK(fabs(mean - 0.30843) < 0.006, "moons_hg noise 0.1: mean distance to the plane %g", mean);
    pf_data_close(Dp);
    free(X);

    /* an embedding does not apply to a file source: a validation error */
    pf_config f = cfg("moons_hg", 7, PF_EMBED_PAD, 0);
    snprintf(f.source, sizeof f.source, "data/x.h5:/x");
    char err[1024] = "";
    CHECK(pf_config_validate(&f, err, sizeof err) != 0 && strstr(err, "applies to synthetic sets only"),
          "embedding with a file source: '%s'", err);
}

/* ------------------------------------------------- rank-count independence ---- */

/* Every rank opens the source for its block of N = 90 columns and draws it; the
 * gathered batch must equal one process's draw of the whole batch, bit for bit. */
static void test_ranks(void)
{
    const int P = pf_nranks(), r = pf_rank(), N = 90;
    const char *sets[] = {"pinwheel", "moons_hg", "spirals2", "pinwheel"};
    const int dims[] = {2, 7, 12, 12};
    const pf_embedding embs[] = {PF_EMBED_AUTO, PF_EMBED_PAD, PF_EMBED_ISOMETRY, PF_EMBED_ISOMETRY};
    for (int s = 0; s < 4; s++) {
        pf_config c = cfg(sets[s], dims[s], embs[s], s == 3 ? 0.05 : 0);
        int i0 = (int)((long)N * r / P), i1 = (int)((long)N * (r + 1) / P);
        pf_data *D = pf_data_open(&c, N, i0, i1), *F = pf_data_open(&c, N, 0, N);
        const int d = pf_data_dim(D);
        pf_real *mine = malloc(sizeof(pf_real) * (size_t)(i1 - i0 + 1) * d);
        pf_real *all = malloc(sizeof(pf_real) * (size_t)N * d), *full = malloc(sizeof(pf_real) * (size_t)N * d);
        int *cnt = malloc(P * sizeof *cnt), *dis = malloc(P * sizeof *dis);
        for (int q = 0; q < P; q++) {
            int a = (int)((long)N * q / P), b = (int)((long)N * (q + 1) / P);
            cnt[q] = (b - a) * d * (int)sizeof(pf_real);
            dis[q] = a * d * (int)sizeof(pf_real);
        }
        int diff = 0;
        for (uint64_t it = 0; it < 5; it++) {
            uint32_t purpose = PF_PURPOSE(PF_RNG_DATA, it % 3);
            if (i1 > i0) pf_data_draw(D, it, purpose, i0, i1, mine);
            MPI_Gatherv(mine, (i1 - i0) * d * (int)sizeof(pf_real), MPI_BYTE, all, cnt, dis, MPI_BYTE, 0,
                        pf_comm());
            if (r == 0) {
                pf_data_draw(F, it, purpose, 0, N, full);
                diff += memcmp(all, full, sizeof(pf_real) * (size_t)N * d) != 0;
            }
        }
        CHECK(diff == 0, "%s d=%d on %d ranks: %d of 5 batches differ from one process's", sets[s], d, P, diff);
        free(mine); free(all); free(full); free(cnt); free(dis);
        pf_data_close(D);
        pf_data_close(F);
    }
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    if (pf_rank() == 0) {
        test_sets();
        test_embedding();
    }
    test_ranks();
    return pf_test_finish("test_data_lowdim");
}
