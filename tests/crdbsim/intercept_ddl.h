/*
 * intercept_ddl.h: CockroachDB DDL that PostgreSQL would take differently
 * (§15): a LANGUAGE SQL function that modifies data, refused before 23.2
 * as CockroachDB refuses it, and the row-level TTL storage parameters of
 * CREATE TABLE, which PostgreSQL does not know.
 */
#ifndef CRDBSIM_INTERCEPT_DDL_H
#define CRDBSIM_INTERCEPT_DDL_H

#include "intercept.h"

/* Every statement of sql: a CREATE FUNCTION whose LANGUAGE SQL body holds
 * INSERT, UPSERT, UPDATE or DELETE, at a version from 22.2 to 23.1, makes
 * st a SIM_ERROR (0A000, CockroachDB's text and hint). Returns true then,
 * false when sql is left to PostgreSQL (with *oom set when out of
 * memory). */
bool ddl_function_refused(const char *sql, int version, struct sim_stmt *st,
			  bool *oom);

/* Every CREATE TABLE of st->sql (already rewritten for PostgreSQL): its
 * WITH (...) parameters whose name starts with "ttl" are removed (the
 * clause too when nothing else is left) and kept as a comment after the
 * clause; one the version does not know makes st a SIM_ERROR (22023).
 * Returns 0, or -1 when out of memory. */
int ddl_strip_ttl(struct sim_stmt *st, int version);

#endif /* CRDBSIM_INTERCEPT_DDL_H */
