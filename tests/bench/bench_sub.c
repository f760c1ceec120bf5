/*
 * bench_sub.c: the benchmarks' crdbfeedd subscriber. It connects to a
 * sink's Unix socket (or reads standard output through a pipe, with "-"),
 * splits lines, counts row and resolved lines and checks that row keys
 * ([n], the firehose's and the latency table's) arrive as 1, 2, 3, ...:
 * every event, once, in order. With --latency-out it writes
 * "key receipt_ns" per row (and "resolved WALL.LOGICAL receipt_ns" per
 * resolved line); with --stall it connects and never reads (a stalled
 * consumer) until killed.
 *
 * --ordered checks an ordered feed instead (delivery = ordered): "seq"
 * contiguous from --after + 1, rows sorted by (updated, key) with the key
 * compared bytewise on its JSON text (so [10] comes before [9] within one
 * updated), and every key [1] to [K] (--keys, default N) received exactly
 * N / K times. --after N sends the request line {"after":N} on connect (a
 * replay from the journal); --first-seq S expects the first seq S without
 * sending anything (a live subscriber joining a feed that released S - 1).
 *
 * usage: bench_sub SOCKET|- --events N [--ready FILE] [--latency-out FILE]
 *                  [--stall] [--timeout S] [--no-order] [--idle-exit S]
 *                  [--ordered] [--keys K] [--after N] [--first-seq S]
 *
 * Stops after N rows, at end of input, or (--idle-exit) when nothing came
 * for S seconds after the first row. Prints one JSON object: rows,
 * resolved, missed (lines of type "missed", the drop policy's notice),
 * lines, bytes, order_errors, late (rows flagged late), last_seq, seconds
 * (first to last row), events_per_s, first_ns, last_ns. Exits 1 when rows != N or keys were out of order
 * (--no-order: rows may be missing; only the count is reported).
 */
#include <config.h> /* autoconf's, from the build directory */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)
#define ROW_PREFIX "{\"v\":1,\"type\":\"row\""
#define RESOLVED_PREFIX "{\"v\":1,\"type\":\"resolved\""
#define MISSED_PREFIX "{\"v\":1,\"type\":\"missed\""
#define KEY_MEMBER "\"key\":["
#define UPDATED_MEMBER "\"updated\":\""
#define SEQ_MEMBER ",\"seq\":"
#define RESOLVED_MEMBER "\"resolved\":\""
#define LATE_MEMBER "\"late\":true"
#define TEXT_MAX 64 /* an updated timestamp's or a key's JSON text */

struct stamp {
	uint64_t key;
	int64_t ns;
};

struct resolved_stamp {
	char hlc[TEXT_MAX];
	int64_t ns;
};

/* --ordered: the previous row's sort key and each key's count */
struct ordered_check {
	bool on;
	uint64_t next_seq, last_seq, nkeys, rounds, late, reported;
	uint32_t *key_counts;
	char updated[TEXT_MAX], key[TEXT_MAX];
	size_t updated_len, key_len;
};

struct counts {
	uint64_t rows, resolved, missed, lines, bytes, order_errors, next_key;
	int64_t first, last;
	bool check_order;
	struct stamp *stamps;
	size_t nstamps, cap;
	struct resolved_stamp *rstamps;
	size_t nrstamps, rcap;
	bool record;
	struct ordered_check ord;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t line_key(const char *line, size_t len)
{
	const char *k = memmem(line, len, KEY_MEMBER, sizeof(KEY_MEMBER) - 1);
	const char *end = line + len;
	uint64_t n = 0;

