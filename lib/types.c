/*
 * types.c: the two type registries (CockroachDB's and PostgreSQL's, §8) and
 * the conversion of result values, text or binary, to jansson values (§5).
 *
 * Numbers: integers (int2/4/8, oid) become exact JSON integers. float4,
 * float8 and numeric become a JSON real only when the double holds the
 * value exactly, i.e. when the shortest decimal form of the double is the
 * same decimal number as the server's text form (trailing zeros aside:
 * numeric 22.30 gives 22.3). Otherwise (more than 17 significant digits,
 * out of double range) they become a JSON string of the server's text form,
 * and NaN/Infinity/-Infinity always do. The same rule applies to numbers
 * inside json/jsonb values: a number jansson cannot hold exactly (an integer
 * beyond int64, a real that does not round-trip) becomes a string of its
 * text, so that no digit is silently lost. json/jsonb text is read by our
 * own reader (see json_from_text), nested at most 512 levels; jsonb refuses
 * duplicate keys, json keeps the last one.
 *
 * Binary date/time values are rendered as PostgreSQL's text output with
 * DateStyle ISO, IntervalStyle postgres and TimeZone UTC: timestamptz as
 * "2024-01-02 03:04:05.123+00", BC dates with " BC", infinities as
 * "infinity"/"-infinity". Text values are passed through as the server sent
 * them. bytea always becomes "\\x" followed by lower-case hex.
 *
 * Types with OIDs no registry knows (enums and other user-defined types)
 * become strings in text format and are refused in binary format.
 *
 * Number checks use strtod/snprintf, which follow LC_NUMERIC: under a
 * locale with a decimal comma, reals would all become strings. Programs
 * that call setlocale() should leave LC_NUMERIC as "C".
 */
#include "config.h"

#include "crdb_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <strings.h>

/* json/jsonb nesting deeper than this is refused (our reader recurses once
 * per level; jansson's own parser bound, JSON_PARSER_MAX_DEPTH, is 2048). */
#define JSON_MAX_DEPTH 512
/* PostgreSQL's MAXDIM. */
#define ARRAY_MAX_DIMS 6

