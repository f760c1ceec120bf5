/*
 * fuzz_webhook_body.c: libFuzzer target for the webhook body parser
 * (daemon/webhook_body.c). The input is a request body. The same input
 * must give the same answer twice. A refusal must leave the body cleared
 * and say why in one bounded line. A parsed batch's parts must have the
 * shapes promised (a non-empty topic without NUL, a key array, a value
 * object, each NUL-terminated, together no longer than the body), and a
 * message rebuilt from its parts must parse again into the same parts.
 */
#include <config.h>

#include "daemon/webhook_body.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refused(const struct webhook_body *b, const char *msg,
			  size_t msglen)
{
	size_t len = strnlen(msg, msglen);

	if (len == 0 || len == msglen || memchr(msg, '\n', len))
		abort();
	if (b->msgs || b->nmsgs || b->storage)
		abort();
}

static bool same_part(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* A table name as a JSON string: every byte above 0x1f but the quote and
 * the backslash as it is, the rest \u-escaped. */
static size_t put_json_string(char *out, const char *s, size_t len)
{
	size_t n = 0;

	out[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\')
			n += (size_t)sprintf(out + n, "\\u%04x", c);
		else
			out[n++] = (char)c;
	}
	out[n++] = '"';
	return n;
}

/* The message rebuilt: the value's members, then key and topic. */
static void check_rebuilt(const struct webhook_msg *m)
{
	size_t cap = m->value_len + m->key_len + 6 * m->table_len + 64;
	char *body = malloc(cap);
	struct webhook_body again;
	char errbuf[256];
	size_t n;

	if (!body)
		return;
	n = (size_t)sprintf(body, "{\"payload\":[");
	memcpy(body + n, m->value, m->value_len - 1); /* without its '}' */
	n += m->value_len - 1;
	n += (size_t)sprintf(body + n, "%s\"key\":", m->value_len > 2 ? "," : "");
	memcpy(body + n, m->key, m->key_len);
	n += m->key_len;
	n += (size_t)sprintf(body + n, ",\"topic\":");
	n += put_json_string(body + n, m->table, m->table_len);
	n += (size_t)sprintf(body + n, "}],\"length\":1}");
	if (webhook_body_parse(body, n, NULL, &again, errbuf, sizeof errbuf) != 0 ||
	    again.nmsgs != 1 ||
	    !same_part(again.msgs[0].table, again.msgs[0].table_len, m->table, m->table_len) ||
	    !same_part(again.msgs[0].key, again.msgs[0].key_len, m->key, m->key_len) ||
	    !same_part(again.msgs[0].value, again.msgs[0].value_len, m->value, m->value_len))
		abort();
	webhook_body_clear(&again);
	free(body);
}

static void check_parsed(const struct webhook_body *b, size_t size)
{
	size_t total = 0;

	if (b->kind == WEBHOOK_BODY_RESOLVED) {
		if (b->msgs || b->nmsgs)
			abort();
		return;
	}
	if (b->kind != WEBHOOK_BODY_ROWS || (b->nmsgs && !b->msgs))
		abort();
	for (size_t i = 0; i < b->nmsgs; i++) {
		const struct webhook_msg *m = &b->msgs[i];

		if (m->table_len == 0 || memchr(m->table, '\0', m->table_len) ||
		    m->table[m->table_len] != '\0')
			abort();
		if (m->key_len < 2 || m->key[0] != '[' || m->key[m->key_len - 1] != ']' ||
		    m->key[m->key_len] != '\0')
			abort();
		if (m->value_len < 2 || m->value[0] != '{' ||
		    m->value[m->value_len - 1] != '}' || m->value[m->value_len] != '\0')
			abort();
		total += m->table_len + m->key_len + m->value_len + 3;
		check_rebuilt(m);
	}
	if (total > size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_body a, b;
	char msg_a[256], msg_b[256];
	/* A copy of exactly size bytes: reads past the end show in ASan. */
	char *body = malloc(size ? size : 1);

	if (!body)
		return 0;
	memcpy(body, data, size);
	int rc_a = webhook_body_parse(body, size, NULL, &a, msg_a, sizeof msg_a);
	int rc_b = webhook_body_parse(body, size, NULL, &b, msg_b, sizeof msg_b);
	if (rc_a != rc_b || (rc_a != 0 && rc_a != -1))
		abort();
	if (rc_a == 0) {
		check_parsed(&a, size);
		if (a.kind != b.kind || a.nmsgs != b.nmsgs ||
		    crdb_hlc_compare(a.resolved, b.resolved) != 0)
			abort();
		for (size_t i = 0; i < a.nmsgs; i++)
			if (!same_part(a.msgs[i].value, a.msgs[i].value_len,
				       b.msgs[i].value, b.msgs[i].value_len))
				abort();
	} else {
		check_refused(&a, msg_a, sizeof msg_a);
		check_refused(&b, msg_b, sizeof msg_b);
		if (strcmp(msg_a, msg_b) != 0)
			abort();
		/* A short message buffer still gets a terminated message. */
		char tiny[8];
		memset(tiny, 'x', sizeof tiny);
		if (webhook_body_parse(body, size, NULL, &b, tiny, sizeof tiny) != -1 ||
		    !memchr(tiny, '\0', sizeof tiny))
			abort();
	}
	webhook_body_clear(&a);
	webhook_body_clear(&b);
	free(body);
	return 0;
}
