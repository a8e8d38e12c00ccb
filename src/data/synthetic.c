/* proxflow: synthetic data sources (SPEC §6.1).
 *
 * Synthetic sources.  Sample i of (iteration, purpose) is drawn from the one stream
 * pf_stream_init(seed, iteration, purpose, i) only, so any rank can draw any sample
 * and the global batch does not depend on the rank count (SPEC §3).  Each sample
 * first draws its clean point z, then x = scale * z (2-D sets) or x = scale * Q z
 * (manifold sets), then adds noise * N(0,1) to every one of the d coordinates.
 *
 * 2-D sets (d = 2 with embedding = auto, config `dim` then ignored):
 *   8gaussians    k uniform in 0..7, centre 2 (cos k pi/4, sin k pi/4), plus
 *                 0.2 N(0, I_2).  Centres on the circle of radius 2.
 *   checkerboard  the FFJORD checkerboard: x1 ~ U(-4, 4), x2 in [-4, 4], uniform on
 *                 the 2 x 2 squares with floor(x1/2) + floor(x2/2) even (8 squares).
 *   moons         scikit-learn's two moons, centred: a fair bit picks the upper moon
 *                 (cos t, sin t) or the lower one (1 - cos t, 0.5 - sin t), t ~ U(0, pi),
 *                 then (0.5, 0.25) is subtracted so the set is centred at 0.
 *   swissroll     the FFJORD 2-D swiss roll: t = 1.5 pi (1 + 2u), (t cos t, t sin t)/5
 *                 (a spiral of radii 0.94 .. 2.83).
 *   circles       two concentric circles of radius 1 and 2, fair choice, uniform angle.
 * The paper code's sets (data_generator.py of HyeminGu/Wasserstein-1_Wasserstein-2_
 * generative_flow, issue 19, docs/notes_lowdim.md §1), with its scale factors and its
 * in-plane noise built in, so scale = 1, noise = 0 give its distribution (the
 * authors draw a fixed pool, exactly n/5 per arm or n/2 per moon; here every sample
 * picks its arm / moon / spiral by itself, the same distribution):
 *   pinwheel      k uniform in 0..4, r = 1 + 0.3 g1, s = 0.1 g2, a = 2 pi k/5 +
 *                 0.25 exp(r): 1.4 (r cos a + s sin a, -r sin a + s cos a) (the row
 *                 vector (r, s) times the rotation [[cos a, -sin a], [sin a, cos a]]).
 *   moons_hg      make_moons(noise = 0.05): upper (cos t, sin t) or lower (1 - cos t,
 *                 0.5 - sin t), t ~ U(0, pi), plus 0.05 N(0, I_2), then
 *                 4.2 (x - (0.5, 0.2)) (its mean is (0, 0.21), not 0).
 *   spirals2      n = 3 pi sqrt(u1), p = (-n cos n + u2/2, n sin n + u3/2), a fair sign
 *                 +-p, then 0.64 (+-p/3 + 0.1 N(0, I_2)).
 * Embedded 2-D sets (embedding = isometry or pad, d = dim >= 2): x = scale Q z with Q
 * [d x 2] as for the manifold sets (pad: Q = [e1 e2], the paper code's zero padding).
 *
 * Manifold sets in R^d (d = config `dim`), x = scale * Q z with Q [d x m] a seeded
 * random isometry: column j is the Gram-Schmidt orthonormalisation (done twice, for
 * accuracy) of d normal draws from stream (seed, 0, PF_RNG_ISOMETRY, j).
 *   sphere        unit k-sphere in R^{k+1}, k = manifold_dim >= 1 (needs d >= k+1),
 *                 uniform: z = g/|g|, g ~ N(0, I_{k+1}).  `circle` = sphere with k = 1.
 *   torus         standard 2-torus in R^3, R = 1, r = 0.4: z = ((R + r cos a) cos b,
 *                 (R + r cos a) sin b, r sin a), uniform in surface area (b ~ U(0, 2pi);
 *                 a by rejection with acceptance (R + r cos a)/(R + r)).  Needs d >= 3.
 *   swissroll3d   swiss-roll surface in R^3 (scikit-learn's, divided by 5):
 *                 t = 1.5 pi (1 + 2u), h ~ U(-10.5, 10.5), z = (t cos t, h, t sin t)/5,
 *                 uniform in (t, h) (not in area, as scikit-learn).  Needs d >= 3.
 * pf_data_manifold_distance: exact for sphere and torus; swiss roll: the surface is
 * (spiral) x (interval), so the distance is sqrt(perp^2 + d_spiral^2 + d_interval^2)
 * with d_spiral from a dense table of 4096 parameters refined by golden section and
 * Newton steps (about 1e-12 accurate); embedded 2-D sets: the distance to the plane of
 * Q (for d > 2; the sets fill their plane); -1 for 2-D sets in R^2.
 * Held-out samples of synthetic sources: sample k from (seed, 0, PF_RNG_HELDOUT, k).
 * */
