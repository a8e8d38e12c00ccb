/* proxflow: the exclusive lock of a run directory (issue 20; docs/RELIABILITY.md, "One
 * job per run directory").  DIR/.lock is held with fcntl(F_SETLK) by rank 0 for the
 * whole train / resume / chain; the kernel releases it when the process ends, however
 * it ends, so there are no stale locks.  The file says who holds it (host, PID, time,
 * command) for the message a second job prints. */
#ifndef PROXFLOW_IO_LOCK_H
#define PROXFLOW_IO_LOCK_H

/* Collective.  Creates DIR (its parents as needed; mkdir, EEXIST accepted only for a
 * directory), then takes DIR/.lock.  Held by another process: every rank exits 2 with
 * "cmd: DIR is in use by another proxflow job (host H, PID P, since T: ...)".  A file
 * system without lock support (ENOLCK, EOPNOTSUPP, ENOSYS): a warning, and the job
 * goes on unlocked.  PROXFLOW_LOCK=off skips the lock, =require makes that case an
 * error too.  A directory this process already holds (sweep -> train, chain -> link)
 * is counted, not locked again: an fcntl lock would drop at the inner close.  A
 * directory that cannot be created ends the job (exit 1) as before any lock. */
void pf_lock_dir(const char *dir, const char *cmd);

/* Collective: releases one pf_lock_dir of DIR (the lock goes at the last). */
void pf_unlock_dir(const char *dir);

#endif
