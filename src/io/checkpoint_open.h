/* proxflow (private to src/io): opening a checkpoint for reading. */
#ifndef PROXFLOW_IO_CHECKPOINT_OPEN_H
#define PROXFLOW_IO_CHECKPOINT_OPEN_H

#include <hdf5.h>

/* Open checkpoint path read-only without HDF5 file locking (a ckpt_*.h5 never changes
 * once renamed; HDF5_USE_FILE_LOCKING, when set, still decides); < 0 on failure, with
 * *locked = 1 when the failure was another program's lock.  The caller closes it. */
hid_t pf_checkpoint_open_ro(const char *path, int *locked);

#endif
