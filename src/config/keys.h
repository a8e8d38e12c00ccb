/* proxflow: the key table behind every config operation (internal to src/config/).
 *
 * One static table of key descriptors (keys.c) drives defaults, INI parsing (load.c),
 * --set, validation (validate.c), pf_config_visit, pf_config_to_ini and the Markdown
 * reference in docs/CONFIG.md (emit.c), so a key is added in one place only; values.c
 * parses and formats one value of a key. */
#ifndef PF_CONFIG_KEYS_H
#define PF_CONFIG_KEYS_H

#include "proxflow/config/config.h"
#include "proxflow/core/common.h"

typedef enum {
    KT_DOUBLE, KT_INT, KT_LONG, KT_U64, KT_STRING, KT_ENUM, KT_INTLIST, KT_BOOL
} pf_key_type;

/* Range flags: R_MIN means value >= min (> min with R_MIN_X), likewise for max. For an
 * int list they apply to every entry. */
enum { R_MIN = 1u, R_MIN_X = 2u, R_MAX = 4u, R_MAX_X = 8u, R_ODD = 16u, R_EMPTY = 32u };

typedef struct {
    const char *section, *key;
    pf_key_type type;
    size_t off;                /* offset of the value (of the array for a list)  */
    size_t off_n;              /* int list: offset of its count                   */
    double min, max;
    unsigned flags;
    const char *const *names;  /* enum: allowed values, NULL-terminated, in enum order */
    const char *def;           /* default, as INI text                            */
    const char *doc;           /* one line for docs/CONFIG.md                     */
} pf_key;

/* The table (keys.c), in section order. */
extern const pf_key pf_keys[];
extern const int pf_n_keys;

/* Largest formatted value: a string, or a list of PF_MAX_WIDTHS ints. */
#define PF_VALBUF (PF_STR + 16 * PF_MAX_WIDTHS)

/* an error message into the caller's buffer; returns 1 */
#define fail(why, n, ...) pf_errorf(1, (why), (n), __VA_ARGS__)

/* keys.c: index of [section] key in pf_keys (-1: none); 1 if any key has that section. */
int pf_key_find(const char *section, const char *key);
int pf_key_section_known(const char *section);
const char *pf_key_enum_name(const char *const *names, int v);

/* values.c: parse text v (already trimmed) as the value of key k into *c; on failure c
 * is unchanged and the reason (without location) is in why.  Formatting is exact
 * (a double reads back to the same bits). */
int pf_key_parse(const pf_key *k, const char *v, pf_config *c, char *why, size_t n);
void pf_key_format(const pf_config *c, const pf_key *k, char *buf, size_t n);
/* "> 0", ">= 1", "in [0, 1)", "odd and >= 1"; "" if unconstrained. */
void pf_key_range_text(const pf_key *k, char *buf, size_t n);
/* " (did you mean [flow]?)" or the list of sections / keys (values.c). */
void pf_key_section_hint(const char *section, char *buf, size_t n);
void pf_key_key_hint(const char *section, const char *key, char *buf, size_t n);

#endif
