/* proxflow: resuming a run honestly (issue 21).  A resumed run used to take any config
 * it was given, so a run's record could mix two objectives without a trace; now a
 * change of the model or objective must be asked for, and it is recorded. */
#include "proxflow/run/resume_config.h"
#include "proxflow/io/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void pf_resume_path(const char *out_dir, const char *resume, char *path, size_t len)
{
    struct stat sb;
    const int dir = strcmp(resume, "latest") && stat(resume, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (strcmp(resume, "latest") && !dir) {
        snprintf(path, len, "%s", resume);
        return;
    }
    if (dir) out_dir = resume; /* --resume RUN_DIR: its newest checkpoint */
    if (pf_checkpoint_latest(out_dir, path, len))
        pf_fail_collective(2, "--resume %s: no complete checkpoint in %s/checkpoints", resume, out_dir);
}

int pf_resume_run_dir(const char *ckpt, char *dir, size_t len)
{
    char p[PF_STR + 64];
    snprintf(p, sizeof p, "%s", ckpt);
    char *slash = strrchr(p, '/');
    if (!slash) return 1;
    *slash = '\0';
    slash = strrchr(p, '/');
    const char *last = slash ? slash + 1 : p;
    if (strcmp(last, "checkpoints")) return 1;
    if (slash) *slash = '\0';
    else snprintf(p, sizeof p, ".");
    snprintf(dir, len, "%s", p[0] ? p : "/");
    return 0;
}

/* The sections whose keys define the model or the objective (issue 21). */
static int model_section(const char *s)
{
    static const char *const names[] = {"flow", "lipschitz", "potential", "discriminator", "data", NULL};
    for (int k = 0; names[k]; k++)
        if (!strcmp(s, names[k])) return 1;
    return 0;
}

typedef struct {
    char **vals;
    int n;
} visit_list;

static void collect(const char *section, const char *key, const char *value, void *user)
{
    (void)section;
    (void)key;
    visit_list *v = user;
    v->vals[v->n] = pf_malloc(strlen(value) + 1);
    strcpy(v->vals[v->n++], value);
}

typedef struct {
    const char *section, *key;
} key_name;

static void collect_names(const char *section, const char *key, const char *value, void *user)
{
    (void)value;
    visit_list *v = user;
    key_name *kn = (key_name *)v->vals;
    kn[v->n].section = section; /* the key table's strings: static */
    kn[v->n++].key = key;
}

int pf_config_changes(const pf_config *a, const pf_config *b, int model_only, char *buf, size_t len)
{
    char *va[PF_CONFIG_MAX_KEYS], *vb[PF_CONFIG_MAX_KEYS];
    key_name names[PF_CONFIG_MAX_KEYS];
    visit_list la = {va, 0}, lb = {vb, 0}, ln = {(char **)names, 0};
    pf_config_visit(a, collect, &la);
    pf_config_visit(b, collect, &lb);
    pf_config_visit(a, collect_names, &ln);
    int count = 0;
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (int k = 0; k < la.n; k++) {
        const char *s = names[k].section, *key = names[k].key;
        const int skip = model_only ? !model_section(s) : !strcmp(s, "output") && !strcmp(key, "dir");
        if (!skip && strcmp(va[k], vb[k])) {
            count++;
            if (used < len) {
                int w = snprintf(buf + used, len - used, "  %s.%s: %s -> %s\n", s, key,
                                 va[k][0] ? va[k] : "(empty)", vb[k][0] ? vb[k] : "(empty)");
                used += w > 0 ? (size_t)w : 0;
            }
        }
        free(va[k]);
        free(vb[k]);
    }
    if (used >= len && len > 4) snprintf(buf + len - 5, 5, "...\n");
    return count;
}

void pf_resume_check(const pf_config *cfg, const char *ckpt, int allow, char *changes, size_t len,
                     int *model_changed)
{
    pf_config old;
    pf_checkpoint_config(&old, "train --resume", ckpt);
    char model[4096];
    const int nm = pf_config_changes(&old, cfg, 1, model, sizeof model);
    pf_config_changes(&old, cfg, 0, changes, len);
    *model_changed = nm > 0;
    if (nm == 0) return;
    if (!allow)
        pf_fail_collective(2, "train --resume: the config differs from the one %s was trained with, "
                              "in %d key%s that change%s the model or the objective (old -> new):\n%s"
                              "refusing to continue one run with another objective: undo the change%s, "
                              "train into another --out, or pass --allow-config-change (recorded in "
                              "run.h5 /history)",
                           ckpt, nm, nm > 1 ? "s" : "", nm > 1 ? "" : "s", model, nm > 1 ? "s" : "");
    if (pf_rank() == 0)
        fprintf(stderr, "proxflow: warning: --allow-config-change: continuing %s with %d changed model "
                        "or objective key%s (old -> new; recorded in run.h5 /history):\n%s",
                ckpt, nm, nm > 1 ? "s" : "", model);
}
