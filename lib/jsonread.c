/*
 * jsonread.c: libcrdb's JSON reader, json and jsonb text to jansson values,
 * with the number rule of types.c, a depth bound and jsonb's refusal of
 * duplicate keys.
 */
#include "config.h"

#include "crdb_internal.h"

#include "crdb_scan.h"

#include <string.h>
/*
 * Our own JSON reader, building jansson values. jansson's json_loadb()
 * is not safe when an allocation fails inside its lexer: it drops the byte
 * and goes on, returning wrong values or overrunning its buffer (jansson
 * issue #362, still so in 2.14). Building values one by one with
 * json_object()/json_stringn()/... keeps every failure visible. It also
 * applies our number rule and depth bound directly.
 */
struct json_reader {
	const char *s;
	size_t len, pos;
	int depth;
	bool reject_duplicates;
	bool number_text;	/* numbers as crdb_json_number_text() values */
	const crdb_type_info *ti;
	crdb_error *err;
};

static json_t *jr_fail(struct json_reader *r, const char *what)
{
	crdb__fail(r->err, CRDB_EPROTO, "malformed %s value: %s at byte %zu",
		   r->ti->name, what, r->pos);
	return NULL;
}

static void jr_space(struct json_reader *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' ||
				   r->s[r->pos] == '\t' ||
				   r->s[r->pos] == '\n' ||
				   r->s[r->pos] == '\r'))
		r->pos++;
}

