/*
 * rowdesc.h: RowDescription fields as CockroachDB fills them (§14.8):
 * the type size it reports for a type OID, the type modifier it keeps,
 * and the in-place rewrite of a relayed PostgreSQL RowDescription.
 */
#ifndef CRDBSIM_ROWDESC_H
#define CRDBSIM_ROWDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CockroachDB's type size for a type OID at an emulated version
 * (XXYYZZ); pg_size is PostgreSQL's, kept for OIDs CockroachDB has no
 * fixed answer for. */
int16_t rowdesc_crdb_size(uint32_t oid, int16_t pg_size, int version);

/* CockroachDB's type modifier for a column PostgreSQL describes with
 * pg_typmod. */
int32_t rowdesc_crdb_typmod(uint32_t oid, int32_t pg_typmod, int version);

/* Rewrite the sizes and modifiers of a whole RowDescription message
 * (type byte, length, payload; total bytes) in place. False, with the
 * message untouched, when it is not a well-formed RowDescription. */
bool rowdesc_rewrite(unsigned char *msg, size_t total, int version);

#endif
