/* Helpers of the libFuzzer targets: the parsers under test read files, so each input
 * is written to a file in a private directory (tmpfs when /dev/shm exists). */
#ifndef PF_FUZZ_UTIL_H
#define PF_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The private directory <tmpfs>/pf_fuzz_<pid> (created on first use; removed at exit,
 * or by the next fuzzer when libFuzzer ended without exit handlers). */
const char *pf_fuzz_dir(void);
/* Write data to <dir>/<name> (replacing it); returns the full path (static buffer of
 * one of 4 slots). */
const char *pf_fuzz_write(const char *name, const uint8_t *data, size_t size);

#endif