static int jr_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int d = crdb__hexval(p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Strings shorter than this (most keys and values) need no allocation;
 * keys use a smaller buffer, as it stays on the stack while the value
 * nests (512 levels at most). */
#define JR_SMALL 128
#define JR_SMALL_KEY 64

static void jr_release(const char *small, char *buf)
{
	if (buf != small)
		crdb__free(buf);
}

/*
 * A string at r->pos (on its '"'): *out and its length. Returns 1 when
 * *out points into the input (a plain ASCII string without escapes, the
 * usual case: no copy), 0 when it is small or allocated: then free it
 * with jr_release(). -1 on error.
 */
static int jr_string(struct json_reader *r, char *small, size_t small_size,
		     char **out, size_t *outlen)
{
	size_t start = ++r->pos, end = start, n = 0;
	char *buf;

	end = crdb_scan_plain_end((const unsigned char *)r->s, start, r->len);
	if (end < r->len && r->s[end] == '"') {
		*out = (char *)(uintptr_t)(r->s + start);
		*outlen = end - start;
		r->pos = end + 1;
		return 1;
	}
	end = start;

	/* Find the closing quote; the text bounds the decoded size. */
	while (end < r->len && r->s[end] != '"')
		end += r->s[end] == '\\' ? 2 : 1;
	if (end >= r->len) {
		jr_fail(r, "unterminated string");
		return -1;
	}
	buf = end - start < small_size ? small
				       : crdb__malloc(end - start + 1);
	if (!buf) {
		crdb__oom(r->err);
		return -1;
	}
	while (r->pos < end) {
		unsigned char c = (unsigned char)r->s[r->pos];

		if (c < 0x20) {
			jr_release(small, buf);
			jr_fail(r, "control character in string");
			return -1;
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			r->pos++;
			continue;
		}
		c = (unsigned char)r->s[r->pos + 1];
		r->pos += 2;
		switch (c) {
		case '"': buf[n++] = '"'; continue;
		case '\\': buf[n++] = '\\'; continue;
		case '/': buf[n++] = '/'; continue;
		case 'b': buf[n++] = '\b'; continue;
		case 'f': buf[n++] = '\f'; continue;
		case 'n': buf[n++] = '\n'; continue;
		case 'r': buf[n++] = '\r'; continue;
		case 't': buf[n++] = '\t'; continue;
		case 'u':
			break;
		default:
			r->pos -= 2;
			jr_release(small, buf);
			jr_fail(r, "bad escape in string");
			return -1;
		}
		int cp = end - r->pos >= 4 ? jr_hex4(r->s + r->pos) : -1;
		if (cp < 0)
			goto bad_u;
		r->pos += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			goto bad_u;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			int lo = end - r->pos >= 6 && r->s[r->pos] == '\\' &&
				 r->s[r->pos + 1] == 'u' ?
				 jr_hex4(r->s + r->pos + 2) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				goto bad_u;
			r->pos += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		n += crdb_scan_utf8_put(buf + n, (uint32_t)cp);
	}
	r->pos = end + 1;
	if (!crdb_scan_utf8_valid((const unsigned char *)buf, n)) {
		jr_release(small, buf);
		jr_fail(r, "invalid UTF-8 in string");
		return -1;
	}
	*out = buf;
	*outlen = n;
	return 0;

bad_u:
	jr_release(small, buf);
	jr_fail(r, "bad \\u escape in string");
	return -1;
}

/*
 * A number: an exact integer or real, else a string of its text. With
 * number_text, a string of CRDB_NUMBER_TEXT_MARK and the text, whatever the
 * number: the mark is a byte no valid UTF-8 string holds, and every string
 * this reader makes is valid UTF-8, so the two never meet.
 */
static __attribute__((noinline)) json_t *jr_number(struct json_reader *r)
{
	size_t start = r->pos, len;
	bool real = false;
	json_int_t iv;
	double dv;
	json_t *j;

	while (r->pos < r->len &&
	       ((r->s[r->pos] >= '0' && r->s[r->pos] <= '9') ||
		r->s[r->pos] == '+' || r->s[r->pos] == '-' ||
		r->s[r->pos] == '.' || r->s[r->pos] == 'e' ||
		r->s[r->pos] == 'E')) {
		char c = r->s[r->pos];
		if (c == '.' || c == 'e' || c == 'E')
			real = true;
		r->pos++;
	}
	len = r->pos - start;
	if (!crdb__json_number_syntax(r->s + start, len)) {
		r->pos = start;
		return jr_fail(r, "bad number");
	}
	if (r->number_text) {
		char small[JR_SMALL], *buf = len < sizeof small ? small
							  : crdb__malloc(len + 1);

		if (!buf)
			return crdb__oom(r->err);
		buf[0] = (char)CRDB_NUMBER_TEXT_MARK;
		memcpy(buf + 1, r->s + start, len);
		j = json_stringn_nocheck(buf, len + 1);
		jr_release(small, buf);
	} else if (!real && crdb__integer_text(r->s + start, len, &iv)) {
		j = json_integer(iv);
	} else if (real && crdb__decimal_exact_double(r->s + start, len, &dv)) {
		j = json_real(dv);
	} else {
		j = json_stringn_nocheck(r->s + start, len);
	}
	return j ? j : crdb__oom(r->err);
}

static json_t *jr_value(struct json_reader *r);

/* Out of jr_value() so that its buffer is not on the recursion's stack. */
static __attribute__((noinline)) json_t *jr_string_value(
	struct json_reader *r)
{
	char small[JR_SMALL], *buf;
	size_t n;
	json_t *j;
	int rc = jr_string(r, small, sizeof small, &buf, &n);

	if (rc < 0)
		return NULL;
	j = json_stringn_nocheck(buf, n);
	if (rc == 0)
		jr_release(small, buf);
	return j ? j : crdb__oom(r->err);
}

static json_t *jr_container(struct json_reader *r, bool object)
{
	const char close = object ? '}' : ']';
	size_t members = 0, key_end = 0;
	json_t *c;

	if (++r->depth > JSON_MAX_DEPTH) {
		crdb__fail(r->err, CRDB_EPROTO,
			   "malformed %s value: JSON nested deeper than %d "
			   "levels", r->ti->name, JSON_MAX_DEPTH);
		return NULL;
	}
	r->pos++;
	c = object ? json_object() : json_array();
	if (!c)
		return crdb__oom(r->err);
	jr_space(r);
	if (r->pos < r->len && r->s[r->pos] == close) {
		r->pos++;
		r->depth--;
		return c;
	}
	for (;;) {
		char small[JR_SMALL_KEY], *key = NULL;
		const char *keep = small; /* the key itself when borrowed */
		size_t keylen = 0;
		json_t *v;
		int rc;

		jr_space(r);
		if (object) {
			if (r->pos >= r->len || r->s[r->pos] != '"') {
				json_decref(c);
				return jr_fail(r, "expected a string key");
			}
			rc = jr_string(r, small, sizeof small, &key, &keylen);
			if (rc < 0) {
				json_decref(c);
				return NULL;
			}
			if (rc == 1)
				keep = key;
			key_end = r->pos;
			jr_space(r);
			if (r->pos >= r->len || r->s[r->pos] != ':') {
				jr_release(keep, key);
				json_decref(c);
				return jr_fail(r, "expected ':'");
			}
			r->pos++;
		}
		v = jr_value(r);
		if (!v) {
			jr_release(keep, key);
			json_decref(c);
			return NULL;
		}
		/* Without duplicate rejection the last value wins, as in
		 * PostgreSQL's json -> jsonb. */
		if (object ? json_object_setn_new_nocheck(c, key, keylen, v)
			   : json_array_append_new(c, v)) {
			jr_release(keep, key);
			json_decref(c);
			return crdb__oom(r->err);
		}
		jr_release(keep, key);
		/* A duplicate replaced a member instead of adding one: found
		 * without a lookup per key. Reported where the key ended. */
		if (object && r->reject_duplicates &&
		    json_object_size(c) != ++members) {
			json_decref(c);
			r->pos = key_end;
			return jr_fail(r, "duplicate object key");
		}
		jr_space(r);
		if (r->pos < r->len && r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if (r->pos < r->len && r->s[r->pos] == close) {
			r->pos++;
			r->depth--;
			return c;
		}
		json_decref(c);
		return jr_fail(r, object ? "expected ',' or '}'"
					 : "expected ',' or ']'");
	}
}

static json_t *jr_value(struct json_reader *r)
{
	static const struct {
		const char *word;
		size_t len;
	} words[3] = { { "true", 4 }, { "false", 5 }, { "null", 4 } };
	char c;

	jr_space(r);
	if (r->pos >= r->len)
		return jr_fail(r, "unexpected end of input");
	c = r->s[r->pos];
	if (c == '{' || c == '[')
		return jr_container(r, c == '{');
	if (c == '"')
		return jr_string_value(r);
	if (c == '-' || (c >= '0' && c <= '9'))
		return jr_number(r);
	for (int i = 0; i < 3; i++) {
		if (r->len - r->pos >= words[i].len &&
		    memcmp(r->s + r->pos, words[i].word, words[i].len) == 0) {
			r->pos += words[i].len;
			return i == 0 ? json_true() : i == 1 ? json_false()
							     : json_null();
		}
	}
	return jr_fail(r, "unexpected character");
}

/* One JSON value and nothing after it but white space. */
static json_t *read_whole(struct json_reader *r)
{
	json_t *j = jr_value(r);

	if (!j)
		return NULL;
	jr_space(r);
	if (r->pos != r->len) {
		json_decref(j);
		return jr_fail(r, "trailing bytes after the JSON value");
	}
	return j;
}

json_t *crdb__json_from_text(const crdb_type_info *ti, const char *s,
			     size_t len, bool reject_duplicates,
			     crdb_error *err)
{
	struct json_reader r = {
		.s = s, .len = len, .reject_duplicates = reject_duplicates,
		.ti = ti, .err = err,
	};

	return read_whole(&r);
}

json_t *crdb__jsonb_from_text(const char *s, size_t len, bool number_text,
			      crdb_error *err)
{
	static const crdb_type_info jsonb_info = { "jsonb", 3802, 3807 };
	struct json_reader r = {
		.s = s, .len = len, .reject_duplicates = true,
		.number_text = number_text, .ti = &jsonb_info, .err = err,
	};

	return read_whole(&r);
}

const char *crdb_json_number_text(const json_t *json, size_t *len)
{
	const char *s = json_string_value(json);
	size_t n = json_string_length(json);

	if (!s || n < 2 || (unsigned char)s[0] != CRDB_NUMBER_TEXT_MARK)
		return NULL;
	if (len)
		*len = n - 1;
	return s + 1;
}

