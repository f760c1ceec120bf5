/*
 * request.c: the subscriber request line -> a filter (request.h). Pure:
 * no event loop, no globals; the only allocations are the filter's table
 * and channel names and jansson's parse tree, both freed before returning on error.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "request.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channel.h"

static const char *const op_names[] = {
	[CRDB_OP_UNKNOWN] = "unknown", [CRDB_OP_INSERT] = "insert",
	[CRDB_OP_UPDATE] = "update", [CRDB_OP_UPSERT] = "upsert",
	[CRDB_OP_DELETE] = "delete",
};
#define NOPS (sizeof(op_names) / sizeof(op_names[0]))

const char *request_op_name(crdb_op op)
{
	return (unsigned)op < NOPS ? op_names[op] : NULL;
}

static void free_names(char ***names, size_t *count)
{
	for (size_t i = 0; i < *count; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
	*count = 0;
}

void request_filter_clear(struct request_filter *filter)
{
	free_names(&filter->tables, &filter->ntables);
	free_names(&filter->channels, &filter->nchannels);
	filter->ops = REQUEST_OPS_ALL;
	filter->has_resolved = false;
	filter->resolved = false;
	filter->has_after = false;
	filter->after = 0;
	filter->has_since = false;
	filter->since = (crdb_hlc){ 0, 0 };
}

static const char *quotable(const char *text, char *shown, size_t size);

/* A table name: non-empty, no NUL (one inside could never match). */
static int table_name_check(const char *name, size_t len, char *msg,
			    size_t msglen)
{
	if (len == 0 || strlen(name) != len) {
		snprintf(msg, msglen, "\"tables\" must be a non-empty array of strings");
		return -1;
	}
	return 0;
}

/* A channel name as PostgreSQL takes it (channel.h), the message naming
 * the field. */
static int request_channel_check(const char *name, size_t len, char *msg,
				 size_t msglen)
{
	char why[128], shown[65];

	if (channel_name_check(name, len, why, sizeof(why)) == 0)
		return 0;
	snprintf(msg, msglen, "\"channels\": '%s': %s",
		 quotable(name, shown, sizeof(shown)), why);
	return -1;
}

/*
 * A non-empty array of at most max strings, each passing check, into
 * copies (*names, *count; the caller's filter frees them).
 */
static int parse_names(json_t *array, const char *field, size_t max,
		       int (*check)(const char *, size_t, char *, size_t),
		       char ***names, size_t *count, char *msg, size_t msglen)
{
	size_t i, n = json_array_size(array);
	json_t *value;

	if (!json_is_array(array) || n == 0) {
		snprintf(msg, msglen, "\"%s\" must be a non-empty array of strings",
			 field);
		return -1;
	}
	if (n > max) {
		snprintf(msg, msglen, "\"%s\" lists %zu names, at most %zu are taken",
			 field, n, max);
		return -1;
	}
	*names = calloc(n, sizeof(**names));
	if (!*names) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	json_array_foreach(array, i, value) {
		const char *name = json_string_value(value);

		if (!name) {
			snprintf(msg, msglen, "\"%s\" must be a non-empty array of strings",
				 field);
			return -1;
		}
		if (check(name, json_string_length(value), msg, msglen))
			return -1;
		(*names)[*count] = strdup(name);
		if (!(*names)[*count]) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
		(*count)++;
	}
	return 0;
}

static int parse_ops(json_t *ops, struct request_filter *out,
		     char *msg, size_t msglen)
{
	size_t i;
	json_t *value;

	if (!json_is_array(ops) || json_array_size(ops) == 0)
		goto bad;
	out->ops = 0;
	json_array_foreach(ops, i, value) {
		const char *name = json_string_value(value);
		size_t op;

		for (op = 0; name && op < NOPS; op++)
			if (strcmp(name, op_names[op]) == 0)
				break;
		if (!name || op == NOPS)
			goto bad;
		out->ops |= REQUEST_OP_BIT(op);
	}
	return 0;
bad:
	snprintf(msg, msglen, "\"ops\" must be a non-empty array of insert, update, upsert, delete, unknown");
	return -1;
}

/* The subscriber's text cut to fit `shown`, control bytes as '?': a
 * message is one line (it is logged). */
