/*
 * journal_fill.c: writes an ordered feed's journal (daemon/journal.h) for
 * the replay tests, without a daemon. Usage:
 *
 *   journal_fill JOURNAL_DIR FEED [MAX_BYTES] < COMMANDS
 *
 * one command per line:
 *   row TABLE KEY UPDATED   append the next row (seq = last + 1): KEY is
 *                           its raw JSON key, UPDATED an HLC; its line is
 *                           printed to stdout exactly as journaled
 *   commit [RESOLVED]       commit, with a resolved timestamp (a mark)
 *   trim                    retention with MAX_BYTES as the size bound
 *   reset                   start over (a new epoch) after the last seq
 * Any failure: one line on stderr, exit 1.
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/journal.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("journal_fill: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static crdb_hlc parse_hlc(const char *text, int lineno)
{
	crdb_hlc hlc;
	crdb_error err;

	if (crdb_hlc_parse(text, strlen(text), &hlc, &err))
		die("line %d: %s", lineno, err.message);
	return hlc;
}

int main(int argc, char **argv)
{
	struct journal_limits lim = { 0, 0 };
	struct journal_checkpoint cp;
	struct journal *j;
	char errbuf[512], input[4096];
	uint64_t next_seq;
	int lineno = 0;

	if (argc < 3 || argc > 4)
		die("usage: journal_fill JOURNAL_DIR FEED [MAX_BYTES] < COMMANDS");
	if (argc == 4)
		lim.max_bytes = strtoull(argv[3], NULL, 10);
	j = journal_open(argv[1], &lim, 0, errbuf, sizeof(errbuf));
	if (!j)
		die("%s", errbuf);
	if (journal_get_checkpoint(j, &cp, errbuf, sizeof(errbuf)))
		die("%s", errbuf);
	next_seq = cp.last_seq + 1;
	while (fgets(input, sizeof(input), stdin)) {
		char *word[4] = { NULL, NULL, NULL, NULL };
		char *save = NULL, line[8192];
		int nwords = 0;

		lineno++;
		for (char *w = strtok_r(input, " \t\n", &save); w && nwords < 4;
		     w = strtok_r(NULL, " \t\n", &save))
			word[nwords++] = w;
		if (!nwords)
			continue;
		if (strcmp(word[0], "row") == 0 && nwords == 4) {
			char updated[CRDB_HLC_BUFSIZE];
			struct journal_row row = {
				.seq = next_seq, .op = CRDB_OP_INSERT,
				.updated = parse_hlc(word[3], lineno),
				.table = word[1], .table_len = strlen(word[1]),
				.key = word[2], .key_len = strlen(word[2]),
			};
			int len;

			crdb_hlc_format(row.updated, updated);
			len = snprintf(line, sizeof(line),
				       "{\"v\":1,\"type\":\"row\",\"feed\":\"%s\",\"table\":\"%s\",\"key\":%s,\"op\":\"insert\",\"after\":{\"k\":%s},\"updated\":\"%s\",\"seq\":%" PRIu64 "}\n",
				       argv[2], word[1], word[2], word[2], updated, next_seq);
			if (len < 0 || (size_t)len >= sizeof(line))
				die("line %d: row too long", lineno);
			row.line = line;
			row.line_len = (size_t)len;
			if (journal_append(j, &row, errbuf, sizeof(errbuf)))
				die("line %d: %s", lineno, errbuf);
			fputs(line, stdout);
			next_seq++;
		} else if (strcmp(word[0], "commit") == 0 && nwords <= 2) {
			crdb_hlc resolved = { 0, 0 };

			if (nwords == 2)
				resolved = parse_hlc(word[1], lineno);
			if (journal_commit(j, resolved, errbuf, sizeof(errbuf)))
				die("line %d: %s", lineno, errbuf);
		} else if (strcmp(word[0], "trim") == 0 && nwords == 1) {
			uint64_t deleted = 0;
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			if (journal_trim(j, (int64_t)now.tv_sec * 1000, UINT64_MAX,
					 &deleted, errbuf, sizeof(errbuf)))
				die("line %d: %s", lineno, errbuf);
			fprintf(stderr, "journal_fill: trimmed %" PRIu64 " rows\n", deleted);
		} else if (strcmp(word[0], "reset") == 0 && nwords == 1) {
			if (journal_reset(j, next_seq, errbuf, sizeof(errbuf)))
				die("line %d: %s", lineno, errbuf);
		} else {
			die("line %d: unknown command (row TABLE KEY UPDATED, commit [RESOLVED], trim, reset)",
			    lineno);
		}
	}
	journal_close(j);
	return 0;
}