enum kind {
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

struct type_entry {
	crdb_type_info elem;
	crdb_type_info array; /* name "_elem"; unused when elem.array_oid 0 */
	enum kind kind;
};

#define T(n, o, ao, k) { { n, o, ao }, { "_" n, ao, 0 }, k }

struct alias {
	const char *name;
	const char *canonical;
};

/* A type (or array type) a registry refuses, with the reason. */
struct unsupported {
	const char *name;  /* may be NULL: known by OID only */
	uint32_t oid;      /* 0: known by name only */
	const char *why;
};

struct crdb_types {
	const char *vendor;
	const struct type_entry *entries;
	size_t nentries;
	const struct alias *aliases;
	size_t naliases;
	const struct unsupported *unsupported;
	size_t nunsupported;
	bool nested_arrays;
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* §8: psycopg.crdb's list, generated from CockroachDB 23.1.10. */
static const struct type_entry crdb_entries[] = {
	T("bit", 1560, 1561, K_OTHER),
	T("bool", 16, 1000, K_BOOL),
	T("bpchar", 1042, 1014, K_TEXT),
	T("bytea", 17, 1001, K_BYTEA),
	T("char", 18, 1002, K_TEXT),
	T("date", 1082, 1182, K_DATE),
	T("float4", 700, 1021, K_FLOAT4),
	T("float8", 701, 1022, K_FLOAT8),
	T("inet", 869, 1041, K_OTHER),
	T("int2", 21, 1005, K_INT2),
	T("int2vector", 22, 1006, K_OTHER),
	T("int4", 23, 1007, K_INT4),
	T("int8", 20, 1016, K_INT8),
	T("interval", 1186, 1187, K_INTERVAL),
	T("jsonb", 3802, 3807, K_JSONB),
	T("name", 19, 1003, K_TEXT),
	T("numeric", 1700, 1231, K_NUMERIC),
	T("oid", 26, 1028, K_OID),
	T("oidvector", 30, 1013, K_OTHER),
	T("record", 2249, 2287, K_OTHER),
	T("regclass", 2205, 2210, K_OTHER),
	T("regnamespace", 4089, 4090, K_OTHER),
	T("regproc", 24, 1008, K_OTHER),
	T("regprocedure", 2202, 2207, K_OTHER),
	T("regrole", 4096, 4097, K_OTHER),
	T("regtype", 2206, 2211, K_OTHER),
	T("text", 25, 1009, K_TEXT),
	T("time", 1083, 1183, K_TIME),
	T("timestamp", 1114, 1115, K_TIMESTAMP),
	T("timestamptz", 1184, 1185, K_TIMESTAMPTZ),
	T("timetz", 1266, 1270, K_TIMETZ),
	T("tsquery", 3615, 3645, K_OTHER),
	T("tsvector", 3614, 3643, K_OTHER),
	T("unknown", 705, 0, K_TEXT),
	T("uuid", 2950, 2951, K_UUID),
	T("varbit", 1562, 1563, K_OTHER),
	T("varchar", 1043, 1015, K_TEXT),
};

/* PostgreSQL's builtin types (pg_type.dat), the ones a client meets. */
static const struct type_entry pg_entries[] = {
	T("bool", 16, 1000, K_BOOL),
	T("bytea", 17, 1001, K_BYTEA),
	T("char", 18, 1002, K_TEXT),
	T("name", 19, 1003, K_TEXT),
	T("int8", 20, 1016, K_INT8),
	T("int2", 21, 1005, K_INT2),
	T("int2vector", 22, 1006, K_OTHER),
	T("int4", 23, 1007, K_INT4),
	T("regproc", 24, 1008, K_OTHER),
	T("text", 25, 1009, K_TEXT),
	T("oid", 26, 1028, K_OID),
	T("tid", 27, 1010, K_OTHER),
	T("xid", 28, 1011, K_OTHER),
	T("cid", 29, 1012, K_OTHER),
	T("oidvector", 30, 1013, K_OTHER),
	T("json", 114, 199, K_JSON),
	T("xml", 142, 143, K_OTHER),
	T("point", 600, 1017, K_OTHER),
	T("lseg", 601, 1018, K_OTHER),
	T("path", 602, 1019, K_OTHER),
	T("box", 603, 1020, K_OTHER),
	T("polygon", 604, 1027, K_OTHER),
	T("line", 628, 629, K_OTHER),
	T("cidr", 650, 651, K_OTHER),
	T("float4", 700, 1021, K_FLOAT4),
	T("float8", 701, 1022, K_FLOAT8),
	T("unknown", 705, 0, K_TEXT),
	T("circle", 718, 719, K_OTHER),
	T("macaddr8", 774, 775, K_OTHER),
	T("money", 790, 791, K_OTHER),
	T("macaddr", 829, 1040, K_OTHER),
	T("inet", 869, 1041, K_OTHER),
	T("aclitem", 1033, 1034, K_OTHER),
	T("bpchar", 1042, 1014, K_TEXT),
	T("varchar", 1043, 1015, K_TEXT),
	T("date", 1082, 1182, K_DATE),
	T("time", 1083, 1183, K_TIME),
	T("timestamp", 1114, 1115, K_TIMESTAMP),
	T("timestamptz", 1184, 1185, K_TIMESTAMPTZ),
	T("interval", 1186, 1187, K_INTERVAL),
	T("timetz", 1266, 1270, K_TIMETZ),
	T("bit", 1560, 1561, K_OTHER),
	T("varbit", 1562, 1563, K_OTHER),
	T("numeric", 1700, 1231, K_NUMERIC),
	T("refcursor", 1790, 2201, K_TEXT),
	T("regprocedure", 2202, 2207, K_OTHER),
	T("regoper", 2203, 2208, K_OTHER),
	T("regoperator", 2204, 2209, K_OTHER),
	T("regclass", 2205, 2210, K_OTHER),
	T("regtype", 2206, 2211, K_OTHER),
	T("record", 2249, 2287, K_OTHER),
	T("cstring", 2275, 1263, K_TEXT),
	T("uuid", 2950, 2951, K_UUID),
	T("txid_snapshot", 2970, 2949, K_OTHER),
	T("pg_lsn", 3220, 3221, K_OTHER),
	T("tsvector", 3614, 3643, K_OTHER),
	T("tsquery", 3615, 3645, K_OTHER),
	T("regconfig", 3734, 3735, K_OTHER),
	T("regdictionary", 3769, 3770, K_OTHER),
	T("jsonb", 3802, 3807, K_JSONB),
	T("int4range", 3904, 3905, K_OTHER),
	T("numrange", 3906, 3907, K_OTHER),
	T("tsrange", 3908, 3909, K_OTHER),
	T("tstzrange", 3910, 3911, K_OTHER),
	T("daterange", 3912, 3913, K_OTHER),
	T("int8range", 3926, 3927, K_OTHER),
	T("jsonpath", 4072, 4073, K_OTHER),
	T("regnamespace", 4089, 4090, K_OTHER),
	T("regrole", 4096, 4097, K_OTHER),
	T("regcollation", 4191, 4192, K_OTHER),
	T("int4multirange", 4451, 6150, K_OTHER),
	T("nummultirange", 4532, 6151, K_OTHER),
	T("tsmultirange", 4533, 6152, K_OTHER),
	T("tstzmultirange", 4534, 6153, K_OTHER),
	T("datemultirange", 4535, 6155, K_OTHER),
	T("int8multirange", 4536, 6157, K_OTHER),
	T("pg_snapshot", 5038, 5039, K_OTHER),
	T("xid8", 5069, 271, K_OTHER),
};

/* Spellings both servers accept for the same type. */
#define COMMON_ALIASES \
	{ "boolean", "bool" }, \
	{ "smallint", "int2" }, \
	{ "bigint", "int8" }, \
	{ "real", "float4" }, \
	{ "float", "float8" }, \
	{ "double precision", "float8" }, \
	{ "decimal", "numeric" }, \
	{ "dec", "numeric" }, \
	{ "character varying", "varchar" }, \
	{ "character", "bpchar" }, \
	{ "\"char\"", "char" }, \
	{ "bit varying", "varbit" }, \
	{ "timestamp without time zone", "timestamp" }, \
	{ "timestamp with time zone", "timestamptz" }, \
	{ "time without time zone", "time" }, \
	{ "time with time zone", "timetz" }

static const struct alias crdb_aliases[] = {
	COMMON_ALIASES,
	{ "int", "int8" },
	{ "integer", "int8" },
	{ "int64", "int8" },
	{ "float64", "float8" },
	{ "json", "jsonb" },
	{ "string", "text" },
	{ "bytes", "bytea" },
	{ "blob", "bytea" },
};

static const struct alias pg_aliases[] = {
	COMMON_ALIASES,
	{ "int", "int4" },
	{ "integer", "int4" },
};

#define RANGE_WHY "range types"
#define MULTIRANGE_WHY "multirange types"
#define GEOMETRIC_WHY "geometric types"

/* §8: what CockroachDB lacks, with psycopg's issue numbers. */
static const struct unsupported crdb_unsupported[] = {
	{ "int4range", 3904, RANGE_WHY }, { "_int4range", 3905, RANGE_WHY },
	{ "numrange", 3906, RANGE_WHY }, { "_numrange", 3907, RANGE_WHY },
	{ "tsrange", 3908, RANGE_WHY }, { "_tsrange", 3909, RANGE_WHY },
	{ "tstzrange", 3910, RANGE_WHY }, { "_tstzrange", 3911, RANGE_WHY },
	{ "daterange", 3912, RANGE_WHY }, { "_daterange", 3913, RANGE_WHY },
	{ "int8range", 3926, RANGE_WHY }, { "_int8range", 3927, RANGE_WHY },
	{ "int4multirange", 4451, MULTIRANGE_WHY },
	{ "nummultirange", 4532, MULTIRANGE_WHY },
	{ "tsmultirange", 4533, MULTIRANGE_WHY },
	{ "tstzmultirange", 4534, MULTIRANGE_WHY },
	{ "datemultirange", 4535, MULTIRANGE_WHY },
	{ "int8multirange", 4536, MULTIRANGE_WHY },
	{ "_int4multirange", 6150, MULTIRANGE_WHY },
	{ "_nummultirange", 6151, MULTIRANGE_WHY },
	{ "_tsmultirange", 6152, MULTIRANGE_WHY },
	{ "_tstzmultirange", 6153, MULTIRANGE_WHY },
	{ "_datemultirange", 6155, MULTIRANGE_WHY },
	{ "_int8multirange", 6157, MULTIRANGE_WHY },
	{ "hstore", 0, "hstore, issue #41284" },
	{ "point", 600, GEOMETRIC_WHY }, { "_point", 1017, GEOMETRIC_WHY },
	{ "lseg", 601, GEOMETRIC_WHY }, { "_lseg", 1018, GEOMETRIC_WHY },
	{ "path", 602, GEOMETRIC_WHY }, { "_path", 1019, GEOMETRIC_WHY },
	{ "box", 603, GEOMETRIC_WHY }, { "_box", 1020, GEOMETRIC_WHY },
	{ "polygon", 604, GEOMETRIC_WHY }, { "_polygon", 1027, GEOMETRIC_WHY },
	{ "line", 628, GEOMETRIC_WHY }, { "_line", 629, GEOMETRIC_WHY },
	{ "circle", 718, GEOMETRIC_WHY }, { "_circle", 719, GEOMETRIC_WHY },
	{ "cidr", 650, "cidr, issue #18846" },
	{ "_cidr", 651, "cidr, issue #18846" },
	{ "_jsonb", 3807, "arrays of jsonb, issue #23468" },
	{ NULL, 199, "arrays of jsonb, issue #23468" },
	{ NULL, 114, "json is an alias of jsonb, OID 3802" },
	{ "_record", 2287, "arrays of composite types, issue #27792" },
};

static const crdb_types crdb_registry = {
	"CockroachDB", crdb_entries, N_ELEMS(crdb_entries),
	crdb_aliases, N_ELEMS(crdb_aliases),
	crdb_unsupported, N_ELEMS(crdb_unsupported), false,
};

static const crdb_types pg_registry = {
	"PostgreSQL", pg_entries, N_ELEMS(pg_entries),
	pg_aliases, N_ELEMS(pg_aliases), NULL, 0, true,
};

const crdb_types *crdb_types_crdb(void)
{
	return &crdb_registry;
}

const crdb_types *crdb_types_postgres(void)
{
	return &pg_registry;
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */
/* ------------------------------------------------------------------ */

static const struct unsupported *find_unsupported_name(const crdb_types *t,
							const char *name)
{
	for (size_t i = 0; i < t->nunsupported; i++)
		if (t->unsupported[i].name &&
		    strcasecmp(t->unsupported[i].name, name) == 0)
			return &t->unsupported[i];
	return NULL;
}

static const struct unsupported *find_unsupported_oid(const crdb_types *t,
						       uint32_t oid)
{
	for (size_t i = 0; i < t->nunsupported; i++)
		if (t->unsupported[i].oid == oid)
			return &t->unsupported[i];
	return NULL;
}

static const struct type_entry *find_canonical(const crdb_types *t,
					       const char *name)
{
	for (size_t i = 0; i < t->nentries; i++)
		if (strcasecmp(t->entries[i].elem.name, name) == 0)
			return &t->entries[i];
	for (size_t i = 0; i < t->naliases; i++)
		if (strcasecmp(t->aliases[i].name, name) == 0)
			return find_canonical(t, t->aliases[i].canonical);
	return NULL;
}

/* The entry of an element or array OID; *is_array says which matched. */
static const struct type_entry *find_oid(const crdb_types *t, uint32_t oid,
					 bool *is_array)
{
	for (size_t i = 0; i < t->nentries; i++) {
		if (t->entries[i].elem.oid == oid) {
			*is_array = false;
			return &t->entries[i];
		}
		if (t->entries[i].elem.array_oid == oid && oid != 0) {
			*is_array = true;
			return &t->entries[i];
		}
	}
	return NULL;
}

static const crdb_type_info *unsupported_name(const crdb_types *t,
					      const char *name,
					      const char *why,
					      crdb_error *err)
{
	crdb__fail(err, CRDB_EUNSUPPORTED,
		   "type \"%s\" is not supported by %s (%s)", name, t->vendor,
		   why);
	return NULL;
}

const crdb_type_info *crdb_types_by_name(const crdb_types *types,
					 const char *name, crdb_error *err)
{
	char base[64];
	size_t len;
	bool array = false;
	const struct unsupported *u;
	const struct type_entry *e;

	if (!types || !name || !*name) {
		crdb__fail(err, CRDB_EINVAL, "no type name given");
		return NULL;
	}
	len = strlen(name);
	if (len >= sizeof base) {
		crdb__fail(err, CRDB_EINVAL, "type name too long: %.40s...",
			   name);
		return NULL;
	}
	memcpy(base, name, len + 1);
	/* Type modifiers do not change the type: "numeric(10,2)",
	 * "varchar(20)[]", "timestamp(3) with time zone". */
	for (char *open = strchr(base, '('); open; open = strchr(open, '(')) {
		size_t mod = strspn(open + 1, "0123456789, ");
		if (open[1 + mod] != ')')
			break;
		memmove(open, open + mod + 2, strlen(open + mod + 2) + 1);
	}
	len = strlen(base);
	if (len > 2 && strcmp(base + len - 2, "[]") == 0) {
		array = true;
		len -= 2;
		base[len] = '\0';
		if (len > 2 && strcmp(base + len - 2, "[]") == 0) {
			if (!types->nested_arrays)
				return unsupported_name(types, name,
					"nested arrays, issue #32552", err);
			/* PostgreSQL: dimensions are decoration. */
			while (len > 2 && strcmp(base + len - 2, "[]") == 0) {
				len -= 2;
				base[len] = '\0';
			}
		}
	} else if (base[0] == '_') {
		array = true;
		memmove(base, base + 1, len);
		len--;
	}

	/* Element type refused: its array is refused for the same reason. */
	u = find_unsupported_name(types, base);
	if (u)
		return unsupported_name(types, name, u->why, err);
	e = find_canonical(types, base);
	if (array && e) {
		char arrname[72];
		snprintf(arrname, sizeof arrname, "_%s", e->elem.name);
		u = find_unsupported_name(types, arrname);
		if (u)
			return unsupported_name(types, name, u->why, err);
	}
	if (!e) {
		crdb__fail(err, CRDB_EUNSUPPORTED,
			   "type \"%s\" is unknown to the %s registry", name,
			   types->vendor);
		return NULL;
	}
	if (!array)
		return &e->elem;
	if (e->elem.array_oid == 0) {
		crdb__fail(err, CRDB_EUNSUPPORTED,
			   "type \"%s\" has no array type in %s", e->elem.name,
			   types->vendor);
		return NULL;
	}
	return &e->array;
}

const crdb_type_info *crdb_types_by_oid(const crdb_types *types, uint32_t oid,
					crdb_error *err)
{
	const struct unsupported *u;
	const struct type_entry *e;
	bool is_array;

	if (!types) {
		crdb__fail(err, CRDB_EINVAL, "no type registry given");
		return NULL;
	}
	u = find_unsupported_oid(types, oid);
	if (u) {
		if (u->name)
			crdb__fail(err, CRDB_EUNSUPPORTED,
				   "type \"%s\" (OID %" PRIu32 ") is not "
				   "supported by %s (%s)", u->name, oid,
				   types->vendor, u->why);
		else
			crdb__fail(err, CRDB_EUNSUPPORTED,
				   "type OID %" PRIu32 " is not supported by "
				   "%s (%s)", oid, types->vendor, u->why);
		return NULL;
	}
	e = find_oid(types, oid, &is_array);
	if (!e) {
		crdb__fail(err, CRDB_EUNSUPPORTED,
			   "type OID %" PRIu32 " is unknown to the %s registry",
			   oid, types->vendor);
		return NULL;
	}
	return is_array ? &e->array : &e->elem;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static json_t *new_string(const char *s, size_t len, crdb_error *err)
{
	json_t *j;

	if (!utf8_valid((const unsigned char *)s, len)) {
		crdb__fail(err, CRDB_EPROTO, "value is not valid UTF-8");
		return NULL;
	}
	j = json_stringn_nocheck(s, len);
	if (!j)
		crdb__fail(err, CRDB_ENOMEM, "out of memory");
	return j;
}

static json_t *new_cstring(const char *s, crdb_error *err)
{
	return new_string(s, strlen(s), err);
}

static json_t *oom(crdb_error *err)
{
	crdb__fail(err, CRDB_ENOMEM, "out of memory");
	return NULL;
}

static json_t *proto(crdb_error *err, const crdb_type_info *ti,
		     const char *what)
{
	crdb__fail(err, CRDB_EPROTO, "malformed %s value: %s", ti->name, what);
	return NULL;
}

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t rd64(const unsigned char *p)
{
	return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

/* A decimal number reduced to its significant digits: value is
 * 0.digits * 10^exp. ndigits counts all of them, only the first
 * DEC_MAXDIGITS are kept (more can never be exact as a double). */
#define DEC_MAXDIGITS 24

struct decimal {
	bool neg;
	int ndigits;
	long exp;
	char digits[DEC_MAXDIGITS];
};

/* Parse [-+]digits[.digits][(e|E)[-+]digits]; false if not that. */
static bool decimal_parse(const char *s, size_t len, struct decimal *d)
{
	size_t i = 0;
	long point = 0; /* digits before the point, leading zeros dropped */
	int total = 0;  /* significant digits seen, trailing zeros included */
	bool any = false, seen_point = false, started = false;

	memset(d, 0, sizeof *d);
	if (i < len && (s[i] == '-' || s[i] == '+'))
		d->neg = s[i++] == '-';
	for (; i < len; i++) {
		char c = s[i];
		if (c == '.' && !seen_point) {
			seen_point = true;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		any = true;
		if (!started && c == '0') {
			if (seen_point)
				point--;
			continue;
		}
		started = true;
		if (total < DEC_MAXDIGITS)
			d->digits[total] = c;
		if (total < INT32_MAX)
			total++;
		if (c != '0')
			d->ndigits = total;
		if (!seen_point && point < 100000000)
			point++;
	}
	if (!any)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false, edig = false;
		long e = 0;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			edig = true;
			if (e < 100000000)
				e = e * 10 + (s[i] - '0');
		}
		if (!edig)
			return false;
		point += eneg ? -e : e;
	}
	if (i != len)
		return false;
	d->exp = point;
	if (d->ndigits == 0) {
		d->neg = false;
		d->exp = 0;
	}
	return true;
}

static bool decimal_equal(const struct decimal *a, const struct decimal *b)
{
	return a->neg == b->neg && a->ndigits == b->ndigits &&
	       a->exp == b->exp && a->ndigits <= DEC_MAXDIGITS &&
	       memcmp(a->digits, b->digits, (size_t)a->ndigits) == 0;
}

/*
 * Does text (a "%.*e" form that reads back as d) reach d only by a tie,
 * exactly halfway to a neighbour? PostgreSQL's shortest output (Ryu) does
 * not use such forms. A tie is told apart by nudging the decimal by a
 * tiny amount (10^-10 of its last digit) both ways: off a midpoint both
 * nudges still read as d, on one they fall on different doubles. This
 * needs no long double (valgrind computes those as doubles) and no libm.
 */
static bool double_tie(const char *text)
{
	char up[64], down[64];
	const char *e = strchr(text, 'e');
	size_t mant = e ? (size_t)(e - text) : strlen(text);
	size_t i;

	if (mant + 12 + strlen(text + mant) >= sizeof up ||
	    strtod(text, NULL) == 0)
		return false;
	snprintf(up, sizeof up, "%.*s0000000001%s", (int)mant, text,
		 text + mant);
	memcpy(down, text, mant);
	/* The decimal minus one unit of its last digit, then 9s. */
	for (i = mant; i-- > 0;) {
		if (down[i] == '.' || down[i] == '-' || down[i] == '+')
			continue;
		if (down[i] > '0') {
			down[i]--;
			break;
		}
		down[i] = '9';
	}
	snprintf(down + mant, sizeof down - mant, "9999999999%s", text + mant);
	return strtod(up, NULL) != strtod(down, NULL);
}

/* The shortest "%.*e" form of d that reads back as d without a tie. */
static void shortest_double(double d, char *buf, size_t size)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d && !double_tie(buf))
			return;
	}
}

/*
 * The same for a float4, as PostgreSQL prints it: a form that reaches f
 * only by a tie (exactly halfway to a neighbour, rounded to even) does
 * not count, so -123587024 is "-1.23587024e+08", not "-1.2358702e+08"
 * (which, read as a double for JSON, would be a different number).
 */
static float float_step(float f, int step)
{
	union { float f; uint32_t u; } v = { .f = f };

	v.u += (uint32_t)step; /* the next magnitude up or down (f != 0) */
	return v.f;
}

static void shortest_float(float f, char *buf, size_t size)
{
	double up, down;

	if (f == 0) {
		snprintf(buf, size, "%.1g", (double)f);
		return;
	}
	/* Midpoints to the neighbours, exact in a double (no libm needed). */
	up = ((double)f + (double)float_step(f, 1)) / 2;
	down = ((double)f + (double)float_step(f, -1)) / 2;
	for (int prec = 1; prec <= 9; prec++) {
		double c;

		snprintf(buf, size, "%.*g", prec, (double)f);
		if (strtof(buf, NULL) != f)
			continue;
		c = strtod(buf, NULL);
		if (c != up && c != down)
			return;
	}
}

/* Does the decimal text s have a double that holds it exactly? */
static bool decimal_exact_double(const char *s, size_t len, double *out)
{
	struct decimal in, back;
	char buf[48], canon[64];
	double d;

	if (!decimal_parse(s, len, &in) || in.ndigits > 17)
		return false;
	if (in.ndigits == 0) { /* zero, keeping the sign of -0 */
		*out = len && s[0] == '-' ? -0.0 : 0.0;
		return true;
	}
	/* strtod wants a bounded NUL-terminated string: 0.<digits>e<exp> */
	snprintf(canon, sizeof canon, "%s0.%.*se%ld", in.neg ? "-" : "",
		 in.ndigits, in.digits, in.exp);
	d = strtod(canon, NULL);
	if (!isfinite(d))
		return false;
	/*
	 * The shortest form of d equals the input exactly when d printed
	 * with the input's digit count gives the input back and one digit
	 * fewer no longer reads back as d, or only by a tie (shorter forms
	 * exist only then). The input itself may be a tie form: Go's
	 * shortest output, which CockroachDB uses, allows them.
	 */
	snprintf(buf, sizeof buf, "%.*e", in.ndigits - 1, d);
	if (!decimal_parse(buf, strlen(buf), &back) ||
	    !decimal_equal(&in, &back))
		return false;
	if (in.ndigits > 1) {
		snprintf(buf, sizeof buf, "%.*e", in.ndigits - 2, d);
		if (strtod(buf, NULL) == d && !double_tie(buf))
			return false;
	}
	*out = d;
	return true;
}

/* Is tok exactly a JSON number (RFC 8259 grammar)? */
static bool json_number_syntax(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (i < len && s[i] == '.') {
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t start;
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	return i == len;
}

/* Does the integer text s fit json_int_t? */
static bool integer_text(const char *s, size_t len, json_int_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, limit;

	if (i < len && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == len)
		return false;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned dig = (unsigned)(s[i] - '0');
		if (v > (limit - dig) / 10)
			return false;
		v = v * 10 + dig;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return true;
}

/* A float or numeric from its text form, by the rule in the file header. */
static json_t *number_from_text(const crdb_type_info *ti, const char *s,
				size_t len, crdb_error *err)
{
	struct decimal d;
	double v;
	json_t *j;

	if ((len == 3 && memcmp(s, "NaN", 3) == 0) ||
	    (len == 8 && memcmp(s, "Infinity", 8) == 0) ||
	    (len == 9 && memcmp(s, "-Infinity", 9) == 0))
		return new_string(s, len, err);
	if (!decimal_parse(s, len, &d))
		return proto(err, ti, "not a number");
	if (decimal_exact_double(s, len, &v))
		j = json_real(v);
	else
		j = json_stringn_nocheck(s, len);
	return j ? j : oom(err);
}

static json_t *integer_from_text(const crdb_type_info *ti, const char *s,
				 size_t len, json_int_t min, json_int_t max,
				 crdb_error *err)
{
	json_int_t v;
	json_t *j;

	if (!integer_text(s, len, &v) || v < min || v > max)
		return proto(err, ti, "not an integer in range");
	j = json_integer(v);
	return j ? j : oom(err);
}

/*
 * Binary numeric: int16 ndigits, int16 weight, uint16 sign, int16 dscale,
 * then ndigits base-10000 digits. Rendered like PostgreSQL's
 * get_str_from_var(), then converted as text.
 */
static json_t *numeric_from_binary(const crdb_type_info *ti,
				   const unsigned char *p, size_t len,
				   crdb_error *err)
{
	int ndigits, weight, dscale;
	unsigned sign;
	char *buf, *out;
	size_t size;
	json_t *j;

	if (len < 8)
		return proto(err, ti, "binary numeric shorter than its header");
	ndigits = (int16_t)rd16(p);
	weight = (int16_t)rd16(p + 2);
	sign = rd16(p + 4);
	dscale = (int16_t)rd16(p + 6);
	if (ndigits < 0 || dscale < 0 || len != 8 + 2 * (size_t)ndigits)
		return proto(err, ti, "binary numeric length mismatch");
	if (sign == 0xc000)
		return new_cstring("NaN", err);
	if (sign == 0xd000)
		return new_cstring("Infinity", err);
	if (sign == 0xf000)
		return new_cstring("-Infinity", err);
	if (sign != 0 && sign != 0x4000)
		return proto(err, ti, "bad binary numeric sign");
	for (int i = 0; i < ndigits; i++)
		if (rd16(p + 8 + 2 * i) >= 10000)
			return proto(err, ti, "binary numeric digit >= 10000");

	size = 4 * (size_t)(weight >= 0 ? weight + 1 : 1) + (size_t)dscale + 8;
	buf = crdb__malloc(size);
	if (!buf)
		return oom(err);
	out = buf;
	if (sign == 0x4000)
		*out++ = '-';
	if (weight < 0) {
		*out++ = '0';
	} else {
		for (int d = 0; d <= weight; d++) {
			unsigned dig = d < ndigits ? rd16(p + 8 + 2 * d) : 0;
			if (d == 0)
				out += sprintf(out, "%u", dig);
			else
				out += sprintf(out, "%04u", dig);
		}
	}
	if (dscale > 0) {
		int d = weight + 1, written = 0;
		*out++ = '.';
		while (written < dscale) {
			unsigned dig = d >= 0 && d < ndigits ?
				rd16(p + 8 + 2 * d) : 0;
			char four[12];
			snprintf(four, sizeof four, "%04u", dig);
			for (int k = 0; k < 4 && written < dscale; k++) {
				*out++ = four[k];
				written++;
			}
			d++;
		}
	}
	*out = '\0';
	j = number_from_text(ti, buf, (size_t)(out - buf), err);
	crdb__free(buf);
	return j;
}

static json_t *float_from_binary(const crdb_type_info *ti,
				 const unsigned char *p, size_t len,
				 bool is_float4, crdb_error *err)
{
	char buf[48] = "";
	double d;

	if (is_float4) {
		union { uint32_t u; float f; } v;
		if (len != 4)
			return proto(err, ti, "binary float4 is not 4 bytes");
		v.u = rd32(p);
		d = v.f;
		if (isfinite(d))
			shortest_float(v.f, buf, sizeof buf);
	} else {
		union { uint64_t u; double f; } v;
		if (len != 8)
			return proto(err, ti, "binary float8 is not 8 bytes");
		v.u = rd64(p);
		d = v.f;
		if (isfinite(d))
			shortest_double(d, buf, sizeof buf);
	}
	if (isnan(d))
		return new_cstring("NaN", err);
	if (isinf(d))
		return new_cstring(d > 0 ? "Infinity" : "-Infinity", err);
	return number_from_text(ti, buf, strlen(buf), err);
}

/* ------------------------------------------------------------------ */
/* bytea, uuid                                                          */
/* ------------------------------------------------------------------ */

static const char hexdigits[] = "0123456789abcdef";

static json_t *hex_string(const unsigned char *p, size_t len,
			  crdb_error *err)
{
	char *buf;
	json_t *j;

	if (len > (SIZE_MAX - 3) / 2)
		return oom(err);
	buf = crdb__malloc(2 * len + 3);
	if (!buf)
		return oom(err);
	buf[0] = '\\';
	buf[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		buf[2 + 2 * i] = hexdigits[p[i] >> 4];
		buf[3 + 2 * i] = hexdigits[p[i] & 15];
	}
	j = json_stringn_nocheck(buf, 2 * len + 2);
	crdb__free(buf);
	return j ? j : oom(err);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Text bytea: hex ("\x0a0b") or the old escape format ("a\\\001"). */
static json_t *bytea_from_text(const crdb_type_info *ti, const char *s,
			       size_t len, crdb_error *err)
{
	unsigned char *buf;
	size_t n = 0;
	json_t *j;

	buf = crdb__malloc(len);
	if (!buf)
		return oom(err);
	if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
		if ((len - 2) % 2) {
			crdb__free(buf);
			return proto(err, ti, "odd number of hex digits");
		}
		for (size_t i = 2; i < len; i += 2) {
			int hi = hexval(s[i]), lo = hexval(s[i + 1]);
			if (hi < 0 || lo < 0) {
				crdb__free(buf);
				return proto(err, ti, "invalid hex digit");
			}
			buf[n++] = (unsigned char)(hi << 4 | lo);
		}
	} else {
		for (size_t i = 0; i < len; i++) {
			if (s[i] != '\\') {
				buf[n++] = (unsigned char)s[i];
			} else if (i + 1 < len && s[i + 1] == '\\') {
				buf[n++] = '\\';
				i++;
			} else if (i + 3 < len && s[i + 1] >= '0' &&
				   s[i + 1] <= '3' && s[i + 2] >= '0' &&
				   s[i + 2] <= '7' && s[i + 3] >= '0' &&
				   s[i + 3] <= '7') {
				buf[n++] = (unsigned char)((s[i + 1] - '0') * 64 +
					(s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
				i += 3;
			} else {
				crdb__free(buf);
				return proto(err, ti, "invalid escape");
			}
		}
	}
	j = hex_string(buf, n, err);
	crdb__free(buf);
	return j;
}

static json_t *uuid_from_binary(const crdb_type_info *ti,
				const unsigned char *p, size_t len,
				crdb_error *err)
{
	char buf[37], *o = buf;

	if (len != 16)
		return proto(err, ti, "binary uuid is not 16 bytes");
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hexdigits[p[i] >> 4];
		*o++ = hexdigits[p[i] & 15];
	}
	*o = '\0';
	return new_cstring(buf, err);
}

/* ------------------------------------------------------------------ */
/* json, jsonb                                                          */
/* ------------------------------------------------------------------ */

/*
 * Our own JSON reader, building jansson values. jansson's json_loadb()
 * is not safe when an allocation fails inside its lexer: it drops the byte
 * and goes on, returning wrong values or overrunning its buffer (jansson
 * issue #362, still so in 2.14). Building values one by one with
 * json_object()/json_stringn()/... keeps every failure visible. It also
 * applies our number rule and depth bound directly.
 */
struct json_reader {
	const char *s;
	size_t len, pos;
	int depth;
	bool reject_duplicates;
	const crdb_type_info *ti;
	crdb_error *err;
};

static json_t *jr_fail(struct json_reader *r, const char *what)
{
	crdb__fail(r->err, CRDB_EPROTO, "malformed %s value: %s at byte %zu",
		   r->ti->name, what, r->pos);
	return NULL;
}

static void jr_space(struct json_reader *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' ||
				   r->s[r->pos] == '\t' ||
				   r->s[r->pos] == '\n' ||
				   r->s[r->pos] == '\r'))
		r->pos++;
}

static int jr_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hexval(p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Strings shorter than this (most keys and values) need no allocation;
 * keys use a smaller buffer, as it stays on the stack while the value
 * nests (512 levels at most). */
#define JR_SMALL 128
#define JR_SMALL_KEY 64

static void jr_release(const char *small, char *buf)
{
	if (buf != small)
		crdb__free(buf);
}

/* Bytes that go through jr_string()'s fast path unchanged: printable
 * ASCII other than the quote and the backslash. */
static inline bool jr_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * Is any of the eight bytes at p not plain? The classic word-at-a-time
 * tests: a byte below 0x20, a byte equal to '"' or '\\' (a zero byte
 * after XOR), a byte with its top bit set. They may also flag bytes above
 * a flagged one, never below: the lowest flag is exact.
 */
static inline uint64_t jr_special8(const char *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	uint64_t x, quote, slash;

	memcpy(&x, p, sizeof(x));
	quote = x ^ (ones * '"');
	slash = x ^ (ones * '\\');
	return (((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) |
		((slash - ones) & ~slash) | x) & highs;
}

/* The end of the plain bytes of s from pos (at most len). */
static size_t plain_prefix(const char *s, size_t pos, size_t len)
{
#ifdef __SSE2__
	/* Sixteen at once: as signed bytes, non-ASCII is below 0x20 too. */
	while (len - pos >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + pos));
		__m128i special = _mm_or_si128(
			_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
			_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
				     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
		int mask = _mm_movemask_epi8(special);

		if (mask)
			return pos + (size_t)__builtin_ctz((unsigned)mask);
		pos += 16;
	}
#endif
	while (len - pos >= 8) {
		uint64_t mask = jr_special8(s + pos);

		if (mask) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return pos + (size_t)__builtin_ctzll(mask) / 8;
#else
			break;
#endif
		}
		pos += 8;
	}
	while (pos < len && jr_plain((unsigned char)s[pos]))
		pos++;
	return pos;
}

/*
 * A string at r->pos (on its '"'): *out and its length. Returns 1 when
 * *out points into the input (a plain ASCII string without escapes, the
 * usual case: no copy), 0 when it is small or allocated: then free it
 * with jr_release(). -1 on error.
 */
static int jr_string(struct json_reader *r, char *small, size_t small_size,
		     char **out, size_t *outlen)
{
	size_t start = ++r->pos, end = start, n = 0;
	char *buf;

	end = plain_prefix(r->s, start, r->len);
	if (end < r->len && r->s[end] == '"') {
		*out = (char *)(uintptr_t)(r->s + start);
		*outlen = end - start;
		r->pos = end + 1;
		return 1;
	}
	end = start;

	/* Find the closing quote; the text bounds the decoded size. */
	while (end < r->len && r->s[end] != '"')
		end += r->s[end] == '\\' ? 2 : 1;
	if (end >= r->len) {
		jr_fail(r, "unterminated string");
		return -1;
	}
	buf = end - start < small_size ? small
				       : crdb__malloc(end - start + 1);
	if (!buf) {
		oom(r->err);
		return -1;
	}
	while (r->pos < end) {
		unsigned char c = (unsigned char)r->s[r->pos];

		if (c < 0x20) {
			jr_release(small, buf);
			jr_fail(r, "control character in string");
			return -1;
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			r->pos++;
			continue;
		}
		c = (unsigned char)r->s[r->pos + 1];
		r->pos += 2;
		switch (c) {
		case '"': buf[n++] = '"'; continue;
		case '\\': buf[n++] = '\\'; continue;
		case '/': buf[n++] = '/'; continue;
		case 'b': buf[n++] = '\b'; continue;
		case 'f': buf[n++] = '\f'; continue;
		case 'n': buf[n++] = '\n'; continue;
		case 'r': buf[n++] = '\r'; continue;
		case 't': buf[n++] = '\t'; continue;
		case 'u':
			break;
		default:
			r->pos -= 2;
			jr_release(small, buf);
			jr_fail(r, "bad escape in string");
			return -1;
		}
		int cp = end - r->pos >= 4 ? jr_hex4(r->s + r->pos) : -1;
		if (cp < 0)
			goto bad_u;
		r->pos += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			goto bad_u;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			int lo = end - r->pos >= 6 && r->s[r->pos] == '\\' &&
				 r->s[r->pos + 1] == 'u' ?
				 jr_hex4(r->s + r->pos + 2) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				goto bad_u;
			r->pos += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		n += utf8_put(buf + n, (uint32_t)cp);
	}
	r->pos = end + 1;
	if (!utf8_valid((const unsigned char *)buf, n)) {
		jr_release(small, buf);
		jr_fail(r, "invalid UTF-8 in string");
		return -1;
	}
	*out = buf;
	*outlen = n;
	return 0;

bad_u:
	jr_release(small, buf);
	jr_fail(r, "bad \\u escape in string");
	return -1;
}

/* A number: an exact integer or real, else a string of its text. */
static json_t *jr_number(struct json_reader *r)
{
	size_t start = r->pos;
	bool real = false;
	json_int_t iv;
	double dv;
	json_t *j;

	while (r->pos < r->len &&
	       ((r->s[r->pos] >= '0' && r->s[r->pos] <= '9') ||
		r->s[r->pos] == '+' || r->s[r->pos] == '-' ||
		r->s[r->pos] == '.' || r->s[r->pos] == 'e' ||
		r->s[r->pos] == 'E')) {
		char c = r->s[r->pos];
		if (c == '.' || c == 'e' || c == 'E')
			real = true;
		r->pos++;
	}
	if (!json_number_syntax(r->s + start, r->pos - start)) {
		r->pos = start;
		return jr_fail(r, "bad number");
	}
	if (!real && integer_text(r->s + start, r->pos - start, &iv))
		j = json_integer(iv);
	else if (real && decimal_exact_double(r->s + start, r->pos - start,
					      &dv))
		j = json_real(dv);
	else
		j = json_stringn_nocheck(r->s + start, r->pos - start);
	return j ? j : oom(r->err);
}

static json_t *jr_value(struct json_reader *r);

/* Out of jr_value() so that its buffer is not on the recursion's stack. */
static __attribute__((noinline)) json_t *jr_string_value(
	struct json_reader *r)
{
	char small[JR_SMALL], *buf;
	size_t n;
	json_t *j;
	int rc = jr_string(r, small, sizeof small, &buf, &n);