#include "data/data_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define PF_PI 3.14159265358979323846
#define TORUS_R 1.0
#define TORUS_r 0.4
#define ROLL_T0 (1.5 * PF_PI)
#define ROLL_T1 (4.5 * PF_PI)
#define ROLL_HALF_H 10.5


/* ------------------------------------------------------------------ isometry ---- */

/* Q [d x m]: Gram-Schmidt of Gaussian columns, column j from (seed, 0, ISOMETRY, j).
 * Two passes of modified Gram-Schmidt keep Q^T Q = I to rounding. */
static double *make_isometry(uint64_t seed, int d, int m)
{
    double *Q = pf_malloc((size_t)d * m * sizeof *Q);
    double *v = pf_malloc((size_t)d * sizeof *v);
    for (int j = 0; j < m; j++) {
        pf_stream s;
        pf_stream_init(&s, seed, 0, PF_RNG_ISOMETRY, (uint64_t)j);
        for (int r = 0; r < d; r++) v[r] = pf_stream_normal(&s);
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < j; k++) {
                double dot = 0;
                for (int r = 0; r < d; r++) dot += Q[r * m + k] * v[r];
                for (int r = 0; r < d; r++) v[r] -= dot * Q[r * m + k];
            }
        double nrm = 0;
        for (int r = 0; r < d; r++) nrm += v[r] * v[r];
        nrm = sqrt(nrm);
        if (!(nrm > 1e-8)) pf_die("random isometry: degenerate column %d", j);
        for (int r = 0; r < d; r++) Q[r * m + j] = v[r] / nrm;
    }
    free(v);
    return Q;
}

/* embedding = pad: Q [d x m] = the first m unit vectors (the paper code writes its sets
 * into the first coordinates of zeros, docs/notes_lowdim.md §1). */
static double *make_pad(int d, int m)
{
    double *Q = pf_malloc((size_t)d * m * sizeof *Q);
    for (int r = 0; r < d; r++)
        for (int j = 0; j < m; j++) Q[r * m + j] = r == j;
    return Q;
}

/* -------------------------------------------------------------- swiss roll 3-D ---- */

static void roll_point(double t, double *a, double *b)
{
    *a = t * cos(t) / 5.0;
    *b = t * sin(t) / 5.0;
}

static double roll_f(double t, double pa, double pb)
{
    double a, b;
    roll_point(t, &a, &b);
    return (a - pa) * (a - pa) + (b - pb) * (b - pb);
}

/* Distance of (pa, pb) to the spiral (t cos t, t sin t)/5, t in [T0, T1]: every
 * discrete local minimum of the table is refined by golden section on its bracket,
 * then polished by Newton steps on f'(t) = 0 (kept only if they lower f). */
