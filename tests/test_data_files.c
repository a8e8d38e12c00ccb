/* File data sources (SPEC §6.1) and their sharding (SPEC §3).  Runs on 1 and 2 ranks.
 *
 * Rank 0 writes small MNIST IDX files (raw and gzip; 1-, 2- and 3-D) and an HDF5 file
 * (2-D float64, 3-D float32, 4-D channel-last int16, 1-D uint8) of known content into a
 * temporary directory.  For several batch sizes N every rank opens each source for its
 * block of columns and checks
 *   - its rows and row ids: exactly the rows j with j mod N in its block, ascending,
 *     with the values of the file (/255 for IDX, times scale; 4-D transposed to [C][H][W]);
 *   - its draws: equal to the same block drawn from an in-memory row source of the
 *     expected content, and to a 1-rank open of the file on MPI_COMM_SELF (pf_set_comm):
 *     the same rows for the same global samples whatever the rank count;
 *   - held-out rows (n_train > 0): the rows after n_train, up to n_train of them;
 *   - image shape.
 * Then the real ../shared/data/mnist digits (PROXFLOW_DATA_DIR; skipped with a note
 * when absent): 10000 x 784 in [0, 1], 28 x 28 x 1, n_train = 6000 leaves 4000
 * held-out rows.  Error cases abort the process, so tests/test_data_errors.sh checks
 * them through the proxflow binary. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "proxflow/data/data.h"
#include "proxflow/core/rng.h"
#include "proxflow/flow/trainer.h"
#include "testutil.h"

static char g_dir[256];
static char g_files[32][320];
static int g_nfiles;

static const char *tmp_path(const char *name)
{
    snprintf(g_files[g_nfiles], sizeof g_files[0], "%s/%s", g_dir, name);
    return g_files[g_nfiles++];
}

static pf_config cfg(const char *source, long n_train, double scale)
{
    pf_config c;
    pf_config_defaults(&c);
    snprintf(c.source, sizeof c.source, "%s", source);
    c.n_train = n_train;
    c.data_scale = scale;
    c.seed = 77;
    return c;
}

static int same(const pf_real *a, const pf_real *b, long n)
{
    return n <= 0 || memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* ------------------------------------------------------------------ file content ---- */

static unsigned char pix(long j, long p) { return (unsigned char)((j * 37 + p * 11 + (j * p) % 7) & 255); }

static void write_idx(const char *path, int gz, int nd, const unsigned *dims)
{
    unsigned char hdr[16] = {0, 0, 0x08, (unsigned char)nd};
    long M = dims[0], d = 1;
    for (int k = 0; k < nd; k++) {
        hdr[4 + 4 * k] = (unsigned char)(dims[k] >> 24);
        hdr[5 + 4 * k] = (unsigned char)(dims[k] >> 16);
        hdr[6 + 4 * k] = (unsigned char)(dims[k] >> 8);
        hdr[7 + 4 * k] = (unsigned char)dims[k];
        if (k) d *= dims[k];
    }
    unsigned char *body = malloc((size_t)(M * d));
    for (long j = 0; j < M; j++)
        for (long p = 0; p < d; p++) body[j * d + p] = pix(j, p);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, hdr, (unsigned)(4 + 4 * nd));
        gzwrite(g, body, (unsigned)(M * d));
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(hdr, 1, (size_t)(4 + 4 * nd), f);
        fwrite(body, 1, (size_t)(M * d), f);
        fclose(f);
    }
    free(body);
}

static pf_real *expect_idx(long M, int d, double scale)
{
    pf_real *e = malloc((size_t)(M * d) * sizeof *e);
    for (long j = 0; j < M; j++)
        for (long p = 0; p < d; p++) e[j * d + p] = (pf_real)((double)pix(j, p) / 255.0 * scale);
    return e;
}

/* HDF5 contents: value of row j, element index e (in the file's row-major order). */
static double h5val(int which, long j, long e)
{
    switch (which) {
    case 0: return sin(0.7 * j + 0.13 * e) * 3.0 + 1e-3 * j;     /* x2: float64 */
    case 1: return (double)(int)(j * 100 + e * 3 - 500);          /* img4: int16 */
    case 2: return 0.25 * j - 0.0625 * e; /* img3: float32 (exact in float) */
    default: return (double)((j * 5) % 251);                      /* v1: uint8 */
    }
}