	if (rc < 0)
		return NULL;
	j = json_stringn_nocheck(buf, n);
	if (rc == 0)
		jr_release(small, buf);
	return j ? j : oom(r->err);
}

static json_t *jr_container(struct json_reader *r, bool object)
{
	const char close = object ? '}' : ']';
	size_t members = 0, key_end = 0;
	json_t *c;

	if (++r->depth > JSON_MAX_DEPTH) {
		crdb__fail(r->err, CRDB_EPROTO,
			   "malformed %s value: JSON nested deeper than %d "
			   "levels", r->ti->name, JSON_MAX_DEPTH);
		return NULL;
	}
	r->pos++;
	c = object ? json_object() : json_array();
	if (!c)
		return oom(r->err);
	jr_space(r);
	if (r->pos < r->len && r->s[r->pos] == close) {
		r->pos++;
		r->depth--;
		return c;
	}
	for (;;) {
		char small[JR_SMALL_KEY], *key = NULL;
		const char *keep = small; /* the key itself when borrowed */
		size_t keylen = 0;
		json_t *v;
		int rc;

		jr_space(r);
		if (object) {
			if (r->pos >= r->len || r->s[r->pos] != '"') {
				json_decref(c);
				return jr_fail(r, "expected a string key");
			}
			rc = jr_string(r, small, sizeof small, &key, &keylen);
			if (rc < 0) {
				json_decref(c);
				return NULL;
			}
			if (rc == 1)
				keep = key;
			key_end = r->pos;
			jr_space(r);
			if (r->pos >= r->len || r->s[r->pos] != ':') {
				jr_release(keep, key);
				json_decref(c);
				return jr_fail(r, "expected ':'");
			}
			r->pos++;
		}
		v = jr_value(r);
		if (!v) {
			jr_release(keep, key);
			json_decref(c);
			return NULL;
		}
		/* Without duplicate rejection the last value wins, as in
		 * PostgreSQL's json -> jsonb. */
		if (object ? json_object_setn_new_nocheck(c, key, keylen, v)
			   : json_array_append_new(c, v)) {
			jr_release(keep, key);
			json_decref(c);
			return oom(r->err);
		}
		jr_release(keep, key);
		/* A duplicate replaced a member instead of adding one: found
		 * without a lookup per key. Reported where the key ended. */
		if (object && r->reject_duplicates &&
		    json_object_size(c) != ++members) {
			json_decref(c);
			r->pos = key_end;
			return jr_fail(r, "duplicate object key");
		}
		jr_space(r);
		if (r->pos < r->len && r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if (r->pos < r->len && r->s[r->pos] == close) {
			r->pos++;
			r->depth--;
			return c;
		}
		json_decref(c);
		return jr_fail(r, object ? "expected ',' or '}'"
					 : "expected ',' or ']'");
	}
}

static json_t *jr_value(struct json_reader *r)
{
	static const struct {
		const char *word;
		size_t len;
	} words[3] = { { "true", 4 }, { "false", 5 }, { "null", 4 } };
	char c;

	jr_space(r);
	if (r->pos >= r->len)
		return jr_fail(r, "unexpected end of input");
	c = r->s[r->pos];
	if (c == '{' || c == '[')
		return jr_container(r, c == '{');
	if (c == '"')
		return jr_string_value(r);
	if (c == '-' || (c >= '0' && c <= '9'))
		return jr_number(r);
	for (int i = 0; i < 3; i++) {
		if (r->len - r->pos >= words[i].len &&
		    memcmp(r->s + r->pos, words[i].word, words[i].len) == 0) {
			r->pos += words[i].len;
			return i == 0 ? json_true() : i == 1 ? json_false()
							     : json_null();
		}
	}
	return jr_fail(r, "unexpected character");
}

static json_t *json_from_text(const crdb_type_info *ti, const char *s,
			      size_t len, bool reject_duplicates,
			      crdb_error *err)
{
	struct json_reader r = {
		.s = s, .len = len, .reject_duplicates = reject_duplicates,
		.ti = ti, .err = err,
	};
	json_t *j = jr_value(&r);

	if (!j)
		return NULL;
	jr_space(&r);
	if (r.pos != r.len) {
		json_decref(j);
		return jr_fail(&r, "trailing bytes after the JSON value");
	}
	return j;
}

/*
 * The JSON of a changefeed's key and value columns, as
 * crdb_value_to_json(crdb_types_crdb(), jsonb, text) reads it, without the
 * registry lookups: event.c calls it twice per row. Not exported (the
 * library exports crdb_[a-z]* only); declared again in event.c.
 */
json_t *crdb__jsonb_from_text(const char *s, size_t len, crdb_error *err);

json_t *crdb__jsonb_from_text(const char *s, size_t len, crdb_error *err)
{
	static const crdb_type_info jsonb_info = { "jsonb", 3802, 3807 };

	return json_from_text(&jsonb_info, s, len, true, err);
}

/* ------------------------------------------------------------------ */
/* Dates and times (PostgreSQL's binary format: microseconds and days  */
/* since 2000-01-01)                                                    */
/* ------------------------------------------------------------------ */

#define POSTGRES_EPOCH_JDATE 2451545
#define USECS_PER_DAY INT64_C(86400000000)
#define USECS_PER_HOUR INT64_C(3600000000)
#define USECS_PER_MINUTE INT64_C(60000000)
#define USECS_PER_SEC INT64_C(1000000)

/* PostgreSQL's j2date(). */
static void j2date(int64_t jd, int *year, int *month, int *day)
{
	unsigned int julian, quad, extra;
	int y;

	julian = (unsigned int)jd;
	julian += 32044;
	quad = julian / 146097;
	extra = (julian - quad * 146097) * 4 + 3;
	julian += 60 + quad * 3 + extra / 146097;
	quad = julian / 1461;
	julian -= quad * 1461;
	y = (int)(julian * 4 / 1461);
	julian = ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) +
		 123;
	y += (int)(quad * 4);
	*year = y - 4800;
	quad = julian * 2141 / 65536;
	*day = (int)(julian - 7834 * quad / 256);
	*month = (int)((quad + 10) % 12 + 1);
}

/* "YYYY-MM-DD" into buf; *bc set for years <= 0. false if out of range. */
static bool format_date(int64_t days, char *buf, size_t size, bool *bc)
{
	int64_t jd = days + POSTGRES_EPOCH_JDATE;
	int y, m, d;

	if (jd < 0 || jd > INT32_MAX)
		return false;
	j2date(jd, &y, &m, &d);
	*bc = y <= 0;
	if (*bc)
		y = -(y - 1);
	snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
	return true;
}

/* "HH:MM:SS[.ffffff]" with trailing fraction zeros cut; hours unbounded. */
static void format_clock(uint64_t usecs, char *buf, size_t size)
{
	uint64_t hours = usecs / (uint64_t)USECS_PER_HOUR;
	unsigned min = (unsigned)(usecs / (uint64_t)USECS_PER_MINUTE % 60);
	unsigned sec = (unsigned)(usecs / (uint64_t)USECS_PER_SEC % 60);
	unsigned frac = (unsigned)(usecs % (uint64_t)USECS_PER_SEC);
	int n;

	n = snprintf(buf, size, "%02" PRIu64 ":%02u:%02u", hours, min, sec);
	if (frac && n > 0 && (size_t)n < size) {
		char f[8];
		int fl = 6;
		snprintf(f, sizeof f, "%06u", frac);
		while (fl > 0 && f[fl - 1] == '0')
			fl--;
		snprintf(buf + n, size - (size_t)n, ".%.*s", fl, f);
	}
}

static json_t *date_from_binary(const crdb_type_info *ti,
				const unsigned char *p, size_t len,
				crdb_error *err)
{
	char buf[40];
	int32_t days;
	bool bc;

	if (len != 4)
		return proto(err, ti, "binary date is not 4 bytes");
	days = (int32_t)rd32(p);
	if (days == INT32_MAX)
		return new_cstring("infinity", err);
	if (days == INT32_MIN)
		return new_cstring("-infinity", err);
	if (!format_date(days, buf, sizeof buf - 3, &bc))
		return proto(err, ti, "date out of range");
	if (bc)
		strcat(buf, " BC");
	return new_cstring(buf, err);
}

static json_t *time_from_binary(const crdb_type_info *ti,
				const unsigned char *p, size_t len, bool tz,
				crdb_error *err)
{
	char buf[64];
	int64_t usecs;

	if (len != (tz ? 12u : 8u))
		return proto(err, ti, "binary time has the wrong length");
	usecs = (int64_t)rd64(p);
	if (usecs < 0 || usecs > USECS_PER_DAY)
		return proto(err, ti, "time out of range");
	format_clock((uint64_t)usecs, buf, sizeof buf);
	if (tz) {
		/* Seconds west of UTC; printed as the offset east. */
		int32_t zone = (int32_t)rd32(p + 8), east;
		unsigned a;
		size_t n = strlen(buf);

		if (zone > 15 * 3600 + 59 * 60 + 59 ||
		    zone < -(15 * 3600 + 59 * 60 + 59))
			return proto(err, ti, "time zone out of range");
		east = -zone;
		a = (unsigned)(east < 0 ? -east : east);
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%c%02u",
				      east < 0 ? '-' : '+', a / 3600);
		if (a % 3600)
			n += (size_t)snprintf(buf + n, sizeof buf - n, ":%02u",
					      a / 60 % 60);
		if (a % 60)
			snprintf(buf + n, sizeof buf - n, ":%02u", a % 60);
	}
	return new_cstring(buf, err);
}