static double roll_spiral_distance(const pf_data *D, double pa, double pb)
{
    const int n = ROLL_TABLE;
    double f[ROLL_TABLE];
    for (int i = 0; i < n; i++) {
        double da = D->roll_xy[2 * i] - pa, db = D->roll_xy[2 * i + 1] - pb;
        f[i] = da * da + db * db;
    }
    double best = INFINITY;
    const double g = 0.5 * (sqrt(5.0) - 1.0);
    for (int i = 0; i < n; i++) {
        if ((i > 0 && f[i] > f[i - 1]) || (i < n - 1 && f[i] > f[i + 1])) continue;
        double lo = D->roll_t[i > 0 ? i - 1 : 0], hi = D->roll_t[i < n - 1 ? i + 1 : n - 1];
        double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
        double f1 = roll_f(x1, pa, pb), f2 = roll_f(x2, pa, pb);
        for (int it = 0; it < 80 && hi - lo > 1e-14; it++) {
            if (f1 < f2) {
                hi = x2; x2 = x1; f2 = f1;
                x1 = hi - g * (hi - lo); f1 = roll_f(x1, pa, pb);
            } else {
                lo = x1; x1 = x2; f1 = f2;
                x2 = lo + g * (hi - lo); f2 = roll_f(x2, pa, pb);
            }
        }
        double t = 0.5 * (lo + hi), ft = roll_f(t, pa, pb);
        if (f[i] < ft) { t = D->roll_t[i]; ft = f[i]; }
        for (int it = 0; it < 3; it++) {
            /* gamma = (t cos t, t sin t)/5; f/2 derivative: (gamma - p).gamma' */
            double c = cos(t), s = sin(t);
            double ga = t * c / 5, gb = t * s / 5;
            double d1a = (c - t * s) / 5, d1b = (s + t * c) / 5;
            double d2a = (-2 * s - t * c) / 5, d2b = (2 * c - t * s) / 5;
            double h1 = (ga - pa) * d1a + (gb - pb) * d1b;
            double h2 = d1a * d1a + d1b * d1b + (ga - pa) * d2a + (gb - pb) * d2b;
            if (!(h2 > 0)) break;
            double tn = t - h1 / h2;
            if (tn < ROLL_T0) tn = ROLL_T0;
            if (tn > ROLL_T1) tn = ROLL_T1;
            double fn = roll_f(tn, pa, pb);
            if (!(fn < ft)) break;
            t = tn;
            ft = fn;
        }
        if (ft < best) best = ft;
    }
    return sqrt(best);
}

/* ------------------------------------------------------------------ sampling ---- */

