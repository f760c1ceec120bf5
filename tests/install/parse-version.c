/*
 * parse-version.c: a client of the *installed* libcrdb, built by
 * check-install.sh with the flags pkg-config gives for libcrdb. It parses
 * one crdb_version string and prints the number, or "ERR|<message>" the way
 * tests/unit/cases/version.cases writes an error, so that the test can
 * replay that case file through the installed library.
 */
#include <stdio.h>

#include <crdb.h>

int main(int argc, char **argv)
{
	crdb_error err;
	int version = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CRDB_VERSION\n", argv[0]);
		return 2;
	}
	if (crdb_parse_version(argv[1], &version, &err) < 0) {
		if (printf("ERR|%s\n", err.message) < 0)
			return 2;
		return 1;
	}
	if (printf("%d\n", version) < 0)
		return 2;
	return 0;
}
