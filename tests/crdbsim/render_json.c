/*
 * render_json.c: crdbsim's own JSON reader for wal2json text, keeping
 * every number's exact digits (jansson would turn 22.30 into a double)
 * and accepting any depth, and the jansson tree built from it
 * (sim_wal2json_loads): non-integer numbers and integers outside int64
 * become strings holding the digits (see render.c's Numbers).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render_int.h"

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

void render_jnode_free(struct jnode *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		render_jnode_free(j->kids[i]);
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
				render_jnode_free(kid);
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
	render_jnode_free(j);
	return NULL;
}

struct jnode *render_jparse(const char *s, size_t n)
{
	struct jparser p = { s, n, 0, 0 };
	struct jnode *j = jp_value(&p);
	if (!j)
		return NULL;
	jp_ws(&p);
	if (p.i != n) {
		render_jnode_free(j);
		return NULL;
	}
	return j;
}

/* Bytewise order of object keys (Go string comparison). */
int render_keycmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* jsonb re-rendered in CockroachDB's style: sorted keys (last duplicate
 * wins, as Go's map does), ": " / ", ", apd numbers. */
void render_put_jnode(struct sbuf *sb, const struct jnode *j)
{
	switch (j->kind) {
	case J_NULL: sb_puts(sb, "null"); break;
	case J_TRUE: sb_puts(sb, "true"); break;
	case J_FALSE: sb_puts(sb, "false"); break;
	case J_NUMBER:
		if (!render_put_decimal_text(sb, j->text, j->len))
			sb_putn(sb, j->text, j->len);
		break;
	case J_STRING: render_put_json_string(sb, j->text, j->len); break;
	case J_ARRAY:
		sb_putc(sb, '[');
		for (size_t i = 0; i < j->n; i++) {
			if (i)
				sb_puts(sb, ", ");
			render_put_jnode(sb, j->kids[i]);
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
				if (prev && render_keycmp(j->keys[i], j->keylens[i], prev, prevlen) <= 0)
					continue;
				/* smallest key; on ties the later duplicate wins */
				if (best == j->n ||
				    render_keycmp(j->keys[i], j->keylens[i], j->keys[best],
					   j->keylens[best]) <= 0)
					best = i;
			}
			if (best == j->n)
				break;
			sb_puts(sb, first ? "{" : ", ");
			first = false;
			render_put_json_string(sb, j->keys[best], j->keylens[best]);
			sb_puts(sb, ": ");
			render_put_jnode(sb, j->kids[best]);
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
	struct jnode *j = render_jparse(text, len);
	if (!j)
		return NULL;
	json_t *v = jnode_to_jansson(j);
	render_jnode_free(j);
	return v;
}
