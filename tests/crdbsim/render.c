/*
 * render.c: crdbsim's CockroachDB JSON renderer. It turns wal2json change
 * records (format 2: "columns" arrays of {name, type, value}) into the key
 * and value bytes a sinkless changefeed sends (crdb-wire.md §4, §5, §12),
 * formats HLCs (§4.4) and resolved payloads (§3), and parses wal2json text
 * without losing numeric digits (sim_wal2json_loads). It also frees
 * parsed statements (sim_stmt_free), being the one file that the parser's
 * tests, the engine's tests and crdbsim all link.
 *
 * Numbers. CockroachDB renders INT/DECIMAL/FLOAT columns through apd
 * decimals (AsJSON -> jsonNumber.Format -> apd Text('G')), so the text must
 * stay exact: wal2json prints numeric 22.30 as the bare JSON number 22.30,
 * which jansson would turn into the double 22.3. sim_wal2json_loads() keeps
 * every non-integer number (and every integer outside int64) as a JSON
 * *string* holding the exact digits; the renderer reads numeric columns from
 * either a string (exact) or a jansson integer/real (real: shortest double
 * repr, which loses numeric scale). wal2json 2.5 sends NaN and +-Infinity of
 * float and numeric columns as JSON null (checked on this machine), so those
 * arrive as null; inside arrays they come as text and render quoted.
 *
 * Floats follow apd's SetFloat64 (Go's shortest 'E' repr) then Text('G'), so
 * 100 renders as 1E+2 and 1e20 as 1E+20 (tree.AsJSON -> json.FromFloat64;
 * cockroachdb/replicator PR 143 met such "4E+2" values in real changefeed
 * output). REAL columns hold float32 values in CockroachDB, rendered as the
 * float64 they widen to (0.1 -> 0.10000000149011612) [INF].
 *
 * Other types [INF where noted]: oid renders as a string (old AsJSON, §5);
 * time, timetz, interval, date, inet, uuid, bit and enums pass PostgreSQL's
 * text through (newer CockroachDB prints timetz offsets as PostgreSQL does;
 * older releases wrote "+02:00:00"); composite values stay strings
 * (wal2json gives no field labels).
 *
 * Deletes: the key comes from `after`, or from `before` when after is NULL
 * (the engine passes the old row / identity there); `before` is shown only
 * with diff. Envelope behaviour follows the newest encoder_json.go:
 * metadata (updated, mvcc_timestamp, key, topic) goes under "__crdb__" for
 * bare/row; a row-envelope delete is empty, a bare delete is null or
 * {"__crdb__": {...}}; enriched is {"after", "op", "ts_ns"[, "key"]} with an
 * object key and op deduced from before (c when before is NULL), without a
 * "source" object (enriched_properties is ignored by crdbsim).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simstmt.h"

/* ---- growable byte buffer ---------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->oom)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 128;
		while (cap < sb->len + n + 1)
			cap *= 2;
		char *p = realloc(sb->p, cap);
		if (!p) {
			sb->oom = true;
			return;
		}
		sb->p = p;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

static void sb_putc(struct sbuf *sb, char c)
{
	sb_putn(sb, &c, 1);
}

/* ---- strings ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (Go's utf8.DecodeRune rules: no
 * overlongs, no surrogates, <= U+10FFFF), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;
		if (c == 0xed && s[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* A JSON string as CockroachDB's encodeJSONString writes it (§4.1). */
static void put_json_string(struct sbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0;

	sb_putc(sb, '"');
	while (i < n) {
		unsigned char c = u[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c < 0x80) {
			sb_putn(sb, s + start, i - start);
			switch (c) {
			case '"': sb_puts(sb, "\\\""); break;
			case '\\': sb_puts(sb, "\\\\"); break;
			case '\n': sb_puts(sb, "\\n"); break;
			case '\r': sb_puts(sb, "\\r"); break;
			case '\t': sb_puts(sb, "\\t"); break;
			default: {
				char esc[7] = { '\\', 'u', '0', '0',
						hex[c >> 4], hex[c & 0xf], 0 };
				sb_puts(sb, esc);
			}
			}
			start = ++i;
			continue;
		}
		size_t len = utf8_seq(u + i, n - i);
		if (len == 0) {
			sb_putn(sb, s + start, i - start);
			sb_puts(sb, "\\ufffd");
			start = ++i;
			continue;
		}
		i += len;
	}
	sb_putn(sb, s + start, n - start);
	sb_putc(sb, '"');
}

/* ---- numbers as apd decimals -------------------------------------------- */

/*
 * Write a decimal given as sign, coefficient digits and exponent the way
 * apd's Decimal.Text('G') does (plain unless exponent > 0 or the adjusted
 * exponent is below -6; then d.ddddE+n).
 */
