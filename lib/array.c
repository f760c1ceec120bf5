/*
 * array.c: arrays of any registered element type, in text
 * ({1,NULL,"a,b",{nested}}) and binary (ndim, hasnull, elemtype, dims,
 * elements) format, to nested JSON arrays; at most ARRAY_MAX_DIMS levels.
 */
#include "config.h"

#include "crdb_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
/* ---- Arrays in text: {1,NULL,"a,b",{nested}} ---- */

struct array_parser {
	const crdb_types *types;
	const struct crdb__type_entry *elem;
	const char *s;
	size_t len, pos;
	char delim;
	char *scratch; /* room for any one element, unescaped */
	crdb_error *err;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static void skip_space(struct array_parser *ap)
{
	while (ap->pos < ap->len && is_space(ap->s[ap->pos]))
		ap->pos++;
}

static json_t *array_proto(struct array_parser *ap, const char *what)
{
	crdb__fail(ap->err, CRDB_EPROTO,
		   "malformed %s value: %s at byte %zu", ap->elem->array.name,
		   what, ap->pos);
	return NULL;
}

static json_t *parse_array_level(struct array_parser *ap, int depth)
{
	json_t *arr;

	if (depth > ARRAY_MAX_DIMS)
		return array_proto(ap, "more than 6 dimensions");
	if (depth > 1 && !ap->types->nested_arrays) {
		crdb__fail(ap->err, CRDB_EUNSUPPORTED,
			   "type \"%s\" with several dimensions is not "
			   "supported by %s (nested arrays, issue #32552)",
			   ap->elem->array.name, ap->types->vendor);
		return NULL;
	}
	if (ap->pos >= ap->len || ap->s[ap->pos] != '{')
		return array_proto(ap, "expected '{'");
	ap->pos++;
	arr = json_array();
	if (!arr)
		return crdb__oom(ap->err);
	skip_space(ap);
	if (ap->pos < ap->len && ap->s[ap->pos] == '}') {
		ap->pos++;
		return arr;
	}
	for (;;) {
		json_t *item;

		skip_space(ap);
		if (ap->pos >= ap->len) {
			json_decref(arr);
			return array_proto(ap, "unterminated array");
		}
		if (ap->s[ap->pos] == '{') {
			item = parse_array_level(ap, depth + 1);
		} else {
			size_t n = 0, last_kept = 0;
			bool quoted = false, escaped = false;

			if (ap->s[ap->pos] == '"') {
				quoted = true;
				ap->pos++;
			}
			for (;;) {
				char c;
				if (ap->pos >= ap->len) {
					json_decref(arr);
					return array_proto(ap,
						"unterminated element");
				}
				c = ap->s[ap->pos];
				if (c == '\\') {
					if (++ap->pos >= ap->len)
						continue;
					ap->scratch[n++] = ap->s[ap->pos++];
					last_kept = n;
					escaped = true;
					continue;
				}
				if (quoted && c == '"') {
					ap->pos++;
					break;
				}
				if (!quoted && (c == ap->delim || c == '}'))
					break;
				if (!quoted && (c == '{' || c == '"')) {
					json_decref(arr);
					return array_proto(ap,
						"unexpected character");
				}
				ap->scratch[n++] = c;
				ap->pos++;
				if (quoted || !is_space(c))
					last_kept = n;
			}
			if (!quoted)
				n = last_kept; /* trailing blanks are not data */
			if (!quoted && n == 0) {
				json_decref(arr);
				return array_proto(ap, "empty element");
			}
			if (!quoted && !escaped && n == 4 &&
			    strncasecmp(ap->scratch, "NULL", 4) == 0)
				item = json_null();
			else
				item = crdb__convert(ap->types, ap->elem, false,
					       ap->scratch, n, 0, ap->err);
		}
		if (!item || json_array_append_new(arr, item) < 0) {
			json_decref(arr);
			return item ? crdb__oom(ap->err) : NULL;
		}
		skip_space(ap);
		if (ap->pos < ap->len && ap->s[ap->pos] == ap->delim) {
			ap->pos++;
			continue;
		}
		if (ap->pos < ap->len && ap->s[ap->pos] == '}') {
			ap->pos++;
			return arr;
		}
		json_decref(arr);
		return array_proto(ap, "expected ',' or '}'");
	}
}

json_t *crdb__array_from_text(const crdb_types *types,
			       const struct crdb__type_entry *e, const char *s,
			       size_t len, crdb_error *err)
{
	struct array_parser ap = {
		.types = types, .elem = e, .s = s, .len = len,
		.delim = e->elem.oid == 603 ? ';' : ',', .err = err,
	};
	json_t *arr;

	/* Optional dimension decoration "[1:2]={...}". */
	if (len && s[0] == '[') {
		const char *eq = memchr(s, '=', len);
		if (!eq)
			return array_proto(&ap, "bad dimension decoration");
		ap.pos = (size_t)(eq - s) + 1;
	}
	ap.scratch = crdb__malloc(len + 1);
	if (!ap.scratch)
		return crdb__oom(err);
	arr = parse_array_level(&ap, 1);
	if (arr) {
		skip_space(&ap);
		if (ap.pos != len) {
			json_decref(arr);
			arr = array_proto(&ap, "trailing bytes");
		}
	}
	crdb__free(ap.scratch);
	return arr;
}

/* ---- Arrays in binary: ndim, hasnull, elemtype, dims, elements ---- */

struct bin_array {
	const crdb_types *types;
	const struct crdb__type_entry *elem;
	const unsigned char *p;
	size_t len, pos;
	int32_t dims[ARRAY_MAX_DIMS];
	int ndim;
	crdb_error *err;
};

static json_t *bin_array_proto(struct bin_array *ba, const char *what)
{
	crdb__fail(ba->err, CRDB_EPROTO, "malformed binary %s value: %s",
		   ba->elem->array.name, what);
	return NULL;
}

static json_t *bin_array_level(struct bin_array *ba, int dim)
{
	json_t *arr = json_array();

	if (!arr)
		return crdb__oom(ba->err);
	for (int32_t i = 0; i < ba->dims[dim]; i++) {
		json_t *item;

		if (dim + 1 < ba->ndim) {
			item = bin_array_level(ba, dim + 1);
		} else {
			int32_t n;
			if (ba->len - ba->pos < 4) {
				json_decref(arr);
				return bin_array_proto(ba, "truncated");
			}
			n = (int32_t)crdb__rd32(ba->p + ba->pos);
			ba->pos += 4;
			if (n == -1) {
				item = json_null();
			} else if (n < 0 || (size_t)n > ba->len - ba->pos) {
				json_decref(arr);
				return bin_array_proto(ba, "bad element length");
			} else {
				item = crdb__convert(ba->types, ba->elem, false,
					       (const char *)ba->p + ba->pos,
					       (size_t)n, 1, ba->err);
				ba->pos += (size_t)n;
			}
		}
		if (!item || json_array_append_new(arr, item) < 0) {
			json_decref(arr);
			return item ? crdb__oom(ba->err) : NULL;
		}
	}
	return arr;
}

json_t *crdb__array_from_binary(const crdb_types *types,
				 const struct crdb__type_entry *e,
				 const unsigned char *p, size_t len,
				 crdb_error *err)
{
	struct bin_array ba = {
		.types = types, .elem = e, .p = p, .len = len, .err = err,
	};
	int32_t ndim, hasnull;
	uint32_t elemtype;
	uint64_t total = 1;
	json_t *arr;

	if (len < 12)
		return bin_array_proto(&ba, "shorter than its header");
	ndim = (int32_t)crdb__rd32(p);
	hasnull = (int32_t)crdb__rd32(p + 4);
	elemtype = crdb__rd32(p + 8);
	if (ndim < 0 || ndim > ARRAY_MAX_DIMS)
		return bin_array_proto(&ba, "bad number of dimensions");
	if (hasnull != 0 && hasnull != 1)
		return bin_array_proto(&ba, "bad null flag");
	if (elemtype != e->elem.oid) {
		crdb__fail(err, CRDB_EPROTO,
			   "malformed binary %s value: element type OID %"
			   PRIu32 ", expected %" PRIu32, e->array.name,
			   elemtype, e->elem.oid);
		return NULL;
	}
	if (ndim > 1 && !types->nested_arrays) {
		crdb__fail(err, CRDB_EUNSUPPORTED,
			   "type \"%s\" with %d dimensions is not supported "
			   "by %s (nested arrays, issue #32552)",
			   e->array.name, (int)ndim, types->vendor);
		return NULL;
	}
	ba.pos = 12;
	ba.ndim = ndim;
	if (len - ba.pos < 8 * (size_t)ndim)
		return bin_array_proto(&ba, "truncated dimensions");
	for (int i = 0; i < ndim; i++) {
		ba.dims[i] = (int32_t)crdb__rd32(p + ba.pos);
		ba.pos += 8; /* the lower bound does not matter in JSON */
		/* PostgreSQL writes empty arrays with ndim 0. */
		if (ba.dims[i] <= 0)
			return bin_array_proto(&ba, "bad dimension size");
		total *= (uint64_t)ba.dims[i];
		if (total > len) /* each element takes at least 4 bytes */
			return bin_array_proto(&ba, "too many elements");
	}
	if (ndim == 0) {
		if (len != 12)
			return bin_array_proto(&ba, "trailing bytes");
		arr = json_array();
		return arr ? arr : crdb__oom(err);
	}
	arr = bin_array_level(&ba, 0);
	if (arr && ba.pos != len) {
		json_decref(arr);
		return bin_array_proto(&ba, "trailing bytes");
	}
	return arr;
}

