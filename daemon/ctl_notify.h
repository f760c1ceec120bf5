/*
 * ctl_notify.h: what `crdbfeedctl scram-verifier` and `crdbfeedctl
 * notify-sql` do, apart from the command line: read a password (a line of
 * a file, or typed at a terminal without echo), check a user name for the
 * LISTEN endpoint's verifier file (scram.h), append a verifier line to
 * that file without letting others read it, and copy the shipped notify
 * SQL to an output.
 *
 * The library-style contract: no logging, no exit; errors in errbuf as one
 * line naming what failed. A password is wiped from memory by its owner
 * (ctl_password_wipe) and never put in an error.
 */
#ifndef CRDBFEEDD_CTL_NOTIFY_H
#define CRDBFEEDD_CTL_NOTIFY_H

#include <stddef.h>
#include <stdio.h>

/* Longest password accepted, bytes (PostgreSQL's psql reads up to 1000). */
#define CTL_PASSWORD_MAX 1024

/*
 * Read a password into out (CTL_PASSWORD_MAX + 1 bytes): from a terminal
 * on fd (asked for twice, without echo, the prompts on the terminal), or
 * else the first line of fd (its '\n' or "\r\n" removed). Refused: an
 * empty password, one over CTL_PASSWORD_MAX bytes, a NUL byte, a byte
 * outside ASCII (clients apply SASLprep to those, the endpoint does not,
 * so such a password could fail to authenticate), two typings that
 * differ. 0, or -1 with errbuf set.
 */
int ctl_password_read(int fd, const char *user, char *out, char *errbuf,
		      size_t errlen);

/* Overwrite a password buffer of CTL_PASSWORD_MAX + 1 bytes. */
void ctl_password_wipe(char *password);

/*
 * A user name the verifier file can hold: 1 to SCRAM_MAX_USER bytes, no
 * ':' (the file's separator), no control characters or spaces, not
 * starting with '#' (a comment). 0, or -1 with errbuf set.
 */
int ctl_verifier_user_check(const char *user, char *errbuf, size_t errlen);

/*
 * Append "user:verifier\n" to the verifier file at path, creating it with
 * mode 0600. Refused: a path that is not a regular file (a symbolic link
 * included), a file others may read or write, a file that already has a
 * line for user (the endpoint refuses a file naming a user twice). 0, or
 * -1 with errbuf set.
 */
int ctl_verifier_append(const char *path, const char *user,
			const char *verifier, char *errbuf, size_t errlen);

/* Copy the file at path to out. 0, or -1 with errbuf naming the path. */
int ctl_copy_file(const char *path, FILE *out, char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_CTL_NOTIFY_H */
