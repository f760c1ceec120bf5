/*
 * conf_internal.h: what the conf_*.c files share and nothing else sees:
 * the loader's problem list, the raw sections read from a file (or built
 * by quick mode), the value parsers, the typed getters and the generic
 * loading of one key table row.
 */
#ifndef CRDBFEEDD_CONF_INTERNAL_H
#define CRDBFEEDD_CONF_INTERNAL_H

#include "conf.h"

#include <sys/types.h>

#define CFG_LINE_MAX 8192       /* bytes per line, without the newline */
#define CFG_NAME_MAX 64         /* feed and sink names */
#define CFG_DIAG_MAX 100        /* problems reported before giving up */
#define CFG_DIAG_LEN 1024       /* bytes per problem line */
#define CFG_DURATION_MAX_MS (INT64_C(30) * 24 * 3600 * 1000) /* 30 days */
#define CFG_SIZE_MAX ((size_t)1 << 30)                         /* 1 GiB */

#define CFG_MASK "***"
#define CFG_NOT_SHOWN "(value not shown: it may be a secret)"
#define CFG_CREDENTIAL_PREFIX "credential:"

/* ---- conf_keys.c: the table's lookups ---- */

ssize_t conf_key_index(enum cfg_section section, const char *name);
/* The [crdbfeedd] key a feed or sink key falls back to, or -1. */
ssize_t conf_inherited_index(size_t idx);
/* Where a row's field is in the struct of its section. */
void *conf_field(const struct cfg_key *k, void *base);
const void *conf_field_const(const struct cfg_key *k, const void *base);

/* ---- conf_ini.c: problems, and the file read into raw sections ---- */

/* Everything one load needs; problems go to diag, `failed` remembers any. */
struct loader {
	const char *file;
	struct config_diag *diag;
	int *diag_line;  /* the line of each diag line, for sorting */
	bool failed;
	bool oom;
};

