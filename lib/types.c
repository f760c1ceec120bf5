/*
 * types.c: the two type registries (CockroachDB's and PostgreSQL's, §8),
 * their lookups, and the conversion of result values, text or binary, to
 * jansson values (§5): the dispatch by type to the converters of bytes.c,
 * numeric.c, jsonread.c, datetime.c and array.c.
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
 * own reader (jsonread.c), nested at most 512 levels; jsonb refuses
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
#include "crdb_scan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>



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


#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* §8: psycopg.crdb's list, generated from CockroachDB 23.1.10. */
static const struct crdb__type_entry crdb_entries[] = {
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
static const struct crdb__type_entry pg_entries[] = {
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

static const struct crdb__type_entry *find_canonical(const crdb_types *t,
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
static const struct crdb__type_entry *find_oid(const crdb_types *t, uint32_t oid,
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
	const struct crdb__type_entry *e;

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
	const struct crdb__type_entry *e;
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
/* Dispatch                                                             */
/* ------------------------------------------------------------------ */

static json_t *scalar_from_text(const struct crdb__type_entry *e, const char *s,
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
		return crdb__new_string(s, len, err);
	case K_BOOL:
		if ((len == 1 && s[0] == 't') || (len == 4 &&
						  memcmp(s, "true", 4) == 0))
			return json_true();
		if ((len == 1 && s[0] == 'f') || (len == 5 &&
						  memcmp(s, "false", 5) == 0))
			return json_false();
		return crdb__proto(err, ti, "not t or f");
	case K_INT2:
		return crdb__integer_from_text(ti, s, len, INT16_MIN, INT16_MAX, err);
	case K_INT4:
		return crdb__integer_from_text(ti, s, len, INT32_MIN, INT32_MAX, err);
	case K_INT8:
		return crdb__integer_from_text(ti, s, len, INT64_MIN, INT64_MAX, err);
	case K_OID:
		return crdb__integer_from_text(ti, s, len, 0, UINT32_MAX, err);
	case K_FLOAT4:
	case K_FLOAT8:
	case K_NUMERIC:
		return crdb__number_from_text(ti, s, len, err);
	case K_BYTEA:
		return crdb__bytea_from_text(ti, s, len, err);
	case K_JSON:
		return crdb__json_from_text(ti, s, len, false, err);
	case K_JSONB:
		return crdb__json_from_text(ti, s, len, true, err);
	}
	return crdb__proto(err, ti, "unknown kind");
}

static json_t *scalar_from_binary(const crdb_types *types,
				  const struct crdb__type_entry *e,
				  const unsigned char *p, size_t len,
				  crdb_error *err)
{
	const crdb_type_info *ti = &e->elem;
	json_t *j;

	switch (e->kind) {
	case K_TEXT:
		return crdb__new_string((const char *)p, len, err);
	case K_BOOL:
		if (len != 1 || p[0] > 1)
			return crdb__proto(err, ti, "binary bool is not one 0/1 byte");
		return p[0] ? json_true() : json_false();
	case K_INT2:
		if (len != 2)
			return crdb__proto(err, ti, "binary int2 is not 2 bytes");
		j = json_integer((int16_t)crdb__rd16(p));
		return j ? j : crdb__oom(err);
	case K_INT4:
		if (len != 4)
			return crdb__proto(err, ti, "binary int4 is not 4 bytes");
		j = json_integer((int32_t)crdb__rd32(p));
		return j ? j : crdb__oom(err);
	case K_OID:
		if (len != 4)
			return crdb__proto(err, ti, "binary oid is not 4 bytes");
		j = json_integer(crdb__rd32(p));
		return j ? j : crdb__oom(err);
	case K_INT8:
		if (len != 8)
			return crdb__proto(err, ti, "binary int8 is not 8 bytes");
		j = json_integer((int64_t)crdb__rd64(p));
		return j ? j : crdb__oom(err);
	case K_FLOAT4:
	case K_FLOAT8:
		return crdb__float_from_binary(ti, p, len, e->kind == K_FLOAT4, err);
	case K_NUMERIC:
		return crdb__numeric_from_binary(ti, p, len, err);
	case K_BYTEA:
		return crdb__hex_string(p, len, err);
	case K_JSON:
		return crdb__json_from_text(ti, (const char *)p, len, false, err);
	case K_JSONB:
		if (len < 1 || p[0] != 1)
			return crdb__proto(err, ti, "binary jsonb version is not 1");
		return crdb__json_from_text(ti, (const char *)p + 1, len - 1, true,
				      err);
	case K_UUID:
		return crdb__uuid_from_binary(ti, p, len, err);
	case K_DATE:
		return crdb__date_from_binary(ti, p, len, err);
	case K_TIME:
		return crdb__time_from_binary(ti, p, len, false, err);
	case K_TIMETZ:
		return crdb__time_from_binary(ti, p, len, true, err);
	case K_TIMESTAMP:
		return crdb__timestamp_from_binary(ti, p, len, false, err);
	case K_TIMESTAMPTZ:
		return crdb__timestamp_from_binary(ti, p, len, true, err);
	case K_INTERVAL:
		return crdb__interval_from_binary(ti, p, len, err);
	case K_OTHER:
		break;
	}
	crdb__fail(err, CRDB_EUNSUPPORTED,
		   "binary format of type %s is not supported by libcrdb "
		   "(%s); request text format", ti->name, types->vendor);
	return NULL;
}


json_t *crdb__convert(const crdb_types *types, const struct crdb__type_entry *e,
		       bool is_array, const char *value, size_t len,
		       int format, crdb_error *err)
{
	if (is_array)
		return format ? crdb__array_from_binary(types, e,
						  (const unsigned char *)value,
						  len, err)
			      : crdb__array_from_text(types, e, value, len, err);
	return format ? scalar_from_binary(types, e,
					   (const unsigned char *)value, len,
					   err)
		      : scalar_from_text(e, value, len, err);
}

json_t *crdb_value_to_json(const crdb_types *types, uint32_t oid,
			   const char *value, size_t len, int format,
			   crdb_error *err)
{
	const struct crdb__type_entry *e;
	bool is_array;
	json_t *j;

	if (!types || (format != 0 && format != 1)) {
		crdb__fail(err, CRDB_EINVAL,
			   "crdb_value_to_json: bad registry or format");
		return NULL;
	}
	if (!value) {
		j = json_null();
		return j ? j : crdb__oom(err);
	}
	if (find_unsupported_oid(types, oid)) {
		crdb_types_by_oid(types, oid, err);
		return NULL;
	}
	e = find_oid(types, oid, &is_array);
	if (!e) {
		/* Enums and other user-defined types: their text. */
		if (format == 0)
			return crdb__new_string(value, len, err);
		crdb__fail(err, CRDB_EUNSUPPORTED,
			   "binary format of type OID %" PRIu32 " (unknown to "
			   "the %s registry) is not supported; request text "
			   "format", oid, types->vendor);
		return NULL;
	}
	return crdb__convert(types, e, is_array, value, len, format, err);
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
		return crdb__oom(err);
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
		if (!name || !crdb_scan_utf8_valid((const unsigned char *)name,
					 strlen(name))) {
			json_decref(v);
			json_decref(obj);
			crdb__fail(err, CRDB_EPROTO,
				   "column %d has no valid UTF-8 name", col + 1);
			return NULL;
		}
		if (json_object_set_new_nocheck(obj, name, v) < 0) {
			json_decref(obj);
			return crdb__oom(err);
		}
	}
	return obj;
}

