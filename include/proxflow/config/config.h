/* proxflow: run configuration (SPEC §5).  One struct, filled from an INI file
 * (libinih), then from --set overrides, then validated before any work starts. */
#ifndef PROXFLOW_CONFIG_H
#define PROXFLOW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define PF_STR 512
#define PF_MAX_WIDTHS 16
#define PF_CONFIG_MAX_KEYS 96 /* capacity of pf_config.src_line (keys in the table) */

typedef enum { PF_MODE_W1W2 = 0, PF_MODE_W1, PF_MODE_W2, PF_MODE_NONE } pf_mode;
typedef enum { PF_F_KL = 0, PF_F_KL_LEGENDRE, PF_F_REVERSE_KL, PF_F_ALPHA } pf_fdiv;
typedef enum { PF_ACT_RELU = 0, PF_ACT_SOFTPLUS, PF_ACT_TANH, PF_ACT_SILU } pf_act;
typedef enum { PF_ARCH_MLP = 0, PF_ARCH_CNN } pf_arch;
typedef enum { PF_REF_NORMAL = 0, PF_REF_UNIFORM } pf_reference;
/* [output] progress: what `train` prints while it runs (src/run/progress.c) */
typedef enum { PF_PROGRESS_AUTO = 0, PF_PROGRESS_BAR, PF_PROGRESS_LINES, PF_PROGRESS_OFF } pf_progress_mode;
/* [data] embedding of a synthetic set in R^dim (issue 19; docs/DATA.md): auto = 2-D sets
 * stay in R^2 (dim ignored), manifold sets get the random isometry; isometry = every set
 * x = Q z with a seeded random isometry Q; pad = the paper code's zero padding (Q = the
 * first m unit vectors). */
typedef enum { PF_EMBED_AUTO = 0, PF_EMBED_ISOMETRY, PF_EMBED_PAD } pf_embedding;

/* One network's settings ([potential] or [discriminator]). */
typedef struct {
    pf_arch arch;                 /* arch: mlp | cnn                         */
    int n_widths;                 /* widths: hidden layer widths, e.g. 64,64 */
    int widths[PF_MAX_WIDTHS];
    pf_act activation;            /* activation: relu|softplus|tanh|silu     */
    double lr;                    /* lr: Adam learning rate                  */
    double beta1, beta2, eps;     /* beta1, beta2, eps: Adam (0.5, 0.9, 1e-8)*/
    /* CNN trunk (SPEC §2): conv kernel x kernel SAME -> act -> maxpool 2x2 per block */
    int n_channels;               /* channels: output channels per block, e.g. 8,8 */
    int channels[PF_MAX_WIDTHS];
    int kernel;                   /* kernel: conv kernel size (odd)          */
} pf_net_config;

typedef struct {
    /* [flow] */
    pf_mode mode;          /* mode: w1w2 | w1 | w2 | none                   */
    double lambda;         /* lambda > 0: W2 weight                          */
    double T;              /* T > 0: time horizon                            */
    int steps;             /* steps >= 1: Euler steps Nt                     */
    pf_fdiv f;             /* f: kl | kl_legendre | reverse_kl | alpha       */
    double alpha;          /* alpha > 1 (f = alpha)                          */
    int kinetic_reference; /* kinetic_reference: 0|1, reproduce the reference
                              code's kinetic term (x^{n+1}, t_n, no gradient) */
    /* [lipschitz] */
    double L;              /* L > 0                                          */
    double mu;             /* mu >= 0                                        */
    /* [potential], [discriminator] */
    pf_net_config potential, discriminator;
    /* [train] */
    long iterations;       /* iterations >= 0                                */
    int batch;             /* batch >= 1: global N                           */
    int n_disc;            /* n_disc >= 1                                    */
    uint64_t seed;         /* seed                                           */
    int chunks;            /* chunks 1..1024: fixed chunks of the batch (SPEC §3) */
    int threads;           /* threads >= 0: OpenMP threads per rank (0 = OMP_NUM_THREADS or 1) */
    /* [data] */
    char source[PF_STR];   /* source: synthetic name | FILE.h5:/DATASET | IDX file */
    int dim;               /* dim: ambient dimension of a manifold set, or of an
                              embedded 2-D set (embedding != auto)             */
    pf_embedding embedding;/* embedding: auto | isometry | pad               */
    int manifold_dim;      /* manifold_dim: k of a k-sphere                  */
    double noise;          /* noise >= 0: Gaussian noise added to synthetic data */
    double data_scale;     /* scale > 0: multiply data by this (files: after /255 for IDX) */
    long n_train;          /* n_train >= 0: use the first n_train rows of a file (0 = all) */
    pf_reference reference;/* reference: normal | uniform                    */
    double ref_scale;      /* reference_scale > 0: std of the normal         */
    double ref_low, ref_high; /* reference_low < reference_high: uniform box */
    char ref_pool[PF_STR]; /* reference_pool: FILE.h5:/DATASET of stored reference
                              samples (empty: draw from `reference`; SPEC §8) */
    int batch_cycle;       /* batch_cycle >= 0: data and reference batches repeat
                              every this many iterations (0 = never)         */
    /* [output] */
    char out_dir[PF_STR];  /* dir                                            */
    int log_every;         /* log_every >= 1                                 */
    int checkpoint_every;  /* checkpoint_every >= 0 (0 = only at the end)    */
    int trajectory_every;  /* trajectory_every >= 0 (0 = never)              */
    int keep;              /* keep >= 1: checkpoints kept                    */
    int n_traj;            /* n_traj >= 1: trajectories written              */
    int diag_batch;        /* diag_batch >= 1: fixed diagnostic batch size   */
    int eval_every;        /* eval_every >= 0: quality metrics cadence (0 = at the end) */
    int eval_n;            /* eval_n >= 2: samples of those metrics           */
    pf_progress_mode progress; /* progress: auto | bar | lines | off         */
    /* [chain] (SPEC §8, `proxflow chain`) */
    int links;             /* links >= 1: K                                   */
    int pool;              /* pool >= 1: samples stored between links         */
    int warm_start;        /* warm_start: link k+1 starts from link k's networks */
    /* Provenance, not a setting (pf_config_to_ini/visit ignore it): the file last
     * loaded and, per key (index in config.c's key table), the line of that file that
     * set it (0 = default or an earlier file, -1 = --set).  Lets pf_config_validate
     * name the file and line of a cross-key error. */
    char src_file[PF_STR];
    int src_line[PF_CONFIG_MAX_KEYS];
} pf_config;