static json_t *timestamp_from_binary(const crdb_type_info *ti,
				     const unsigned char *p, size_t len,
				     bool tz, crdb_error *err)
{
	char date[40], clock[40], buf[96];
	int64_t ts, days, rem;
	bool bc;

	if (len != 8)
		return proto(err, ti, "binary timestamp is not 8 bytes");
	ts = (int64_t)rd64(p);
	if (ts == INT64_MAX)
		return new_cstring("infinity", err);
	if (ts == INT64_MIN)
		return new_cstring("-infinity", err);
	days = ts / USECS_PER_DAY;
	rem = ts % USECS_PER_DAY;
	if (rem < 0) {
		rem += USECS_PER_DAY;
		days--;
	}
	if (!format_date(days, date, sizeof date, &bc))
		return proto(err, ti, "timestamp out of range");
	format_clock((uint64_t)rem, clock, sizeof clock);
	snprintf(buf, sizeof buf, "%s %s%s%s", date, clock, tz ? "+00" : "",
		 bc ? " BC" : "");
	return new_cstring(buf, err);
}

/* PostgreSQL's EncodeInterval() for IntervalStyle postgres. */
static json_t *interval_from_binary(const crdb_type_info *ti,
				    const unsigned char *p, size_t len,
				    crdb_error *err)
{
	char buf[160];
	size_t n = 0;
	int64_t time;
	int32_t mday, months;
	bool is_zero = true, is_before = false;

	if (len != 16)
		return proto(err, ti, "binary interval is not 16 bytes");
	time = (int64_t)rd64(p);
	mday = (int32_t)rd32(p + 8);
	months = (int32_t)rd32(p + 12);
	if (time == INT64_MIN)
		return proto(err, ti, "interval out of range");

	const int32_t parts[3] = { months / 12, months % 12, mday };
	static const char *const units[3] = { "year", "mon", "day" };
	for (int i = 0; i < 3; i++) {
		if (parts[i] == 0)
			continue;
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%" PRId32
				      " %s%s", is_zero ? "" : " ",
				      is_before && parts[i] > 0 ? "+" : "",
				      parts[i], units[i],
				      parts[i] != 1 ? "s" : "");
		is_before = parts[i] < 0;
		is_zero = false;
	}
	if (is_zero || time != 0) {
		char clock[48];
		bool minus = time < 0;
		format_clock(minus ? (uint64_t)-time : (uint64_t)time, clock,
			     sizeof clock);
		snprintf(buf + n, sizeof buf - n, "%s%s%s", is_zero ? "" : " ",
			 minus ? "-" : (is_before ? "+" : ""), clock);
	}
	return new_cstring(buf, err);
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                             */
/* ------------------------------------------------------------------ */

