/*
 * crdb_internal.h: helpers shared by libcrdb's source files and never
 * installed: the pluggable allocator and the error-setting functions.
 */
#ifndef CRDB_INTERNAL_H
#define CRDB_INTERNAL_H

#include "crdb.h"

#include <stdarg.h>

/* Allocation through the hooks of crdb_set_allocator(). */
void *crdb__malloc(size_t size);
void *crdb__calloc(size_t nmemb, size_t size);
void *crdb__realloc(void *ptr, size_t size);
char *crdb__strdup(const char *s);
char *crdb__strndup(const char *s, size_t len);
#define crdb__free crdb_free

/* Fill err (if not NULL) with a code and a printf-style one-line message;
 * newlines in the result are replaced by spaces. Always returns -1 so that
 * callers can write `return crdb__fail(err, ...);`. */
int crdb__fail(crdb_error *err, crdb_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same with a SQLSTATE. */
int crdb__fail_sqlstate(crdb_error *err, crdb_errcode code,
			const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* CRDB_INTERNAL_H */
