/* fuzz_util.h */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static char g_dir[256];

static void remove_dir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) { /* best effort */
    }
}

static void cleanup(void)
{
    if (g_dir[0]) remove_dir(g_dir);
}

/* libFuzzer ends with _Exit (no atexit handlers) after -max_total_time or a finding,
 * so directories of fuzzers that are gone (pf_fuzz_<pid> with no such process) are
 * removed when the next one starts. */
static void remove_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = 0;
        char tail = 0;
        if (sscanf(e->d_name, "pf_fuzz_%ld%c", &pid, &tail) != 1 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char p[300];
        snprintf(p, sizeof p, "%s/%s", base, e->d_name);
        remove_dir(p);
    }
    closedir(d);
}

const char *pf_fuzz_dir(void)
{
    if (!g_dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        remove_stale(base);
        snprintf(g_dir, sizeof g_dir, "%s/pf_fuzz_%ld", base, (long)getpid());
        remove_dir(g_dir);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
        if (system(cmd)) {
            perror(g_dir);
            abort();
        }
        atexit(cleanup);
    }
    return g_dir;
}

const char *pf_fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    static char paths[4][320];
    static int slot = 0;
    char *p = paths[slot++ % 4];
    snprintf(p, 320, "%s/%s", pf_fuzz_dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        abort();
    }
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return p;
}
