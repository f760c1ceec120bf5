/*
 * crdb_internal.h: what libcrdb's source files share and never install:
 * the pluggable allocator, the error-setting functions, the type
 * registries' layout and the value converters of types.c, bytes.c,
 * numeric.c, jsonread.c, datetime.c and array.c.
 */
#ifndef CRDB_INTERNAL_H
#define CRDB_INTERNAL_H

#include "crdb.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* Allocation through the hooks of crdb_set_allocator(). */
void *crdb__malloc(size_t size);
void *crdb__calloc(size_t nmemb, size_t size);
void *crdb__realloc(void *ptr, size_t size);
char *crdb__strdup(const char *s);
char *crdb__strndup(const char *s, size_t len);
#define crdb__free crdb_free

/* Fill err (if not NULL) with a code and a printf-style one-line message;
 * newlines in the result are replaced by spaces. Always returns -1 so that
 * callers can write `return crdb__fail(err, ...);`. */
int crdb__fail(crdb_error *err, crdb_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same with a SQLSTATE. */
int crdb__fail_sqlstate(crdb_error *err, crdb_errcode code,
			const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* Type registries (types.c)                                           */
/* ------------------------------------------------------------------ */

/* json/jsonb nesting deeper than this is refused (our reader recurses once
 * per level; jansson's own parser bound, JSON_PARSER_MAX_DEPTH, is 2048). */
#define JSON_MAX_DEPTH 512
/* PostgreSQL's MAXDIM. */
#define ARRAY_MAX_DIMS 6

enum crdb__kind {
	K_TEXT = 0,     /* text-like: the value is the string */
	K_OTHER,        /* text format only, rendered as a string */
	K_BOOL,
	K_INT2,
	K_INT4,
	K_INT8,
	K_OID,
	K_FLOAT4,
	K_FLOAT8,
	K_NUMERIC,
	K_BYTEA,
	K_JSON,
	K_JSONB,
	K_UUID,
	K_DATE,
	K_TIME,
	K_TIMETZ,
	K_TIMESTAMP,
	K_TIMESTAMPTZ,
	K_INTERVAL,
};

struct crdb__type_entry {
	crdb_type_info elem;
	crdb_type_info array; /* name "_elem"; unused when elem.array_oid 0 */
	enum crdb__kind kind;
};

struct alias;
struct unsupported;

struct crdb_types {
	const char *vendor;
	const struct crdb__type_entry *entries;
	size_t nentries;
	const struct alias *aliases;
	size_t naliases;
	const struct unsupported *unsupported;
	size_t nunsupported;
	bool nested_arrays;
};

/* One value of entry e (or of its array type) in format 0 or 1. */
json_t *crdb__convert(const crdb_types *types, const struct crdb__type_entry *e,
		      bool is_array, const char *value, size_t len, int format,
		      crdb_error *err);

/* ------------------------------------------------------------------ */
/* Value helpers and bytea/uuid (bytes.c)                              */
/* ------------------------------------------------------------------ */

/* A JSON string of s, refused with CRDB_EPROTO when not valid UTF-8. */
json_t *crdb__new_string(const char *s, size_t len, crdb_error *err);
json_t *crdb__new_cstring(const char *s, crdb_error *err);
/* Set CRDB_ENOMEM and return NULL. */
json_t *crdb__oom(crdb_error *err);
/* Set CRDB_EPROTO "malformed <type> value: what" and return NULL. */
json_t *crdb__proto(crdb_error *err, const crdb_type_info *ti,
		    const char *what);
/* A hex digit's value, -1 when c is none. */
int crdb__hexval(char c);
/* "\\x" and lower-case hex of p. */
json_t *crdb__hex_string(const unsigned char *p, size_t len, crdb_error *err);
json_t *crdb__bytea_from_text(const crdb_type_info *ti, const char *s,
			      size_t len, crdb_error *err);
json_t *crdb__uuid_from_binary(const crdb_type_info *ti,
			       const unsigned char *p, size_t len,
			       crdb_error *err);

/* Big-endian integers of the binary formats. */
static inline uint16_t crdb__rd16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t crdb__rd32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t crdb__rd64(const unsigned char *p)
{
	return ((uint64_t)crdb__rd32(p) << 32) | crdb__rd32(p + 4);
}

/* ------------------------------------------------------------------ */
/* Numbers (numeric.c)                                                 */
/* ------------------------------------------------------------------ */

/* Does the decimal text s have a double that holds it exactly? */
bool crdb__decimal_exact_double(const char *s, size_t len, double *out);
/* Is s exactly a JSON number (RFC 8259 grammar)? */
bool crdb__json_number_syntax(const char *s, size_t len);
/* Does the integer text s fit json_int_t? */
bool crdb__integer_text(const char *s, size_t len, json_int_t *out);
json_t *crdb__number_from_text(const crdb_type_info *ti, const char *s,
			       size_t len, crdb_error *err);
json_t *crdb__integer_from_text(const crdb_type_info *ti, const char *s,
				size_t len, json_int_t min, json_int_t max,
				crdb_error *err);
json_t *crdb__numeric_from_binary(const crdb_type_info *ti,
				  const unsigned char *p, size_t len,
				  crdb_error *err);
json_t *crdb__float_from_binary(const crdb_type_info *ti,
				const unsigned char *p, size_t len,
				bool is_float4, crdb_error *err);

/* ------------------------------------------------------------------ */
/* JSON text (jsonread.c)                                              */
/* ------------------------------------------------------------------ */

/* json/jsonb text to a jansson value by the number rule of types.c;
 * jsonb (reject_duplicates) refuses a repeated key. */
json_t *crdb__json_from_text(const crdb_type_info *ti, const char *s,
			     size_t len, bool reject_duplicates,
			     crdb_error *err);
/*
 * The JSON of a changefeed's key and value columns, as
 * crdb_value_to_json(crdb_types_crdb(), jsonb, text) reads it, without the
 * registry lookups (event.c calls it twice per row). With number_text,
 * every number keeps its text (crdb_json_number_text()).
 */
json_t *crdb__jsonb_from_text(const char *s, size_t len, bool number_text,
			      crdb_error *err);

/* ------------------------------------------------------------------ */
/* Binary dates and times (datetime.c)                                 */
/* ------------------------------------------------------------------ */

json_t *crdb__date_from_binary(const crdb_type_info *ti,
			       const unsigned char *p, size_t len,
			       crdb_error *err);
json_t *crdb__time_from_binary(const crdb_type_info *ti,
			       const unsigned char *p, size_t len, bool tz,
			       crdb_error *err);
json_t *crdb__timestamp_from_binary(const crdb_type_info *ti,
				    const unsigned char *p, size_t len,
				    bool tz, crdb_error *err);
json_t *crdb__interval_from_binary(const crdb_type_info *ti,
				   const unsigned char *p, size_t len,
				   crdb_error *err);

/* ------------------------------------------------------------------ */
/* Arrays (array.c)                                                    */
/* ------------------------------------------------------------------ */

json_t *crdb__array_from_text(const crdb_types *types,
			      const struct crdb__type_entry *e,
			      const char *s, size_t len, crdb_error *err);
json_t *crdb__array_from_binary(const crdb_types *types,
				const struct crdb__type_entry *e,
				const unsigned char *p, size_t len,
				crdb_error *err);

/* ------------------------------------------------------------------ */
/* Changefeed statements (changefeed.c, feedopt.c)                     */
/* ------------------------------------------------------------------ */

enum opt_kind {
	OPT_FLAG,      /* no value */
	OPT_ENUM,      /* one of `values`, case-insensitive, stored lower-case */
	OPT_ENUM_LIST, /* comma-separated subset of `values` */
	OPT_DURATION,  /* Go duration ("10s", "1m30s"), never negative */
	OPT_TIMESTAMP, /* HLC decimal, timestamp, or negative interval */
	OPT_STRING,    /* any non-empty text */
	OPT_JSON       /* a JSON object (a sink's own configuration) */
};

#define OPT_VALUE_OPTIONAL 0x1 /* may also be written as a bare flag */
#define OPT_ZERO_OK        0x2 /* a duration of 0 is allowed */
#define OPT_NEEDS_SINK     0x4 /* about a sink or a job: needs INTO */
#define OPT_WEBHOOK        0x8 /* only a webhook sink takes it */

struct opt_def {
	const char *name;
	enum opt_kind kind;
	unsigned flags;
	const char *const *values; /* OPT_ENUM*: allowed values, NULL-ended */
	const char *since;         /* where it appeared (§4.6), for readers */
};

/* The number of rows of feedopt.c's option table. */
#define CRDB__N_FEED_OPTS 35

struct feed_target {
	char *name;   /* rendered, quoted as needed: a, s."B" */
	char *family; /* rendered, or NULL */
};

struct feed_option {
	const struct opt_def *def;
	char *value;  /* NULL when written as a bare flag */
};

struct crdb_feed_spec {
	struct feed_target *targets;
	size_t ntargets, targets_cap;
	char *query;
	char *sink;   /* the INTO URI, or NULL: a sinkless feed */
	struct feed_option opts[CRDB__N_FEED_OPTS]; /* each option at most once */
	size_t nopts;
	bool experimental;
};

/* A bounded string builder that remembers an allocation failure. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

void crdb__sb_add(struct sbuf *sb, const char *s, size_t n);
void crdb__sb_str(struct sbuf *sb, const char *s);
/* Take the built string (NULL with ENOMEM reported when it failed). */
char *crdb__sb_finish(struct sbuf *sb, crdb_error *err);
/* C's isspace() in the "C" locale. */
bool crdb__is_space(char c);
/* Whether a sink URI's scheme is webhook-https or webhook-http. */
bool crdb__sink_is_webhook(const char *uri);
/* The cross-option rules, checked when the statement is built. */
int crdb__feed_check_rules(const crdb_feed_spec *spec, crdb_error *err);

#endif /* CRDB_INTERNAL_H */
