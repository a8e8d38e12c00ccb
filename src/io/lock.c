/* The exclusive lock of a run directory (include/proxflow/io/lock.h; docs/RELIABILITY.md,
 * "One job per run directory").
 *
 * Why fcntl(F_SETLK) on DIR/.lock: the kernel drops it when the holder dies (SIGKILL, a
 * node's MPI_Abort), so a lock is never stale and nobody has to clean up; it is the lock
 * NFS (lockd) and Lustre (mounted with -o flock) pass to the server, where flock(2) may
 * stay local to one node.  Its catch, that a process loses the lock when it closes any
 * descriptor of the file, is why the file is opened once per directory and process
 * (the table below) and nothing else opens it.  Rank 0 alone locks; the others learn
 * the verdict in one broadcast. */
#include "proxflow/io/lock.h"
#include "proxflow/core/common.h"
#include "proxflow/core/fault.h"
#include "core/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PF_LOCKS 8

/* The directories this process holds: one descriptor each, counted. */
static struct { dev_t dev; ino_t ino; int fd, count; } held[PF_LOCKS];

static int find_held(const struct stat *st)
{
    for (int k = 0; k < PF_LOCKS; k++)
        if (held[k].count > 0 && held[k].dev == st->st_dev && held[k].ino == st->st_ino) return k;
    return -1;
}

/* "host H, PID P, since T: COMMAND" from the holder's lock file. */
static void holder_text(int fd, char *out, size_t len)
{
    char buf[1024];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    char host[256] = "?", since[64] = "?", cmdline[700] = "?";
    long pid = -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "host ", 5)) snprintf(host, sizeof host, "%s", line + 5);
        else if (!strncmp(line, "pid ", 4)) pid = strtol(line + 4, NULL, 10);
        else if (!strncmp(line, "since ", 6)) snprintf(since, sizeof since, "%s", line + 6);
        else if (!strncmp(line, "command ", 8)) snprintf(cmdline, sizeof cmdline, "%s", line + 8);
    }
    if (pid < 0) snprintf(out, len, "holder not yet recorded: it has just started");
    else snprintf(out, len, "host %s, PID %ld, since %s: %s", host, pid, since, cmdline);
}

/* Who we are, into the lock file (for the next job's message). */
static void write_holder(int fd)
{
    char host[256] = "?", since[32] = "", cmdline[600] = "proxflow";
    gethostname(host, sizeof host - 1);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (f) {
        size_t n = fread(cmdline, 1, sizeof cmdline - 1, f);
        fclose(f);
        cmdline[n] = 0;
        for (size_t k = 0; k + 1 < n; k++)
            if (!cmdline[k] || cmdline[k] == '\n') cmdline[k] = ' ';
    }
    char text[1024];
    int n = snprintf(text, sizeof text, "host %s\npid %ld\nsince %s\ncommand %s\n", host, (long)getpid(),
                     since, cmdline);
    if (n > (int)sizeof text - 1) n = (int)sizeof text - 1;
    /* informational: a failure here (a full disk) does not weaken the lock itself */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)n, 0) == n) (void)fsync(fd);
}

/* Rank 0.  0: locked (or counted, or going on unlocked); 1: held by another job,
 * message in msg. */
static int lock_rank0(const char *dir, const char *cmd, const char *mode, char *msg, size_t len)
{
    if (pf_mkdir_p(dir)) pf_die("cannot create output directory %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st)) pf_die("cannot stat output directory %s: %s", dir, strerror(errno));
    int k = find_held(&st);
    if (k >= 0) {
        held[k].count++;
        return 0;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) pf_die("cannot create the lock file %s: %s", path, strerror(errno));
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file */
    /* fault "lock:fail": the file system refuses locks (ENOLCK), for the tests */
    if (pf_fault_point("lock") ? (errno = ENOLCK, 1) : fcntl(fd, F_SETLK, &fl) != 0) {
        const int e = errno;
        if (e == EAGAIN || e == EACCES) {
            char who[1024];
            holder_text(fd, who, sizeof who);
            close(fd);
            snprintf(msg, len, "%s: %s is in use by another proxflow job (%s; lock %s): wait for it "
                     "to end, or choose another --out", cmd, dir, who, path);
            return 1;
        }
        if (!strcmp(mode, "require")) {
            close(fd);
            pf_die("cannot lock %s: %s (PROXFLOW_LOCK=require)", path, strerror(e));
        }
        /* NFS without lockd, Lustre without -o flock: no lock to be had; refusing would
         * make the file system unusable, so warn and go on (docs/RELIABILITY.md) */
        fprintf(stderr, "proxflow: warning: cannot lock %s: %s: this file system does not support "
                "locks; going on without (a second job on %s would not be refused; PROXFLOW_LOCK=off "
                "skips the lock, =require makes this an error)\n", path, strerror(e), dir);
    }
    write_holder(fd);
    for (k = 0; k < PF_LOCKS && held[k].count > 0; k++) {}
    if (k == PF_LOCKS) pf_die("more than %d run directories locked at once", PF_LOCKS);
    held[k].dev = st.st_dev;
    held[k].ino = st.st_ino;
    held[k].fd = fd;
    held[k].count = 1;
    return 0;
}

static const char *lock_mode(void)
{
    const char *m = getenv("PROXFLOW_LOCK");
    return m && *m ? m : "on";
}

void pf_lock_dir(const char *dir, const char *cmd)
{
    const char *mode = lock_mode();
    if (!strcmp(mode, "off")) return;
    if (strcmp(mode, "on") && strcmp(mode, "require"))
        pf_fail_collective(2, "PROXFLOW_LOCK=%s: expected on, off or require", mode);
    if (!*dir) pf_fail_collective(2, "%s: empty output directory name", cmd);
    char msg[4096] = "";
    int busy = 0;
    if (pf_rank() == 0) busy = lock_rank0(dir, cmd, mode, msg, sizeof msg);
    if (pf_nranks() > 1) MPI_Bcast(&busy, 1, MPI_INT, 0, pf_comm());
    if (busy) pf_fail_collective(2, "%s", msg);
}

void pf_unlock_dir(const char *dir)
{
    if (!strcmp(lock_mode(), "off") || pf_rank() != 0) return;
    struct stat st;
    int k = stat(dir, &st) == 0 ? find_held(&st) : -1;
    if (k < 0 || --held[k].count > 0) return;
    close(held[k].fd); /* releases the fcntl lock */
    held[k].fd = -1;
}
