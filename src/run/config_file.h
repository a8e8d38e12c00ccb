/* proxflow: a config file's text, read once by rank 0 and sent to every rank (internal,
 * src/run/config_file.c). */
#ifndef PF_RUN_CONFIG_FILE_H
#define PF_RUN_CONFIG_FILE_H

#include <stddef.h>

/* The text of path (len bytes and a spare NUL), malloc'd, the same on every rank; on
 * error (missing, a directory, unreadable, too large) exits 2 on every rank naming
 * the file.  Collective. */
char *pf_setup_read_config(const char *path, size_t *len);

#endif