static json_t *convert(const crdb_types *types, const struct type_entry *e,
		       bool is_array, const char *value, size_t len,
		       int format, crdb_error *err);

static json_t *scalar_from_text(const struct type_entry *e, const char *s,
				size_t len, crdb_error *err)
{
	const crdb_type_info *ti = &e->elem;

	switch (e->kind) {
	case K_TEXT:
	case K_OTHER:
	case K_UUID:
	case K_DATE:
	case K_TIME:
	case K_TIMETZ:
	case K_TIMESTAMP:
	case K_TIMESTAMPTZ:
	case K_INTERVAL:
		return new_string(s, len, err);
	case K_BOOL:
		if ((len == 1 && s[0] == 't') || (len == 4 &&
						  memcmp(s, "true", 4) == 0))
			return json_true();
		if ((len == 1 && s[0] == 'f') || (len == 5 &&
						  memcmp(s, "false", 5) == 0))
			return json_false();
		return proto(err, ti, "not t or f");
	case K_INT2:
		return integer_from_text(ti, s, len, INT16_MIN, INT16_MAX, err);
	case K_INT4:
		return integer_from_text(ti, s, len, INT32_MIN, INT32_MAX, err);
	case K_INT8:
		return integer_from_text(ti, s, len, INT64_MIN, INT64_MAX, err);
	case K_OID:
		return integer_from_text(ti, s, len, 0, UINT32_MAX, err);
	case K_FLOAT4:
	case K_FLOAT8:
	case K_NUMERIC:
		return number_from_text(ti, s, len, err);
	case K_BYTEA:
		return bytea_from_text(ti, s, len, err);
	case K_JSON:
		return json_from_text(ti, s, len, false, err);
	case K_JSONB:
		return json_from_text(ti, s, len, true, err);
	}
	return proto(err, ti, "unknown kind");
}