/* Defaults of every key (documented in docs/CONFIG.md). */
void pf_config_defaults(pf_config *c);

/* Parse an INI file on top of the current values.  On error: writes a message
 * naming the file, line and key into err (size errlen) and returns non-zero. */
int pf_config_load(pf_config *c, const char *path, char *err, size_t errlen);
/* The same on the file's text, already read (once: a pipe or FIFO cannot be read
 * again): text holds len bytes and a spare byte after them; it is changed in place
 * (lines NUL-terminated).  path names the file in messages. */
int pf_config_load_text(pf_config *c, const char *path, char *text, size_t len, char *err,
                        size_t errlen);
/* 1 if text holds only blanks and ; or # comments (after a UTF-8 BOM): an empty config,
 * most likely a failed copy or redirect. */
int pf_config_text_is_blank(const char *text, size_t len);

/* Apply one "section.key=value" override (from --set); errors name the option. */
int pf_config_set(pf_config *c, const char *assignment, char *err, size_t errlen);

/* Validation of the whole config: every key's range, the [data] source (a synthetic
 * name or a file), and the checks that involve several keys; 0 if valid. */
int pf_config_validate(const pf_config *c, char *err, size_t errlen);

/* The resolved config as INI text (every key, sections in order); malloc'd. */
char *pf_config_to_ini(const pf_config *c);

/* Visit every key: fn(section, key, value-as-text, user). */
typedef void (*pf_config_visit_fn)(const char *section, const char *key,
                                   const char *value, void *user);
void pf_config_visit(const pf_config *c, pf_config_visit_fn fn, void *user);

/* Reference of every section/key (type, default, allowed values, meaning) as
 * Markdown tables, generated from the same key table as the parser; malloc'd.
 * docs/CONFIG.md embeds it (tests/test_config.c checks they agree). */
char *pf_config_reference_md(void);

/* The synthetic data sets [data] source may name (NULL-terminated; SPEC §6.1). */
extern const char *const pf_synthetic_names[];
/* 1 if a [data] source names a file (FILE.h5:/DATASET, an IDX file, any path) rather
 * than a synthetic set; the file itself is opened, and its errors named, by the data
 * module. */
int pf_config_source_is_file(const char *src);

/* Names of the enums (for printing). */
const char *pf_mode_name(pf_mode m);
const char *pf_fdiv_name(pf_fdiv f);
const char *pf_act_name(pf_act a);

/* Derived switches of the four modes (SPEC §1.6). */
static inline int pf_mode_kinetic(pf_mode m) { return m == PF_MODE_W1W2 || m == PF_MODE_W2; }
static inline int pf_mode_penalty(pf_mode m) { return m == PF_MODE_W1W2 || m == PF_MODE_W1; }

#endif
