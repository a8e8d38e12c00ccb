/* proxflow: run.h5 /history (issue 21).  Root attributes are rewritten by every
 * session (the config of the latest one); this group keeps every session's, so a
 * change of config on resume stays visible.  Collective: the attributes are metadata,
 * written by every rank with the same values (parallel HDF5's rule). */
#include "proxflow/io/history.h"
#include "core/h5util.h"

#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pf_history_begin(pf_run *run, const pf_trainer *tr, int threads, const char *checkpoint,
                     const char *changes, int model_changed)
{
    const char *h5_path = pf_run_path(run);
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    const hid_t f = (hid_t)pf_run_h5_file(run);
    hid_t g = PF_H5CHECK(H5Lexists(f, "history", H5P_DEFAULT)) > 0
                  ? PF_H5CHECK(H5Gopen2(f, "history", H5P_DEFAULT))
                  : PF_H5CHECK(H5Gcreate2(f, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5G_info_t gi;
    PF_H5CHECK(H5Gget_info(g, &gi));
    const int entry = (int)gi.nlinks;
    char name[32], now[32];
    snprintf(name, sizeof name, "session_%04d", entry);
    pf_run_utc_now(now);
    hid_t s = PF_H5CHECK(H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    char *ini = pf_config_to_ini(&tr->cfg);
    if (!ini) pf_die("out of memory formatting the configuration for %s", h5_path);
    pf_h5_attr_str(s, "kind", checkpoint ? "resume" : "start", PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(s, "start_iteration", tr->iteration, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(s, "started", now, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(s, "checkpoint", checkpoint ? checkpoint : "", PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(s, "config", ini, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_str(s, "config_changes", changes ? changes : "", PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(s, "model_changed", model_changed, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(s, "ranks", pf_nranks(), PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(s, "threads", threads, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_i64(s, "end_iteration", -1, PF_H5_ATTR_NEW, h5_path);
    pf_h5_attr_f64(s, "seconds", 0.0, PF_H5_ATTR_NEW, h5_path);
    free(ini);
    PF_H5CHECK(H5Gclose(s));
    PF_H5CHECK(H5Gclose(g));
    PF_H5CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL));
    pf_h5_quiet_end(&q);
    return entry;
}

void pf_history_end(pf_run *run, int entry, long end_iteration, double seconds)
{
    const char *h5_path = pf_run_path(run);
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    char name[48];
    snprintf(name, sizeof name, "history/session_%04d", entry);
    hid_t s = PF_H5CHECK(H5Gopen2((hid_t)pf_run_h5_file(run), name, H5P_DEFAULT));
    pf_h5_attr_i64(s, "end_iteration", end_iteration, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_f64(s, "seconds", seconds, PF_H5_ATTR_REPLACE, h5_path);
    PF_H5CHECK(H5Gclose(s));
    pf_h5_quiet_end(&q);
}