static void put_apd(struct sbuf *sb, bool neg, const char *digits,
		    size_t ndigits, long exponent)
{
	/* strip leading zeros of the coefficient, keep at least one digit */
	while (ndigits > 1 && digits[0] == '0') {
		digits++;
		ndigits--;
	}
	if (neg)
		sb_putc(sb, '-');
	long adj = exponent + (long)ndigits - 1;
	if (exponent <= 0 && adj >= -6) {
		if (exponent < 0) {
			long left = -exponent - (long)ndigits;
			if (left >= 0) {
				sb_puts(sb, "0.");
				for (long i = 0; i < left; i++)
					sb_putc(sb, '0');
				sb_putn(sb, digits, ndigits);
			} else {
				size_t off = (size_t)-left;
				sb_putn(sb, digits, off);
				sb_putc(sb, '.');
				sb_putn(sb, digits + off, ndigits - off);
			}
		} else {
			sb_putn(sb, digits, ndigits);
		}
		return;
	}
	char e[32];
	sb_putc(sb, digits[0]);
	if (ndigits > 1) {
		sb_putc(sb, '.');
		sb_putn(sb, digits + 1, ndigits - 1);
	}
	snprintf(e, sizeof e, "E%c%ld", adj < 0 ? '-' : '+', adj < 0 ? -adj : adj);
	sb_puts(sb, e);
}

/* A non-finite number: CockroachDB quotes it. */
static bool put_nonfinite(struct sbuf *sb, const char *s, size_t n)
{
	static const struct { const char *in, *out; } names[] = {
		{ "NaN", "\"NaN\"" }, { "Infinity", "\"Infinity\"" },
		{ "+Infinity", "\"Infinity\"" }, { "-Infinity", "\"-Infinity\"" },
		{ "inf", "\"Infinity\"" }, { "-inf", "\"-Infinity\"" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strlen(names[i].in) == n && strncasecmp(names[i].in, s, n) == 0) {
			sb_puts(sb, names[i].out);
			return true;
		}
	}
	return false;
}

/* Decimal text (PostgreSQL numeric or JSON number) -> apd rendering.
 * Returns false when the text is not a number. */
static bool put_decimal_text(struct sbuf *sb, const char *s, size_t n)
{
	char digits[1024];
	size_t nd = 0, i = 0;
	bool neg = false, any = false;
	long exponent = 0;

	if (put_nonfinite(sb, s, n))
		return true;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = true)
		if (nd < sizeof digits)
			digits[nd++] = s[i];
		else
			exponent++;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = true)
			if (nd < sizeof digits) {
				digits[nd++] = s[i];
				exponent--;
			}
	}
	if (!any)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		char *end;
		char ebuf[32];
		size_t el = n - i - 1;
		if (el == 0 || el >= sizeof ebuf)
			return false;
		memcpy(ebuf, s + i + 1, el);
		ebuf[el] = '\0';
		errno = 0;
		long e = strtol(ebuf, &end, 10);
		if (*end || errno)
			return false;
		exponent += e;
		i = n;
	}
	if (i != n)
		return false;
	put_apd(sb, neg, digits, nd, exponent);
	return true;
}