/* The clean point z of one sample (length 2 for 2-D sets, m for manifold sets). */
static void synth_clean(const pf_data *D, pf_stream *s, double *z)
{
    switch (D->kind) {
    case K_8GAUSSIANS: {
        int k = (int)(pf_stream_u32(s) & 7u);
        z[0] = 2.0 * cos(k * PF_PI / 4) + 0.2 * pf_stream_normal(s);
        z[1] = 2.0 * sin(k * PF_PI / 4) + 0.2 * pf_stream_normal(s);
        break;
    }
    case K_CHECKERBOARD: {
        /* FFJORD: x1 ~ U(-2,2); x2 in [0,1) or [-2,-1), shifted by floor(x1) mod 2. */
        double x1 = -2.0 + 4.0 * pf_stream_uniform(s);
        int b = (int)(pf_stream_u32(s) & 1u);
        int par = (int)floor(x1) & 1; /* two's complement: floor mod 2 in {0, 1} */
        double x2 = pf_stream_uniform(s) - 2.0 * b + par;
        z[0] = 2.0 * x1;
        z[1] = 2.0 * x2;
        break;
    }
    case K_MOONS: {
        int b = (int)(pf_stream_u32(s) & 1u);
        double t = PF_PI * pf_stream_uniform(s);
        if (b == 0) { z[0] = cos(t); z[1] = sin(t); }
        else { z[0] = 1.0 - cos(t); z[1] = 0.5 - sin(t); }
        z[0] -= 0.5;
        z[1] -= 0.25;
        break;
    }
    case K_SWISSROLL: {
        double t = 1.5 * PF_PI * (1.0 + 2.0 * pf_stream_uniform(s));
        roll_point(t, &z[0], &z[1]);
        break;
    }
    case K_CIRCLES: {
        double r = 1.0 + (double)(pf_stream_u32(s) & 1u);
        double a = 2.0 * PF_PI * pf_stream_uniform(s);
        z[0] = r * cos(a);
        z[1] = r * sin(a);
        break;
    }
    case K_SPHERE:
    case K_CIRCLE: {
        double n2;
        do {
            n2 = 0;
            for (int j = 0; j < D->m; j++) {
                z[j] = pf_stream_normal(s);
                n2 += z[j] * z[j];
            }
        } while (!(n2 > 1e-300));
        double inv = 1.0 / sqrt(n2);
        for (int j = 0; j < D->m; j++) z[j] *= inv;
        break;
    }
    case K_TORUS: {
        double b = 2.0 * PF_PI * pf_stream_uniform(s), a;
        for (;;) { /* area element is proportional to R + r cos a */
            a = 2.0 * PF_PI * pf_stream_uniform(s);
            if (pf_stream_uniform(s) * (TORUS_R + TORUS_r) <= TORUS_R + TORUS_r * cos(a)) break;
        }
        double rho = TORUS_R + TORUS_r * cos(a);
        z[0] = rho * cos(b);
        z[1] = rho * sin(b);
        z[2] = TORUS_r * sin(a);
        break;
    }
    case K_SWISSROLL3D: {
        double t = ROLL_T0 + (ROLL_T1 - ROLL_T0) * pf_stream_uniform(s);
        double h = ROLL_HALF_H * (2.0 * pf_stream_uniform(s) - 1.0);
        roll_point(t, &z[0], &z[2]);
        z[1] = h / 5.0;
        break;
    }
    case K_PINWHEEL: {
        int k = (int)(5.0 * pf_stream_uniform(s));
        if (k > 4) k = 4;
        double r = 1.0 + 0.3 * pf_stream_normal(s), t = 0.1 * pf_stream_normal(s);
        double a = 2.0 * PF_PI * k / 5.0 + 0.25 * exp(r), ca = cos(a), sa = sin(a);
        z[0] = 1.4 * (r * ca + t * sa);
        z[1] = 1.4 * (-r * sa + t * ca);
        break;
    }
    case K_MOONS_HG: {
        int b = (int)(pf_stream_u32(s) & 1u);
        double t = PF_PI * pf_stream_uniform(s), mx, my;
        if (b == 0) { mx = cos(t); my = sin(t); }
        else { mx = 1.0 - cos(t); my = 0.5 - sin(t); }
        mx += 0.05 * pf_stream_normal(s);
        my += 0.05 * pf_stream_normal(s);
        z[0] = 4.2 * (mx - 0.5);
        z[1] = 4.2 * (my - 0.2);
        break;
    }
    case K_SPIRALS2: {
        double sg = (pf_stream_u32(s) & 1u) ? -1.0 : 1.0;
        double n = 3.0 * PF_PI * sqrt(pf_stream_uniform(s));
        double px = -cos(n) * n + 0.5 * pf_stream_uniform(s);
        double py = sin(n) * n + 0.5 * pf_stream_uniform(s);
        z[0] = 0.64 * (sg * px / 3.0 + 0.1 * pf_stream_normal(s));
        z[1] = 0.64 * (sg * py / 3.0 + 0.1 * pf_stream_normal(s));
        break;
    }
    case K_ROWS:
        break;
    }
}

/* One synthetic sample into x (length d). */
void pf_synth_sample(const pf_data *D, pf_stream *s, pf_real *x)
{
    double z[3];
    double *zz = z, *heap = NULL;
    if (D->m > 3) zz = heap = pf_malloc((size_t)D->m * sizeof *zz);
    synth_clean(D, s, zz);
    if (D->Q) {
        for (int r = 0; r < D->d; r++) {
            double acc = 0;
            for (int j = 0; j < D->m; j++) acc += D->Q[r * D->m + j] * zz[j];
            x[r] = (pf_real)(D->scale * acc + (D->noise > 0 ? D->noise * pf_stream_normal(s) : 0.0));
        }
    } else {
        for (int r = 0; r < D->d; r++)
            x[r] = (pf_real)(D->scale * zz[r] + (D->noise > 0 ? D->noise * pf_stream_normal(s) : 0.0));
    }
    free(heap);
}

