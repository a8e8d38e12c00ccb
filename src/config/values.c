/* proxflow: one value of a config key: parsing (with the range checks and messages
 * shared by files, --set, defaults and validation), exact formatting, and the "did you
 * mean" hints for unknown sections and keys (src/config/keys.h). */
#include "config/keys.h"
#include "config/ini_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AT(c, k, T) ((T *)(void *)((char *)(c) + (k)->off))
#define CAT(c, k, T) ((const T *)(const void *)((const char *)(c) + (k)->off))

/* ------------------------------------------------------------------------------------
 * Small helpers */

static char lower(char ch) { return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch; }

static int ci_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b)) return 0;
    return *a == *b;
}

/* "w1w2, w1, w2, none" */
static void join_names(const char *const *names, char *buf, size_t n)
{
    size_t j = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && j < n; i++)
        j += (size_t)snprintf(buf + j, n - j, "%s%s", i ? ", " : "", names[i]);
}



/* Levenshtein distance, case-insensitive, for "did you mean" (names are short). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (lower(a[i - 1]) != lower(b[j - 1]));
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int close_enough(const char *typed, const char *known)
{
    size_t d = edit_distance(typed, known), len = strlen(known);
    return d <= (len <= 3 ? 1u : 2u) && d < len;
}

/* Hint for an unknown section: " (did you mean [flow]?)" or the list of sections. */
void pf_key_section_hint(const char *section, char *buf, size_t n)
{
    const char *best = NULL;
    size_t bestd = 99, j = 0;
    for (int i = 0; i < pf_n_keys; i++) {
        if (i && !strcmp(pf_keys[i].section, pf_keys[i - 1].section)) continue;
        size_t d = edit_distance(section, pf_keys[i].section);
        if (close_enough(section, pf_keys[i].section) && d < bestd) best = pf_keys[i].section, bestd = d;
    }
    if (best) {
        snprintf(buf, n, " (did you mean [%s]?)", best);
        return;
    }
    j = (size_t)snprintf(buf, n, " (sections:");
    for (int i = 0; i < pf_n_keys && j < n; i++)
        if (!i || strcmp(pf_keys[i].section, pf_keys[i - 1].section))
            j += (size_t)snprintf(buf + j, n - j, " [%s]", pf_keys[i].section);
    if (j < n) snprintf(buf + j, n - j, ")");
}

/* Hint for an unknown key: a close key of the section, the section the key belongs
 * to, or the section's keys. */
void pf_key_key_hint(const char *section, const char *key, char *buf, size_t n)
{
    const char *best = NULL;
    size_t bestd = 99, j;
    for (int i = 0; i < pf_n_keys; i++) {
        if (strcmp(pf_keys[i].section, section)) continue;
        size_t d = edit_distance(key, pf_keys[i].key);
        if (close_enough(key, pf_keys[i].key) && d < bestd) best = pf_keys[i].key, bestd = d;
    }
    if (best) {
        snprintf(buf, n, " (did you mean \"%s\"?)", best);
        return;
    }
    for (int i = 0; i < pf_n_keys; i++)
        if (!strcmp(pf_keys[i].key, key)) {
            snprintf(buf, n, " (\"%s\" belongs in [%s])", key, pf_keys[i].section);
            return;
        }
    j = (size_t)snprintf(buf, n, " (keys of [%s]:", section);
    for (int i = 0; i < pf_n_keys && j < n; i++)
        if (!strcmp(pf_keys[i].section, section))
            j += (size_t)snprintf(buf + j, n - j, " %s", pf_keys[i].key);
    if (j < n) snprintf(buf + j, n - j, ")");
}

/* "> 0", ">= 1", "in [0, 1)", "odd and >= 1"; "" if unconstrained. */
void pf_key_range_text(const pf_key *k, char *buf, size_t n)
{
    const char *odd = (k->flags & R_ODD) ? "odd and " : "";
    if ((k->flags & R_MIN) && (k->flags & R_MAX))
        snprintf(buf, n, "%sin %c%g, %g%c", odd, (k->flags & R_MIN_X) ? '(' : '[', k->min, k->max,
                 (k->flags & R_MAX_X) ? ')' : ']');
    else if (k->flags & R_MIN)
        snprintf(buf, n, "%s%s %g", odd, (k->flags & R_MIN_X) ? ">" : ">=", k->min);
    else if (k->flags & R_MAX)
        snprintf(buf, n, "%s%s %g", odd, (k->flags & R_MAX_X) ? "<" : "<=", k->max);
    else
        snprintf(buf, n, "%s", (k->flags & R_ODD) ? "odd" : "");
}