/* A float64 as apd.SetFloat64 (Go's shortest 'E' form) then Text('G'). */
static void put_float(struct sbuf *sb, double d)
{
	char buf[64];
	if (isnan(d)) {
		sb_puts(sb, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		sb_puts(sb, d < 0 ? "\"-Infinity\"" : "\"Infinity\"");
		return;
	}
	for (int prec = 0; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf is [-]d[.ddd]e[+-]xx: gather the digits and the exponent. */
	char digits[32];
	size_t nd = 0;
	const char *p = buf;
	bool neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	long e10 = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
	/* trailing zeros: Go's shortest form never has them (except "0") */
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	put_apd(sb, neg, digits, nd, e10 - (long)(nd - 1));
}

/* ---- our own JSON parser (exact numbers, any depth) -------------------- */

enum jkind { J_NULL, J_TRUE, J_FALSE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jnode {
	enum jkind kind;
	char *text;          /* J_NUMBER: source text; J_STRING: decoded UTF-8 */
	size_t len;
	struct jnode **kids;
	char **keys;         /* J_OBJECT: decoded key per kid */
	size_t *keylens;
	size_t n;
};

static void jnode_free(struct jnode *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		jnode_free(j->kids[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->kids);
	free(j->keys);
	free(j->keylens);
	free(j->text);
	free(j);
}

struct jparser {
	const char *s;
	size_t n, i;
	int depth;
};

static void jp_ws(struct jparser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static bool jp_hex4(struct jparser *p, unsigned *out)
{
	if (p->i + 4 > p->n)
		return false;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(p->s[p->i + k]);
		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	p->i += 4;
	*out = v;
	return true;
}

static void put_utf8(struct sbuf *sb, unsigned cp)
{
	char b[4];
	if (cp < 0x80) {
		b[0] = (char)cp;
		sb_putn(sb, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		sb_putn(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		sb_putn(sb, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		sb_putn(sb, b, 4);
	}
}

/* A JSON string at p->i (on the quote); decoded into *out. */
static bool jp_string(struct jparser *p, char **out, size_t *outlen)
{
	struct sbuf sb = { 0 };
	p->i++;
	sb_putn(&sb, "", 0);
	while (p->i < p->n && p->s[p->i] != '"') {
		char c = p->s[p->i++];
		if ((unsigned char)c < 0x20)
			goto bad;
		if (c != '\\') {
			sb_putc(&sb, c);
			continue;
		}
		if (p->i >= p->n)
			goto bad;
		c = p->s[p->i++];
		switch (c) {
		case '"': case '\\': case '/': sb_putc(&sb, c); break;
		case 'b': sb_putc(&sb, '\b'); break;
		case 'f': sb_putc(&sb, '\f'); break;
		case 'n': sb_putc(&sb, '\n'); break;
		case 'r': sb_putc(&sb, '\r'); break;
		case 't': sb_putc(&sb, '\t'); break;
		case 'u': {
			unsigned cp, lo;
			if (!jp_hex4(p, &cp))
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00 && p->i + 6 <= p->n &&
			    p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
				size_t save = p->i;
				p->i += 2;
				if (jp_hex4(p, &lo) && lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					p->i = save;
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd; /* lone surrogate, as Go decodes it */
			put_utf8(&sb, cp);
			break;
		}
		default:
			goto bad;
		}
	}
	if (p->i >= p->n || sb.oom)
		goto bad;
	p->i++;
	*out = sb.p;
	*outlen = sb.len;
	return true;
bad:
	free(sb.p);
	return false;
}

static bool jp_number(struct jparser *p)
{
	size_t i = p->i;
	if (i < p->n && p->s[i] == '-')
		i++;
	if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
		return false;
	if (p->s[i] == '0')
		i++;
	else
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	if (i < p->n && p->s[i] == '.') {
		i++;
		if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return false;
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return false;
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	p->i = i;
	return true;
}

static bool jp_add(struct jnode *j, struct jnode *kid, char *key, size_t keylen)
{
	struct jnode **kids = realloc(j->kids, (j->n + 1) * sizeof *kids);
	if (!kids)
		return false;
	j->kids = kids;
	if (j->kind == J_OBJECT) {
		char **keys = realloc(j->keys, (j->n + 1) * sizeof *keys);
		if (!keys)
			return false;
		j->keys = keys;
		size_t *kl = realloc(j->keylens, (j->n + 1) * sizeof *kl);
		if (!kl)
			return false;
		j->keylens = kl;
		keys[j->n] = key;
		kl[j->n] = keylen;
	}
	kids[j->n++] = kid;
	return true;
}

static struct jnode *jp_value(struct jparser *p)
{
	struct jnode *j;

	jp_ws(p);
	if (p->i >= p->n || ++p->depth > 256)
		return NULL;
	j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	char c = p->s[p->i];
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		j->kind = c == '{' ? J_OBJECT : J_ARRAY;
		p->i++;
		jp_ws(p);
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			goto done;
		}
		for (;;) {
			char *key = NULL;
			size_t keylen = 0;
			jp_ws(p);
			if (j->kind == J_OBJECT) {
				if (p->i >= p->n || p->s[p->i] != '"' ||
				    !jp_string(p, &key, &keylen))
					goto bad;
				jp_ws(p);
				if (p->i >= p->n || p->s[p->i] != ':') {
					free(key);
					goto bad;
				}
				p->i++;
			}
			struct jnode *kid = jp_value(p);
			if (!kid || !jp_add(j, kid, key, keylen)) {
				jnode_free(kid);
				free(key);
				goto bad;
			}
			jp_ws(p);
			if (p->i < p->n && p->s[p->i] == ',') {
				p->i++;
				continue;
			}
			if (p->i < p->n && p->s[p->i] == close) {
				p->i++;
				break;
			}
			goto bad;
		}
	} else if (c == '"') {
		j->kind = J_STRING;
		if (!jp_string(p, &j->text, &j->len))
			goto bad;
	} else if (p->n - p->i >= 4 && !memcmp(p->s + p->i, "null", 4)) {
		j->kind = J_NULL;
		p->i += 4;
	} else if (p->n - p->i >= 4 && !memcmp(p->s + p->i, "true", 4)) {
		j->kind = J_TRUE;
		p->i += 4;
	} else if (p->n - p->i >= 5 && !memcmp(p->s + p->i, "false", 5)) {
		j->kind = J_FALSE;
		p->i += 5;
	} else {
		size_t start = p->i;
		j->kind = J_NUMBER;
		if (!jp_number(p))
			goto bad;
		j->len = p->i - start;
		j->text = strndup(p->s + start, j->len);
		if (!j->text)
			goto bad;
	}
done:
	p->depth--;
	return j;
bad:
	jnode_free(j);
	return NULL;
}

static struct jnode *jparse(const char *s, size_t n)
{
	struct jparser p = { s, n, 0, 0 };
	struct jnode *j = jp_value(&p);
	if (!j)
		return NULL;
	jp_ws(&p);
	if (p.i != n) {
		jnode_free(j);
		return NULL;
	}
	return j;
}

/* Bytewise order of object keys (Go string comparison). */
static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* jsonb re-rendered in CockroachDB's style: sorted keys (last duplicate
 * wins, as Go's map does), ": " / ", ", apd numbers. */
static void put_jnode(struct sbuf *sb, const struct jnode *j)
{
	switch (j->kind) {
	case J_NULL: sb_puts(sb, "null"); break;
	case J_TRUE: sb_puts(sb, "true"); break;
	case J_FALSE: sb_puts(sb, "false"); break;
	case J_NUMBER:
		if (!put_decimal_text(sb, j->text, j->len))
			sb_putn(sb, j->text, j->len);
		break;
	case J_STRING: put_json_string(sb, j->text, j->len); break;
	case J_ARRAY:
		sb_putc(sb, '[');
		for (size_t i = 0; i < j->n; i++) {
			if (i)
				sb_puts(sb, ", ");
			put_jnode(sb, j->kids[i]);
		}
		sb_putc(sb, ']');
		break;
	case J_OBJECT: {
		/* selection order: few keys, and no allocation needed */
		const char *prev = NULL;
		size_t prevlen = 0;
		bool first = true;
		for (;;) {
			size_t best = j->n;
			for (size_t i = 0; i < j->n; i++) {
				if (prev && keycmp(j->keys[i], j->keylens[i], prev, prevlen) <= 0)
					continue;
				/* smallest key; on ties the later duplicate wins */
				if (best == j->n ||
				    keycmp(j->keys[i], j->keylens[i], j->keys[best],
					   j->keylens[best]) <= 0)
					best = i;
			}
			if (best == j->n)
				break;
			sb_puts(sb, first ? "{" : ", ");
			first = false;
			put_json_string(sb, j->keys[best], j->keylens[best]);
			sb_puts(sb, ": ");
			put_jnode(sb, j->kids[best]);
			prev = j->keys[best];
			prevlen = j->keylens[best];
		}
		sb_puts(sb, first ? "{}" : "}");
		break;
	}
	}
}

/* ---- jansson tree from wal2json text ------------------------------------ */

static json_t *jnode_to_jansson(const struct jnode *j)
{
	json_t *v = NULL;

	switch (j->kind) {
	case J_NULL: return json_null();
	case J_TRUE: return json_true();
	case J_FALSE: return json_false();
	case J_STRING: return json_stringn(j->text, j->len);
	case J_NUMBER: {
		/* integers that fit stay integers; anything else keeps its
		 * exact text as a string (see the top of this file) */
		char *end;
		errno = 0;
		long long ll = strtoll(j->text, &end, 10);
		if (!errno && *end == '\0')
			return json_integer((json_int_t)ll);
		return json_stringn(j->text, j->len);
	}
	case J_ARRAY:
		v = json_array();
		for (size_t i = 0; v && i < j->n; i++) {
			json_t *kid = jnode_to_jansson(j->kids[i]);
			if (!kid || json_array_append_new(v, kid)) {
				json_decref(v);
				return NULL;
			}
		}
		return v;
	case J_OBJECT:
		v = json_object();
		for (size_t i = 0; v && i < j->n; i++) {
			json_t *kid = jnode_to_jansson(j->kids[i]);
			if (!kid || json_object_setn_new(v, j->keys[i], j->keylens[i], kid)) {
				json_decref(v);
				return NULL;
			}
		}
		return v;
	}
	return NULL;
}

json_t *sim_wal2json_loads(const char *text, size_t len)
{
	struct jnode *j = jparse(text, len);
	if (!j)
		return NULL;
	json_t *v = jnode_to_jansson(j);
	jnode_free(j);
	return v;
}

/* ---- per-type rendering -------------------------------------------------- */

enum coltype {
	T_TEXT, T_BOOL, T_INT, T_FLOAT4, T_FLOAT8, T_NUMERIC, T_BYTEA, T_TIMESTAMP,
	T_TIMESTAMPTZ, T_JSONB,
};

/* The base type of a wal2json type name: "numeric(10,2)" -> numeric,
 * "character varying(10)" -> text. Unknown names (enums, uuid, inet, date,
 * time, interval, bit, ...) render as strings of their text form. */
static enum coltype classify(const char *name, size_t n)
{
	static const struct { const char *name; enum coltype t; } map[] = {
		{ "boolean", T_BOOL }, { "bool", T_BOOL },
		{ "smallint", T_INT }, { "integer", T_INT }, { "bigint", T_INT },
		{ "int2", T_INT }, { "int4", T_INT }, { "int8", T_INT },
		{ "real", T_FLOAT4 }, { "float4", T_FLOAT4 },
		{ "double precision", T_FLOAT8 }, { "float8", T_FLOAT8 },
		{ "numeric", T_NUMERIC }, { "decimal", T_NUMERIC },
		{ "bytea", T_BYTEA },
		{ "timestamp without time zone", T_TIMESTAMP },
		{ "timestamp", T_TIMESTAMP },
		{ "timestamp with time zone", T_TIMESTAMPTZ },
		{ "timestamptz", T_TIMESTAMPTZ },
		{ "jsonb", T_JSONB }, { "json", T_JSONB },
	};
	char base[128];
	size_t bl = 0;
	/* drop a "(...)" modifier wherever it is ("timestamp(3) with time zone") */
	for (size_t i = 0; i < n && bl < sizeof base - 1; i++) {
		if (name[i] == '(') {
			while (i < n && name[i] != ')')
				i++;
			continue;
		}
		base[bl++] = name[i];
	}
	while (bl && base[bl - 1] == ' ')
		bl--;
	base[bl] = '\0';
	/* "timestamp with time zone" comes with the modifier in the middle */
	char *dbl = strstr(base, "  ");
	if (dbl)
		memmove(dbl, dbl + 1, strlen(dbl));
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(base, map[i].name) == 0)
			return map[i].t;
	return T_TEXT;
}

/* Days from 0000-03-01 based civil date (proleptic Gregorian, astronomical
 * years): Howard Hinnant's days_from_civil. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long yy = (long long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

struct pgts {
	long long year;       /* astronomical */
	unsigned mon, day, hour, min, sec;
	char frac[16];        /* digits after the point, no trailing zeros */
	bool has_zone;
	long zone_sec;        /* offset east of UTC */
};

/* PostgreSQL ISO output: "YYYY-MM-DD HH:MM:SS[.f][+-HH[:MM[:SS]]][ BC]". */
static bool parse_pgts(const char *s, size_t n, struct pgts *t)
{
	char buf[80];
	if (n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(t, 0, sizeof *t);
	bool bc = n > 3 && strcmp(buf + n - 3, " BC") == 0;
	if (bc)
		buf[n - 3] = '\0';
	char *p = buf, *end;
	t->year = strtoll(p, &end, 10);
	if (end == p || *end != '-')
		return false;
	p = end + 1;
	if (sscanf(p, "%2u-%2u %2u:%2u:%2u", &t->mon, &t->day, &t->hour,
		   &t->min, &t->sec) != 5)
		return false;
	p += 14;
	if (*p == '.') {
		size_t k = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (k < sizeof t->frac - 1)
				t->frac[k++] = *p;
		while (k && t->frac[k - 1] == '0')
			k--;
		t->frac[k] = '\0';
	}
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		unsigned hh = 0, mm = 0, ss = 0;
		int got = sscanf(p + 1, "%2u:%2u:%2u", &hh, &mm, &ss);
		if (got < 1)
			return false;
		t->has_zone = true;
		t->zone_sec = sign * (long)(hh * 3600 + mm * 60 + ss);
		p += 1 + (got >= 1 ? 2 : 0) + (got >= 2 ? 3 : 0) + (got >= 3 ? 3 : 0);
	}
	if (*p)
		return false;
	if (bc)
		t->year = 1 - t->year;
	return true;
}

/* Go's year formatting for "2006": at least 4 digits, '-' for negative. */
static void put_go_date_time(struct sbuf *sb, const struct pgts *t)
{
	char b[96];
	long long y = t->year;
	snprintf(b, sizeof b, "%s%04lld-%02u-%02uT%02u:%02u:%02u%s%s",
		 y < 0 ? "-" : "", y < 0 ? -y : y, t->mon, t->day, t->hour,
		 t->min, t->sec, t->frac[0] ? "." : "", t->frac);
	sb_puts(sb, b);
}

static void put_timestamp(struct sbuf *sb, const char *s, size_t n, bool tz)
{
	struct pgts t;
	if (!parse_pgts(s, n, &t) || t.has_zone != tz) {
		put_json_string(sb, s, n); /* infinity and the like */
		return;
	}
	if (tz && t.zone_sec) {
		long long days = days_from_civil(t.year, t.mon, t.day);
		long long secs = days * 86400 + t.hour * 3600 + t.min * 60 + t.sec -
				 t.zone_sec;
		long long d = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
		long long rem = secs - d * 86400;
		civil_from_days(d, &t.year, &t.mon, &t.day);
		t.hour = (unsigned)(rem / 3600);
		t.min = (unsigned)(rem / 60 % 60);
		t.sec = (unsigned)(rem % 60);
	}
	sb_putc(sb, '"');
	put_go_date_time(sb, &t);
	if (tz)
		sb_putc(sb, 'Z');
	sb_putc(sb, '"');
}

static void put_bytea(struct sbuf *sb, const char *s, size_t n)
{
	/* wal2json drops the \x of bytea's hex output; array elements keep it */
	struct sbuf tmp = { 0 };
	if (!(n >= 2 && s[0] == '\\' && s[1] == 'x'))
		sb_puts(&tmp, "\\x");
	sb_putn(&tmp, s, n);
	if (tmp.oom) {
		sb->oom = true;
	} else {
		put_json_string(sb, tmp.p ? tmp.p : "", tmp.len);
	}
	free(tmp.p);
}

static int put_array(struct sbuf *sb, enum coltype elem, const char *s, size_t n);

/* One value given as PostgreSQL text. */
static int put_text_value(struct sbuf *sb, enum coltype t, const char *s, size_t n)
{
	switch (t) {
	case T_BOOL:
		sb_puts(sb, n && (s[0] == 't' || s[0] == 'T') ? "true" : "false");
		return 0;
	case T_INT:
	case T_NUMERIC:
		if (!put_decimal_text(sb, s, n))
			return -1;
		return 0;
	case T_FLOAT4:
	case T_FLOAT8: {
		char buf[64];
		if (put_nonfinite(sb, s, n))
			return 0;
		if (n >= sizeof buf)
			return -1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		char *end;
		double d = t == T_FLOAT4 ? (double)strtof(buf, &end) : strtod(buf, &end);
		if (end == buf || *end)
			return -1;
		put_float(sb, d);
		return 0;
	}
	case T_BYTEA:
		put_bytea(sb, s, n);
		return 0;
	case T_TIMESTAMP:
	case T_TIMESTAMPTZ:
		put_timestamp(sb, s, n, t == T_TIMESTAMPTZ);
		return 0;
	case T_JSONB: {
		struct jnode *j = jparse(s, n);
		if (!j)
			return -1;
		put_jnode(sb, j);
		jnode_free(j);
		return 0;
	}
	case T_TEXT:
		put_json_string(sb, s, n);
		return 0;
	}
	return -1;
}

/* A PostgreSQL array literal ({1,NULL,"a b"}) as a JSON array. */
static int put_array(struct sbuf *sb, enum coltype elem, const char *s, size_t n)
{
	size_t i = 0;
	struct sbuf item = { 0 };
	int rc = -1;

	/* optional dimension decoration "[1:2]={...}" */
	if (n && s[0] == '[') {
		const char *eq = memchr(s, '=', n);
		if (!eq)
			return -1;
		i = (size_t)(eq - s) + 1;
	}
	if (i >= n || s[i] != '{')
		return -1;
	i++;
	sb_putc(sb, '[');
	bool first = true;
	while (i < n && s[i] != '}') {
		if (!first)
			sb_puts(sb, ", ");
		first = false;
		if (s[i] == '{') {
			/* nested array: find the matching brace */
			size_t start = i, depth = 0;
			bool inq = false;
			for (; i < n; i++) {
				if (inq) {
					if (s[i] == '\\')
						i++;
					else if (s[i] == '"')
						inq = false;
				} else if (s[i] == '"') {
					inq = true;
				} else if (s[i] == '{') {
					depth++;
				} else if (s[i] == '}' && --depth == 0) {
					i++;
					break;
				}
			}
			if (put_array(sb, elem, s + start, i - start) < 0)
				goto out;
		} else if (s[i] == '"') {
			item.len = 0;
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				sb_putc(&item, s[i]);
			}
			if (i >= n)
				goto out;
			i++;
			if (put_text_value(sb, elem, item.p ? item.p : "", item.len) < 0)
				goto out;
		} else {
			size_t start = i;
			while (i < n && s[i] != ',' && s[i] != '}')
				i++;
			if (i - start == 4 && strncasecmp(s + start, "NULL", 4) == 0)
				sb_puts(sb, "null");
			else if (put_text_value(sb, elem, s + start, i - start) < 0)
				goto out;
		}
		if (i < n && s[i] == ',')
			i++;
	}
	if (i >= n)
		goto out;
	sb_putc(sb, ']');
	rc = item.oom ? -1 : 0;
out:
	free(item.p);
	return rc;
}

/* One column value as wal2json gave it. */
static int put_column(struct sbuf *sb, const char *type, const json_t *value)
{
	size_t tl = strlen(type);
	bool is_array = tl > 2 && strcmp(type + tl - 2, "[]") == 0;
	enum coltype t;

	if (is_array)
		t = classify(type, tl - 2);
	else if (type[0] == '_')  /* raw array type names (_int4) */
		t = classify(type + 1, tl - 1), is_array = true;
	else
		t = classify(type, tl);

	if (!value || json_is_null(value)) {
		sb_puts(sb, "null");
		return 0;
	}
	if (is_array) {
		if (!json_is_string(value))
			return -1;
		return put_array(sb, t, json_string_value(value),
				 json_string_length(value));
	}
	if (json_is_true(value) || json_is_false(value)) {
		sb_puts(sb, json_is_true(value) ? "true" : "false");
		return 0;
	}
	if (json_is_integer(value)) {
		char buf[32];
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(value));
		if (t == T_TEXT || t == T_BYTEA || t == T_TIMESTAMP ||
		    t == T_TIMESTAMPTZ) /* oid and friends: a string (§5) */
			put_json_string(sb, buf, strlen(buf));
		else if (t == T_FLOAT4 || t == T_FLOAT8) /* 100 -> 1E+2 */
			put_float(sb, (double)json_integer_value(value));
		else
			sb_puts(sb, buf);
		return 0;
	}
	if (json_is_real(value)) {
		put_float(sb, json_real_value(value));
		return 0;
	}
	if (json_is_string(value))
		return put_text_value(sb, t, json_string_value(value),
				      json_string_length(value));
	return -1;
}

/* ---- rows, keys, envelopes ---------------------------------------------- */

static const char *col_name(const json_t *col)
{
	const json_t *n = json_is_string(col) ? col : json_object_get(col, "name");
	return json_is_string(n) ? json_string_value(n) : NULL;
}

static const json_t *find_column(const json_t *cols, const char *name)
{
	size_t i;
	const json_t *c;
	if (!json_is_array(cols))
		return NULL;
	json_array_foreach(cols, i, c) {
		const char *cn = col_name(c);
		if (cn && strcmp(cn, name) == 0)
			return c;
	}
	return NULL;
}

static int col_render(struct sbuf *sb, const json_t *col, char *errbuf, size_t errlen)
{
	const json_t *type = json_object_get(col, "type");
	const char *ts = json_is_string(type) ? json_string_value(type) : "text";
	if (put_column(sb, ts, json_object_get(col, "value")) < 0) {
		snprintf(errbuf, errlen, "cannot render column %s of type %s",
			 col_name(col) ? col_name(col) : "?", ts);
		return -1;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = col_name(*(const json_t *const *)a);
	const char *y = col_name(*(const json_t *const *)b);
	return keycmp(x, strlen(x), y, strlen(y));
}

/*
 * The row object: columns sorted bytewise; meta (already rendered, without
 * braces) is added under "__crdb__" when given.
 */
static int put_row(struct sbuf *sb, const json_t *cols, const char *meta,
		   char *errbuf, size_t errlen)
{
	size_t n = json_array_size(cols), k = 0;
	const json_t **sorted = calloc(n ? n : 1, sizeof *sorted);
	int rc = -1;

	if (!sorted) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(cols, i);
		if (!col_name(c)) {
			snprintf(errbuf, errlen, "column without a name");
			goto out;
		}
		sorted[k++] = c;
	}
	qsort(sorted, k, sizeof *sorted, cmp_names);
	sb_putc(sb, '{');
	bool first = true;
	bool meta_done = meta == NULL;
	for (size_t i = 0; i <= k; i++) {
		const char *name = i < k ? col_name(sorted[i]) : NULL;
		if (!meta_done && (!name || strcmp("__crdb__", name) < 0)) {
			sb_puts(sb, first ? "\"__crdb__\": {" : ", \"__crdb__\": {");
			sb_puts(sb, meta);
			sb_putc(sb, '}');
			first = false;
			meta_done = true;
		}
		if (!name)
			break;
		if (!first)
			sb_puts(sb, ", ");
		first = false;
		put_json_string(sb, name, strlen(name));
		sb_puts(sb, ": ");
		if (col_render(sb, sorted[i], errbuf, errlen) < 0)
			goto out;
	}
	sb_putc(sb, '}');
	rc = 0;
out:
	free(sorted);
	return rc;
}

/* The key: [v1, v2] in pk order, or {"pk": v} for enriched (§12). */
static int put_key(struct sbuf *sb, const json_t *pk_names, const json_t *row,
		   bool as_object, char *errbuf, size_t errlen)
{
	size_t i;
	const json_t *pk;

	if (!json_is_array(pk_names) || json_array_size(pk_names) == 0) {
		snprintf(errbuf, errlen, "no primary key columns");
		return -1;
	}
	sb_putc(sb, as_object ? '{' : '[');
	/* pk names in key order; for the object form they must be sorted, but
	 * render order = sorted order only matters there */
	size_t n = json_array_size(pk_names);
	const json_t **order = calloc(n, sizeof *order);
	if (!order) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(pk_names, i, pk) {
		if (!col_name(pk)) {
			free(order);
			snprintf(errbuf, errlen, "bad primary key name");
			return -1;
		}
		order[i] = pk;
	}
	if (as_object)
		qsort(order, n, sizeof *order, cmp_names);
	for (i = 0; i < n; i++) {
		const char *name = col_name(order[i]);
		const json_t *c = find_column(row, name);
		if (!c) {
			free(order);
			snprintf(errbuf, errlen, "primary key column %s missing", name);
			return -1;
		}
		if (i)
			sb_puts(sb, ", ");
		if (as_object) {
			put_json_string(sb, name, strlen(name));
			sb_puts(sb, ": ");
		}
		if (col_render(sb, c, errbuf, errlen) < 0) {
			free(order);
			return -1;
		}
	}
	free(order);
	sb_putc(sb, as_object ? '}' : ']');
	return 0;
}

size_t sim_hlc_format(struct sim_hlc ts, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "%lld.%010d", (long long)ts.wall,
			 (int)ts.logical);
	if (n < 0)
		return 0;
	return (size_t)n < buflen ? (size_t)n : (buflen ? buflen - 1 : 0);
}

size_t sim_render_resolved(enum sim_envelope envelope, struct sim_hlc ts,
			   char *buf, size_t buflen)
{
	char hlc[48];
	sim_hlc_format(ts, hlc, sizeof hlc);
	int n;
	if (envelope == SIM_ENV_WRAPPED || envelope == SIM_ENV_ENRICHED)
		n = snprintf(buf, buflen, "{\"resolved\":\"%s\"}", hlc);
	else
		n = snprintf(buf, buflen, "{\"__crdb__\":{\"resolved\":\"%s\"}}", hlc);
	if (n < 0)
		return 0;
	return (size_t)n < buflen ? (size_t)n : (buflen ? buflen - 1 : 0);
}

static void put_hlc_string(struct sbuf *sb, struct sim_hlc ts)
{
	char hlc[48];
	sb_putc(sb, '"');
	sim_hlc_format(ts, hlc, sizeof hlc);
	sb_puts(sb, hlc);
	sb_putc(sb, '"');
}

/* Finish *out from a buffer: malloc'd bytes (an empty value is a 1-byte
 * allocation holding NUL, length 0). */
static int take(struct sbuf *sb, char **out, size_t *len, char *errbuf, size_t errlen)
{
	if (sb->oom) {
		free(sb->p);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (!sb->p) {
		sb->p = malloc(1);
		if (!sb->p) {
			snprintf(errbuf, errlen, "out of memory");
			return -1;
		}
		sb->p[0] = '\0';
	}
	*out = sb->p;
	*len = sb->len;
	return 0;
}

int sim_render_event(const struct sim_render_opts *opts,
		     const json_t *pk_names, const json_t *after,
		     const json_t *before, struct sim_hlc updated,
		     const char *topic,
		     char **key, size_t *key_len,
		     char **value, size_t *value_len,
		     char *errbuf, size_t errlen)
{
	struct sbuf k = { 0 }, v = { 0 }, key_in = { 0 }, meta = { 0 };
	const json_t *keyrow = after ? after : before;
	bool enriched = opts->envelope == SIM_ENV_ENRICHED;
	int rc = -1;

	*key = *value = NULL;
	*key_len = *value_len = 0;
	if (!keyrow) {
		snprintf(errbuf, errlen, "an event needs a row (after or before)");
		return -1;
	}
	if (put_key(&k, pk_names, keyrow, enriched, errbuf, errlen) < 0)
		goto out;
	if (opts->key_in_value && put_key(&key_in, pk_names, keyrow, false,
					  errbuf, errlen) < 0)
		goto out;

	switch (opts->envelope) {
	case SIM_ENV_KEY_ONLY:
		break;
	case SIM_ENV_WRAPPED:
		/* after < before < key < mvcc_timestamp < topic < updated */
		sb_puts(&v, "{\"after\": ");
		if (after) {
			if (put_row(&v, after, NULL, errbuf, errlen) < 0)
				goto out;
		} else {
			sb_puts(&v, "null");
		}
		if (opts->diff) {
			sb_puts(&v, ", \"before\": ");
			if (before) {
				if (put_row(&v, before, NULL, errbuf, errlen) < 0)
					goto out;
			} else {
				sb_puts(&v, "null");
			}
		}
		if (opts->key_in_value) {
			sb_puts(&v, ", \"key\": ");
			sb_putn(&v, key_in.p, key_in.len);
		}
		if (opts->mvcc_timestamp) {
			sb_puts(&v, ", \"mvcc_timestamp\": ");
			put_hlc_string(&v, updated);
		}
		if (opts->topic_in_value) {
			sb_puts(&v, ", \"topic\": ");
			put_json_string(&v, topic ? topic : "", topic ? strlen(topic) : 0);
		}
		if (opts->updated) {
			sb_puts(&v, ", \"updated\": ");
			put_hlc_string(&v, updated);
		}
		sb_putc(&v, '}');
		break;
	case SIM_ENV_ROW:
	case SIM_ENV_BARE: {
		/* metadata under __crdb__: key < mvcc_timestamp < topic < updated */
		const char *sep = "";
		if (opts->key_in_value) {
			sb_puts(&meta, "\"key\": ");
			sb_putn(&meta, key_in.p, key_in.len);
			sep = ", ";
		}
		if (opts->mvcc_timestamp) {
			sb_puts(&meta, sep);
			sb_puts(&meta, "\"mvcc_timestamp\": ");
			put_hlc_string(&meta, updated);
			sep = ", ";
		}
		if (opts->topic_in_value) {
			sb_puts(&meta, sep);
			sb_puts(&meta, "\"topic\": ");
			put_json_string(&meta, topic ? topic : "", topic ? strlen(topic) : 0);
			sep = ", ";
		}
		if (opts->updated) {
			sb_puts(&meta, sep);
			sb_puts(&meta, "\"updated\": ");
			put_hlc_string(&meta, updated);
		}
		if (meta.oom)
			goto oom;
		if (!after) {
			if (opts->envelope == SIM_ENV_ROW)
				break; /* empty value */
			if (meta.p) {
				sb_puts(&v, "{\"__crdb__\": {");
				sb_puts(&v, meta.p);
				sb_puts(&v, "}}");
			} else {
				sb_puts(&v, "null");
			}
			break;
		}
		if (put_row(&v, after, meta.p, errbuf, errlen) < 0)
			goto out;
		break;
	}
	case SIM_ENV_ENRICHED: {
		struct timespec now;
		char buf[64];
		clock_gettime(CLOCK_REALTIME, &now);
		sb_puts(&v, "{\"after\": ");
		if (after) {
			if (put_row(&v, after, NULL, errbuf, errlen) < 0)
				goto out;
		} else {
			sb_puts(&v, "null");
		}
		if (opts->key_in_value) {
			sb_puts(&v, ", \"key\": ");
			sb_putn(&v, key_in.p, key_in.len);
		}
		snprintf(buf, sizeof buf, ", \"op\": \"%s\", \"ts_ns\": %lld}",
			 !after ? "d" : before ? "u" : "c",
			 (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
		sb_puts(&v, buf);
		break;
	}
	}
	if (k.oom || v.oom || key_in.oom)
		goto oom;
	if (take(&k, key, key_len, errbuf, errlen) < 0) {
		k.p = NULL;
		goto out;
	}
	k.p = NULL;
	if (take(&v, value, value_len, errbuf, errlen) < 0) {
		v.p = NULL;
		free(*key);
		*key = NULL;
		*key_len = 0;
		goto out;
	}
	v.p = NULL;
	rc = 0;
	goto out;
oom:
	snprintf(errbuf, errlen, "out of memory");
out:
	free(k.p);
	free(v.p);
	free(key_in.p);
	free(meta.p);
	return rc;
}

/* ---- statements (simstmt.h): made by parse.c, run by the engine ---- */

void sim_stmt_free(struct simfeed_stmt *stmt)
{
	if (!stmt)
		return;
	for (size_t i = 0; stmt->targets && i < stmt->ntargets; i++) {
		free(stmt->targets[i].schema);
		free(stmt->targets[i].table);
		free(stmt->targets[i].family);
		free(stmt->targets[i].display);
	}
	free(stmt->targets);
	free(stmt->query);
	free(stmt->query_where);
	for (size_t i = 0; stmt->query_columns && i < stmt->nquery_columns; i++)
		free(stmt->query_columns[i]);
	free(stmt->query_columns);
	free(stmt);
}