pf_data *pf_synth_open(const pf_config *c, int N, int i0, int i1)
{
    const char *src = c->source;
    int idx = -1;
    for (int k = 0; pf_synthetic_names[k]; k++)
        if (strcmp(src, pf_synthetic_names[k]) == 0) idx = k;
    if (idx < 0) {
        char list[1024] = "";
        for (int k = 0; pf_synthetic_names[k]; k++) {
            strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, pf_synthetic_names[k], sizeof list - strlen(list) - 1);
        }
        pf_die("unknown data source '%s' (synthetic sources: %s; or FILE.h5:/DATASET, "
               "or an MNIST IDX file)", src, list);
    }
    pf_kind kind = (pf_kind)(K_8GAUSSIANS + idx);
    if (!(c->data_scale > 0)) pf_die("data source '%s': scale must be > 0", src);
    if (!(c->noise >= 0)) pf_die("data source '%s': noise must be >= 0", src);

    int m = 0, planar = 0;
    switch (kind) {
    case K_SPHERE:
        if (c->manifold_dim < 1)
            pf_die("data source 'sphere': manifold_dim must be >= 1 (got %d)", c->manifold_dim);
        m = c->manifold_dim + 1;
        break;
    case K_CIRCLE: m = 2; break;
    case K_TORUS:
    case K_SWISSROLL3D: m = 3; break;
    default: m = 2; planar = 1; break;
    }
    /* a 2-D set stays in R^2 unless an embedding is asked for (backward compatible:
     * `dim` defaults to 8 and 2-D sets always ignored it) */
    if (planar && c->embedding == PF_EMBED_AUTO) {
        pf_data *D = pf_data_new(c, kind, 2, N, i0, i1);
        D->planar = 1;
        return D;
    }
    if (c->dim < m)
        pf_die("data source '%s' lives in R^%d: dim must be >= %d (got %d)", src, m, m, c->dim);
    pf_data *D = pf_data_new(c, kind, c->dim, N, i0, i1);
    D->m = m;
    D->planar = planar;
    D->Q = c->embedding == PF_EMBED_PAD ? make_pad(c->dim, m) : make_isometry(c->seed, c->dim, m);
    if (kind == K_SWISSROLL3D) {
        D->roll_t = pf_malloc(ROLL_TABLE * sizeof *D->roll_t);
        D->roll_xy = pf_malloc(2 * ROLL_TABLE * sizeof *D->roll_xy);
        for (int i = 0; i < ROLL_TABLE; i++) {
            double t = ROLL_T0 + (ROLL_T1 - ROLL_T0) * i / (ROLL_TABLE - 1);
            D->roll_t[i] = t;
            roll_point(t, &D->roll_xy[2 * i], &D->roll_xy[2 * i + 1]);
        }
    }
    return D;
}

/* ----------------------------------------------------------- manifold distance ---- */

double pf_data_manifold_distance(const pf_data *D, const pf_real *x)
{
    if (!D->Q || (D->planar && D->d == D->m)) return -1.0; /* 2-D set filling R^2 */
    const int d = D->d, m = D->m;
    /* Work in unscaled coordinates y = x / scale: z = Q^T y, perp = |y - Q z|. */
    double zbuf[3], *z = zbuf, *heap = NULL;
    if (m > 3) z = heap = pf_malloc((size_t)m * sizeof *z);
    double inv = 1.0 / D->scale;
    for (int j = 0; j < m; j++) {
        double acc = 0;
        for (int r = 0; r < d; r++) acc += D->Q[r * m + j] * (double)x[r] * inv;
        z[j] = acc;
    }
    double perp2 = 0;
    for (int r = 0; r < d; r++) {
        double acc = 0;
        for (int j = 0; j < m; j++) acc += D->Q[r * m + j] * z[j];
        double e = (double)x[r] * inv - acc;
        perp2 += e * e;
    }
    double in2 = 0;
    switch (D->kind) {
    case K_SPHERE:
    case K_CIRCLE: {
        double n2 = 0;
        for (int j = 0; j < m; j++) n2 += z[j] * z[j];
        double e = sqrt(n2) - 1.0;
        in2 = e * e;
        break;
    }
    case K_TORUS: {
        /* distance to the core circle (radius R in the z0-z1 plane), minus r */
        double rho = hypot(z[0], z[1]);
        double e = hypot(rho - TORUS_R, z[2]) - TORUS_r;
        in2 = e * e;
        break;
    }
    case K_SWISSROLL3D: {
        /* surface = spiral x [-h, h]: squared distances add */
        double ds = roll_spiral_distance(D, z[0], z[2]);
        double dh = fabs(z[1]) - ROLL_HALF_H / 5.0;
        in2 = ds * ds + (dh > 0 ? dh * dh : 0.0);
        break;
    }
    default: break;
    }
    free(heap);
    return D->scale * sqrt(perp2 + in2);
}
