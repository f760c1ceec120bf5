/*
 * journal-torture.c: drives a journal (daemon/journal.c) for the crash,
 * full-disk and speed tests. Every row's content is derived from its seq
 * (table, key, updated, line bytes), and every commit's resolved from its
 * last seq, so that a reader can check all of it after a crash.
 *
 *   journal-torture write DIR ACKED MAXGROUP
 *       commits groups of 1..MAXGROUP rows forever (trimming to 2 MiB every
 *       20 commits); after each commit, ACKED holds the last seq committed
 *       (what a subscriber could have been given)
 *   journal-torture verify DIR ACKED
 *       opens the journal as a restarted writer and checks it: seqs
 *       contiguous from the oldest row to the checkpoint's last seq, every
 *       row's bytes, every mark's resolved, the checkpoint equal to the last
 *       commit's mark, and nothing acknowledged missing
 *   journal-torture fill DIR ACKED GROUP
 *       commits groups of GROUP rows until a commit fails; prints the
 *       failure and exits 0 when it was JOURNAL_FULL
 *   journal-torture commit DIR ACKED GROUP
 *       one commit of GROUP rows; exit 0 when it worked
 *   journal-torture bench DIR
 *       prints rows/s committing 1,000 rows of ~300 bytes per commit, and
 *       commits/s of 1 row, with LMDB's default sync and MDB_NOMETASYNC
 */
#include <config.h> /* autoconf's */

#include "daemon/journal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 512
#define TRIM_BYTES ((uint64_t)2 << 20)

static char errbuf[512];

/* ---- what seq N holds ---- */

static crdb_hlc row_updated(uint64_t seq)
{
	return (crdb_hlc){ (int64_t)seq * 10, (int32_t)(seq % 5) };
}

static crdb_hlc group_resolved(uint64_t last_seq)
{
	return (crdb_hlc){ (int64_t)last_seq * 10 + 7, 1 };
}

struct content {
	char table[8], key[32], line[LINE_MAX_LEN];
	size_t table_len, key_len, line_len;
};

static void content_of(uint64_t seq, size_t line_len, struct content *c)
{
	c->table_len = (size_t)snprintf(c->table, sizeof(c->table), "t%u", (unsigned)(seq % 3));
	c->key_len = (size_t)snprintf(c->key, sizeof(c->key), "[%" PRIu64 "]", seq);
	if (!line_len)
		line_len = 60 + seq % 250;
	size_t n = (size_t)snprintf(c->line, sizeof(c->line), "{\"seq\":%" PRIu64 ",\"v\":\"", seq);
	while (n < line_len - 3)
		c->line[n] = (char)('a' + (seq * 7 + n) % 26), n++;
	memcpy(c->line + n, "\"}\n", 3);
	c->line_len = n + 3;
}

static int append_seq(struct journal *j, uint64_t seq, size_t line_len)
{
	struct content c;
	content_of(seq, line_len, &c);
	struct journal_row row = {
		.seq = seq, .updated = row_updated(seq), .op = CRDB_OP_UPSERT,
		.late = seq % 11 == 0, .table = c.table, .table_len = c.table_len,
		.key = c.key, .key_len = c.key_len, .line = c.line, .line_len = c.line_len,
	};
	return journal_append(j, &row, errbuf, sizeof(errbuf));
}

/* ---- the acknowledged seq, written after each commit ---- */

/* Written aside and renamed: a kill never leaves it empty. */
static void ack_write(const char *path, uint64_t seq)
{
	char buf[32], tmp[4200];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", seq);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "journal-torture: cannot write %s\n", path);
		exit(2);
	}
}

