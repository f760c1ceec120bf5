/*
 * fuzz_request.c: libFuzzer target for the subscriber request line parser
 * (daemon/request.c). The input is what a subscriber sends, cut at its
 * first newline as the sink does. A parsed filter must be well formed (at
 * most one of "after" and "since"); a
 * refusal must leave the filter cleared and say why in one bounded line;
 * the same input must give the same answer twice.
 */
#include <config.h>

#include "daemon/request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_filter(const struct request_filter *f)
{
	if ((f->tables == NULL) != (f->ntables == 0))
		abort();
	if (f->ops == 0 || (f->ops & ~(unsigned)REQUEST_OPS_ALL) != 0)
		abort();
	for (size_t i = 0; i < f->ntables; i++)
		if (!f->tables[i] || !f->tables[i][0])
			abort();
	if (!f->has_resolved && f->resolved)
		abort();
	/* One starting point at most; an absent one stays zero. */
	if (f->has_after && f->has_since)
		abort();
	if ((!f->has_after && f->after) ||
	    (!f->has_since && !crdb_hlc_is_zero(f->since)))
		abort();
	if (f->has_after && f->after > (uint64_t)INT64_MAX)
		abort();
}

static void check_refused(const struct request_filter *f, const char *msg,
			  size_t msglen)
{
	size_t len = strnlen(msg, msglen);
	if (len == 0 || len == msglen || memchr(msg, '\n', len))
		abort();
	if (f->tables || f->ntables || f->ops != REQUEST_OPS_ALL ||
	    f->has_resolved || f->resolved || f->has_after || f->after ||
	    f->has_since || !crdb_hlc_is_zero(f->since))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - data) : size;
	struct request_filter a, b;
	char msg_a[256], msg_b[256];

	/* A copy without anything after it: reads past len show in ASan. */
	char *line = malloc(len ? len : 1);
	if (!line)
		return 0;
	memcpy(line, text, len);
	msg_a[0] = msg_b[0] = '\0';
	int rc_a = request_parse(line, len, &a, msg_a, sizeof(msg_a));
	int rc_b = request_parse(line, len, &b, msg_b, sizeof(msg_b));
	if (rc_a != rc_b || (rc_a != 0 && rc_a != -1))
		abort();
	if (len > REQUEST_MAX && rc_a == 0)
		abort();
	if (rc_a == 0) {
		check_filter(&a);
		if (a.ntables != b.ntables || a.ops != b.ops ||
		    a.has_resolved != b.has_resolved || a.resolved != b.resolved ||
		    a.has_after != b.has_after || a.after != b.after ||
		    a.has_since != b.has_since ||
		    crdb_hlc_compare(a.since, b.since) != 0)
			abort();
		for (size_t i = 0; i < a.ntables; i++)
			if (strcmp(a.tables[i], b.tables[i]) != 0)
				abort();
		for (unsigned op = 0; op < 32; op++)
			if ((a.ops & (1u << op)) &&
			    !request_op_name((crdb_op)op))
				abort();
	} else {
		check_refused(&a, msg_a, sizeof(msg_a));
		if (strcmp(msg_a, msg_b) != 0)
			abort();
		/* A short message buffer still gets a terminated message. */
		char tiny[8];
		struct request_filter c;
		memset(tiny, 'x', sizeof(tiny));
		if (request_parse(line, len, &c, tiny, sizeof(tiny)) != -1 ||
		    !memchr(tiny, '\0', sizeof(tiny)))
			abort();
	}
	request_filter_clear(&a);
	request_filter_clear(&b);
	free(line);
	return 0;
}
