/* The INI reading layer shared by the config and sweep parsers (src/config/ini_reader.h). */
#include "config/ini_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

char *pf_read_text_file(const char *path, const char *what, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open%s: %s", path, what, strerror(errno));
        return NULL;
    }
    /* read once, to the end: a pipe or FIFO (`proxflow train <(...)`) cannot be read
     * again, so every later check works on this buffer */
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (cap >= PF_TEXT_FILE_MAX) { /* /dev/urandom, a data file given by mistake */
            fclose(f);
            free(buf);
            snprintf(err, errlen, "%s: larger than %d MiB: not a%s text file", path,
                     PF_TEXT_FILE_MAX >> 20, *what ? what : " config");
            return NULL;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        snprintf(err, errlen, "%s: cannot read%s: %s", path, what, strerror(e));
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

const char *pf_ini_find_chars_or_comment(const char *s, const char *chars)
{
    int was_space = 0;
    while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
        was_space = *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\f' || *s == '\v';
        s++;
    }
    return s;
}

int pf_ini_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

const char *pf_ini_show(const char *s, char *buf, size_t n)
{
    size_t j = 0, lim = n > 64 ? 60 : (n ? n - 4 : 0);
    for (size_t i = 0; s[i] && j < n - 1; i++) {
        if (j >= lim) {
            snprintf(buf + j, n - j, "...");
            return buf;
        }
        unsigned char ch = (unsigned char)s[i];
        buf[j++] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    buf[j] = '\0';
    return buf;
}

char *pf_ini_trim_dup(const char *s, size_t n)
{
    while (n && pf_ini_is_space(*s)) s++, n--;
    while (n && pf_ini_is_space(s[n - 1])) n--;
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

void pf_ini_error(pf_ini_src *s, const char *fmt, ...)
{
    if (s->err_line) return; /* the first error wins */
    s->err_line = s->line > 0 ? s->line : 1;
    if (!s->err || !s->errlen) return;
    int m = snprintf(s->err, s->errlen, "%s:%d: ", s->path, s->line);
    if (m >= 0 && (size_t)m < s->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err + m, s->errlen - (size_t)m, fmt, ap);
        va_end(ap);
    }
}

char *pf_ini_read_line(char *str, int num, void *stream)
{
    pf_ini_src *s = stream;
    if (s->err_line || s->pos >= s->len || num < 8) return NULL; /* stop at the first error */
    char *p = s->text + s->pos;
    char *nl = memchr(p, '\n', s->len - s->pos);
    size_t n = nl ? (size_t)(nl - p) : s->len - s->pos;
    p[n] = '\0'; /* the '\n' (or the spare byte after the text) */
    s->pos += n + 1;
    s->line++;
    if (s->line == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3, n -= 3; /* a UTF-8 BOM */
    s->cur = p;
    /* A CR followed by more text on the line: CR-only (classic Mac OS) line endings,
     * which inih would read as one line, keeping only its first key (or header). */
    const char *end = p + n;
    while (end > p && pf_ini_is_space(end[-1])) end--;
    if (end > p && memchr(p, '\r', (size_t)(end - p))) {
        pf_ini_error(s, "carriage return (CR) inside the line: CR-only line endings (a classic "
                        "Mac OS file?) would be read as a single line; proxflow reads lines "
                        "ending in LF or CR LF: convert the file, e.g. tr '\\r' '\\n' < %s",
                     s->path);
        return NULL;
    }
    const char *q = p;
    while (pf_ini_is_space(*q)) q++;
    if (*q == '[') {
        /* A [section] header goes to inih as "[name]" (inih ignores what follows the ']'
         * anyway), after the parser's check: an unknown section is an error even with
         * no keys under it. */
        const char *e = pf_ini_find_chars_or_comment(q + 1, "]");
        if (*e == ']') {
            char name[64], b[80];
            size_t l = (size_t)(e - q - 1);
            if (l >= sizeof name) l = sizeof name - 1;
            memcpy(name, q + 1, l);
            name[l] = '\0';
            if (s->section && s->section(s, name)) return NULL;
            /* inih drops what follows the ']': "[train] batch = 16" would set nothing */
            const char *t = e + 1;
            while (pf_ini_is_space(*t)) t++;
            if (*t && *t != ';' && *t != '#') {
                pf_ini_error(s, "[%s]: text after the section header: \"%s\" (put each key = value "
                                "on its own line below [%s])", name, pf_ini_show(t, b, sizeof b), name);
                return NULL;
            }
            snprintf(str, (size_t)num, "[%s]", name);
            return str;
        }
    }
    if (s->strip_indent) {
        n -= (size_t)(q - p);
        p += q - p;
    }
    if (n < (size_t)num) {
        memcpy(str, p, n + 1);
        return str;
    }
    /* Longer than inih's buffer.  A comment becomes an empty comment; a key line is
     * handed over as "name=\x01" with its value (found as inih would: up to an inline
     * comment, trimmed) kept for pf_ini_value. */
    if (*q == ';' || *q == '#') {
        snprintf(str, (size_t)num, ";");
        return str;
    }
    const char *e = pf_ini_find_chars_or_comment(q, "=:");
    size_t name_len = (size_t)(e - q);
    if (q == p && *q != '[' && (*e == '=' || *e == ':') && name_len + 3 < (size_t)num) {
        const char *v = e + 1, *ve = pf_ini_find_chars_or_comment(v, NULL);
        free(s->long_value);
        s->long_value = pf_ini_trim_dup(v, (size_t)(ve - v));
        if (!s->long_value) {
            pf_ini_error(s, "out of memory");
            return NULL;
        }
        memcpy(str, q, name_len);
        memcpy(str + name_len, "=\x01", 3);
        return str;
    }
    pf_ini_error(s, "line too long (%zu characters)", n);
    return NULL;
}

const char *pf_ini_value(pf_ini_src *s, const char *value, char **owned)
{
    *owned = NULL;
    if (!value) return "";
    if (value[0] == '\x01' && !value[1] && s->long_value) { /* see pf_ini_read_line */
        *owned = s->long_value;
        s->long_value = NULL;
        return *owned;
    }
    return value;
}

int pf_ini_run(pf_ini_src *s, pf_ini_handler handler, void *user, const char *expect)
{
    int ret = ini_parse_stream(pf_ini_read_line, s, handler, user);
    free(s->long_value);
    s->long_value = NULL;
    if (ret > 0 && (!s->err_line || ret < s->err_line)) {
        /* inih's own parse error (no '=' or ':', unterminated [section]); the reader
         * replaced each '\n' by '\0', so walk to line ret over those. */
        const char *p = s->text;
        for (int l = 1; l < ret && p < s->text + s->len; l++) p += strlen(p) + 1;
        char b[80];
        if (s->err && s->errlen)
            snprintf(s->err, s->errlen, "%s:%d: syntax error: expected %s, got \"%s\"", s->path, ret,
                     expect, p < s->text + s->len ? pf_ini_show(p, b, sizeof b) : "");
        return 1;
    }
    if (s->err_line) return 1;
    if (ret < 0) {
        if (s->err && s->errlen)
            snprintf(s->err, s->errlen, "%s: cannot parse (libinih error %d)", s->path, ret);
        return 1;
    }
    return 0;
}
