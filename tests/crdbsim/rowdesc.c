/*
 * rowdesc.c: RowDescription fields as CockroachDB fills them (§14.8).
 * CockroachDB's type size is the Go in-memory size of its datum for
 * fixed-size types and -1 otherwise, not PostgreSQL's typlen (a date is
 * 16, an int4 8); its type modifier is PostgreSQL's for strings, bits and
 * decimals (and, from 20.2, arrays of them) but -1 for the time types,
 * and -1 for every column before 20.1.1. The message keeps its length, so the rewrite is in place.
 */
#include "config.h"

#include "rowdesc.h"

#include <string.h>

/* pg_type OIDs (PostgreSQL's catalog; psycopg.crdb's adapter map). */
enum {
	OID_BOOL = 16, OID_BYTEA = 17, OID_CHAR = 18, OID_NAME = 19,
	OID_INT8 = 20, OID_INT2 = 21, OID_INT2VECTOR = 22, OID_INT4 = 23,
	OID_REGPROC = 24, OID_TEXT = 25, OID_OID = 26, OID_OIDVECTOR = 30,
	OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_UNKNOWN = 705,
	OID_INET = 869, OID_BPCHAR = 1042, OID_VARCHAR = 1043,
	OID_DATE = 1082, OID_TIME = 1083, OID_TIMESTAMP = 1114,
	OID_TIMESTAMP_ARR = 1115, OID_TIME_ARR = 1183,
	OID_TIMESTAMPTZ = 1184, OID_TIMESTAMPTZ_ARR = 1185,
	OID_INTERVAL = 1186, OID_INTERVAL_ARR = 1187, OID_TIMETZ = 1266,
	OID_TIMETZ_ARR = 1270, OID_BIT = 1560, OID_VARBIT = 1562,
	OID_NUMERIC = 1700, OID_REGPROCEDURE = 2202, OID_REGCLASS = 2205,
	OID_REGTYPE = 2206, OID_UUID = 2950, OID_JSONB = 3802,
	OID_REGNAMESPACE = 4089, OID_REGROLE = 4096,
	OID_BPCHAR_ARR = 1014, OID_VARCHAR_ARR = 1015, OID_NUMERIC_ARR = 1231,
	OID_BIT_ARR = 1561, OID_VARBIT_ARR = 1563,
	OID_FIRST_USER = 16384,     /* FirstNormalObjectId */
};

/* Versions (XXYYZZ) where CockroachDB changed what it sends. */
#define DATE_16_VERSION      190200 /* DDate became a pgdate.Date */
#define TYPMOD_VERSION       200101 /* type modifiers filled in */
#define ARRAY_TYPMOD_VERSION 200200 /* arrays take their element's */

int16_t rowdesc_crdb_size(uint32_t oid, int16_t pg_size, int version)
{
	switch (oid) {
	case OID_BOOL:
		return 1;               /* DBool */
	case OID_INT2: case OID_INT4: case OID_INT8:
	case OID_OID: case OID_REGPROC: case OID_REGPROCEDURE:
	case OID_REGCLASS: case OID_REGTYPE: case OID_REGNAMESPACE:
	case OID_REGROLE:
		return 8;               /* DInt, int64; the OID types wrap it */
	case OID_FLOAT4: case OID_FLOAT8:
		return 8;               /* DFloat, float64 */
	case OID_DATE:
		return version >= DATE_16_VERSION ? 16 : 8;
	case OID_TIME:
		return 8;               /* DTime, int64 microseconds */
	case OID_TIMETZ:
		return 16;              /* DTimeTZ: int64 + int32, padded */
	case OID_TIMESTAMP: case OID_TIMESTAMPTZ:
		return 24;              /* time.Time */
	case OID_INTERVAL:
		return 24;              /* duration.Duration: three int64 */
	case OID_UUID:
		return 16;
	case OID_INET:
		return 32;              /* ipaddr.IPAddr, padded */
	case OID_UNKNOWN:
		return 0;               /* dNull, an empty struct */
	case OID_BYTEA: case OID_CHAR: case OID_NAME: case OID_TEXT:
	case OID_BPCHAR: case OID_VARCHAR: case OID_JSON: case OID_JSONB:
	case OID_NUMERIC: case OID_BIT: case OID_VARBIT:
	case OID_INT2VECTOR: case OID_OIDVECTOR:
		return -1;              /* variable size */
	default:
		/* User types (enums) are variable size on CockroachDB; arrays
		 * are -1 on both; any other built-in keeps PostgreSQL's. */
		return oid >= OID_FIRST_USER ? -1 : pg_size;
	}
}

int32_t rowdesc_crdb_typmod(uint32_t oid, int32_t pg_typmod, int version)
{
	if (version < TYPMOD_VERSION)
		return -1;
	switch (oid) {
	case OID_TIME: case OID_TIMETZ: case OID_TIMESTAMP:
	case OID_TIMESTAMPTZ: case OID_INTERVAL:
	case OID_TIME_ARR: case OID_TIMETZ_ARR: case OID_TIMESTAMP_ARR:
	case OID_TIMESTAMPTZ_ARR: case OID_INTERVAL_ARR:
		return -1;              /* types.T.TypeModifier has no case */
	case OID_BPCHAR_ARR: case OID_VARCHAR_ARR: case OID_NUMERIC_ARR:
	case OID_BIT_ARR: case OID_VARBIT_ARR:
		return version >= ARRAY_TYPMOD_VERSION ? pg_typmod : -1;
	default:
		return pg_typmod;       /* same formula as PostgreSQL's */
	}
}

static uint32_t get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Field layout after the name: table OID 4, attnum 2, type OID 4,
 * size 2, typmod 4, format 2. */
#define FIELD_FIXED 18

/* Walks the fields; rewrites them only when write is set. */
static bool walk(unsigned char *msg, size_t total, int version, bool write)
{
	if (total < 7 || msg[0] != 'T' || get32(msg + 1) != total - 1)
		return false;
	size_t pos = 7, n = ((size_t)msg[5] << 8) | msg[6];
	for (size_t i = 0; i < n; i++) {
		const unsigned char *nul = memchr(msg + pos, 0, total - pos);
		if (!nul)
			return false;
		pos = (size_t)(nul - msg) + 1;
		if (total - pos < FIELD_FIXED)
			return false;
		unsigned char *f = msg + pos;
		if (write) {
			uint32_t oid = get32(f + 6);
			int16_t size = (int16_t)(((unsigned)f[10] << 8) | f[11]);
			int32_t typmod = (int32_t)get32(f + 12);
			uint16_t s = (uint16_t)rowdesc_crdb_size(oid, size, version);
			f[10] = (unsigned char)(s >> 8);
			f[11] = (unsigned char)s;
			put32(f + 12, (uint32_t)rowdesc_crdb_typmod(oid, typmod,
								    version));
		}
		pos += FIELD_FIXED;
	}
	return pos == total;
}

bool rowdesc_rewrite(unsigned char *msg, size_t total, int version)
{
	if (!walk(msg, total, version, false))
		return false;
	walk(msg, total, version, true);
	return true;
}