static uint64_t ack_read(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static struct journal *open_journal(const char *dir, unsigned flags)
{
	struct journal_limits lim = { .max_bytes = TRIM_BYTES };
	struct journal *j = journal_open(dir, &lim, flags, errbuf, sizeof(errbuf));
	if (!j) {
		fprintf(stderr, "journal-torture: %s\n", errbuf);
		exit(1);
	}
	return j;
}

static uint64_t last_seq_of(struct journal *j)
{
	struct journal_checkpoint cp;
	if (journal_get_checkpoint(j, &cp, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "journal-torture: %s\n", errbuf);
		exit(1);
	}
	return cp.last_seq;
}

/* Commit one group of n rows after seq; the journal's result. */
static int commit_group(struct journal *j, uint64_t *seq, unsigned n, size_t line_len)
{
	for (unsigned i = 1; i <= n; i++) {
		if (append_seq(j, *seq + i, line_len) != JOURNAL_OK) {
			fprintf(stderr, "journal-torture: append: %s\n", errbuf);
			exit(1);
		}
	}
	int rc = journal_commit(j, group_resolved(*seq + n), errbuf, sizeof(errbuf));
	if (rc == JOURNAL_OK)
		*seq += n;
	return rc;
}

static int run_write(const char *dir, const char *acked, unsigned maxgroup)
{
	struct journal *j = open_journal(dir, 0);
	uint64_t seq = last_seq_of(j), deleted;
	unsigned commits = 0;
	srand((unsigned)getpid());
	for (;;) {
		if (commit_group(j, &seq, 1 + (unsigned)rand() % maxgroup, 0) != JOURNAL_OK) {
			fprintf(stderr, "journal-torture: commit: %s\n", errbuf);
			return 1;
		}
		ack_write(acked, seq);
		if (++commits % 20 == 0 &&
		    journal_trim(j, 0, UINT64_MAX, &deleted, errbuf, sizeof(errbuf)) != JOURNAL_OK) {
			fprintf(stderr, "journal-torture: trim: %s\n", errbuf);
			return 1;
		}
	}
}

/* ---- verify ---- */

struct verify {
	uint64_t next_seq;      /* the row expected next (0: any) */
	uint64_t rows, marks, last_mark_seq;
	bool last_was_row;
	crdb_hlc last_mark;
	char problem[256];
};

static int verify_item(const struct journal_item *item, void *arg)
{
	struct verify *v = arg;
	if (item->is_mark) {
		crdb_hlc want = group_resolved(item->mark_seq);
		if (crdb_hlc_compare(item->resolved, want) != 0) {
			snprintf(v->problem, sizeof(v->problem), "the mark at seq %" PRIu64
				 " has resolved %" PRId64 ".%d, not %" PRId64 ".%d", item->mark_seq,
				 item->resolved.wall, (int)item->resolved.logical, want.wall,
				 (int)want.logical);
			return 1;
		}
		v->marks++;
		v->last_was_row = false;
		v->last_mark_seq = item->mark_seq;
		v->last_mark = item->resolved;
		return 0;
	}
	const struct journal_row *r = item->row;
	struct content c;
	if (v->next_seq && r->seq != v->next_seq) {
		snprintf(v->problem, sizeof(v->problem), "row %" PRIu64 " follows row %" PRIu64,
			 r->seq, v->next_seq - 1);
		return 1;
	}
	content_of(r->seq, 0, &c);
	if (r->table_len != c.table_len || memcmp(r->table, c.table, c.table_len) ||
	    r->key_len != c.key_len || memcmp(r->key, c.key, c.key_len) ||
	    r->line_len != c.line_len || memcmp(r->line, c.line, c.line_len) ||
	    crdb_hlc_compare(r->updated, row_updated(r->seq)) != 0 ||
	    r->late != (r->seq % 11 == 0) || r->op != CRDB_OP_UPSERT) {
		snprintf(v->problem, sizeof(v->problem), "row %" PRIu64 " is not what was written", r->seq);
		return 1;
	}
	v->next_seq = r->seq + 1;
	v->rows++;
	v->last_was_row = true;
	return 0;
}

static int run_verify(const char *dir, const char *acked)
{
	struct journal *j = open_journal(dir, 0);
	struct journal_checkpoint cp;
	struct journal_stats st;
	struct verify v = { 0 };
	uint64_t ack = ack_read(acked), seq;
	int n;

	if (journal_get_checkpoint(j, &cp, errbuf, sizeof(errbuf)) ||
	    journal_get_stats(j, &st, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "journal-torture: %s\n", errbuf);
		return 1;
	}
	do {
		/* A mark after the last row read comes with the next read. */
		n = journal_read(j, v.next_seq ? v.next_seq - 1 : 0,
				 v.next_seq == 0 || v.last_was_row, 4096,
				 verify_item, &v, errbuf, sizeof(errbuf));
		if (n < 0) {
			fprintf(stderr, "journal-torture: %s\n", errbuf);
			return 1;
		}
		if (v.problem[0]) {
			fprintf(stderr, "journal-torture: %s\n", v.problem);
			return 1;
		}
	} while (n > 0);
	if (cp.last_seq < ack) {
		fprintf(stderr, "journal-torture: the checkpoint's last seq %" PRIu64
			" is below %" PRIu64 ", committed before the kill\n", cp.last_seq, ack);
		return 1;
	}
	if (v.rows && (v.next_seq - 1 != cp.last_seq || st.oldest_seq < cp.first_seq ||
		       v.rows != cp.last_seq - st.oldest_seq + 1 || v.rows != st.records)) {
		fprintf(stderr, "journal-torture: rows %" PRIu64 "..%" PRIu64 " (%" PRIu64
			") do not end at the checkpoint's last seq %" PRIu64 "\n",
			st.oldest_seq, v.next_seq - 1, v.rows, cp.last_seq);
		return 1;
	}
	if (cp.last_seq && (v.last_mark_seq != cp.last_seq ||
			    crdb_hlc_compare(v.last_mark, cp.resolved) != 0 ||
			    crdb_hlc_compare(cp.resolved, group_resolved(cp.last_seq)) != 0)) {
		fprintf(stderr, "journal-torture: the checkpoint (%" PRIu64 ", %" PRId64
			") is not the last commit's mark (%" PRIu64 ", %" PRId64 ")\n",
			cp.last_seq, cp.resolved.wall, v.last_mark_seq, v.last_mark.wall);
		return 1;
	}
	if (v.rows) {
		struct content c;
		content_of(cp.last_seq, 0, &c);
		if (journal_seen(j, c.table, c.table_len, c.key, c.key_len,
				 row_updated(cp.last_seq), &seq, errbuf, sizeof(errbuf)) != 1 ||
		    seq != cp.last_seq) {
			fprintf(stderr, "journal-torture: row %" PRIu64 " is not recognised\n", cp.last_seq);
			return 1;
		}
	}
	journal_close(j);
	printf("last_seq=%" PRIu64 " rows=%" PRIu64 " marks=%" PRIu64 " acked=%" PRIu64 "\n",
	       cp.last_seq, v.rows, v.marks, ack);
	return 0;
}

/* ---- fill and commit ---- */

static int run_fill(const char *dir, const char *acked, unsigned group)
{
	struct journal *j = open_journal(dir, 0);
	uint64_t seq = last_seq_of(j);
	int rc;
	while ((rc = commit_group(j, &seq, group, 0)) == JOURNAL_OK)
		ack_write(acked, seq);
	printf("%s after seq %" PRIu64 ": %s\n", rc == JOURNAL_FULL ? "full" : "error", seq, errbuf);
	journal_close(j);
	return rc == JOURNAL_FULL ? 0 : 1;
}

static int run_commit(const char *dir, const char *acked, unsigned group)
{
	struct journal *j = open_journal(dir, 0);
	uint64_t seq = last_seq_of(j);
	int rc = commit_group(j, &seq, group, 0);
	if (rc == JOURNAL_OK)
		ack_write(acked, seq);
	else
		printf("commit failed: %s\n", errbuf);
	journal_close(j);
	return rc == JOURNAL_OK ? 0 : 1;
}

/* ---- bench ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(const char *dir, unsigned flags, const char *name)
{
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	struct journal *j = open_journal(sub, flags);
	uint64_t seq = last_seq_of(j);
	double t0 = now_s();
	for (int i = 0; i < 100; i++)
		if (commit_group(j, &seq, 1000, 300) != JOURNAL_OK)
			exit(1);
	double rows_s = 100000 / (now_s() - t0);
	t0 = now_s();
	for (int i = 0; i < 500; i++)
		if (commit_group(j, &seq, 1, 300) != JOURNAL_OK)
			exit(1);
	double commits_s = 500 / (now_s() - t0);
	printf("%-15s %8.0f rows/s (1,000 rows of 300 bytes per commit)  %6.0f commits/s (1 row)\n",
	       name, rows_s, commits_s);
	journal_close(j);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return run_write(argv[2], argv[3], (unsigned)atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return run_verify(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "fill") == 0)
		return run_fill(argv[2], argv[3], (unsigned)atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "commit") == 0)
		return run_commit(argv[2], argv[3], (unsigned)atoi(argv[4]));
	if (argc == 3 && strcmp(argv[1], "bench") == 0) {
		bench(argv[2], 0, "default-sync");
		bench(argv[2], JOURNAL_NOMETASYNC, "nometasync");
		return 0;
	}
	fprintf(stderr, "usage: journal-torture write|verify|fill|commit|bench DIR [ACKED [N]]\n");
	return 2;
}