static json_t *scalar_from_binary(const crdb_types *types,
				  const struct type_entry *e,
				  const unsigned char *p, size_t len,
				  crdb_error *err)
{
	const crdb_type_info *ti = &e->elem;
	json_t *j;

	switch (e->kind) {
	case K_TEXT:
		return new_string((const char *)p, len, err);
	case K_BOOL:
		if (len != 1 || p[0] > 1)
			return proto(err, ti, "binary bool is not one 0/1 byte");
		return p[0] ? json_true() : json_false();
	case K_INT2:
		if (len != 2)
			return proto(err, ti, "binary int2 is not 2 bytes");
		j = json_integer((int16_t)rd16(p));
		return j ? j : oom(err);
	case K_INT4:
		if (len != 4)
			return proto(err, ti, "binary int4 is not 4 bytes");
		j = json_integer((int32_t)rd32(p));
		return j ? j : oom(err);
	case K_OID:
		if (len != 4)
			return proto(err, ti, "binary oid is not 4 bytes");
		j = json_integer(rd32(p));
		return j ? j : oom(err);
	case K_INT8:
		if (len != 8)
			return proto(err, ti, "binary int8 is not 8 bytes");
		j = json_integer((int64_t)rd64(p));
		return j ? j : oom(err);
	case K_FLOAT4:
	case K_FLOAT8:
		return float_from_binary(ti, p, len, e->kind == K_FLOAT4, err);
	case K_NUMERIC:
		return numeric_from_binary(ti, p, len, err);
	case K_BYTEA:
		return hex_string(p, len, err);
	case K_JSON:
		return json_from_text(ti, (const char *)p, len, false, err);
	case K_JSONB:
		if (len < 1 || p[0] != 1)
			return proto(err, ti, "binary jsonb version is not 1");
		return json_from_text(ti, (const char *)p + 1, len - 1, true,
				      err);
	case K_UUID:
		return uuid_from_binary(ti, p, len, err);
	case K_DATE:
		return date_from_binary(ti, p, len, err);
	case K_TIME:
		return time_from_binary(ti, p, len, false, err);
	case K_TIMETZ:
		return time_from_binary(ti, p, len, true, err);
	case K_TIMESTAMP:
		return timestamp_from_binary(ti, p, len, false, err);
	case K_TIMESTAMPTZ:
		return timestamp_from_binary(ti, p, len, true, err);
	case K_INTERVAL:
		return interval_from_binary(ti, p, len, err);
	case K_OTHER:
		break;
	}
	crdb__fail(err, CRDB_EUNSUPPORTED,
		   "binary format of type %s is not supported by libcrdb "
		   "(%s); request text format", ti->name, types->vendor);
	return NULL;
}