	if (!k)
		return 0;
	for (k += sizeof(KEY_MEMBER) - 1; k < end && *k >= '0' && *k <= '9'; k++)
		n = n * 10 + (uint64_t)(*k - '0');
	return n;
}

/* The JSON text after member up to (not including) the byte stop. */
static bool member_text(const char *line, size_t len, const char *member,
			char stop, const char **text, size_t *text_len)
{
	const char *m = memmem(line, len, member, strlen(member));
	const char *end = line + len, *e;

	if (!m)
		return false;
	m += strlen(member);
	e = memchr(m, stop, (size_t)(end - m));
	if (!e || e - m >= TEXT_MAX - 1)
		return false;
	*text = m;
	*text_len = (size_t)(e - m);
	return true;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	return r ? r : (alen > blen) - (alen < blen);
}

/* The first few errors go to stderr with the line, for the driver's log. */
static int report(struct ordered_check *o, const char *what, uint64_t seq,
		  const char *line, size_t len)
{
	if (o->reported++ < 5)
		fprintf(stderr, "bench_sub: %s wrong at seq %" PRIu64
			" (previous updated %.*s key [%.*s): %.*s\n", what, seq,
			(int)o->updated_len, o->updated, (int)o->key_len, o->key,
			(int)(len > 400 ? 400 : len), line);
	return 1;
}

/* One row of an ordered feed: seq, sort order, key count. 0 or 1 error. */
static int check_ordered_row(struct ordered_check *o, const char *line,
			     size_t len, uint64_t key)
{
	const char *updated, *keytext, *seqtext;
	size_t updated_len, key_len, seq_len;
	uint64_t seq = 0;
	int errors = 0;

	if (!member_text(line, len, UPDATED_MEMBER, '"', &updated, &updated_len) ||
	    !member_text(line, len, KEY_MEMBER, ']', &keytext, &key_len) ||
	    !member_text(line, len, SEQ_MEMBER, '}', &seqtext, &seq_len))
		return 1;
	key_len++; /* the closing ']' sorts too: [1] after [10] */
	for (size_t i = 0; i < seq_len && seqtext[i] >= '0' && seqtext[i] <= '9'; i++)
		seq = seq * 10 + (uint64_t)(seqtext[i] - '0');
	if (seq != o->next_seq)
		errors = report(o, "seq", seq, line, len);
	o->next_seq = seq + 1;
	o->last_seq = seq;
	if (memmem(line, len, LATE_MEMBER, sizeof(LATE_MEMBER) - 1))
		o->late++;
	/* Equal-length timestamps (W.LLLLLLLLLL) compare bytewise. */
	if (o->updated_len) {
		int by_updated = bytes_cmp(updated, updated_len, o->updated,
					   o->updated_len);

		if (by_updated < 0 ||
		    (by_updated == 0 &&
		     bytes_cmp(keytext, key_len, o->key, o->key_len) <= 0))
			errors = report(o, "(updated, key) order", seq, line, len);
	}
	memcpy(o->updated, updated, updated_len);
	o->updated_len = updated_len;
	memcpy(o->key, keytext, key_len);
	o->key_len = key_len;
	if (key < 1 || key > o->nkeys || ++o->key_counts[key - 1] > o->rounds)
		errors = report(o, "key count", seq, line, len);
	return errors;
}

static int record_resolved(struct counts *c, const char *line, size_t len,
			   int64_t t)
{
	const char *hlc;
	size_t hlc_len;

	if (!member_text(line, len, RESOLVED_MEMBER, '"', &hlc, &hlc_len))
		return 0;
	if (c->nrstamps == c->rcap) {
		size_t ncap = c->rcap ? c->rcap * 2 : 1024;
		struct resolved_stamp *grown = realloc(c->rstamps, ncap * sizeof(*grown));

		if (!grown)
			return -1;
		c->rstamps = grown;
		c->rcap = ncap;
	}
	memcpy(c->rstamps[c->nrstamps].hlc, hlc, hlc_len);
	c->rstamps[c->nrstamps].hlc[hlc_len] = '\0';
	c->rstamps[c->nrstamps].ns = t;
	c->nrstamps++;
	return 0;
}

static int count_line(struct counts *c, const char *line, size_t len,
		      int64_t t)
{
	c->lines++;
	if (len >= sizeof(ROW_PREFIX) - 1 &&
	    memcmp(line, ROW_PREFIX, sizeof(ROW_PREFIX) - 1) == 0) {
		uint64_t key = c->check_order || c->record ? line_key(line, len) : 0;

		if (!c->rows)
			c->first = t;
		c->last = t;
		c->rows++;
		if (c->ord.on)
			c->order_errors += (uint64_t)check_ordered_row(&c->ord, line, len, key);
		else if (c->check_order && key != c->next_key)
			c->order_errors++;
		c->next_key = key + 1;
		if (c->record) {
			if (c->nstamps == c->cap) {
				size_t ncap = c->cap ? c->cap * 2 : 4096;
				struct stamp *grown = realloc(c->stamps, ncap * sizeof(*grown));

				if (!grown)
					return -1;
				c->stamps = grown;
				c->cap = ncap;
			}
			c->stamps[c->nstamps].key = key;
			c->stamps[c->nstamps].ns = t;
			c->nstamps++;
		}
	} else if (len >= sizeof(RESOLVED_PREFIX) - 1 &&
		   memcmp(line, RESOLVED_PREFIX, sizeof(RESOLVED_PREFIX) - 1) == 0) {
		c->resolved++;
		if (c->record && record_resolved(c, line, len, t) < 0)
			return -1;
	} else if (len >= sizeof(MISSED_PREFIX) - 1 &&
		   memcmp(line, MISSED_PREFIX, sizeof(MISSED_PREFIX) - 1) == 0) {
		c->missed++;
	}
	return 0;
}

static int connect_socket(const char *path, unsigned timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ns() + (int64_t)timeout_s * 1000000000;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench_sub: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (now_ns() > deadline) {
			fprintf(stderr, "bench_sub: cannot connect to %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		usleep(20000);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_sub SOCKET|- --events N [--ready FILE] "
		"[--latency-out FILE] [--stall] [--timeout S] [--no-order]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path, *ready = NULL, *latency_out = NULL;
	uint64_t events = 0;
	unsigned timeout = 600, idle_exit = 0;
	uint64_t after = 0, nkeys = 0, first_seq = 0;
	bool stall = false, send_after = false;
	struct counts c = { .next_key = 1, .check_order = true };
	static char buf[BUF_SIZE];
	size_t have = 0;
	int fd;

	if (argc < 2)
		usage();
	path = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--stall") == 0) {
			stall = true;
			continue;
		}
		if (strcmp(argv[i], "--no-order") == 0) {
			c.check_order = false;
			continue;
		}
		if (strcmp(argv[i], "--ordered") == 0) {
			c.ord.on = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--events") == 0)
			events = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ready") == 0)
			ready = argv[++i];
		else if (strcmp(argv[i], "--latency-out") == 0)
			latency_out = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--idle-exit") == 0)
			idle_exit = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keys") == 0)
			nkeys = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--first-seq") == 0)
			first_seq = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--after") == 0) {
			after = strtoull(argv[++i], NULL, 10);
			send_after = true;
		} else
			usage();
	}
	c.record = latency_out != NULL;
	c.ord.on = c.ord.on && c.check_order;
	if (c.ord.on) {
		c.ord.nkeys = nkeys ? nkeys : events;
		if (!c.ord.nkeys || events % c.ord.nkeys) {
			fprintf(stderr, "bench_sub: --ordered needs --events, a multiple of --keys\n");
			return 2;
		}
		c.ord.rounds = events / c.ord.nkeys;
		c.ord.next_seq = first_seq ? first_seq : after + 1;
		c.ord.key_counts = calloc(c.ord.nkeys, sizeof(*c.ord.key_counts));
		if (!c.ord.key_counts) {
			fprintf(stderr, "bench_sub: out of memory\n");
			return 1;
		}
	}
	fd = strcmp(path, "-") == 0 ? 0 : connect_socket(path, 10);
	if (fd < 0)
		return 1;
	if (send_after) {
		char request[64];
		int n = snprintf(request, sizeof(request), "{\"after\":%" PRIu64 "}\n", after);

		if (write(fd, request, (size_t)n) != n) {
			fprintf(stderr, "bench_sub: sending the request line: %s\n",
				strerror(errno));
			return 1;
		}
	}
	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (rfd < 0 || close(rfd)) {
			fprintf(stderr, "bench_sub: %s: %s\n", ready, strerror(errno));
			return 1;
		}
	}
	if (stall) {
		/* Hold the connection open, read nothing; killed by the driver. */
		for (;;)
			pause();
	}
	alarm(timeout);
	while (!events || c.rows < events) {
		ssize_t n;
		int64_t t;
		char *p, *end, *nl;

		if (idle_exit && c.rows) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int polled = poll(&pfd, 1, (int)idle_exit * 1000);

			if (polled < 0 && errno == EINTR)
				continue;
			if (polled == 0)
				break; /* quiet for idle_exit seconds: done */
		}
		n = read(fd, buf + have, sizeof(buf) - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		t = now_ns();
		c.bytes += (uint64_t)n;
		p = buf;
		end = buf + have + n;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			if (count_line(&c, p, (size_t)(nl - p), t) < 0) {
				fprintf(stderr, "bench_sub: out of memory\n");
				return 1;
			}
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (have == sizeof(buf)) {
			fprintf(stderr, "bench_sub: a line longer than %d bytes\n", BUF_SIZE);
			return 1;
		}
		memmove(buf, p, have);
	}
	if (latency_out) {
		FILE *f = fopen(latency_out, "w");

		if (!f) {
			fprintf(stderr, "bench_sub: %s: %s\n", latency_out, strerror(errno));
			return 1;
		}
		for (size_t i = 0; i < c.nstamps; i++)
			fprintf(f, "%" PRIu64 " %" PRId64 "\n", c.stamps[i].key,
				c.stamps[i].ns);
		for (size_t i = 0; i < c.nrstamps; i++)
			fprintf(f, "resolved %s %" PRId64 "\n", c.rstamps[i].hlc,
				c.rstamps[i].ns);
		if (fclose(f)) {
			fprintf(stderr, "bench_sub: %s: %s\n", latency_out, strerror(errno));
			return 1;
		}
	}
	if (c.ord.on && events && c.rows == events) {
		/* Every key exactly rounds times (more was counted as it came). */
		for (uint64_t k = 0; k < c.ord.nkeys; k++)
			if (c.ord.key_counts[k] != c.ord.rounds)
				c.order_errors++;
	}
	{
		double secs = c.rows > 1 ? (double)(c.last - c.first) / 1e9 : 0;

		printf("{\"rows\":%" PRIu64 ",\"resolved\":%" PRIu64 ",\"missed\":%" PRIu64
		       ",\"lines\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"order_errors\":%" PRIu64
		       ",\"late\":%" PRIu64 ",\"last_seq\":%" PRIu64
		       ",\"seconds\":%.6f,\"events_per_s\":%.1f,\"first_ns\":%" PRId64
		       ",\"last_ns\":%" PRId64 "}\n", c.rows, c.resolved, c.missed, c.lines,
		       c.bytes, c.order_errors, c.ord.late, c.ord.last_seq, secs,
		       secs > 0 ? (double)(c.rows - 1) / secs : 0, c.first, c.last);
	}
	free(c.stamps);
	free(c.rstamps);
	free(c.ord.key_counts);
	if (!c.check_order)
		return 0;
	if (events && c.rows != events) {
		fprintf(stderr, "bench_sub: %" PRIu64 " rows, expected %" PRIu64 "\n",
			c.rows, events);
		return 1;
	}
	return c.order_errors ? 1 : 0;
}
