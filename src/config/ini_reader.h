/* proxflow: the INI reading layer under the config and sweep parsers (internal).
 *
 * libinih is built by Debian without INI_HANDLER_LINENO, so its handler is not told the
 * line.  Both parsers feed inih through pf_ini_read_line (ini_parse_stream), one
 * physical line per call, and count lines there: inih processes a line right after
 * reading it, so the reader's count is the line of every handler call.  The reader
 * also stops at the parser's first error, checks section headers (inih has no callback
 * for them) and accepts lines longer than inih's fixed 200-byte buffer (resolved
 * configs written back into checkpoints can hold long paths; sweeps long grids). */
#ifndef PF_CONFIG_INI_READER_H
#define PF_CONFIG_INI_READER_H

#include <stddef.h>

/* The largest text file read (a config or sweep is a few kB). */
#define PF_TEXT_FILE_MAX (16 << 20)

/* The whole file, read once (pipes and FIFOs too), as a malloc'd buffer with one spare byte (NUL) after its len bytes;
 * NULL with "PATH: cannot open<what>: reason" (or read / too large / out of memory) in err.
 * what is "" or a description such as " the sweep file". */
char *pf_read_text_file(const char *path, const char *what, size_t *len, char *err, size_t errlen);

/* inih's find_chars_or_comment: the first of chars (NULL: none), an inline ';' comment
 * (a ';' after whitespace), or the end of s. */
const char *pf_ini_find_chars_or_comment(const char *s, const char *chars);

/* Text helpers of the two parsers. */
int pf_ini_is_space(char ch);
/* A value for a message: printable ASCII only, at most 60 characters (then "..."). */
const char *pf_ini_show(const char *s, char *buf, size_t n);
/* [s, s+n) trimmed of surrounding whitespace, malloc'd (NULL when out of memory). */
char *pf_ini_trim_dup(const char *s, size_t n);

/* One file being read.  The parser fills path, text/len (pf_read_text_file), err/errlen,
 * strip_indent and the section check; the reader keeps the rest. */
typedef struct pf_ini_src {
    const char *path;
    char *text;           /* the whole file; the reader NUL-terminates lines in place */
    size_t len, pos;
    int line;             /* physical line last handed to inih                       */
    const char *cur;      /* that line's text (after a UTF-8 BOM on line 1)           */
    char *long_value;     /* value of an over-long key line (pf_ini_value)            */
    int err_line;         /* line of the parser's first error (0 = none)             */
    char *err;
    size_t errlen;
    /* 1: leading whitespace is removed from every line (the sweep format); 0: kept, so
     * inih's continuation lines reach the handler, which refuses them (config). */
    int strip_indent;
    /* Called with the name of every [section] header (also one with no keys under it);
     * returns 0 if known, else reports with pf_ini_error and returns 1.  Reading stops. */
    int (*section)(struct pf_ini_src *s, const char *name);
    void *user;
} pf_ini_src;

/* inih's ini_reader over a pf_ini_src (the stream argument). */
char *pf_ini_read_line(char *str, int num, void *stream);

/* The handler's value: an over-long line's value kept by the reader, else value ("" for
 * NULL).  *owned is set to a buffer the caller frees (or NULL). */
const char *pf_ini_value(pf_ini_src *s, const char *value, char **owned);

/* "PATH:LINE: message" into err, for the first error only; reading stops after it. */
void pf_ini_error(pf_ini_src *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run inih over s with handler (inih's signature; user is its argument).  Returns 0 on
 * success; 1 after the parser's own error (already in err) or inih's syntax error,
 * reported as "PATH:LINE: syntax error: expected <expect>, got \"...\"". */
typedef int (*pf_ini_handler)(void *user, const char *section, const char *name, const char *value);
int pf_ini_run(pf_ini_src *s, pf_ini_handler handler, void *user, const char *expect);

#endif
