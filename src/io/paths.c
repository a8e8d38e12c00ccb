/* Output paths that never alias a command's inputs or another run's files (issue 20,
 * docs/RELIABILITY.md "Outputs never alias inputs"), and the helpers that write a new
 * file under a temporary name and rename it into place.  Files are compared by
 * (st_dev, st_ino), directories through realpath(3): two spellings of one file (a
 * symlink, "a/../a", a hard link) are one file. */
#define _XOPEN_SOURCE 700 /* realpath(3) */
#include "proxflow/io/paths.h"
#include "proxflow/core/common.h"
#include "core/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* dir (or ".") and last component of path, copied into the caller's buffers. */
static void split(const char *path, char *dir, size_t dlen, char *base, size_t blen)
{
    const char *s = strrchr(path, '/');
    if (!s) {
        snprintf(dir, dlen, ".");
        snprintf(base, blen, "%s", path);
    } else {
        snprintf(dir, dlen, "%.*s", s == path ? 1 : (int)(s - path), path);
        snprintf(base, blen, "%s", s + 1);
    }
}

static int same_inode(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int pf_path_same(const char *a, const char *b)
{
    struct stat sa, sb;
    const int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb) return 0;
    /* neither exists yet: the same name in the same directory */
    char da[PATH_MAX], ba[PATH_MAX], db[PATH_MAX], bb[PATH_MAX];
    split(a, da, sizeof da, ba, sizeof ba);
    split(b, db, sizeof db, bb, sizeof bb);
    return !strcmp(ba, bb) && same_inode(da, db);
}

static int exists_in(const char *dir, const char *name)
{
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* A directory some proxflow run or chain owns: it holds run.h5, chain.h5 or .lock. */
static int is_run_dir(const char *dir)
{
    return exists_in(dir, "run.h5") || exists_in(dir, "chain.h5") || exists_in(dir, ".lock");
}

/* What an existing HDF5 file is, if it is one of proxflow's precious kinds: NULL if
 * not (or not HDF5). */
static const char *precious_kind(const char *path)
{
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    const char *kind = NULL;
    if (H5Fis_hdf5(path) > 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f < 0) {
            kind = "an HDF5 file that cannot be opened (in use by a running job, or damaged)";
        } else {
            char *k = pf_h5_attr_get_string(f, "kind");
            if (H5Aexists(f, "complete") > 0)
                kind = H5Lexists(f, "potential", H5P_DEFAULT) > 0 ? "a checkpoint" : "a chain pool";
            else if (H5Lexists(f, "diagnostics", H5P_DEFAULT) > 0) kind = "a run file";
            else if (k && !strcmp(k, "chain")) kind = "a chain summary";
            free(k);
            H5Fclose(f);
        }
    }
    pf_h5_quiet_end(&q);
    return kind;
}

int pf_output_refused(const char *out, const char *const *inputs, const char *const *labels, int n,
                      char *why, size_t len)
{
    if (!out || !*out) return pf_errorf(1, why, len, "an empty output path");
    for (int k = 0; k < n; k++)
        if (inputs[k] && pf_path_same(out, inputs[k]))
            return pf_errorf(1, why, len, "%s is the same file as the input %s %s", out,
                             labels && labels[k] ? labels[k] : "file", inputs[k]);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return pf_errorf(1, why, len, "%s is a directory", out);
    char dir[PATH_MAX], base[PATH_MAX], real[PATH_MAX];
    split(out, dir, sizeof dir, base, sizeof base);
    if (realpath(dir, real)) { /* a missing directory: the create fails later, naming it */
        if (is_run_dir(real) && (!strcmp(base, "run.h5") || !strcmp(base, "chain.h5") ||
                                 !strcmp(base, ".lock")))
            return pf_errorf(1, why, len, "%s is the %s of the run directory %s", out,
                             !strcmp(base, ".lock")    ? "lock file"
                             : !strcmp(base, "run.h5") ? "run file (diagnostics)"
                                                       : "chain summary",
                             dir);
        char rdir[PATH_MAX], rbase[PATH_MAX];
        split(real, rdir, sizeof rdir, rbase, sizeof rbase);
        if ((!strcmp(rbase, "checkpoints") || !strcmp(rbase, "pools")) && is_run_dir(rdir))
            return pf_errorf(1, why, len, "%s is inside the %s directory %s of the run %s", out, rbase, dir,
                             rdir);
    }
    const char *kind = precious_kind(out);
    if (kind) return pf_errorf(1, why, len, "%s is %s", out, kind);
    return 0;
}

void pf_output_guard(const char *cmd, const char *opt, const char *out, const char *const *inputs,
                     const char *const *labels, int n)
{
    char why[3 * PATH_MAX];
    int bad = 0;
    if (pf_rank() == 0) bad = pf_output_refused(out, inputs, labels, n, why, sizeof why);
    if (pf_nranks() > 1) MPI_Bcast(&bad, 1, MPI_INT, 0, pf_comm());
    if (bad) pf_fail_collective(2, "%s: %s %s: refusing to overwrite it; choose another %s", cmd, opt, why, opt);
}

int pf_tmp_path(const char *out, char *tmp, size_t len)
{
    return snprintf(tmp, len, "%s.tmp", out) >= (int)len ? -1 : 0;
}

/* fsync by name (a directory: O_RDONLY); file systems that cannot sync a directory
 * (EINVAL) are fine. */
static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd) && errno != EINVAL && errno != EROFS ? -1 : 0;
    const int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int pf_commit_tmp(const char *tmp, const char *out)
{
    char dir[PATH_MAX], base[PATH_MAX];
    if (sync_path(tmp) || rename(tmp, out)) return -1;
    split(out, dir, sizeof dir, base, sizeof base);
    return sync_path(dir);
}

int pf_copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY);
    if (in < 0) return -1;
    int o = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0) {
        const int e = errno;
        close(in);
        errno = e;
        return -1;
    }
    static char buf[1 << 20];
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        for (ssize_t w = 0; w < r && !rc;) { /* short writes: a full disk shows as ENOSPC next */
            ssize_t x = write(o, buf + w, (size_t)(r - w));
            if (x < 0 && errno == EINTR) continue;
            if (x < 0) rc = -1;
            else w += x;
        }
        if (rc) break;
    }
    if (!rc && fsync(o)) rc = -1;
    int e = errno;
    if (close(o) && !rc) rc = -1, e = errno; /* NFS reports a full disk here */
    close(in);
    if (rc) {
        unlink(dst);
        errno = e;
    }
    return rc;
}
