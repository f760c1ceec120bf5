/*
 * check_sim_rowdesc.c: unit tests of crdbsim's RowDescription rewrite
 * (rowdesc.c, §14.8): CockroachDB's type sizes and modifiers replace
 * PostgreSQL's in place, by type OID and emulated version, and a message
 * that is not a well-formed RowDescription is left as it came. Needs no
 * server.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "rowdesc.h"

struct field {
	const char *name;
	uint32_t oid;
	int16_t size;
	int32_t typmod;
};

static size_t put(unsigned char *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	return (size_t)bytes;
}

static uint32_t get(const unsigned char *p, int bytes)
{
	uint32_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A RowDescription of n fields into buf (at least 512 bytes). */
static size_t build(unsigned char *buf, const struct field *f, int n)
{
	size_t pos = 5;
	pos += put(buf + pos, (uint32_t)n, 2);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(f[i].name) + 1;
		memcpy(buf + pos, f[i].name, len);
		pos += len;
		pos += put(buf + pos, 16385, 4);        /* table OID */
		pos += put(buf + pos, (uint32_t)(i + 1), 2);
		pos += put(buf + pos, f[i].oid, 4);
		pos += put(buf + pos, (uint16_t)f[i].size, 2);
		pos += put(buf + pos, (uint32_t)f[i].typmod, 4);
		pos += put(buf + pos, 1, 2);            /* binary */
	}
	buf[0] = 'T';
	put(buf + 1, (uint32_t)(pos - 1), 4);
	return pos;
}

/* Field i's size and modifier after a rewrite. */
static void field_at(const unsigned char *buf, int i, int16_t *size,
		     int32_t *typmod, uint32_t *oid)
{
	size_t pos = 7;
	for (int k = 0;; k++) {
		pos += strlen((const char *)buf + pos) + 1;
		if (k == i)
			break;
		pos += 18;
	}
	ck_assert_uint_eq(get(buf + pos, 4), 16385);
	ck_assert_uint_eq(get(buf + pos + 4, 2), (unsigned)i + 1);
	*oid = get(buf + pos + 6, 4);
	*size = (int16_t)get(buf + pos + 10, 2);
	*typmod = (int32_t)get(buf + pos + 12, 4);
	ck_assert_uint_eq(get(buf + pos + 16, 2), 1);
}

/* PostgreSQL's values in, CockroachDB's expected out (23.1). */
static const struct field pg_fields[] = {
	{"d", 1082, 4, -1},
	{"i4", 23, 4, -1},
	{"i2", 21, 2, -1},
	{"f4", 700, 4, -1},
	{"ts", 1114, 8, 3},
	{"tstz", 1184, 8, 6},
	{"tz", 1266, 12, -1},
	{"iv", 1186, 16, 2147418115},
	{"ip", 869, -1, -1},
	{"vc", 1043, -1, 9},
	{"num", 1700, -1, (10 << 16 | 2) + 4},
	{"nm", 19, 64, -1},
	{"enum", 16500, 4, -1},
	{"point", 600, 16, -1},     /* no CockroachDB type: PostgreSQL's */
	{"tsarr", 1115, -1, 3},
};
static const int16_t crdb_sizes[] = {16, 8, 8, 8, 24, 24, 16, 24, 32, -1,
				     -1, -1, -1, 16, -1};
static const int32_t crdb_typmods[] = {-1, -1, -1, -1, -1, -1, -1, -1, -1,
				       9, (10 << 16 | 2) + 4, -1, -1, -1, -1};
#define NFIELDS ((int)(sizeof pg_fields / sizeof pg_fields[0]))

START_TEST(rewritten_in_place)
{
	unsigned char buf[512];
	size_t total = build(buf, pg_fields, NFIELDS);
	ck_assert(rowdesc_rewrite(buf, total, 230111));
	ck_assert_uint_eq(get(buf + 1, 4), total - 1);
	for (int i = 0; i < NFIELDS; i++) {
		int16_t size;
		int32_t typmod;
		uint32_t oid;
		field_at(buf, i, &size, &typmod, &oid);
		ck_assert_msg(oid == pg_fields[i].oid && size == crdb_sizes[i] &&
			      typmod == crdb_typmods[i],
			      "%s: size %d typmod %d", pg_fields[i].name,
			      size, typmod);
	}
}
END_TEST

START_TEST(by_version)
{
	ck_assert_int_eq(rowdesc_crdb_size(1082, 4, 190105), 8);
	ck_assert_int_eq(rowdesc_crdb_size(1082, 4, 190200), 16);
	ck_assert_int_eq(rowdesc_crdb_typmod(1043, 9, 200100), -1);
	ck_assert_int_eq(rowdesc_crdb_typmod(1043, 9, 200101), 9);
	ck_assert_int_eq(rowdesc_crdb_typmod(1015, 9, 200106), -1);
	ck_assert_int_eq(rowdesc_crdb_typmod(1015, 9, 200200), 9);
}
END_TEST

/* Each malformed message comes back byte for byte. */
static void untouched(unsigned char *buf, size_t total)
{
	unsigned char copy[512];
	memcpy(copy, buf, total);
	ck_assert(!rowdesc_rewrite(buf, total, 230111));
	ck_assert(memcmp(copy, buf, total) == 0);
}

START_TEST(malformed_untouched)
{
	unsigned char buf[512];
	size_t total = build(buf, pg_fields, 2);
	untouched(buf, total - 1);              /* length field disagrees */
	put(buf + 1, (uint32_t)(total - 2), 4);
	untouched(buf, total - 1);              /* last field cut short */
	total = build(buf, pg_fields, 2);
	put(buf + 5, 3, 2);                     /* one field too many */
	untouched(buf, total);
	total = build(buf, pg_fields, 2);
	put(buf + 5, 1, 2);                     /* bytes left over */
	untouched(buf, total);
	total = build(buf, pg_fields, 1);
	memset(buf + 7, 'x', total - 7);        /* name without its NUL */
	untouched(buf, total);
	total = build(buf, pg_fields, 1);
	buf[0] = 'D';                           /* not a RowDescription */
	untouched(buf, total);
	untouched(buf, 6);                      /* no field count */
	total = build(buf, pg_fields, 0);
	ck_assert(rowdesc_rewrite(buf, total, 230111));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crdbsim rowdesc");
	TCase *t = tcase_create("rowdesc");
	tcase_add_test(t, rewritten_in_place);
	tcase_add_test(t, by_version);
	tcase_add_test(t, malformed_untouched);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
