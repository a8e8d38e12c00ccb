/* proxflow: reading the INI-style text files (config, sweep) whole, for libinih's
 * line reader callbacks in src/config.c and src/sweep.c. */
#ifndef PROXFLOW_TEXTFILE_H
#define PROXFLOW_TEXTFILE_H

#include <stddef.h>

/* The whole file as a malloc'd buffer with one spare byte (NUL) after its len bytes;
 * NULL with "PATH: cannot open<what>: reason" (or read / out of memory) in err.
 * what is "" or a description such as " the sweep file". */
char *pf_read_text_file(const char *path, const char *what, size_t *len, char *err, size_t errlen);

/* inih's find_chars_or_comment: the first of chars (NULL: none), an inline ';' comment
 * (a ';' after whitespace), or the end of s. */
const char *pf_ini_find_chars_or_comment(const char *s, const char *chars);

#endif