static const char *quotable(const char *text, char *shown, size_t size)
{
	size_t i;

	for (i = 0; text[i] && i + 1 < size; i++)
		shown[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
	shown[i] = '\0';
	return shown;
}

/* "after": the last sequence number the subscriber saw, 0 for none. JSON
 * integers above INT64_MAX are refused by jansson itself (no sequence
 * comes near). */
static int parse_after(json_t *after, struct request_filter *out,
		       char *msg, size_t msglen)
{
	if (!json_is_integer(after) || json_integer_value(after) < 0) {
		snprintf(msg, msglen, "\"after\" must be an integer >= 0 (the last \"seq\" received, 0 for the beginning)");
		return -1;
	}
	out->has_after = true;
	out->after = (uint64_t)json_integer_value(after);
	return 0;
}

/* "since": an HLC ("wall.logical") or an RFC 3339 time, as start_cursor
 * takes them. */
static int parse_since(json_t *since, struct request_filter *out,
		       char *msg, size_t msglen)
{
	const char *text = json_string_value(since);
	char shown[65];
	crdb_error err;

	if (text && strlen(text) == json_string_length(since) &&
	    (crdb_hlc_parse(text, strlen(text), &out->since, &err) == 0 ||
	     crdb_hlc_from_rfc3339(text, &out->since, &err) == 0)) {
		out->has_since = true;
		return 0;
	}
	if (!text)
		snprintf(msg, msglen, "\"since\" must be a string: an HLC timestamp (wall.logical) or an RFC 3339 time");
	else
		snprintf(msg, msglen, "\"since\" must be an HLC timestamp (wall.logical) or an RFC 3339 time, not '%s'",
			 quotable(text, shown, sizeof(shown)));
	return -1;
}

int request_parse(const char *text, size_t len, struct request_filter *out,
		  char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *req, *value;
	const char *key;
	bool has_ops = false;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->ops = REQUEST_OPS_ALL;
	if (len > REQUEST_MAX) {
		snprintf(msg, msglen, "request line longer than %d bytes", REQUEST_MAX);
		return -1;
	}
	req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		snprintf(msg, msglen, "request is not JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(req)) {
		snprintf(msg, msglen, "request must be a JSON object");
		goto out;
	}
	json_object_foreach(req, key, value) {
		if (strcmp(key, "tables") == 0) {
			if (parse_names(value, "tables", SIZE_MAX,
					table_name_check, &out->tables,
					&out->ntables, msg, msglen))
				goto out;
		} else if (strcmp(key, "channels") == 0) {
			if (parse_names(value, "channels", REQUEST_CHANNELS_MAX,
					request_channel_check, &out->channels,
					&out->nchannels, msg, msglen))
				goto out;
		} else if (strcmp(key, "ops") == 0) {
			if (parse_ops(value, out, msg, msglen))
				goto out;
			has_ops = true;
		} else if (strcmp(key, "resolved") == 0) {
			if (!json_is_boolean(value)) {
				snprintf(msg, msglen, "\"resolved\" must be true or false");
				goto out;
			}
			out->has_resolved = true;
			out->resolved = json_is_true(value);
		} else if (strcmp(key, "after") == 0) {
			if (parse_after(value, out, msg, msglen))
				goto out;
		} else if (strcmp(key, "since") == 0) {
			if (parse_since(value, out, msg, msglen))
				goto out;
		} else {
			char shown[65];

			snprintf(msg, msglen, "unknown request field \"%s\" (expected tables, ops, channels, resolved, after, since)",
				 quotable(key, shown, sizeof(shown)));
			goto out;
		}
	}
	if (out->channels && (out->tables || has_ops)) {
		snprintf(msg, msglen, "\"channels\" cannot be used with \"%s\": a channel subscriber gets notifications, not rows",
			 out->tables ? "tables" : "ops");
		goto out;
	}
	if (out->has_after && out->has_since) {
		snprintf(msg, msglen, "\"after\" and \"since\" cannot be used together: give one starting point");
		goto out;
	}
	rc = 0;
out:
	json_decref(req);
	if (rc)
		request_filter_clear(out);
	return rc;
}