static int check_range(const pf_key *k, double x, char *why, size_t n)
{
    int ok = 1;
    if (k->flags & R_MIN) ok &= (k->flags & R_MIN_X) ? x > k->min : x >= k->min;
    if (k->flags & R_MAX) ok &= (k->flags & R_MAX_X) ? x < k->max : x <= k->max;
    if (k->flags & R_ODD) ok &= fmod(x, 2.0) != 0.0;
    if (ok) return 0;
    char r[64];
    pf_key_range_text(k, r, sizeof r);
    return fail(why, n, "must be %s", r);
}
/* ------------------------------------------------------------------------------------
 * Parsing one value (shared by files, --set, defaults and validation) */

static int parse_double(const char *v, double *out, char *why, size_t n)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v) return fail(why, n, "not a number");
    if (*end) {
        char b[80];
        return fail(why, n, "not a number (unexpected \"%s\" after it)", pf_ini_show(end, b, sizeof b));
    }
    if (!isfinite(x)) return fail(why, n, "must be a finite number");
    *out = x; /* an underflow to 0 or a subnormal is accepted; ranges then apply */
    return 0;
}

static int parse_ll(const char *v, long long lo, long long hi, long long *out, char *why, size_t n)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end) {
        char *dend;
        (void)strtod(v, &dend);
        if (end == v || (dend != v && !*dend)) return fail(why, n, "not an integer");
        char b[80];
        return fail(why, n, "not an integer (unexpected \"%s\" after it)", pf_ini_show(end, b, sizeof b));
    }
    if (errno == ERANGE || x < lo || x > hi)
        return fail(why, n, "integer out of range (%lld to %lld)", lo, hi);
    *out = x;
    return 0;
}

static int parse_u64(const char *v, uint64_t *out, char *why, size_t n)
{
    const char *p = v;
    while (pf_ini_is_space(*p)) p++;
    if (*p == '-') return fail(why, n, "must be a non-negative integer");
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end) return fail(why, n, "not a non-negative integer");
    if (errno == ERANGE) /* unsigned long long is 64-bit wherever uint64_t is */
        return fail(why, n, "integer out of range (0 to %" PRIu64 ")", UINT64_MAX);
    *out = (uint64_t)x;
    return 0;
}

static int parse_list(const pf_key *k, const char *v, pf_config *c, char *why, size_t n)
{
    int vals[PF_MAX_WIDTHS], cnt = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *item = pf_ini_trim_dup(p, len);
        if (!item) return fail(why, n, "out of memory");
        long long x = 0;
        char sub[200];
        int bad = 0;
        if (!*item)
            bad = fail(why, n, "entry %d is empty (expected comma-separated integers, e.g. 64,64)", cnt + 1);
        else if (cnt == PF_MAX_WIDTHS)
            bad = fail(why, n, "more than %d entries", PF_MAX_WIDTHS);
        else if (parse_ll(item, INT_MIN, INT_MAX, &x, sub, sizeof sub) ||
                 check_range(k, (double)x, sub, sizeof sub)) {
            char b[80];
            bad = fail(why, n, "entry %d (\"%s\"): %s", cnt + 1, pf_ini_show(item, b, sizeof b), sub);
        }
        free(item);
        if (bad) return 1;
        vals[cnt++] = (int)x;
        if (!comma) break;
        p = comma + 1;
    }
    int *arr = AT(c, k, int);
    int *count = (int *)(void *)((char *)c + k->off_n);
    memset(arr, 0, PF_MAX_WIDTHS * sizeof(int)); /* unused entries zero: structs compare */
    memcpy(arr, vals, (size_t)cnt * sizeof(int));
    *count = cnt;
    return 0;
}

/* Parse text v (already trimmed) as the value of key k into *c.  On failure c is
 * unchanged and the reason (without location) is written into why. */
