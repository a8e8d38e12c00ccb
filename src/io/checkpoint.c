/* Checkpoints (SPEC §4): <out>/checkpoints/ckpt_NNNNNNNN.h5 with both networks'
 * contiguous parameter buffers (p | g | m | v, SPEC §2), Adam step counts, the
 * iteration (= the counter-based RNG's position, SPEC §3) and the config.
 *
 * Writing is collective through MPI-IO into .ckpt_NNNNNNNN.h5.tmp; after the close,
 * rank 0 fsyncs it, renames it to its final name and fsyncs the directory, so a
 * ckpt_*.h5 is always complete (the attribute complete = 1, written last, is a second
 * check).  Loading is serial on each rank (small files, no collective needed) and
 * refuses, with a message naming the file, anything that is not a complete checkpoint
 * of the same shapes.  Layout: docs/OUTPUT.md. */
#include "proxflow/io/checkpoint.h"
#include "io/checkpoint_open.h"
#include "proxflow/core/fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#ifndef PF_GIT_COMMIT
#define PF_GIT_COMMIT "unknown"
#endif

#define PF_PATH_MAX (PF_STR + 64)

#include "core/h5util.h"

/* ---- attributes (writers: src/core/h5util.h) ------------------------------ */

/* Reading (load, latest): never dies; 0 on success. */
static int get_i64(hid_t loc, const char *name, long long *v)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a);
    int ok = sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
             H5Aread(a, H5T_NATIVE_LLONG, v) >= 0;
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return ok ? 0 : -1;
}

