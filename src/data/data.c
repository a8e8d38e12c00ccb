/* proxflow: the data object and its row sources (SPEC §3, §6.1), draws, held-out
 * samples and the reference distribution rho_0.
 *
 * Row sources (files; SPEC §3): see data.h.  The rank holds rows j with j mod N in
 * [i0, i1), ascending.  Column c's rows are j = c, c + N, c + 2N, ... (< M); since
 * only the last stripe of N rows can be incomplete, row r of column c sits at local
 * position r * (i1 - i0) + (c - i0).  Sample i picks one row of column i uniformly
 * with the first uniform of stream (seed, iteration, purpose, i).  Held-out samples:
 * rows given by pf_data_set_heldout, else the rank's own shard rows in ascending order
 * (cycled when n exceeds them). */
#include "data/data_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A drawn coordinate costs about this many element operations (the stream), for the
 * threading threshold of PF_PAR_FOR. */
#define DRAW_OPS 8


static void check_block(const char *src, int N, int i0, int i1)
{
    if (N < 1 || i0 < 0 || i1 < i0 || i1 > N)
        pf_die("data source '%s': bad batch block [%d, %d) of N = %d", src, i0, i1, N);
}

pf_data *pf_data_new(const pf_config *c, pf_kind kind, int d, int N, int i0, int i1)
{
    check_block(c->source, N, i0, i1);
    pf_data *D = pf_calloc(1, sizeof *D);
    snprintf(D->name, sizeof D->name, "%s", c->source);
    D->kind = kind;
    D->d = d;
    D->seed = c->seed;
    D->scale = c->data_scale;
    D->noise = c->noise;
    D->N = N;
    D->i0 = i0;
    D->i1 = i1;
    return D;
}

long pf_shard_count(long M, int N, int i0, int i1)
{
    /* Column c < M holds (M - 1 - c) / N + 1 rows. */
    long n = 0;
    for (long c = i0; c < i1 && c < M; c++) n += (M - 1 - c) / N + 1;
    return n;
}

static void check_rows(const pf_config *c, int N, int i0, int i1, long M, int d)
{
    check_block(c->source, N, i0, i1);
    if (d < 1) pf_die("data source '%s': row dimension %d < 1", c->source, d);
    if ((long)N > M)
        pf_die("batch %d exceeds the %ld rows of %s (SPEC §3: a batch larger than the "
               "data set is an error)", N, M, c->source);
}

pf_data *pf_data_from_shard(const pf_config *c, int N, int i0, int i1, long M, int d,
                            pf_real *shard)
{
    check_rows(c, N, i0, i1, M, d);
    pf_data *D = pf_data_new(c, K_ROWS, d, N, i0, i1);
    D->M = M;
    D->n_rows = pf_shard_count(M, N, i0, i1);
    D->rows = shard;
    D->row_ids = pf_malloc((size_t)(D->n_rows ? D->n_rows : 1) * sizeof *D->row_ids);
    long k = 0;
    for (long base = 0; base < M; base += N)
        for (long j = base + i0; j < base + i1 && j < M; j++) D->row_ids[k++] = j;
    if (k != D->n_rows) pf_die("internal: shard count %ld != %ld", k, D->n_rows);
    return D;
}

pf_data *pf_data_from_rows(const pf_config *c, int N, int i0, int i1,
                           const pf_real *all_rows, long M, int d)
{
    check_rows(c, N, i0, i1, M, d);
    long n = pf_shard_count(M, N, i0, i1);
    pf_real *shard = pf_malloc((size_t)(n ? n : 1) * d * sizeof *shard);
    long k = 0;
    for (long base = 0; base < M; base += N)
        for (long j = base + i0; j < base + i1 && j < M; j++, k++)
            memcpy(shard + k * d, all_rows + j * d, (size_t)d * sizeof *shard);
    return pf_data_from_shard(c, N, i0, i1, M, d, shard);
}

pf_data *pf_data_from_shard_u8(const pf_config *c, int N, int i0, int i1, long M, int d,
                               unsigned char *shard, double scale)
{
    pf_data *D = pf_data_from_shard(c, N, i0, i1, M, d, NULL);
    D->rows8 = shard;
    for (int b = 0; b < 256; b++) D->lut[b] = (pf_real)((double)b / 255.0 * scale);
    return D;
}

void pf_data_set_heldout_u8(pf_data *D, const unsigned char *rows, long n)
{
    if (!D->rows8) pf_die("internal: byte held-out rows for a source not made of bytes");
    pf_data_set_heldout(D, NULL, 0);
    if (n <= 0) return;
    D->held8 = pf_malloc((size_t)n * D->d);
    memcpy(D->held8, rows, (size_t)n * D->d);
    D->n_held = n;
}

/* Row pos of the shard (held = 0) or of the held-out rows (held = 1) into y [d]. */
static void copy_row(const pf_data *D, int held, long pos, pf_real *y)
{
    const size_t d = (size_t)D->d;
    if (D->rows8) {
        const unsigned char *b = (held ? D->held8 : D->rows8) + pos * d;
        for (size_t k = 0; k < d; k++) y[k] = D->lut[b[k]];
    } else {
        memcpy(y, (held ? D->held : D->rows) + pos * d, d * sizeof *y);
    }
}

