/*
 * check_nats_subject.c: NATS names for a feed (daemon/nats_subject.c):
 * names escape into valid subject tokens (no '.', wildcard, whitespace or
 * non-ASCII byte, never empty, never starting with '_') and back exactly,
 * malformed tokens are refused, subjects are bounded and the resolved
 * subject cannot be a table's, and Nats-Msg-Ids are the documented SHA-256
 * (pinned by vectors computed outside this code), changing with every
 * field.
 */
#include <config.h> /* autoconf's */

#include "daemon/nats_subject.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What NATS allows in a published subject token, per doc/nats.md, with
 * the escaping's own promises: printable ASCII, no '.', '*', '>'. */
static bool token_is_valid(const char *t, size_t len)
{
	if (len == 0 || t[0] == '_')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x21 || c > 0x7e || c == '.' || c == '*' || c == '>')
			return false;
	}
	return true;
}

static void check_token(const char *name, size_t name_len,
			const char *want)
{
	char out[NATS_SUBJECT_MAX];
	char err[200] = "";
	size_t len = 0;
	ck_assert_msg(nats_subject_token(out, sizeof out, &len, name,
					 name_len, err, sizeof err) == 0,
		      "%s", err);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(len, strlen(want));
}

START_TEST(test_token_examples)
{
	check_token("orders", 6, "orders");
	check_token("public.orders", 13, "public%2Eorders");
	check_token("*", 1, "%2A");
	check_token(">", 1, "%3E");
	check_token("my table", 8, "my%20table");
	check_token("100%", 4, "100%25");
	check_token("_resolved", 9, "%5Fresolved");
	check_token("a_b-c$", 6, "a_b-c$");
	check_token("\t\x7f\xc3\xa9", 4, "%09%7F%C3%A9");
	check_token("a\0b", 3, "a%00b");
}
END_TEST