static int get_str(hid_t loc, const char *name, char *out, size_t len)
{
    out[0] = 0;
    char *s = pf_h5_attr_get_string(loc, name);
    if (!s) return -1;
    snprintf(out, len, "%s", s);
    free(s);
    return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

/* /<name>/buffer: the whole 4n buffer p | g | m | v in the build's precision, written
 * by rank 0 in a collective transfer (the other ranks, holding identical parameters,
 * select none); attributes n_params, adam_t and the optimizer settings. */
static void write_net(hid_t f, hid_t dxpl, const char *name, const pf_params *P,
                      const char *h5_path)
{
    hid_t g = PF_H5CHECK(H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const hsize_t n4 = 4 * (hsize_t)P->n;
    hid_t fs = PF_H5CHECK(H5Screate_simple(1, &n4, NULL));
    hid_t dcpl = PF_H5CHECK(H5Pcreate(H5P_DATASET_CREATE));
    PF_H5CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    PF_H5CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    hid_t ds = PF_H5CHECK(H5Dcreate2(g, "buffer", PF_H5_REAL_FILE, fs, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    hid_t ms = PF_H5CHECK(H5Screate_simple(1, &n4, NULL));
    if (pf_rank() != 0) {
        PF_H5CHECK(H5Sselect_none(fs));
        PF_H5CHECK(H5Sselect_none(ms));
    }
    PF_H5CHECK(pf_h5_write("checkpoint_io", ds, PF_H5_REAL, ms, fs, dxpl, P->buf));
    pf_h5_attr_str(ds, "layout", "p|g|m|v: parameters, last gradient, Adam first and second moments",
                   PF_H5_ATTR_NEW, h5_path);
    PF_H5CHECK(H5Sclose(ms));
    PF_H5CHECK(H5Dclose(ds));
    PF_H5CHECK(H5Pclose(dcpl));
    PF_H5CHECK(H5Sclose(fs));
    /* crc32 of the buffer's bytes (rank 0's, the value every rank writes): HDF5 keeps no
     * checksum of contiguous data, and a corrupt checkpoint must not load silently */
    unsigned long crc = 0;
    if (pf_rank() == 0) crc = crc32_z(0L, (const Bytef *)P->buf, sizeof(pf_real) * (size_t)n4);
    MPI_Bcast(&crc, 1, MPI_UNSIGNED_LONG, 0, pf_comm());
    pf_h5_attr_u64(g, "crc32", crc, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_u64(g, "n_params", (unsigned long long)P->n, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(g, "adam_t", P->t, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_f64(g, "lr", P->lr, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_f64(g, "beta1", P->beta1, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_f64(g, "beta2", P->beta2, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_f64(g, "eps", P->eps, PF_H5_ATTR_NEW, h5_path);
    PF_H5CHECK(H5Gclose(g));
}

/* fsync a file or directory by name (rank 0); dies naming it on failure. */
static void fsync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) pf_die("cannot open %s to sync it: %s", path, strerror(errno));
    if (fsync(fd) && errno != EINVAL && errno != EROFS)
        pf_die("fsync of %s failed: %s", path, strerror(errno));
    close(fd);
}

/* Iterations of the files ckpt_<digits>.h5 in dir (exactly that pattern: temporary
 * .ckpt_*.h5.tmp and set-aside *.stale files are not listed); malloc'd, sorted
 * descending; *n their number. */
static int cmp_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x < y) - (x > y);
}

static long *list_checkpoints(const char *dir, int *n)
{
    *n = 0;
    DIR *D = opendir(dir);
    if (!D) return NULL;
    int cap = 16;
    long *it = pf_malloc(sizeof(long) * cap);
    struct dirent *e;
    while ((e = readdir(D))) {
        const char *s = e->d_name;
        if (strncmp(s, "ckpt_", 5)) continue;
        const char *p = s + 5, *q = p;
        while (*q >= '0' && *q <= '9') q++;
        if (q == p || q - p > 18 || strcmp(q, ".h5")) continue;
        char canon[64];
        snprintf(canon, sizeof canon, "ckpt_%08ld.h5", strtol(p, NULL, 10));
        if (strcmp(canon, s)) continue; /* only the names pf_checkpoint_write makes */
        if (*n == cap) {
            cap *= 2;
            long *nit = realloc(it, sizeof(long) * cap);
            if (!nit) pf_die("out of memory listing %s", dir);
            it = nit;
        }
        it[(*n)++] = strtol(p, NULL, 10);
    }
    closedir(D);
    qsort(it, (size_t)*n, sizeof(long), cmp_desc);
    return it;
}

/* Rank 0, after the rename of ckpt_<cur>: files of a later iteration are from a
 * continuation that was abandoned (the run was resumed from an earlier checkpoint);
 * they are set aside as *.h5.stale so pf_checkpoint_latest never resumes from them.
 * Of the rest, the newest `keep` stay. */
static void prune(const char *dir, long cur, int keep)
{
    int n;
    long *it = list_checkpoints(dir, &n);
    int kept = 0;
    for (int k = 0; k < n; k++) {
        char p[PF_PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/ckpt_%08ld.h5", dir, it[k]);
        if (it[k] > cur) {
            char s[PF_PATH_MAX + 40];
            snprintf(s, sizeof s, "%s.stale", p);
            if (rename(p, s) == 0)
                fprintf(stderr, "proxflow: warning: %s is newer than the checkpoint just written "
                        "(iteration %ld) and belongs to an abandoned continuation; moved to %s\n",
                        p, cur, s);
            continue;
        }
        if (++kept <= keep) continue;
        if (unlink(p) && errno != ENOENT)
            fprintf(stderr, "proxflow: warning: cannot remove old checkpoint %s: %s\n", p, strerror(errno));
    }
    free(it);
}

void pf_checkpoint_write(const pf_trainer *tr, const char *out_dir, char *path, size_t len)
{
    char dir[PF_PATH_MAX], tmp[PF_PATH_MAX + 32], fin[PF_PATH_MAX + 32];
    if (snprintf(dir, sizeof dir, "%s/checkpoints", out_dir) >= (int)sizeof dir)
        pf_die("output directory name too long: %s", out_dir);
    snprintf(tmp, sizeof tmp, "%s/.ckpt_%08ld.h5.tmp", dir, tr->iteration);
    snprintf(fin, sizeof fin, "%s/ckpt_%08ld.h5", dir, tr->iteration);
    const char *h5_path = tmp;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);

    /* rank 0: the directory, and no stale temporary (H5F_ACC_EXCL below) */
    if (pf_rank() == 0) {
        if (pf_mkdir_p(dir)) pf_die("cannot create checkpoint directory %s: %s", dir, strerror(errno));
        if (unlink(tmp) && errno != ENOENT) pf_die("cannot remove stale %s: %s", tmp, strerror(errno));
    }
    MPI_Barrier(pf_comm());

    hid_t fapl = pf_h5_fapl_mpio(h5_path);
    hid_t f = PF_H5CHECK(H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl));
    PF_H5CHECK(H5Pclose(fapl));
    hid_t dxpl = pf_h5_dxpl_collective(h5_path);

    write_net(f, dxpl, "potential", &tr->theta, h5_path);
    write_net(f, dxpl, "discriminator", &tr->psi, h5_path);

    /* root attributes; identical on every rank (collective metadata) */
    char now[32] = "";
    if (pf_rank() == 0) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    MPI_Bcast(now, sizeof now, MPI_CHAR, 0, pf_comm());
    char *ini = pf_config_to_ini(&tr->cfg);
    if (!ini) pf_die("out of memory formatting the configuration for %s", tmp);
    pf_h5_attr_str(f, "program", "proxflow", PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(f, "version", PF_VERSION, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(f, "git_commit", PF_GIT_COMMIT, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(f, "created", now, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(f, "iteration", tr->iteration, PF_H5_ATTR_NEW, h5_path);
    /* counter-based RNG: position = iteration */
    pf_h5_attr_i64(f, "rng_iteration", tr->iteration, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_u64(f, "seed", (unsigned long long)tr->cfg.seed, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(f, "precision", PF_REAL_NAME, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(f, "data_dim", tr->d, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(f, "ranks", pf_nranks(), PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(f, "nu_index", tr->nu_index == SIZE_MAX ? -1 : (long long)tr->nu_index,
                   PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(f, "config", ini, PF_H5_ATTR_NEW, h5_path);
    free(ini);
    PF_H5CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL));
    pf_fault_point("checkpoint_write"); /* tests: a kill while the file is half written */
    pf_h5_attr_i64(f, "complete", 1, PF_H5_ATTR_NEW, h5_path); /* last */
    PF_H5CHECK(H5Pclose(dxpl));
    PF_H5CHECK(H5Fclose(f));
    MPI_Barrier(pf_comm());

    /* rank 0: durable, then atomically visible under its final name, then pruned */
    if (pf_rank() == 0) {
        fsync_path(tmp, 0);
        if (rename(tmp, fin)) pf_die("cannot rename %s to %s: %s", tmp, fin, strerror(errno));
        fsync_path(dir, 1);
        prune(dir, tr->iteration, tr->cfg.keep > 0 ? tr->cfg.keep : 1);
    }
    MPI_Barrier(pf_comm());
    pf_h5_quiet_end(&q);
    if (path && len) snprintf(path, len, "%s", fin);
}

/* ---- loading ------------------------------------------------------------------------ */

/* an error message into the caller's buffer; returns 1 */
#define fail(err, errlen, ...) pf_errorf(1, (err), (errlen), __VA_ARGS__)

/* The crc32 attribute of group g against the bytes of its dataset "buffer", read in
 * the file's own precision: 0 if they agree or the file has no crc32 (written before
 * it existed), 1 if they differ, -1 if the buffer cannot be read. */
static int crc_mismatch(hid_t g)
{
    long long want = 0;
    if (H5Aexists(g, "crc32") <= 0 || get_i64(g, "crc32", &want)) return 0;
    hid_t ds = H5Dopen2(g, "buffer", H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t ft = H5Dget_type(ds), mt = ft >= 0 ? H5Tget_native_type(ft, H5T_DIR_ASCEND) : -1;
    hid_t sp = H5Dget_space(ds);
    hssize_t cnt = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t sz = mt >= 0 ? H5Tget_size(mt) : 0;
    int rc = -1;
    void *b = cnt >= 0 && sz ? malloc((size_t)cnt * sz + 1) : NULL;
    if (b && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) >= 0)
        rc = crc32_z(0L, (const Bytef *)b, (size_t)cnt * sz) != (unsigned long)want;
    free(b);
    if (sp >= 0) H5Sclose(sp);
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    H5Dclose(ds);
    return rc;
}

/* The first non-finite value of buf [4n] (p | g | m | v), or -1: a checkpoint whose crc32
 * matches may still hold a NaN (written so), and would make every sample NaN. */
static long long first_nonfinite(const pf_real *buf, size_t n4)
{
    for (size_t i = 0; i < n4; i++)
        if (!isfinite(buf[i])) return (long long)i;
    return -1;
}

/* HDF5's error stack mentions a failed file lock (flock, EWOULDBLOCK): another program
 * holds the file open for writing (h5py in mode 'r+' or 'a', HDFView). */
static herr_t lock_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    if (e->desc && strstr(e->desc, "unable to lock")) *(int *)data = 1; /* not "superblock" */
    return 0;
}

/* Open a checkpoint read-only without HDF5 file locking: a ckpt_*.h5 never changes once
 * renamed, so another reader's or writer's lock must not make it unreadable
 * (HDF5_USE_FILE_LOCKING, when set, still decides).  *locked: the open failed on a lock. */
hid_t pf_checkpoint_open_ro(const char *path, int *locked)
{
    *locked = 0;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    if (fapl >= 0) H5Pset_file_locking(fapl, 0, 1);
#endif
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (f < 0) H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, lock_cb, locked);
    if (fapl >= 0) H5Pclose(fapl);
    return f;
}

/* Read one network into buf (4n, caller's), checking its attributes and shape. */
static int read_net(hid_t f, const char *path, const char *name, const pf_params *P,
                    pf_real *buf, long long *t, char *err, size_t errlen)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return fail(err, errlen, "%s: not a proxflow checkpoint (no group /%s)", path, name);
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    if (g < 0) return fail(err, errlen, "%s: cannot open /%s (corrupt file?)", path, name);
    long long np = 0;
    int rc = 0;
    if (get_i64(g, "n_params", &np) || get_i64(g, "adam_t", t)) {
        rc = fail(err, errlen, "%s: not a proxflow checkpoint (attribute n_params or adam_t of /%s missing)",
                  path, name);
    } else if ((unsigned long long)np != (unsigned long long)P->n) {
        rc = fail(err, errlen, "%s: %s has %lld parameters, this config %zu (different widths%s?)", path,
                  name, np, P->n, !strcmp(name, "discriminator") ? " or divergence f" : "");
    } else if (*t < 0) {
        rc = fail(err, errlen, "%s: %s has a negative Adam step count %lld", path, name, *t);
    } else {
        hid_t ds = H5Dopen2(g, "buffer", H5P_DEFAULT);
        if (ds < 0) {
            rc = fail(err, errlen, "%s: no dataset /%s/buffer (not a proxflow checkpoint?)", path, name);
        } else {
            hid_t sp = H5Dget_space(ds), ty = H5Dget_type(ds);
            hssize_t cnt = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
            if (cnt != (hssize_t)(4 * P->n))
                rc = fail(err, errlen, "%s: /%s/buffer has %lld values, expected 4 x %zu", path, name,
                          (long long)cnt, P->n);
            else if (ty < 0 || H5Tget_class(ty) != H5T_FLOAT || H5Tget_size(ty) != sizeof(pf_real))
                rc = fail(err, errlen, "%s: /%s/buffer is not stored as %s", path, name, PF_REAL_NAME);
            else if (H5Dread(ds, PF_H5_REAL, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
                rc = fail(err, errlen, "%s: cannot read /%s/buffer (truncated or corrupt file)", path, name);
            else if (crc_mismatch(g))
                rc = fail(err, errlen, "%s: /%s/buffer does not match its crc32 checksum: the file is "
                          "corrupt (resume from an earlier checkpoint)", path, name);
            else {
                static const char *const part[] = {"parameters", "last gradient",
                                                   "Adam first moment", "Adam second moment"};
                const long long i = first_nonfinite(buf, 4 * P->n);
                if (i >= 0)
                    rc = fail(err, errlen, "%s: /%s/buffer holds a non-finite value (%g) at index %lld "
                              "(%s, entry %lld): refusing to load it (resume from an earlier "
                              "checkpoint, --resume CKPT)", path, name, (double)buf[i], i,
                              part[(size_t)i / P->n], i % (long long)P->n);
            }
            if (ty >= 0) H5Tclose(ty);
            if (sp >= 0) H5Sclose(sp);
            H5Dclose(ds);
        }
    }
    H5Gclose(g);
    return rc;
}

int pf_checkpoint_load(pf_trainer *tr, const char *path, char *err, size_t errlen)
{
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    int rc = 0;
    hid_t f = -1;
    pf_real *bt = NULL, *bp = NULL;
    long long it = 0, rit = 0, complete = 0, dim = 0, tt = 0, tp = 0;
    char prec[32], ver[64];

    if (access(path, R_OK)) {
        rc = fail(err, errlen, "%s: cannot read checkpoint: %s", path, strerror(errno));
        goto out;
    }
    int locked = 0;
    if (H5Fis_hdf5(path) <= 0 || (f = pf_checkpoint_open_ro(path, &locked)) < 0) {
        if (locked)
            rc = fail(err, errlen, "%s: locked by another program (HDF5 file locking: it has the file "
                      "open for writing, e.g. h5py in mode 'r+' or 'a'); the file is not corrupt: "
                      "close that program, or set HDF5_USE_FILE_LOCKING=FALSE, and resume again", path);
        else
            rc = fail(err, errlen, "%s: not a readable HDF5 file (truncated, corrupt, or not a checkpoint)",
                      path);
        goto out;
    }
    /* every attribute present */
    static const char *const need[] = {"complete", "iteration", "rng_iteration", "precision",
                                       "data_dim", "config", "version"};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
        if (H5Aexists(f, need[k]) <= 0) {
            rc = fail(err, errlen, "%s: not a proxflow checkpoint (attribute '%s' missing)", path, need[k]);
            goto out;
        }
    if (get_i64(f, "complete", &complete) || complete != 1) {
        rc = fail(err, errlen, "%s: incomplete checkpoint (complete = %lld)", path, complete);
        goto out;
    }
    const char *unreadable = get_i64(f, "iteration", &it)                ? "iteration"
                             : get_i64(f, "rng_iteration", &rit)         ? "rng_iteration"
                             : get_i64(f, "data_dim", &dim)              ? "data_dim"
                             : get_str(f, "precision", prec, sizeof prec) ? "precision"
                             : get_str(f, "version", ver, sizeof ver)     ? "version"
                                                                          : NULL;
    if (unreadable) {
        rc = fail(err, errlen, "%s: attribute '%s' unreadable or of the wrong type (corrupt checkpoint?)",
                  path, unreadable);
        goto out;
    }
    if (it < 0 || rit != it) {
        rc = fail(err, errlen, "%s: inconsistent iteration %lld / rng_iteration %lld", path, it, rit);
        goto out;
    }
    if (strcmp(prec, PF_REAL_NAME)) {
        rc = fail(err, errlen, "%s: written in %s precision, this build is %s (PROXFLOW_FLOAT)", path, prec,
                  PF_REAL_NAME);
        goto out;
    }
    if (dim != tr->d) {
        rc = fail(err, errlen, "%s: data dimension %lld, this config %d (different data source?)", path, dim,
                  tr->d);
        goto out;
    }
    /* both networks into scratch first: tr is untouched unless everything loads */
    bt = pf_malloc(sizeof(pf_real) * 4 * (tr->theta.n ? tr->theta.n : 1));
    bp = pf_malloc(sizeof(pf_real) * 4 * (tr->psi.n ? tr->psi.n : 1));
    if ((rc = read_net(f, path, "potential", &tr->theta, bt, &tt, err, errlen))) goto out;
    if ((rc = read_net(f, path, "discriminator", &tr->psi, bp, &tp, err, errlen))) goto out;

    memcpy(tr->theta.buf, bt, sizeof(pf_real) * 4 * tr->theta.n);
    memcpy(tr->psi.buf, bp, sizeof(pf_real) * 4 * tr->psi.n);
    tr->theta.t = (long)tt;
    tr->psi.t = (long)tp;
    tr->iteration = (long)it;
    if (err && errlen) err[0] = 0;
out:
    free(bt);
    free(bp);
    if (f >= 0) H5Fclose(f);
    pf_h5_quiet_end(&q);
    return rc;
}

/* Opens, and complete == 1 with both parameter buffers present: 1; a file locked by
 * another program (not known to be damaged: pf_checkpoint_load then says so): -1. */
static int is_complete(const char *path)
{
    if (H5Fis_hdf5(path) <= 0) return 0;
    int locked;
    hid_t f = pf_checkpoint_open_ro(path, &locked);
    if (f < 0) return locked ? -1 : 0;
    long long c = 0;
    int ok = get_i64(f, "complete", &c) == 0 && c == 1 &&
             H5Lexists(f, "potential", H5P_DEFAULT) > 0 &&
             H5Lexists(f, "potential/buffer", H5P_DEFAULT) > 0 &&
             H5Lexists(f, "discriminator", H5P_DEFAULT) > 0 &&
             H5Lexists(f, "discriminator/buffer", H5P_DEFAULT) > 0;
    for (int k = 0; ok && k < 2; k++) { /* and both buffers match their checksums */
        hid_t g = H5Gopen2(f, k ? "discriminator" : "potential", H5P_DEFAULT);
        ok = g >= 0 && crc_mismatch(g) == 0;
        if (g >= 0) H5Gclose(g);
    }
    H5Fclose(f);
    return ok;
}

int pf_checkpoint_latest(const char *out_dir, char *path, size_t len)
{
    char dir[PF_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/checkpoints", out_dir);
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    int n, found = 0;
    long *it = list_checkpoints(dir, &n);
    for (int k = 0; k < n && !found; k++) {
        char p[PF_PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/ckpt_%08ld.h5", dir, it[k]);
        if (is_complete(p)) { /* 1, or -1: locked; loading it reports that, never skipped */
            if (path && len) snprintf(path, len, "%s", p);
            found = 1;
        } else if (pf_rank() == 0) {
            /* a ckpt_*.h5 is renamed only when complete: this one was damaged later */
            fprintf(stderr, "proxflow: warning: %s is not a complete, intact checkpoint (truncated "
                    "or corrupt); trying an earlier one\n", p);
        }
    }
    free(it);
    pf_h5_quiet_end(&q);
    return found ? 0 : 1;
}

long pf_checkpoint_newest_name(const char *out_dir)
{
    char dir[PF_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/checkpoints", out_dir);
    int n;
    long *it = list_checkpoints(dir, &n), newest = n > 0 ? it[0] : -1;
    free(it);
    return newest;
}

void pf_checkpoint_remove_tmp(const char *out_dir)
{
    char dir[PF_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/checkpoints", out_dir);
    DIR *D = opendir(dir);
    if (!D) return;
    struct dirent *e;
    while ((e = readdir(D))) {
        const size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, ".ckpt_", 6) || n < 11 || strcmp(e->d_name + n - 7, ".h5.tmp")) continue;
        char p[PF_PATH_MAX + 300];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) && errno != ENOENT)
            fprintf(stderr, "proxflow: warning: cannot remove %s: %s\n", p, strerror(errno));
    }
    closedir(D);
}
