/*
 * check_notify.c: the systemd STATUS= text (notify_format_status in
 * daemon/notify.c) for the feeds and sinks of each case in
 * status-cases.txt (format documented there), and its bound on a short
 * buffer. Each case fills a daemon view (daemon/view.h): notify.c reads
 * nothing else.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/conf.h"
#include "daemon/notify.h"
#include "daemon/view.h"
#include "cases.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 16
#define NOW_MS INT64_C(1795000000000)

struct status_case {
	int line;
	char names[MAX_ITEMS][64];
	char states[MAX_ITEMS][32];
	struct feed_view feeds[MAX_ITEMS];
	size_t nfeeds;
	struct sink_view sinks[MAX_ITEMS];
	size_t nsinks;
	double rate;
	char expected[512];
};

static struct status_case cases[64];
static size_t ncases;

/* "NAME=STATE@LAG" items of the FEEDS field. */
static void parse_feeds(struct status_case *c, char *field)
{
	char *save = NULL;

	if (strcmp(field, "-") == 0)
		return;
	for (char *item = strtok_r(field, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct feed_view *f = &c->feeds[c->nfeeds];
		char *eq = strchr(item, '='), *at = strchr(item, '@');

		ck_assert_msg(eq && at && at > eq && c->nfeeds < MAX_ITEMS,
			      "status-cases.txt:%d: bad feed %s", c->line, item);
		*eq = *at = '\0';
		snprintf(c->names[c->nfeeds], sizeof(c->names[0]), "%s", item);
		snprintf(c->states[c->nfeeds], sizeof(c->states[0]), "%s", eq + 1);
		f->name = c->names[c->nfeeds];
		f->state = c->states[c->nfeeds];
		f->live = true;
		if (strcmp(at + 1, "none") != 0) {
			f->stats.last_resolved.wall = (NOW_MS - strtoll(at + 1, NULL, 10)) * 1000000;
			f->stats.last_resolved_at = NOW_MS;
		}
		c->nfeeds++;
	}
}

static void parse_sinks(struct status_case *c, char *field)
{
	char *save = NULL;

	if (strcmp(field, "-") == 0)
		return;
	for (char *item = strtok_r(field, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		ck_assert_msg(c->nsinks < MAX_ITEMS, "status-cases.txt:%d: too many sinks", c->line);
		c->sinks[c->nsinks].stats.subscribers = strtoul(item, NULL, 10);
		c->sinks[c->nsinks].live = true;
		c->nsinks++;
	}
}

static void load_cases(void)
{
	struct case_file cf;

	cases_load_file("tests/systemd/status-cases.txt", CASES_CORE, &cf);
	ncases = 0;
	for (size_t i = 0; i < cf.count; i++) {
		struct case_line *l = &cf.lines[i];
		struct status_case *c;

		ck_assert_msg(ncases < sizeof(cases) / sizeof(cases[0]), "too many cases");
		c = &cases[ncases++];
		memset(c, 0, sizeof(*c));
		c->line = l->lineno;
		ck_assert_msg(l->nfields == 4, "%s: want 4 fields", case_where(l));
		parse_feeds(c, l->field[0]);
		parse_sinks(c, l->field[1]);
		c->rate = strtod(l->field[2], NULL);
		snprintf(c->expected, sizeof(c->expected), "%s", l->field[3]);
	}
	cases_free(&cf);
	ck_assert_uint_ge(ncases, 5);
}

/* A config whose only use here is its feed and sink counts. */
static void view_of(struct status_case *c, struct config *cfg, struct daemon_view *view)
{
	memset(cfg, 0, sizeof(*cfg));
	memset(view, 0, sizeof(*view));
	cfg->nfeeds = c->nfeeds;
	cfg->nsinks = c->nsinks;
	view->cfg = cfg;
	view->feeds = c->feeds;
	view->nfeeds = c->nfeeds;
	view->sinks = c->sinks;
	view->nsinks = c->nsinks;
}

START_TEST(test_status_cases)
{
	load_cases();
	for (size_t i = 0; i < ncases; i++) {
		struct status_case *c = &cases[i];
		struct config cfg;
		struct daemon_view view;
		char text[512];

		view_of(c, &cfg, &view);
		notify_format_status(&view, c->rate, NOW_MS, text, sizeof(text));
		ck_assert_msg(strcmp(text, c->expected) == 0,
			      "status-cases.txt:%d:\n got  %s\n want %s", c->line, text,
			      c->expected);
	}
}
END_TEST

/* A short buffer gets a prefix of the text, always terminated. */
START_TEST(test_status_bounded)
{
	struct status_case *c;
	struct config cfg;
	struct daemon_view view;
	char full[512], text[40];

	load_cases();
	c = &cases[0];
	view_of(c, &cfg, &view);
	notify_format_status(&view, c->rate, NOW_MS, full, sizeof(full));
	for (size_t len = 1; len <= sizeof(text); len++) {
		memset(text, 'X', sizeof(text));
		notify_format_status(&view, c->rate, NOW_MS, text, len);
		ck_assert_msg(memchr(text, '\0', len) != NULL, "not terminated within %zu", len);
		ck_assert_msg(strncmp(full, text, strlen(text)) == 0,
			      "len %zu: %s is not a prefix of %s", len, text, full);
		/* Nothing written past len. */
		if (len < sizeof(text))
			ck_assert_int_eq(text[len], 'X');
	}
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("status");

	tcase_add_test(tc, test_status_cases);
	tcase_add_test(tc, test_status_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notify_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
