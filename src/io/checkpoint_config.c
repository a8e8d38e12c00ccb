/* proxflow: the config stored in a checkpoint (SPEC §4), read back for `sample`, `eval`
 * and a chain's links: rank 0 reads the text, every rank parses and validates it, and
 * errors name the checkpoint. */
#include "proxflow/io/checkpoint.h"
#include "io/checkpoint_open.h"
#include "core/h5util.h"

#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Root string attribute `name` of the HDF5 file path, malloc'd (serial, read-only);
 * NULL with a message in err. */
static char *read_root_str(const char *path, const char *name, char *err, size_t errlen)
{
    if (access(path, R_OK)) {
        snprintf(err, errlen, "%s: cannot read checkpoint: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s is a directory, not a checkpoint file: give "
                              "RUN/checkpoints/ckpt_NNNNNNNN.h5, or (sample, eval, info) the run "
                              "directory or RUN:latest for its newest checkpoint", path);
        return NULL;
    }
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    char *out = NULL;
    hid_t f = -1, a = -1, ft = -1;
    int locked = 0;
    if (H5Fis_hdf5(path) <= 0 || (f = pf_checkpoint_open_ro(path, &locked)) < 0) {
        if (locked)
            snprintf(err, errlen, "%s: locked by another program (HDF5 file locking: it has the file "
                     "open for writing, e.g. h5py in mode 'r+' or 'a'); the file is not corrupt: "
                     "close that program, or set HDF5_USE_FILE_LOCKING=FALSE, and resume again", path);
        else
            snprintf(err, errlen, "%s: not a readable HDF5 file (truncated, corrupt, or not a checkpoint)",
                     path);
        goto done;
    }
    if (H5Aexists(f, name) <= 0 || (a = H5Aopen(f, name, H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: not a proxflow checkpoint (attribute '%s' missing)", path, name);
        goto done;
    }
    ft = H5Aget_type(a);
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING) {
        snprintf(err, errlen, "%s: attribute '%s' is not a string", path, name);
        goto done;
    }
    out = pf_h5_attr_string(a);
    if (!out) snprintf(err, errlen, "%s: attribute '%s' unreadable (corrupt checkpoint?)", path, name);
done:
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    if (f >= 0) H5Fclose(f);
    pf_h5_quiet_end(&q);
    return out;
}

/* A file [data] source whose path is relative and missing from here: the checkpoint's
 * config names it relative to the directory training ran in (issue 21). */
static int relative_source_missing(const pf_config *cfg, char *err, size_t errlen, const char *ckpt)
{
    if (!pf_config_source_is_file(cfg->source) || cfg->source[0] == '/') return 0;
    char file[PF_STR];
    snprintf(file, sizeof file, "%s", cfg->source);
    char *colon = strstr(file, ".h5:"); /* FILE.h5:/DATASET names FILE.h5 */
    if (!colon) colon = strstr(file, ".hdf5:");
    if (colon) *strchr(colon, ':') = '\0';
    if (access(file, R_OK) == 0) return 0;
    char cwd[PF_STR] = "?";
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "?");
    snprintf(err, errlen, "the [data] source of %s, '%s', is a path relative to the directory the "
                          "training ran in, and %s does not exist from here (%s): run from that "
                          "directory, or give the data's path (eval: --set data.source=PATH)",
             ckpt, cfg->source, file, cwd);
    return 1;
}

void pf_checkpoint_config(pf_config *cfg, const char *cmd, const char *ckpt)
{
    pf_checkpoint_config_set(cfg, cmd, ckpt, 0, NULL);
}

void pf_checkpoint_config_set(pf_config *cfg, const char *cmd, const char *ckpt, int n_sets,
                              char *const *sets)
{
    char err[1536] = "";
    /* rank 0 reads, everyone gets the text (or the error): identical decisions below */
    long long len = -1;
    char *text = NULL;
    if (pf_rank() == 0) {
        text = read_root_str(ckpt, "config", err, sizeof err);
        len = text ? (long long)strlen(text) : -1;
    }
    MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, pf_comm());
    if (len < 0) pf_fail_collective(2, "%s: %s", cmd, err);
    if (pf_rank() != 0) text = pf_malloc((size_t)len + 1);
    MPI_Bcast(text, (int)len + 1, MPI_CHAR, 0, pf_comm());

    /* parsed from memory (pf_config_load_text); messages name the checkpoint */
    char where[PF_STR + 32];
    snprintf(where, sizeof where, "%s[config]", ckpt);
    pf_config_defaults(cfg);
    int bad = pf_config_load_text(cfg, where, text, (size_t)len, err, sizeof err) != 0;
    free(text);
    for (int k = 0; k < n_sets && !bad; k++) /* the caller's --set, before validating */
        bad = pf_config_set(cfg, sets[k], err, sizeof err) != 0;
    if (!bad) bad = pf_config_validate(cfg, err, sizeof err) != 0;
    if (!bad) bad = relative_source_missing(cfg, err, sizeof err, ckpt);
    snprintf(cfg->src_file, sizeof cfg->src_file, "%.*s", (int)sizeof cfg->src_file - 1, where);
    int any = bad;
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, pf_comm());
    if (any) {
        /* the message is printed by rank 0; make sure it has one */
        if (!bad) snprintf(err, sizeof err, "the configuration of %s fails to load on another rank", ckpt);
        pf_fail_collective(2, "%s: %s", cmd, err);
    }
}

