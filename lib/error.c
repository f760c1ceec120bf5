/*
 * error.c: the caller's error object and the allocator hooks. Reporting an
 * error never allocates, so CRDB_ENOMEM can always be delivered.
 */
#include "config.h"

#include "crdb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *(*alloc_malloc)(size_t) = malloc;
static void *(*alloc_realloc)(void *, size_t) = realloc;
static void (*alloc_free)(void *) = free;

void crdb_set_allocator(void *(*malloc_fn)(size_t),
			void *(*realloc_fn)(void *, size_t),
			void (*free_fn)(void *))
{
	alloc_malloc = malloc_fn ? malloc_fn : malloc;
	alloc_realloc = realloc_fn ? realloc_fn : realloc;
	alloc_free = free_fn ? free_fn : free;
}

void *crdb__malloc(size_t size)
{
	return alloc_malloc(size ? size : 1);
}

void *crdb__calloc(size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	void *p = crdb__malloc(nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void *crdb__realloc(void *ptr, size_t size)
{
	return alloc_realloc(ptr, size ? size : 1);
}

char *crdb__strndup(const char *s, size_t len)
{
	char *p = crdb__malloc(len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

char *crdb__strdup(const char *s)
{
	return crdb__strndup(s, strlen(s));
}

void crdb_free(void *ptr)
{
	if (ptr)
		alloc_free(ptr);
}

void crdb_error_clear(crdb_error *err)
{
	if (!err)
		return;
	err->code = CRDB_OK;
	err->sqlstate[0] = '\0';
	err->message[0] = '\0';
}

const char *crdb_errcode_name(crdb_errcode code)
{
	switch (code) {
	case CRDB_OK: return "OK";
	case CRDB_ENOMEM: return "ENOMEM";
	case CRDB_EINVAL: return "EINVAL";
	case CRDB_ECONNECT: return "ECONNECT";
	case CRDB_ESERVER: return "ESERVER";
	case CRDB_EPROTO: return "EPROTO";
	case CRDB_EUNSUPPORTED: return "EUNSUPPORTED";
	}
	return "unknown";
}

__attribute__((format(printf, 2, 0)))
static void set_message(crdb_error *err, const char *fmt, va_list ap)
{
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	for (char *p = err->message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int crdb__fail(crdb_error *err, crdb_errcode code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	err->code = code;
	err->sqlstate[0] = '\0';
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return -1;
}

int crdb__fail_sqlstate(crdb_error *err, crdb_errcode code,
			const char *sqlstate, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	err->code = code;
	snprintf(err->sqlstate, sizeof err->sqlstate, "%s",
		 sqlstate ? sqlstate : "");
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return -1;
}