#define X2_M 41
#define X2_D 3
#define I4_M 29
#define I4_H 3
#define I4_W 2
#define I4_C 2
#define I3_M 19
#define I3_H 4
#define I3_W 5
#define V1_M 13

static void write_dataset(hid_t f, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                          int which)
{
    long M = (long)dims[0], d = 1;
    for (int k = 1; k < rank; k++) d *= (long)dims[k];
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(f, name, ftype, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    double *v = malloc((size_t)(M * d) * sizeof *v);
    for (long j = 0; j < M; j++)
        for (long e = 0; e < d; e++) v[j * d + e] = h5val(which, j, e);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    free(v);
    H5Dclose(ds);
    H5Pclose(lcpl);
    H5Sclose(sp);
}

static void write_h5(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d0[2] = {X2_M, X2_D}, d1[4] = {I4_M, I4_H, I4_W, I4_C}, d2[3] = {I3_M, I3_H, I3_W},
            d3[1] = {V1_M};
    write_dataset(f, "/x2", H5T_IEEE_F64LE, 2, d0, 0);
    write_dataset(f, "/g/img4", H5T_STD_I16LE, 4, d1, 1);
    write_dataset(f, "/img3", H5T_IEEE_F32LE, 3, d2, 2);
    write_dataset(f, "/v1", H5T_STD_U8LE, 1, d3, 3);
    H5Fclose(f);
}

/* Expected rows of an HDF5 dataset after reading: scale * value; 4-D channel-major. */
static pf_real *expect_h5(int which, long M, int d, int H, int W, int C, double scale)
{
    pf_real *e = malloc((size_t)(M * d) * sizeof *e);
    for (long j = 0; j < M; j++)
        for (long k = 0; k < d; k++) {
            long src = k; /* file element of memory element k */
            if (C > 1) {
                long ch = k / ((long)H * W), hw = k % ((long)H * W);
                src = hw * C + ch;
            }
            pf_real v = (pf_real)h5val(which, j, src);
            e[j * d + k] = (pf_real)(scale * (double)v);
        }
    return e;
}

/* -------------------------------------------------------------------- checking ---- */

/* Open `src` for every N of Ns on this rank's block and check rows, draws, held-out
 * rows and shape against exp [M_file x d]. */
static void check_source(const char *label, const char *src, long n_train, double scale,
                         const pf_real *exp, long M_file, int d, int H, int W, int C)
{
    const int P = pf_nranks(), r = pf_rank();
    const long M = n_train ? n_train : M_file;
    const long nh = n_train ? (M_file - M < M ? M_file - M : M) : 0;
    const int Ns[] = {1, 2, 3, 5, 7, 16, (int)M};
    pf_config c = cfg(src, n_train, scale);
    for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++) {
        const int N = Ns[a];
        if (N > M) continue;
        int i0, i1;
        pf_block(N, r, P, &i0, &i1);
        pf_data *D = pf_data_open(&c, N, i0, i1);
        CHECK(pf_data_dim(D) == d, "%s N=%d: d = %d, expected %d", label, N, pf_data_dim(D), d);
        int h, w, ch;
        pf_data_image_shape(D, &h, &w, &ch);
        CHECK(h == H && (H == 0 || (w == W && ch == C)), "%s: image shape %dx%dx%d, expected "
              "%dx%dx%d", label, h, w, ch, H, W, C);
        const long n = pf_data_n_rows(D);
        CHECK(n == pf_shard_count(M, N, i0, i1), "%s N=%d r=%d: %ld rows, expected %ld", label,
              N, r, n, pf_shard_count(M, N, i0, i1));
        const long *ids = pf_data_row_ids(D);
        const pf_real *rows = pf_data_rows(D);
        long bad = 0;
        for (long k = 0; k < n; k++) {
            if (ids[k] < 0 || ids[k] >= M || ids[k] % N < i0 || ids[k] % N >= i1 ||
                (k && ids[k] <= ids[k - 1])) {
                bad++;
                continue;
            }
            if (!same(rows + k * d, exp + ids[k] * d, d)) {
                for (int e = 0; e < d && !bad; e++)
                    if (rows[k * d + e] != exp[ids[k] * d + e])
                        fprintf(stderr, "%s N=%d: row %ld element %d: %.17g, expected %.17g\n",
                                label, N, ids[k], e, (double)rows[k * d + e],
                                (double)exp[ids[k] * d + e]);
                bad++;
            }
        }
        CHECK(bad == 0, "%s N=%d rank %d/%d: %ld shard rows wrong", label, N, r, P, bad);

        /* draws: vs an in-memory row source of the expected content, and vs a 1-rank
         * open of the same file on MPI_COMM_SELF */
        pf_data *F = pf_data_from_rows(&c, N, 0, N, exp, M, d);
        pf_set_comm(MPI_COMM_SELF);
        pf_data *S = pf_data_open(&c, N, 0, N);
        pf_set_comm(MPI_COMM_WORLD);
        pf_real *Yf = malloc((size_t)N * d * sizeof *Yf), *Ys = malloc((size_t)N * d * sizeof *Ys);
        pf_real *Yp = malloc((size_t)(N > 0 ? N : 1) * d * sizeof *Yp);
        int diff_f = 0, diff_s = 0;
        for (uint64_t it = 0; it < 6; it++) {
            uint32_t purpose = PF_PURPOSE(PF_RNG_DATA, (uint32_t)(it % 2));
            pf_data_draw(F, it, purpose, 0, N, Yf);
            pf_data_draw(S, it, purpose, 0, N, Ys);
            if (i1 > i0) pf_data_draw(D, it, purpose, i0, i1, Yp);
            diff_f += !same(Yf + (size_t)i0 * d, Yp, (long)(i1 - i0) * d);
            diff_s += !same(Ys + (size_t)i0 * d, Yp, (long)(i1 - i0) * d);
        }
        CHECK(diff_f == 0, "%s N=%d rank %d/%d: %d draws differ from the expected rows", label,
              N, r, P, diff_f);
        CHECK(diff_s == 0, "%s N=%d rank %d/%d: %d draws differ from a 1-rank read", label, N,
              r, P, diff_s);
        /* global batch gathered over the ranks = the 1-rank batch */
        int *cnt = malloc(sizeof(int) * P), *dis = malloc(sizeof(int) * P);
        for (int q = 0; q < P; q++) {
            int a0, a1;
            pf_block(N, q, P, &a0, &a1);
            cnt[q] = (a1 - a0) * d;
            dis[q] = a0 * d;
        }
        pf_data_draw(S, 3, PF_RNG_DATA, 0, N, Ys);
        if (i1 > i0) pf_data_draw(D, 3, PF_RNG_DATA, i0, i1, Yp);
        MPI_Allgatherv(Yp, (i1 - i0) * d, sizeof(pf_real) == 8 ? MPI_DOUBLE : MPI_FLOAT, Yf,
                       cnt, dis, sizeof(pf_real) == 8 ? MPI_DOUBLE : MPI_FLOAT, MPI_COMM_WORLD);
        CHECK(same(Yf, Ys, (long)N * d), "%s N=%d: gathered batch differs from 1 rank", label, N);
        free(cnt);
        free(dis);

        if (nh > 0) {
            pf_real *Hh = malloc((size_t)(nh + 1) * d * sizeof *Hh);
            pf_data_heldout(D, (int)nh + 1, Hh);
            CHECK(same(Hh, exp + M * d, nh * d), "%s N=%d: held-out rows != rows %ld..%ld", label,
                  N, M, M + nh - 1);
            CHECK(same(Hh + nh * d, exp + M * d, d), "%s: held-out count != %ld", label, nh);
            free(Hh);
        }
        free(Yf);
        free(Ys);
        free(Yp);
        pf_data_close(S);
        pf_data_close(F);
        pf_data_close(D);
    }
}