int pf_key_parse(const pf_key *k, const char *v, pf_config *c, char *why, size_t n)
{
    if (!*v && !(k->type == KT_STRING && (k->flags & R_EMPTY))) return fail(why, n, "empty value");
    switch (k->type) {
    case KT_DOUBLE: {
        double x = 0;
        if (parse_double(v, &x, why, n) || check_range(k, x, why, n)) return 1;
        *AT(c, k, double) = x;
        return 0;
    }
    case KT_INT:
    case KT_LONG: {
        long long x = 0;
        int is_int = k->type == KT_INT;
        if (parse_ll(v, is_int ? INT_MIN : LONG_MIN, is_int ? INT_MAX : LONG_MAX, &x, why, n) ||
            check_range(k, (double)x, why, n))
            return 1;
        if (is_int)
            *AT(c, k, int) = (int)x;
        else
            *AT(c, k, long) = (long)x;
        return 0;
    }
    case KT_U64:
        return parse_u64(v, AT(c, k, uint64_t), why, n);
    case KT_BOOL:
        if (!strcmp(v, "1") || ci_equal(v, "true")) *AT(c, k, int) = 1;
        else if (!strcmp(v, "0") || ci_equal(v, "false")) *AT(c, k, int) = 0;
        else return fail(why, n, "not a boolean (allowed: true, false, 1, 0)");
        return 0;
    case KT_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(v, k->names[i])) {
                *AT(c, k, int) = i;
                return 0;
            }
        {
            char all[200], b[80];
            join_names(k->names, all, sizeof all);
            return fail(why, n, "unknown value \"%s\" (allowed: %s)", pf_ini_show(v, b, sizeof b), all);
        }
    case KT_STRING: {
        size_t len = strlen(v);
        if (len >= PF_STR) return fail(why, n, "too long (%zu characters; at most %d)", len, PF_STR - 1);
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)v[i] < 32 || v[i] == 127)
                return fail(why, n, "contains a control character");
            /* INI would read it back as a comment: keeps pf_config_to_ini round-trippable */
            if (v[i] == ';' && (i == 0 || pf_ini_is_space(v[i - 1])))
                return fail(why, n, "contains a ';' after a space (INI reads that as a comment)");
        }
        char *dst = AT(c, k, char);
        memset(dst, 0, PF_STR); /* no stale bytes after the NUL: structs compare */
        memcpy(dst, v, len);
        return 0;
    }
    case KT_INTLIST:
        return parse_list(k, v, c, why, n);
    }
    return fail(why, n, "internal error: unknown key type");
}
/* ------------------------------------------------------------------------------------
 * Formatting one value (to_ini, visit, validate, messages) */

/* Shortest %.Ng that reads back to the same double (at most %.17g, always exact). */
static void format_double(double x, char *buf, size_t n)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, x);
        if (strtod(buf, NULL) == x) return;
    }
    snprintf(buf, n, "%.17g", x);
}

void pf_key_format(const pf_config *c, const pf_key *k, char *buf, size_t n)
{
    switch (k->type) {
    case KT_DOUBLE: format_double(*CAT(c, k, double), buf, n); return;
    case KT_INT: snprintf(buf, n, "%d", *CAT(c, k, int)); return;
    case KT_LONG: snprintf(buf, n, "%ld", *CAT(c, k, long)); return;
    case KT_U64: snprintf(buf, n, "%" PRIu64, *CAT(c, k, uint64_t)); return;
    case KT_BOOL: snprintf(buf, n, "%s", *CAT(c, k, int) ? "true" : "false"); return;
    case KT_ENUM: snprintf(buf, n, "%s", pf_key_enum_name(k->names, *CAT(c, k, int))); return;
    case KT_STRING: snprintf(buf, n, "%.*s", PF_STR - 1, CAT(c, k, char)); return;
    case KT_INTLIST: {
        const int *arr = CAT(c, k, int);
        int cnt = *(const int *)(const void *)((const char *)c + k->off_n);
        size_t j = 0;
        buf[0] = '\0';
        if (cnt < 0 || cnt > PF_MAX_WIDTHS) cnt = 0; /* corrupt: validate reports it as empty */
        for (int i = 0; i < cnt && j < n; i++)
            j += (size_t)snprintf(buf + j, n - j, "%s%d", i ? "," : "", arr[i]);
        return;
    }
    }
    buf[0] = '\0';
}