void pf_data_set_heldout(pf_data *D, const pf_real *rows, long n)
{
    free(D->held);
    free(D->held8);
    D->held = NULL;
    D->held8 = NULL;
    D->n_held = 0;
    if (n <= 0) return;
    D->held = pf_malloc((size_t)n * D->d * sizeof *D->held);
    memcpy(D->held, rows, (size_t)n * D->d * sizeof *D->held);
    D->n_held = n;
}

void pf_data_set_image_shape(pf_data *D, int H, int W, int C)
{
    D->H = H;
    D->W = W;
    D->C = C;
}

void pf_data_close(pf_data *D)
{
    if (!D) return;
    free(D->Q);
    free(D->roll_t);
    free(D->roll_xy);
    free(D->rows);
    free(D->row_ids);
    free(D->held);
    free(D->rows8);
    free(D->held8);
    free(D);
}

int pf_data_dim(const pf_data *D) { return D->d; }
const char *pf_data_name(const pf_data *D) { return D->name; }
long pf_data_n_rows(const pf_data *D) { return D->n_rows; }
const pf_real *pf_data_rows(const pf_data *D)
{
    if (D->rows8 && !D->rows && D->n_rows > 0) {
        /* converted once, on first request (tests and tools; training draws convert row
         * by row) */
        pf_data *w = (pf_data *)D;
        w->rows = pf_malloc((size_t)D->n_rows * D->d * sizeof *w->rows);
        for (long r = 0; r < D->n_rows; r++) copy_row(D, 0, r, w->rows + (size_t)r * D->d);
    }
    return D->rows;
}
const long *pf_data_row_ids(const pf_data *D) { return D->row_ids; }

void pf_data_image_shape(const pf_data *D, int *H, int *W, int *C)
{
    if (H) *H = D->H;
    if (W) *W = D->W;
    if (C) *C = D->C;
}

const double *pf_data_isometry(const pf_data *D, int *m)
{
    if (m) *m = D->Q ? D->m : 0;
    return D->Q;
}

/* ------------------------------------------------------------------- drawing ---- */

void pf_data_draw(const pf_data *D, uint64_t iteration, uint32_t purpose, int i0, int i1,
                  pf_real *Y)
{
    const int d = D->d;
    if (D->kind == K_ROWS) {
        /* SPEC §3: sample i draws from column i only, which this rank must own. */
        if (i0 < D->i0 || i1 > D->i1 || i0 > i1)
            pf_die("data source '%s': draw of samples [%d, %d) outside this rank's "
                   "columns [%d, %d)", D->name, i0, i1, D->i0, D->i1);
        const long B = D->i1 - D->i0;
        PF_PAR_FOR((size_t)(i1 - i0) * d * DRAW_OPS, q, i1 - i0, {
            const int i = i0 + q;
            long nc = (D->M - 1 - i) / D->N + 1;
            pf_stream s;
            pf_stream_init(&s, D->seed, iteration, purpose, (uint64_t)i);
            long r = (long)(pf_stream_uniform(&s) * (double)nc);
            if (r >= nc) r = nc - 1;
            long pos = r * B + (i - D->i0);
            copy_row(D, 0, pos, Y + (size_t)(i - i0) * d);
        });
        return;
    }
    PF_PAR_FOR((size_t)(i1 - i0) * d * DRAW_OPS, q, i1 - i0, {
        const int i = i0 + q;
        pf_stream s;
        pf_stream_init(&s, D->seed, iteration, purpose, (uint64_t)i);
        pf_synth_sample(D, &s, Y + (size_t)q * d);
    });
}

void pf_data_heldout(const pf_data *D, int n, pf_real *Y)
{
    const int d = D->d;
    if (D->kind == K_ROWS) {
        const int held = D->n_held > 0;
        long ns = held ? D->n_held : D->n_rows;
        if (n > 0 && ns <= 0)
            pf_die("data source '%s': no rows for held-out samples on this rank", D->name);
        for (int k = 0; k < n; k++) copy_row(D, held, k % ns, Y + (size_t)k * d);
        return;
    }
    PF_PAR_FOR((size_t)n * d * DRAW_OPS, k, n, {
        pf_stream s;
        pf_stream_init(&s, D->seed, 0, PF_RNG_HELDOUT, (uint64_t)k);
        pf_synth_sample(D, &s, Y + (size_t)k * d);
    });
}

/* ----------------------------------------------------------------- reference ---- */

void pf_reference_draw(const pf_config *c, int d, uint64_t iteration, uint32_t purpose,
                       int i0, int i1, pf_real *X)
{
    const int uniform = c->reference == PF_REF_UNIFORM;
    const double sc = c->ref_scale, lo = c->ref_low, w = c->ref_high - c->ref_low;
    PF_PAR_FOR((size_t)(i1 - i0) * d * DRAW_OPS, q, i1 - i0, {
        const int i = i0 + q;
        pf_stream s;
        pf_stream_init(&s, c->seed, iteration, purpose, (uint64_t)i);
        pf_real *x = X + (size_t)q * d;
        for (int r = 0; r < d; r++)
            x[r] = (pf_real)(uniform ? lo + w * pf_stream_uniform(&s) : sc * pf_stream_normal(&s));
    });
}