static void test_small_files(void)
{
    unsigned d3[3] = {37, 3, 4}, d2[2] = {23, 5}, d1[1] = {31};
    const char *raw3 = tmp_path("img-idx3-ubyte"), *gz3 = tmp_path("img-idx3-ubyte.gz");
    const char *gz2 = tmp_path("vec.idx2.gz"), *raw1 = tmp_path("lab-idx1-ubyte");
    const char *h5 = tmp_path("data.h5"), *odd = tmp_path("noext");
    if (pf_rank() == 0) {
        write_idx(raw3, 0, 3, d3);
        write_idx(gz3, 1, 3, d3);
        write_idx(gz2, 1, 2, d2);
        write_idx(raw1, 0, 1, d1);
        write_idx(odd, 1, 3, d3); /* gzip detected by magic, not by name */
        write_h5(h5);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    pf_real *e3 = expect_idx(37, 12, 1.0), *e3s = expect_idx(37, 12, 0.5);
    check_source("raw idx3", raw3, 0, 1.0, e3, 37, 12, 3, 4, 1);
    check_source("gz idx3", gz3, 0, 1.0, e3, 37, 12, 3, 4, 1);
    check_source("gz idx3 n_train=20 scale=0.5", gz3, 20, 0.5, e3s, 37, 12, 3, 4, 1);
    check_source("raw idx3 n_train=10", raw3, 10, 0.5, e3s, 37, 12, 3, 4, 1);
    check_source("gz no extension", odd, 0, 1.0, e3, 37, 12, 3, 4, 1);
    pf_real *e2 = expect_idx(23, 5, 2.0), *e1 = expect_idx(31, 1, 1.0);
    check_source("gz idx2", gz2, 0, 2.0, e2, 23, 5, 0, 0, 0);
    check_source("raw idx1 n_train=16", raw1, 16, 1.0, e1, 31, 1, 0, 0, 0);
    free(e3); free(e3s); free(e2); free(e1);

    char src[400];
    snprintf(src, sizeof src, "%s:/x2", h5);
    pf_real *x2 = expect_h5(0, X2_M, X2_D, 0, 0, 0, 1.5);
    check_source("h5 x2", src, 0, 1.5, x2, X2_M, X2_D, 0, 0, 0);
    check_source("h5 x2 n_train=30", src, 30, 1.5, x2, X2_M, X2_D, 0, 0, 0);
    free(x2);
    snprintf(src, sizeof src, "%s:/g/img4", h5);
    const int d4 = I4_H * I4_W * I4_C;
    pf_real *i4 = expect_h5(1, I4_M, d4, I4_H, I4_W, I4_C, 1.0);
    check_source("h5 img4 (HWC -> CHW)", src, 0, 1.0, i4, I4_M, d4, I4_H, I4_W, I4_C);
    check_source("h5 img4 n_train=12", src, 12, 1.0, i4, I4_M, d4, I4_H, I4_W, I4_C);
    free(i4);
    snprintf(src, sizeof src, "%s:img3", h5); /* relative to the root */
    pf_real *i3 = expect_h5(2, I3_M, I3_H * I3_W, I3_H, I3_W, 1, 1.0);
    check_source("h5 img3 float32", src, 0, 1.0, i3, I3_M, I3_H * I3_W, I3_H, I3_W, 1);
    free(i3);
    snprintf(src, sizeof src, "%s:/v1", h5);
    pf_real *v1 = expect_h5(3, V1_M, 1, 0, 0, 0, 1.0);
    check_source("h5 v1 uint8", src, 0, 1.0, v1, V1_M, 1, 0, 0, 0);
    free(v1);

    CHECK(!pf_config_source_is_file("moons") && !pf_config_source_is_file("sphere") &&
              pf_config_source_is_file("a/b") && pf_config_source_is_file("x.h5:/d") &&
              !pf_config_source_is_file("no_such_name_xyz"),
          "pf_config_source_is_file");
}

/* ------------------------------------------------------------------- real MNIST ---- */

static void test_mnist(void)
{
    const char *dir = getenv("PROXFLOW_DATA_DIR");
    char img[600], lab[600];
    snprintf(img, sizeof img, "%s/mnist/images-idx3-ubyte.gz", dir ? dir : "../shared/data");
    snprintf(lab, sizeof lab, "%s/mnist/labels-idx1-ubyte.gz", dir ? dir : "../shared/data");
    if (access(img, R_OK) != 0) {
        if (pf_rank() == 0)
            printf("note: %s not found (PROXFLOW_DATA_DIR); real MNIST checks skipped\n", img);
        return;
    }
    const int P = pf_nranks(), r = pf_rank(), N = 64;
    int i0, i1;
    pf_block(N, r, P, &i0, &i1);

    /* all 10000 rows on one rank (reference), in file order */
    pf_config c = cfg(img, 0, 1.0);
    pf_set_comm(MPI_COMM_SELF);
    pf_data *A = pf_data_open(&c, 1, 0, 1);
    pf_set_comm(MPI_COMM_WORLD);
    CHECK(pf_data_n_rows(A) == 10000 && pf_data_dim(A) == 784, "MNIST: %ld x %d, expected "
          "10000 x 784", pf_data_n_rows(A), pf_data_dim(A));
    int H, W, C;
    pf_data_image_shape(A, &H, &W, &C);
    CHECK(H == 28 && W == 28 && C == 1, "MNIST image shape %dx%dx%d", H, W, C);
    const pf_real *all = pf_data_rows(A);
    long out = 0, frac = 0;
    double sum = 0;
    for (long k = 0; k < 10000L * 784; k++) {
        double v = all[k];
        if (!(v >= 0 && v <= 1)) out++;
        if (fabs(v * 255 - nearbyint(v * 255)) > 1e-4) frac++;
        sum += v;
    }
    CHECK(out == 0 && frac == 0, "MNIST values: %ld outside [0,1], %ld not k/255", out, frac);
    double mean = sum / (10000.0 * 784);
    CHECK(mean > 0.1 && mean < 0.16, "MNIST mean pixel %.4f (expected about 0.13)", mean);

    /* sharded, all rows: the ranks together hold each row once */
    pf_data *D = pf_data_open(&c, N, i0, i1);
    long n = pf_data_n_rows(D), tot = n, bad = 0;
    MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    CHECK(tot == 10000, "MNIST: ranks hold %ld rows in all", tot);
    for (long k = 0; k < n; k++)
        bad += !same(pf_data_rows(D) + k * 784, all + pf_data_row_ids(D)[k] * 784, 784);
    CHECK(bad == 0, "MNIST: %ld shard rows differ from the file", bad);
    pf_data_close(D);

    /* n_train = 6000 (the paper): training rows 0..5999, held-out rows 6000..9999 */
    c.n_train = 6000;
    D = pf_data_open(&c, N, i0, i1);
    n = pf_data_n_rows(D);
    tot = n;
    MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    CHECK(tot == 6000, "MNIST n_train=6000: ranks hold %ld training rows", tot);
    bad = 0;
    for (long k = 0; k < n; k++)
        bad += pf_data_row_ids(D)[k] >= 6000 ||
               !same(pf_data_rows(D) + k * 784, all + pf_data_row_ids(D)[k] * 784, 784);
    CHECK(bad == 0, "MNIST n_train=6000: %ld bad training rows", bad);
    pf_real *Hh = malloc((size_t)4001 * 784 * sizeof *Hh);
    pf_data_heldout(D, 4001, Hh);
    CHECK(same(Hh, all + 6000L * 784, 4000L * 784), "MNIST held-out rows != rows 6000..9999");
    CHECK(same(Hh + 4000L * 784, all + 6000L * 784, 784), "MNIST: not exactly 4000 held-out rows");
    free(Hh);
    pf_data_close(D);
    pf_data_close(A);

    /* labels: 1-D IDX, d = 1, values k/255 with k in 0..9 */
    if (access(lab, R_OK) == 0) {
        pf_config cl = cfg(lab, 0, 255.0);
        pf_data *L = pf_data_open(&cl, N, i0, i1);
        long nl = pf_data_n_rows(L), badl = 0;
        int hl;
        pf_data_image_shape(L, &hl, NULL, NULL);
        for (long k = 0; k < nl; k++) {
            double v = pf_data_rows(L)[k];
            badl += !(v >= 0 && v <= 9 && fabs(v - nearbyint(v)) < 1e-9);
        }
        CHECK(pf_data_dim(L) == 1 && hl == 0 && badl == 0, "MNIST labels: d=%d H=%d, %ld bad",
              pf_data_dim(L), hl, badl);
        pf_data_close(L);
    }
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    if (pf_rank() == 0) {
        const char *t = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/pf_data_files_XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(g_dir)) {
            perror("mkdtemp");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    MPI_Bcast(g_dir, sizeof g_dir, MPI_CHAR, 0, MPI_COMM_WORLD);

    test_small_files();
    test_mnist();

    MPI_Barrier(MPI_COMM_WORLD);
    if (pf_rank() == 0) {
        for (int k = 0; k < g_nfiles; k++) unlink(g_files[k]);
        rmdir(g_dir);
    }
    return pf_test_finish("test_data_files");
}