/* ---- Arrays in text: {1,NULL,"a,b",{nested}} ---- */

struct array_parser {
	const crdb_types *types;
	const struct type_entry *elem;
	const char *s;
	size_t len, pos;
	char delim;
	char *scratch; /* room for any one element, unescaped */
	crdb_error *err;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static void skip_space(struct array_parser *ap)
{
	while (ap->pos < ap->len && is_space(ap->s[ap->pos]))
		ap->pos++;
}

static json_t *array_proto(struct array_parser *ap, const char *what)
{
	crdb__fail(ap->err, CRDB_EPROTO,
		   "malformed %s value: %s at byte %zu", ap->elem->array.name,
		   what, ap->pos);
	return NULL;
}

static json_t *parse_array_level(struct array_parser *ap, int depth)
{
	json_t *arr;

	if (depth > ARRAY_MAX_DIMS)
		return array_proto(ap, "more than 6 dimensions");
	if (depth > 1 && !ap->types->nested_arrays) {
		crdb__fail(ap->err, CRDB_EUNSUPPORTED,
			   "type \"%s\" with several dimensions is not "
			   "supported by %s (nested arrays, issue #32552)",
			   ap->elem->array.name, ap->types->vendor);
		return NULL;
	}
	if (ap->pos >= ap->len || ap->s[ap->pos] != '{')
		return array_proto(ap, "expected '{'");
	ap->pos++;
	arr = json_array();
	if (!arr)
		return oom(ap->err);
	skip_space(ap);
	if (ap->pos < ap->len && ap->s[ap->pos] == '}') {
		ap->pos++;
		return arr;
	}
	for (;;) {
		json_t *item;

		skip_space(ap);
		if (ap->pos >= ap->len) {
			json_decref(arr);
			return array_proto(ap, "unterminated array");
		}
		if (ap->s[ap->pos] == '{') {
			item = parse_array_level(ap, depth + 1);
		} else {
			size_t n = 0, last_kept = 0;
			bool quoted = false, escaped = false;

			if (ap->s[ap->pos] == '"') {
				quoted = true;
				ap->pos++;
			}
			for (;;) {
				char c;
				if (ap->pos >= ap->len) {
					json_decref(arr);
					return array_proto(ap,
						"unterminated element");
				}
				c = ap->s[ap->pos];
				if (c == '\\') {
					if (++ap->pos >= ap->len)
						continue;
					ap->scratch[n++] = ap->s[ap->pos++];
					last_kept = n;
					escaped = true;
					continue;
				}
				if (quoted && c == '"') {
					ap->pos++;
					break;
				}
				if (!quoted && (c == ap->delim || c == '}'))
					break;
				if (!quoted && (c == '{' || c == '"')) {
					json_decref(arr);
					return array_proto(ap,
						"unexpected character");
				}
				ap->scratch[n++] = c;
				ap->pos++;
				if (quoted || !is_space(c))
					last_kept = n;
			}
			if (!quoted)
				n = last_kept; /* trailing blanks are not data */
			if (!quoted && n == 0) {
				json_decref(arr);
				return array_proto(ap, "empty element");
			}
			if (!quoted && !escaped && n == 4 &&
			    strncasecmp(ap->scratch, "NULL", 4) == 0)
				item = json_null();
			else
				item = convert(ap->types, ap->elem, false,
					       ap->scratch, n, 0, ap->err);
		}
		if (!item || json_array_append_new(arr, item) < 0) {
			json_decref(arr);
			return item ? oom(ap->err) : NULL;
		}
		skip_space(ap);
		if (ap->pos < ap->len && ap->s[ap->pos] == ap->delim) {
			ap->pos++;
			continue;
		}
		if (ap->pos < ap->len && ap->s[ap->pos] == '}') {
			ap->pos++;
			return arr;
		}
		json_decref(arr);
		return array_proto(ap, "expected ',' or '}'");
	}
}

static json_t *array_from_text(const crdb_types *types,
			       const struct type_entry *e, const char *s,
			       size_t len, crdb_error *err)
{
	struct array_parser ap = {
		.types = types, .elem = e, .s = s, .len = len,
		.delim = e->elem.oid == 603 ? ';' : ',', .err = err,
	};
	json_t *arr;

	/* Optional dimension decoration "[1:2]={...}". */
	if (len && s[0] == '[') {
		const char *eq = memchr(s, '=', len);
		if (!eq)
			return array_proto(&ap, "bad dimension decoration");
		ap.pos = (size_t)(eq - s) + 1;
	}
	ap.scratch = crdb__malloc(len + 1);
	if (!ap.scratch)
		return oom(err);
	arr = parse_array_level(&ap, 1);
	if (arr) {
		skip_space(&ap);
		if (ap.pos != len) {
			json_decref(arr);
			arr = array_proto(&ap, "trailing bytes");
		}
	}
	crdb__free(ap.scratch);
	return arr;
}

/* ---- Arrays in binary: ndim, hasnull, elemtype, dims, elements ---- */

struct bin_array {
	const crdb_types *types;
	const struct type_entry *elem;
	const unsigned char *p;
	size_t len, pos;
	int32_t dims[ARRAY_MAX_DIMS];
	int ndim;
	crdb_error *err;
};

static json_t *bin_array_proto(struct bin_array *ba, const char *what)
{
	crdb__fail(ba->err, CRDB_EPROTO, "malformed binary %s value: %s",
		   ba->elem->array.name, what);
	return NULL;
}

static json_t *bin_array_level(struct bin_array *ba, int dim)
{
	json_t *arr = json_array();

	if (!arr)
		return oom(ba->err);
	for (int32_t i = 0; i < ba->dims[dim]; i++) {
		json_t *item;

		if (dim + 1 < ba->ndim) {
			item = bin_array_level(ba, dim + 1);
		} else {
			int32_t n;
			if (ba->len - ba->pos < 4) {
				json_decref(arr);
				return bin_array_proto(ba, "truncated");
			}
			n = (int32_t)rd32(ba->p + ba->pos);
			ba->pos += 4;
			if (n == -1) {
				item = json_null();
			} else if (n < 0 || (size_t)n > ba->len - ba->pos) {
				json_decref(arr);
				return bin_array_proto(ba, "bad element length");
			} else {
				item = convert(ba->types, ba->elem, false,
					       (const char *)ba->p + ba->pos,
					       (size_t)n, 1, ba->err);
				ba->pos += (size_t)n;
			}
		}
		if (!item || json_array_append_new(arr, item) < 0) {
			json_decref(arr);
			return item ? oom(ba->err) : NULL;
		}
	}
	return arr;
}

static json_t *array_from_binary(const crdb_types *types,
				 const struct type_entry *e,
				 const unsigned char *p, size_t len,
				 crdb_error *err)
{
	struct bin_array ba = {
		.types = types, .elem = e, .p = p, .len = len, .err = err,
	};
	int32_t ndim, hasnull;
	uint32_t elemtype;
	uint64_t total = 1;
	json_t *arr;

	if (len < 12)
		return bin_array_proto(&ba, "shorter than its header");
	ndim = (int32_t)rd32(p);
	hasnull = (int32_t)rd32(p + 4);
	elemtype = rd32(p + 8);
	if (ndim < 0 || ndim > ARRAY_MAX_DIMS)
		return bin_array_proto(&ba, "bad number of dimensions");
	if (hasnull != 0 && hasnull != 1)
		return bin_array_proto(&ba, "bad null flag");
	if (elemtype != e->elem.oid) {
		crdb__fail(err, CRDB_EPROTO,
			   "malformed binary %s value: element type OID %"
			   PRIu32 ", expected %" PRIu32, e->array.name,
			   elemtype, e->elem.oid);
		return NULL;
	}
	if (ndim > 1 && !types->nested_arrays) {
		crdb__fail(err, CRDB_EUNSUPPORTED,
			   "type \"%s\" with %d dimensions is not supported "
			   "by %s (nested arrays, issue #32552)",
			   e->array.name, (int)ndim, types->vendor);
		return NULL;
	}
	ba.pos = 12;
	ba.ndim = ndim;
	if (len - ba.pos < 8 * (size_t)ndim)
		return bin_array_proto(&ba, "truncated dimensions");
	for (int i = 0; i < ndim; i++) {
		ba.dims[i] = (int32_t)rd32(p + ba.pos);
		ba.pos += 8; /* the lower bound does not matter in JSON */
		/* PostgreSQL writes empty arrays with ndim 0. */
		if (ba.dims[i] <= 0)
			return bin_array_proto(&ba, "bad dimension size");
		total *= (uint64_t)ba.dims[i];
		if (total > len) /* each element takes at least 4 bytes */
			return bin_array_proto(&ba, "too many elements");
	}
	if (ndim == 0) {
		if (len != 12)
			return bin_array_proto(&ba, "trailing bytes");
		arr = json_array();
		return arr ? arr : oom(err);
	}
	arr = bin_array_level(&ba, 0);
	if (arr && ba.pos != len) {
		json_decref(arr);
		return bin_array_proto(&ba, "trailing bytes");
	}
	return arr;
}

static json_t *convert(const crdb_types *types, const struct type_entry *e,
		       bool is_array, const char *value, size_t len,
		       int format, crdb_error *err)
{
	if (is_array)
		return format ? array_from_binary(types, e,
						  (const unsigned char *)value,
						  len, err)
			      : array_from_text(types, e, value, len, err);
	return format ? scalar_from_binary(types, e,
					   (const unsigned char *)value, len,
					   err)
		      : scalar_from_text(e, value, len, err);
}

json_t *crdb_value_to_json(const crdb_types *types, uint32_t oid,
			   const char *value, size_t len, int format,
			   crdb_error *err)
{
	const struct type_entry *e;
	bool is_array;
	json_t *j;

	if (!types || (format != 0 && format != 1)) {
		crdb__fail(err, CRDB_EINVAL,
			   "crdb_value_to_json: bad registry or format");
		return NULL;
	}
	if (!value) {
		j = json_null();
		return j ? j : oom(err);
	}
	if (find_unsupported_oid(types, oid)) {
		crdb_types_by_oid(types, oid, err);
		return NULL;
	}
	e = find_oid(types, oid, &is_array);
	if (!e) {
		/* Enums and other user-defined types: their text. */
		if (format == 0)
			return new_string(value, len, err);
		crdb__fail(err, CRDB_EUNSUPPORTED,
			   "binary format of type OID %" PRIu32 " (unknown to "
			   "the %s registry) is not supported; request text "
			   "format", oid, types->vendor);
		return NULL;
	}
	return convert(types, e, is_array, value, len, format, err);
}

json_t *crdb_row_to_json(const crdb_types *types, const PGresult *res,
			 int row, crdb_error *err)
{
	json_t *obj;
	int nfields;

	if (!types || !res || row < 0 || row >= PQntuples(res)) {
		crdb__fail(err, CRDB_EINVAL, "crdb_row_to_json: no such row %d",
			   row);
		return NULL;
	}
	obj = json_object();
	if (!obj)
		return oom(err);
	nfields = PQnfields(res);
	for (int col = 0; col < nfields; col++) {
		const char *name = PQfname(res, col);
		json_t *v;

		if (PQgetisnull(res, row, col))
			v = json_null();
		else
			v = crdb_value_to_json(types, PQftype(res, col),
					       PQgetvalue(res, row, col),
					       (size_t)PQgetlength(res, row,
								   col),
					       PQfformat(res, col), err);
		if (!v) {
			if (err && err->code != CRDB_ENOMEM) {
				char inner[CRDB_ERROR_MSGLEN];
				memcpy(inner, err->message, sizeof inner);
				crdb__fail(err, err->code, "column %d (%s): %s",
					   col + 1, name ? name : "?", inner);
			}
			json_decref(obj);
			return NULL;
		}
		/* A repeated column name keeps the last value, as a dict. */
		if (!name || !utf8_valid((const unsigned char *)name,
					 strlen(name))) {
			json_decref(v);
			json_decref(obj);
			crdb__fail(err, CRDB_EPROTO,
				   "column %d has no valid UTF-8 name", col + 1);
			return NULL;
		}
		if (json_object_set_new_nocheck(obj, name, v) < 0) {
			json_decref(obj);
			return oom(err);
		}
	}
	return obj;
}
