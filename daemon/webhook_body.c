/*
 * webhook_body.c: a webhook sink's request body taken apart into its
 * messages' table, key and value bytes (webhook_body.h). One pass over the
 * body validates every byte of it as strict JSON (RFC 8259: string escapes
 * and UTF-8 checked, number grammar, nesting bounded) and copies each
 * message's parts into one block of storage sized by the body itself.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "webhook_body.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdb_scan.h"

#define DEFAULT_MAX_MESSAGES 100000
#define DEFAULT_MAX_DEPTH 64
/* The recursion's bound whatever a caller asks; libcrdb's decoder refuses
 * deeper values anyway. */
#define MAX_DEPTH_CAP 512
/* Member names compared unescaped ("payload", "resolved"...): longer
 * names are none of ours. */
#define NAME_MAX_BYTES 16

struct scan {
	const unsigned char *s;
	size_t len, pos;
	size_t max_depth;
	char where[32];  /* "body" or "payload[N]" */
	char *errbuf;
	size_t errlen;
	bool failed;
};

/* One line "WHERE: what"; the first failure wins. */
static bool fail(struct scan *sc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool fail(struct scan *sc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sc->failed)
		return false;
	sc->failed = true;
	if (!sc->errbuf || !sc->errlen)
		return false;
	n = snprintf(sc->errbuf, sc->errlen, "%s: ", sc->where);
	if (n >= 0 && (size_t)n < sc->errlen) {
		va_start(ap, fmt);
		vsnprintf(sc->errbuf + n, sc->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool fail_syntax(struct scan *sc, const char *what)
{
	if (sc->pos >= sc->len)
		return fail(sc, "the body ends at byte %zu inside the JSON (truncated)",
			    sc->len);
	return fail(sc, "%s at byte %zu", what, sc->pos);
}

static void skip_space(struct scan *sc)
{
	while (sc->pos < sc->len &&
	       (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
		sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
		sc->pos++;
}

/* Skip spaces and take the byte c; false (not failed) when it is not. */
static bool take(struct scan *sc, unsigned char c)
{
	skip_space(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == c) {
		sc->pos++;
		return true;
	}
	return false;
}

static int hex4(const unsigned char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int d;

		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			d = (p[i] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * The \u escape at s[i] (on the backslash): its code point, a surrogate
 * pair taken whole; *n is the escape's byte count. -1 when malformed or a
 * lone surrogate.
 */
static long unicode_escape(const unsigned char *s, size_t len, size_t i,
			   size_t *n)
{
	int hi = len - i >= 6 ? hex4(s + i + 2) : -1;

	*n = 6;
	if (hi < 0 || (hi >= 0xdc00 && hi <= 0xdfff))
		return -1;
	if (hi < 0xd800 || hi > 0xdbff)
		return hi;
	int lo = len - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u' ?
		 hex4(s + i + 8) : -1;
	if (lo < 0xdc00 || lo > 0xdfff)
		return -1;
	*n = 12;
	return 0x10000 + ((long)(hi - 0xd800) << 10) + (lo - 0xdc00);
}

/*
 * The string at sc->pos (on its '"'), validated: escapes, control bytes,
 * UTF-8. *start and *end bound its contents as written.
 */
static bool scan_string(struct scan *sc, size_t *start, size_t *end)
{
	const unsigned char *s = sc->s;
	size_t i = sc->pos + 1;

	for (;;) {
		i = crdb_scan_plain_end(s, i, sc->len);
		if (i >= sc->len) {
			sc->pos = i;
			return fail_syntax(sc, "");
		}
		if (s[i] == '"')
			break;
		if (s[i] == '\\') {
			size_t n = 2;

			if (i + 1 >= sc->len) {
				sc->pos = sc->len;
				return fail_syntax(sc, "");
			}
			if (s[i + 1] == 'u') {
				if (unicode_escape(s, sc->len, i, &n) < 0) {
					sc->pos = i;
					return fail_syntax(sc, "bad \\u escape in a string");
				}
			} else if (!strchr("\"\\/bfnrt", s[i + 1]) || s[i + 1] == '\0') {
				sc->pos = i;
				return fail_syntax(sc, "bad escape in a string");
			}
			i += n;
		} else if (s[i] < 0x20) {
			sc->pos = i;
			return fail_syntax(sc, "control character in a string");
		} else {
			size_t n = crdb_scan_utf8_seq(s + i, sc->len - i);

			if (!n) {
				sc->pos = i;
				return fail_syntax(sc, "invalid UTF-8 in a string");
			}
			i += n;
		}
	}
	*start = sc->pos + 1;
	*end = i;
	sc->pos = i + 1;
	return true;
}

static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The text of a string scan_string() validated (s[start..end)), escapes
 * resolved, into out (room for end - start bytes: never longer). Returns
 * its length.
 */
static size_t unescape(const unsigned char *s, size_t start, size_t end,
		       char *out)
{
	size_t n = 0;

	for (size_t i = start; i < end;) {
		if (s[i] != '\\') {
			out[n++] = (char)s[i++];
			continue;
		}
		size_t step = 2;
		switch (s[i + 1]) {
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			n += put_utf8(out + n, (unsigned long)unicode_escape(s, end, i, &step));
			break;
		default: out[n++] = (char)s[i + 1]; break;
		}
		i += step;
	}
	return n;
}

/* Is the member name s[start..end) (as written) the text name? */
static bool name_is(const unsigned char *s, size_t start, size_t end,
		    const char *name)
{
	size_t want = strlen(name);
	char text[6 * NAME_MAX_BYTES];

	if (!memchr(s + start, '\\', end - start))
		return end - start == want && memcmp(s + start, name, want) == 0;
	if (end - start > sizeof text)
		return false;
	return unescape(s, start, end, text) == want &&
	       memcmp(text, name, want) == 0;
}

static bool scan_number(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t i = sc->pos;

	if (i < sc->len && s[i] == '-')
		i++;
	if (i < sc->len && s[i] == '0') {
		i++;
	} else if (i < sc->len && s[i] >= '1' && s[i] <= '9') {
		while (i < sc->len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		sc->pos = i;
		return fail_syntax(sc, "bad number");
	}
	if (i < sc->len && s[i] == '.') {
		size_t digits = ++i;

		while (i < sc->len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits) {
			sc->pos = i;
			return fail_syntax(sc, "bad number");
		}
	}
	if (i < sc->len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < sc->len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t digits = i;
		while (i < sc->len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits) {
			sc->pos = i;
			return fail_syntax(sc, "bad number");
		}
	}
	sc->pos = i;
	return true;
}

static bool scan_value(struct scan *sc, size_t depth);

/* The array or object at sc->pos (on its opening byte). */
static bool scan_container(struct scan *sc, size_t depth)
{
	bool object = sc->s[sc->pos] == '{';
	unsigned char close = object ? '}' : ']';
	size_t start, end;

	if (depth > sc->max_depth)
		return fail(sc, "nested deeper than %zu levels at byte %zu",
			    sc->max_depth, sc->pos);
	sc->pos++;
	if (take(sc, close))
		return true;
	for (;;) {
		skip_space(sc);
		if (object) {
			if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
				return fail_syntax(sc, "expected a member name");
			if (!scan_string(sc, &start, &end))
				return false;
			if (!take(sc, ':'))
				return fail_syntax(sc, "expected ':'");
			skip_space(sc);
		}
		if (!scan_value(sc, depth + 1))
			return false;
		if (take(sc, close))
			return true;
		if (!take(sc, ','))
			return fail_syntax(sc, object ? "expected ',' or '}'"
						      : "expected ',' or ']'");
	}
}

static bool scan_literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return fail_syntax(sc, "invalid JSON value");
	sc->pos += n;
	return true;
}

/* Any JSON value at sc->pos (spaces skipped); depth counts the containers
 * it would open itself. */
static bool scan_value(struct scan *sc, size_t depth)
{
	size_t start, end;

	skip_space(sc);
	if (sc->pos >= sc->len)
		return fail_syntax(sc, "");
	switch (sc->s[sc->pos]) {
	case '{':
	case '[':
		return scan_container(sc, depth);
	case '"':
		return scan_string(sc, &start, &end);
	case 't':
		return scan_literal(sc, "true");
	case 'f':
		return scan_literal(sc, "false");
	case 'n':
		return scan_literal(sc, "null");
	default:
		if (sc->s[sc->pos] == '-' ||
		    (sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9'))
			return scan_number(sc);
		return fail_syntax(sc, "invalid JSON value");
	}
}

/* Where the parts of the messages go: one block of the body's length
 * plus one (scan_message() shows why that is enough; the bound is
 * checked all the same). */
struct out {
	char *data;
	size_t len, cap;
	bool overflow;
};

static void out_put(struct out *o, const void *p, size_t n)
{
	if (n > o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

/*
 * One message at sc->pos (on its '{'), at depth `depth`. Its parts go to
 * o: the table (unescaped), the key, the value, each NUL-terminated. Every
 * part is no longer than the message bytes it comes from, less the member
 * names and quotes left out, so a body of len bytes never needs more than
 * len bytes of storage.
 */
static bool scan_message(struct scan *sc, size_t depth, struct out *o,
			 struct webhook_msg *msg)
{
	size_t key_at = 0, key_len = 0, topic_start = 0, topic_end = 0;
	bool have_key = false, have_topic = false;
	/* The value is written first, then moved to follow table and key. */
	size_t value_at = o->len, value_len;
	size_t members = 0;

	if (depth > sc->max_depth)
		return fail(sc, "nested deeper than %zu levels at byte %zu",
			    sc->max_depth, sc->pos);
	sc->pos++;
	out_put(o, "{", 1);
	if (!take(sc, '}')) {
		for (;;) {
			size_t name_start, name_end, val_start;

			skip_space(sc);
			if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
				return fail_syntax(sc, "expected a member name");
			size_t member = sc->pos;
			if (!scan_string(sc, &name_start, &name_end))
				return false;
			if (!take(sc, ':'))
				return fail_syntax(sc, "expected ':'");
			skip_space(sc);
			val_start = sc->pos;
			if (!scan_value(sc, depth + 1))
				return false;
			if (name_is(sc->s, name_start, name_end, "key")) {
				if (have_key)
					return fail(sc, "two \"key\" members");
				if (sc->s[val_start] != '[')
					return fail(sc, "\"key\" is not a JSON array");
				have_key = true;
				key_at = val_start;
				key_len = sc->pos - val_start;
			} else if (name_is(sc->s, name_start, name_end, "topic")) {
				if (have_topic)
					return fail(sc, "two \"topic\" members");
				if (sc->s[val_start] != '"')
					return fail(sc, "\"topic\" is not a JSON string");
				have_topic = true;
				topic_start = val_start + 1;
				topic_end = sc->pos - 1;
			} else {
				if (members++)
					out_put(o, ",", 1);
				out_put(o, sc->s + member, name_end + 1 - member);
				out_put(o, ":", 1);
				out_put(o, sc->s + val_start, sc->pos - val_start);
			}
			if (take(sc, '}'))
				break;
			if (!take(sc, ','))
				return fail_syntax(sc, "expected ',' or '}'");
		}
	}
	out_put(o, "}", 1);
	value_len = o->len - value_at;
	if (!have_key)
		return fail(sc, "no \"key\" member");
	if (!have_topic)
		return fail(sc, "no \"topic\" member");

	/* table, key, value: the value moves up behind the other two. */
	size_t table_room = topic_end - topic_start;
	size_t shift = table_room + 1 + key_len + 1;
	if (o->overflow || shift + value_len + 1 > o->cap - value_at)
		return fail(sc, "internal error: over the storage bound");
	memmove(o->data + value_at + shift, o->data + value_at, value_len);
	char *t = o->data + value_at;
	size_t table_len = unescape(sc->s, topic_start, topic_end, t);
	if (table_len == 0)
		return fail(sc, "\"topic\" is empty");
	if (memchr(t, '\0', table_len))
		return fail(sc, "\"topic\" holds a NUL character");
	t[table_len] = '\0';
	char *k = t + table_room + 1;
	memcpy(k, sc->s + key_at, key_len);
	k[key_len] = '\0';
	char *v = k + key_len + 1;
	v[value_len] = '\0';
	o->len = value_at + shift + value_len + 1;
	*msg = (struct webhook_msg){
		.table = t, .table_len = table_len,
		.key = k, .key_len = key_len,
		.value = v, .value_len = value_len,
	};
	return true;
}

static bool add_message(struct scan *sc, struct webhook_body *out,
			size_t *cap, size_t max_messages, struct out *o)
{
	if (out->nmsgs >= max_messages)
		return fail(sc, "more than %zu messages", max_messages);
	if (out->nmsgs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct webhook_msg *m = realloc(out->msgs, ncap * sizeof *m);

		if (!m)
			return fail(sc, "out of memory");
		out->msgs = m;
		*cap = ncap;
	}
	snprintf(sc->where, sizeof sc->where, "payload[%zu]", out->nmsgs);
	skip_space(sc);
	if (sc->pos >= sc->len)
		return fail_syntax(sc, "");
	if (sc->s[sc->pos] != '{')
		return fail(sc, "not a JSON object");
	if (!scan_message(sc, 3, o, &out->msgs[out->nmsgs]))
		return false;
	snprintf(sc->where, sizeof sc->where, "body");
	out->nmsgs++;
	return true;
}

/* "payload": [MSG, ...] at sc->pos. */
static bool scan_payload(struct scan *sc, struct webhook_body *out,
			 size_t max_messages, struct out *o)
{
	size_t cap = 0;

	skip_space(sc);
	if (sc->pos >= sc->len)
		return fail_syntax(sc, "");
	if (sc->s[sc->pos] != '[')
		return fail(sc, "\"payload\" is not a JSON array");
	sc->pos++;
	if (take(sc, ']'))
		return true;
	for (;;) {
		if (!add_message(sc, out, &cap, max_messages, o))
			return false;
		if (take(sc, ']'))
			return true;
		if (!take(sc, ','))
			return fail_syntax(sc, "expected ',' or ']' in \"payload\"");
	}
}

/* "length": a non-negative integer, as Go writes an int. */
static bool scan_length(struct scan *sc, size_t *length)
{
	size_t start = sc->pos, n = 0;

	if (!scan_value(sc, 2))
		return false;
	const unsigned char *s = sc->s + start;
	size_t len = sc->pos - start;
	while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
		s++;
		len--;
	}
	if (len == 0 || (len > 1 && s[0] == '0'))
		return fail(sc, "\"length\" is not a non-negative integer");
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || n > (SIZE_MAX - 9) / 10)
			return fail(sc, "\"length\" is not a non-negative integer");
		n = n * 10 + (size_t)(s[i] - '0');
	}
	*length = n;
	return true;
}

static bool scan_resolved(struct scan *sc, crdb_hlc *resolved)
{
	size_t start, end;
	crdb_error err;

	skip_space(sc);
	if (sc->pos >= sc->len)
		return fail_syntax(sc, "");
	if (sc->s[sc->pos] != '"') {
		if (!scan_value(sc, 2))
			return false;
		return fail(sc, "\"resolved\" is not a JSON string");
	}
	if (!scan_string(sc, &start, &end))
		return false;
	if (crdb_hlc_parse((const char *)sc->s + start, end - start, resolved,
			   &err) != 0)
		return fail(sc, "\"resolved\": %s", err.message);
	return true;
}

/* A top-level member we do not know: named (its first 40 bytes, cut at a
 * character's start) and refused. */
static bool unknown_member(struct scan *sc, size_t start, size_t end)
{
	size_t n = end - start;

	if (n > 40) {
		n = 40;
		while (n && (sc->s[start + n] & 0xc0) == 0x80)
			n--;
	}
	return fail(sc, "unknown member \"%.*s%s\" (a webhook body holds "
		    "\"payload\" and \"length\", or \"resolved\")", (int)n,
		    (const char *)sc->s + start, n < end - start ? "..." : "");
}

static bool scan_body(struct scan *sc, size_t max_messages,
		      struct webhook_body *out, struct out *o)
{
	bool have_payload = false, have_length = false, have_resolved = false;
	size_t length = 0;

	skip_space(sc);
	if (sc->pos >= sc->len)
		return fail(sc, "empty");
	if (sc->s[sc->pos] != '{')
		return fail(sc, "not a JSON object");
	sc->pos++;
	if (!take(sc, '}')) {
		for (;;) {
			size_t start, end;

			skip_space(sc);
			if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
				return fail_syntax(sc, "expected a member name");
			if (!scan_string(sc, &start, &end))
				return false;
			if (!take(sc, ':'))
				return fail_syntax(sc, "expected ':'");
			bool *seen;
			if (name_is(sc->s, start, end, "payload"))
				seen = &have_payload;
			else if (name_is(sc->s, start, end, "length"))
				seen = &have_length;
			else if (name_is(sc->s, start, end, "resolved"))
				seen = &have_resolved;
			else
				return unknown_member(sc, start, end);
			if (*seen)
				return fail(sc, "two \"%.*s\" members", (int)(end - start),
					    (const char *)sc->s + start);
			*seen = true;
			if (seen == &have_payload && !scan_payload(sc, out, max_messages, o))
				return false;
			if (seen == &have_length && !scan_length(sc, &length))
				return false;
			if (seen == &have_resolved && !scan_resolved(sc, &out->resolved))
				return false;
			if (take(sc, '}'))
				break;
			if (!take(sc, ','))
				return fail_syntax(sc, "expected ',' or '}'");
		}
	}
	skip_space(sc);
	if (sc->pos < sc->len)
		return fail(sc, "trailing bytes after the JSON object, from byte %zu",
			    sc->pos);
	if (have_resolved) {
		if (have_payload || have_length)
			return fail(sc, "\"resolved\" with \"%s\" (a resolved timestamp "
				    "comes alone)", have_payload ? "payload" : "length");
		out->kind = WEBHOOK_BODY_RESOLVED;
		return true;
	}
	if (!have_payload)
		return fail(sc, "neither \"payload\" nor \"resolved\"");
	if (!have_length)
		return fail(sc, "no \"length\" member");
	if (length != out->nmsgs)
		return fail(sc, "\"length\" is %zu but the payload holds %zu messages",
			    length, out->nmsgs);
	out->kind = WEBHOOK_BODY_ROWS;
	return true;
}

int webhook_body_parse(const char *body, size_t len,
		       const struct webhook_body_limits *lim,
		       struct webhook_body *out, char *errbuf, size_t errlen)
{
	struct scan sc = {
		.s = (const unsigned char *)body, .len = len,
		.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH,
		.where = "body", .errbuf = errbuf, .errlen = errlen,
	};
	size_t max_messages = lim && lim->max_messages ? lim->max_messages
						      : DEFAULT_MAX_MESSAGES;
	struct out o = {.cap = len + 1};

	memset(out, 0, sizeof *out);
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (sc.max_depth > MAX_DEPTH_CAP)
		sc.max_depth = MAX_DEPTH_CAP;
	o.data = malloc(o.cap);
	if (!o.data) {
		fail(&sc, "out of memory");
		return -1;
	}
	out->storage = o.data;
	if (!scan_body(&sc, max_messages, out, &o)) {
		webhook_body_clear(out);
		return -1;
	}
	if (out->kind == WEBHOOK_BODY_RESOLVED) {
		free(out->storage);
		out->storage = NULL;
	}
	return 0;
}

void webhook_body_clear(struct webhook_body *b)
{
	free(b->msgs);
	free(b->storage);
	memset(b, 0, sizeof *b);
}