START_TEST(test_token_refuses_empty_and_overflow)
{
	char out[8];
	char err[200] = "";
	size_t len;
	ck_assert_int_eq(nats_subject_token(out, sizeof out, &len, "", 0, err,
					    sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	/* 7 bytes fit with the NUL, 8 do not; "a." needs 4. */
	ck_assert_int_eq(nats_subject_token(out, sizeof out, &len, "abcdefg",
					    7, err, sizeof err), 0);
	ck_assert_int_eq(nats_subject_token(out, sizeof out, &len, "abcdefgh",
					    8, err, sizeof err), -1);
	ck_assert_int_eq(nats_subject_token(out, sizeof out, &len, "abcdef.",
					    7, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 7"));
}
END_TEST

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void check_round_trip(const char *name, size_t name_len)
{
	char token[NATS_SUBJECT_MAX];
	char back[NATS_SUBJECT_MAX];
	char err[200] = "";
	size_t token_len, back_len;
	ck_assert_msg(nats_subject_token(token, sizeof token, &token_len,
					 name, name_len, err, sizeof err) == 0,
		      "%s", err);
	ck_assert_msg(token_is_valid(token, token_len), "bad token %s",
		      token);
	ck_assert_msg(nats_subject_untoken(back, sizeof back, &back_len,
					   token, token_len, err,
					   sizeof err) == 0,
		      "%s: %s", token, err);
	ck_assert_uint_eq(back_len, name_len);
	ck_assert_msg(memcmp(back, name, name_len) == 0, "%s", token);
}

/* Every single byte, every pair, and seeded random names: valid tokens
 * that come back unchanged. */
START_TEST(test_round_trip)
{
	for (int c = 0; c < 256; c++) {
		char one = (char)c;
		check_round_trip(&one, 1);
		for (int d = 0; d < 256; d++) {
			char two[2] = {(char)c, (char)d};
			check_round_trip(two, 2);
		}
	}
	rng_state = 15;
	for (int i = 0; i < 5000; i++) {
		char name[40];
		size_t len = 1 + rng_next() % sizeof name;
		for (size_t j = 0; j < len; j++) {
			uint64_t r = rng_next();
			/* Half the bytes from the interesting few. */
			name[j] = (r & 1) ? "._*>% \t\xff"[(r >> 8) % 8]
					  : (char)(r >> 16);
		}
		check_round_trip(name, len);
	}
}
END_TEST

static void check_untoken_refused(const char *token, const char *why)
{
	char out[NATS_SUBJECT_MAX];
	char err[200] = "";
	size_t len;
	ck_assert_msg(nats_subject_untoken(out, sizeof out, &len, token,
					   strlen(token), err, sizeof err) == -1,
		      "accepted %s", token);
	ck_assert_msg(strstr(err, why) != NULL, "%s: %s", token, err);
}

START_TEST(test_untoken_refuses_what_escaping_never_writes)
{
	check_untoken_refused("", "empty");
	check_untoken_refused("a%2e", "bad escape");
	check_untoken_refused("a%4", "bad escape");
	check_untoken_refused("a%", "bad escape");
	check_untoken_refused("%ZZ", "bad escape");
	check_untoken_refused("%41", "never escaped");
	check_untoken_refused("a%5F", "never escaped");
	check_untoken_refused("_x", "never left unescaped");
	check_untoken_refused("a.b", "never left unescaped");
	check_untoken_refused("a b", "never left unescaped");
	check_untoken_refused("a*", "never left unescaped");
	check_untoken_refused("\xc3\xa9", "never left unescaped");
}
END_TEST

static void check_prefix_refused(const char *prefix)
{
	char err[200] = "";
	ck_assert_msg(nats_subject_prefix_check(prefix, err, sizeof err) == -1,
		      "accepted \"%s\"", prefix);
	ck_assert_ptr_nonnull(strstr(err, "prefix"));
}

START_TEST(test_prefix_check)
{
	char err[200] = "";
	ck_assert_int_eq(nats_subject_prefix_check("cdc", err, sizeof err), 0);
	ck_assert_int_eq(nats_subject_prefix_check("acme.cdc-1.$x", err,
						   sizeof err), 0);
	check_prefix_refused("");
	check_prefix_refused(".cdc");
	check_prefix_refused("cdc.");
	check_prefix_refused("a..b");
	check_prefix_refused("a.*");
	check_prefix_refused("a.>");
	check_prefix_refused("a*b");
	check_prefix_refused("a b");
	check_prefix_refused("a\tb");
	check_prefix_refused("caf\xc3\xa9");
	char long_prefix[NATS_SUBJECT_MAX / 2 + 2];
	memset(long_prefix, 'p', sizeof long_prefix - 1);
	long_prefix[sizeof long_prefix - 1] = '\0';
	check_prefix_refused(long_prefix);
	long_prefix[sizeof long_prefix - 2] = '\0';
	ck_assert_int_eq(nats_subject_prefix_check(long_prefix, err,
						   sizeof err), 0);
}
END_TEST

START_TEST(test_subjects)
{
	char subj[NATS_SUBJECT_MAX];
	char err[200] = "";
	ck_assert_msg(nats_subject_row(subj, sizeof subj, "acme.cdc", "orders",
				       "public.orders", 13, err,
				       sizeof err) == 0, "%s", err);
	ck_assert_str_eq(subj, "acme.cdc.orders.public%2Eorders");
	ck_assert_msg(nats_subject_resolved(subj, sizeof subj, "acme.cdc",
					    "orders", err, sizeof err) == 0,
		      "%s", err);
	ck_assert_str_eq(subj, "acme.cdc.orders._resolved");
	/* A table named like the resolved token gets its own subject. */
	ck_assert_int_eq(nats_subject_row(subj, sizeof subj, "cdc", "f",
					  "_resolved", 9, err, sizeof err), 0);
	ck_assert_str_eq(subj, "cdc.f.%5Fresolved");
	/* The feed is escaped too. */
	ck_assert_int_eq(nats_subject_row(subj, sizeof subj, "cdc", "a.b",
					  "t", 1, err, sizeof err), 0);
	ck_assert_str_eq(subj, "cdc.a%2Eb.t");

	ck_assert_int_eq(nats_subject_row(subj, sizeof subj, "c..d", "f", "t",
					  1, err, sizeof err), -1);
	ck_assert_int_eq(nats_subject_row(subj, sizeof subj, "cdc", "", "t", 1,
					  err, sizeof err), -1);
	ck_assert_int_eq(nats_subject_row(subj, sizeof subj, "cdc", "f", "", 0,
					  err, sizeof err), -1);
}
END_TEST

/* "cdc.f." is 6 bytes: a 9-byte buffer holds a 2-byte table token, not a
 * 3-byte one, and no resolved token; NATS_SUBJECT_MAX bounds any buffer. */
START_TEST(test_subject_bounds)
{
	char small[9];
	char err[200] = "";
	ck_assert_int_eq(nats_subject_row(small, sizeof small, "cdc", "f",
					  "ab", 2, err, sizeof err), 0);
	ck_assert_str_eq(small, "cdc.f.ab");
	ck_assert_int_eq(nats_subject_row(small, sizeof small, "cdc", "f",
					  "abc", 3, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	ck_assert_int_eq(nats_subject_resolved(small, sizeof small, "cdc", "f",
					       err, sizeof err), -1);

	static char big[4 * NATS_SUBJECT_MAX];
	static char table[NATS_SUBJECT_MAX];
	memset(table, 't', sizeof table);
	/* 6 + 1017 = 1023 bytes fit NATS_SUBJECT_MAX; 1018 do not. */
	ck_assert_int_eq(nats_subject_row(big, sizeof big, "cdc", "f", table,
					  NATS_SUBJECT_MAX - 7, err,
					  sizeof err), 0);
	ck_assert_uint_eq(strlen(big), NATS_SUBJECT_MAX - 1);
	ck_assert_int_eq(nats_subject_row(big, sizeof big, "cdc", "f", table,
					  NATS_SUBJECT_MAX - 6, err,
					  sizeof err), -1);
}
END_TEST

static const crdb_hlc T1 = {1700000000123456789, 3};

static void row_id(char out[NATS_MSG_ID_BUFSIZE], const char *identity,
		   crdb_hlc updated, const char *table, const char *key)
{
	char err[200] = "";
	ck_assert_msg(nats_msg_id_row(out, identity, strlen(identity), updated,
				      table, strlen(table), key, strlen(key),
				      err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(strlen(out), NATS_MSG_ID_BUFSIZE - 1);
}

/* The vectors were computed with Python's hashlib from the rule in
 * nats_subject.h, so a consumer in any language can check an id. */
START_TEST(test_msg_id_vectors)
{
	char id[NATS_MSG_ID_BUFSIZE];
	char err[200] = "";
	row_id(id, "orders-feed", T1, "public.orders", "[42, \"eu\"]");
	ck_assert_str_eq(id, "1-7f8698c0f0e4ceceb7985dc17d3ca5c0");
	crdb_hlc resolved = {1700000000123456789, 0};
	ck_assert_int_eq(nats_msg_id_resolved(id, "orders-feed", 11, resolved,
					      err, sizeof err), 0);
	ck_assert_str_eq(id, "1-697a8ce5e71f4f271e7514936ad4e4a6");
}
END_TEST

START_TEST(test_msg_id_depends_on_every_field)
{
	char base[NATS_MSG_ID_BUFSIZE], other[NATS_MSG_ID_BUFSIZE];
	row_id(base, "feed", T1, "t", "[1]");
	row_id(other, "feed", T1, "t", "[1]");
	ck_assert_str_eq(base, other);

	row_id(other, "feed2", T1, "t", "[1]");
	ck_assert_str_ne(base, other);
	row_id(other, "feed", (crdb_hlc){T1.wall + 1, T1.logical}, "t", "[1]");
	ck_assert_str_ne(base, other);
	row_id(other, "feed", (crdb_hlc){T1.wall, T1.logical + 1}, "t", "[1]");
	ck_assert_str_ne(base, other);
	row_id(other, "feed", T1, "u", "[1]");
	ck_assert_str_ne(base, other);
	row_id(other, "feed", T1, "t", "[2]");
	ck_assert_str_ne(base, other);

	/* Field boundaries count: table "t[" key "1]" is another row. */
	row_id(other, "feed", T1, "t[", "1]");
	ck_assert_str_ne(base, other);

	/* A resolved timestamp never takes a row's id for the same fields. */
	char err[200] = "";
	row_id(base, "feed", T1, "", "");
	ck_assert_int_eq(nats_msg_id_resolved(other, "feed", 4, T1, err,
					      sizeof err), 0);
	ck_assert_str_ne(base, other);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nats_subject");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_token_examples);
	tcase_add_test(tc, test_token_refuses_empty_and_overflow);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_untoken_refuses_what_escaping_never_writes);
	tcase_add_test(tc, test_prefix_check);
	tcase_add_test(tc, test_subjects);
	tcase_add_test(tc, test_subject_bounds);
	tcase_add_test(tc, test_msg_id_vectors);
	tcase_add_test(tc, test_msg_id_depends_on_every_field);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