/* Report "file:line: message" (line 0: "file: message"). */
void conf_diag(struct loader *ld, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void conf_diag_oom(struct loader *ld);
/* Problems are found section by section; people read them by line. */
void conf_diag_sort(struct loader *ld);

char *conf_strndup(struct loader *ld, const char *s, size_t len);
char *conf_strdup(struct loader *ld, const char *s);
const char *conf_skip_space(const char *s);
/* Length of s without trailing blanks. */
size_t conf_trimmed_len(const char *s, size_t len);

struct raw_value {
	char *value;  /* NULL: not in the file */
	int line;
	bool literal; /* from the command line: no ${VAR} expansion */
};

struct raw_section {
	enum cfg_section kind;
	char *name;   /* NULL for [crdbfeedd] */
	int line;
	struct raw_value *values; /* cfg_nkeys entries, by key index */
};

struct raw_file {
	struct raw_section *sections;
	size_t nsections;
	struct raw_section *global; /* may be NULL: all defaults */
};

void conf_raw_free(struct raw_file *rf);
bool conf_raw_has_feed(const struct raw_file *rf, const char *name);
/* A new section (name NULL for [crdbfeedd]); NULL on ENOMEM (reported). */
struct raw_section *conf_raw_add(struct loader *ld, struct raw_file *rf,
				 enum cfg_section kind, const char *name,
				 int line);
/* Set key in sec (reported: unknown key, duplicate). 0 or -1. */
int conf_raw_set(struct loader *ld, struct raw_section *sec, const char *key,
		 const char *value, size_t vlen, int line);
/* Read a whole file; -1 on a read error (reported). */
int conf_read_file(struct loader *ld, FILE *fp, struct raw_file *rf);

/* ---- conf_value.c: text to values ---- */

/* A bounded growing string. */
struct conf_buf {
	char *s;
	size_t len, cap;
};
/* Append len bytes of s (kept NUL terminated); false on ENOMEM. */
bool conf_buf_add(struct conf_buf *b, const char *s, size_t len);

int conf_parse_bool(const char *s, bool *out);
int conf_parse_duration(const char *s, int64_t *out_ms);
int conf_parse_size(const char *s, size_t *out);
int conf_parse_mode(const char *s, mode_t *out);
/* Index of s among "a|b|c" (any case), or -1. */
int conf_parse_enum(const char *s, const char *values);
/* The canonical spelling of enum value i. */
void conf_enum_name(const char *values, int i, char *buf, size_t size);
/* Comma separated, '...' and "..." quoted; -1 with *why (NULL: ENOMEM). */
ssize_t conf_split_list(struct loader *ld, const char *s, char ***out,
			const char **why);
void conf_free_list(char **items, size_t n);
/* ${NAME}, ${NAME:-default}; NULL with *why ("unset": NAME in namebuf). */
char *conf_expand_env(struct loader *ld, const char *s, char *namebuf,
		      size_t namesize, const char **why);
/* 10000 -> "10s", 1500 -> "1500ms", 0 -> "0". */
void conf_format_duration(int64_t ms, char *buf, size_t size);
/* 1048576 -> "1M", 4096 -> "4k", 1000 -> "1000". */
void conf_format_size(size_t bytes, char *buf, size_t size);
/* A user or group name: 0 found, 1 unknown, -1 error (*err: errno). */
int conf_lookup_id(const char *name, bool group, id_t *out, int *err);

/* ---- conf_dsn.c: connection strings and their passwords ---- */

/* dsn with every password replaced by ***; *found (may be NULL): the
 * first password as written. NULL on ENOMEM. */
char *conf_mask_dsn(const char *dsn, char **found);
/* Why dsn is no valid connection string, never quoting a password. */
int conf_dsn_check(const char *dsn, char *why, size_t size);

/* ---- conf_get.c: a key's value in a section, typed ---- */

/* One key's effective value in a section: its own, inherited, or the
 * default. value is never NULL; "" means unset. */
struct setting {
	const struct cfg_key *key;
	const char *value;
	int line;       /* where it was set; the section's line for defaults */
	bool explicit;  /* written in this section or inherited from the file */
	bool literal;   /* no ${VAR} expansion */
};

struct setting conf_setting(const struct raw_file *rf,
			    const struct raw_section *sec, const char *name);
/* A NATS connection's keys (a nats sink's, a nats source's) fit
 * together: 0, or -1 with the problems diagnosed. */
struct nats_settings;
int conf_nats_settings_check(struct loader *ld, const struct raw_file *rf,
			     const struct raw_section *sec,
			     const struct nats_settings *n);
/* Whether a key is written (non-empty) in this very section. */
bool conf_set_here(const struct raw_section *sec, const char *name);

/* The typed getters report "file:line: key: problem" and return -1. */
int conf_get_string(struct loader *ld, const struct setting *st, char **out);
int conf_get_absolute_path(struct loader *ld, const struct setting *st,
			   char **out);
int conf_get_enum(struct loader *ld, const struct setting *st, int *out);
/* The setting's comma list (conf_split_list); -1 with the problem reported
 * against the key. */
ssize_t conf_get_list(struct loader *ld, const struct setting *st, char ***out);

/*
 * Read the setting st into the field of its row in base (the struct of its
 * section), by the row's type and range. An unset enum leaves the field as
 * it is; other unset values store zero/NULL. 0, or -1 (reported).
 */
int conf_get(struct loader *ld, const struct setting *st, void *base);
/* Check a value that is stored nowhere (a [crdbfeedd] default). */
int conf_check(struct loader *ld, const struct setting *st);
/* Free what conf_get stored in a row's field (strings, id lists). */
void conf_field_free(const struct cfg_key *k, void *base);
/* Equal values of a row's field in two structs. */
bool conf_field_equal(const struct cfg_key *k, const void *a, const void *b);
/* Copy a's field into b's (b's old value freed); -1 on ENOMEM, b's value
 * then unchanged. */
int conf_field_copy(const struct cfg_key *k, const void *a, void *b);
/* The field's value as the file writes it ("" when unset). */
void conf_field_format(const struct cfg_key *k, const void *base, char *buf,
		       size_t size);

/* ---- conf_feed.c and conf_load.c ---- */

void conf_load_feed(struct loader *ld, const struct raw_file *rf,
		    const struct raw_section *sec, struct config *cfg);
/* The global password source (password_file / credential), checked even
 * when no feed uses it; into *out when out is not NULL. */
int conf_feed_password(struct loader *ld, const struct raw_file *rf,
		       const struct raw_section *sec, char **out);
void conf_feed_free_members(struct feed_config *f);
/* Everything after reading: sections to a config (NULL: problems). */
struct config *conf_load_raw(struct loader *ld, struct raw_file *rf,
			     const char *path);
/* The end of every load: rf freed, the problems sorted by line; cfg when
 * nothing failed, otherwise NULL (cfg freed). */
struct config *conf_load_finish(struct loader *ld, struct raw_file *rf,
				struct config *cfg);

#endif /* CRDBFEEDD_CONF_INTERNAL_H */
