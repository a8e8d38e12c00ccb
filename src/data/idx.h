/* proxflow: the MNIST IDX format (SPEC §6.1), parsed without dying so the reader in
 * src/data/idx.c and the fuzzer fuzz/fuzz_idx.c share one parser
 * (docs/RELIABILITY.md).
 *
 * An IDX file of unsigned bytes: big-endian magic 00 00 08 ND (ND = 1, 2 or 3), ND
 * big-endian uint32 dimensions [M] / [M, d] / [M, H, W], then M x d bytes. */
#ifndef PROXFLOW_IDX_H
#define PROXFLOW_IDX_H

#include "proxflow/core/common.h"

#include <stddef.h>

typedef struct {
    int nd;                  /* number of dimensions (1..3)                        */
    unsigned long dims[3];   /* dims[1], dims[2] are 1 when absent                 */
    long long M;             /* rows                                               */
    int d;                   /* values per row                                     */
    long long hdr_bytes;     /* 4 + 4 nd                                           */
    long long expected;      /* hdr_bytes + M d: the whole (decompressed) size      */
    char shape[96];          /* "M x H x W", for messages                          */
} pf_idx_header;

/* Return values of the parsers. */
enum { PF_IDX_OK = 0, PF_IDX_SHORT = 1, PF_IDX_BAD = -1 };

/* Parse the header at buf[0..len).  PF_IDX_OK: *h filled.  PF_IDX_SHORT: len holds
 * less than the header; h->hdr_bytes is the length needed (4 when even the magic is
 * missing).  PF_IDX_BAD: not a valid header (wrong magic, no rows, rows of dimension
 * 0, too large); err receives a message naming `name`. */
int pf_idx_parse_header(const unsigned char *buf, size_t len, const char *name,
                        pf_idx_header *h, char *err, size_t errlen);

/* The (decompressed) size of a file with header h must be exactly h->expected:
 * PF_IDX_OK, or PF_IDX_BAD with a message naming `name` (truncated / trailing data). */
int pf_idx_check_size(const pf_idx_header *h, long long size, const char *name, char *err,
                      size_t errlen);

/* A whole uncompressed IDX file in memory: header, size, then (out != NULL) the M x d
 * values / 255 x scale into out.  PF_IDX_SHORT is reported as PF_IDX_BAD (a file that
 * ends inside its header is truncated). */
int pf_idx_parse(const unsigned char *buf, size_t len, const char *name, double scale,
                 pf_idx_header *h, pf_real *out, char *err, size_t errlen);

#endif
