/*
 * ctl_notify.c: the work of `crdbfeedctl scram-verifier` and `crdbfeedctl
 * notify-sql` (ctl_notify.h): reading a password, checking a verifier
 * file's user name, appending to the verifier file, copying a file out.
 */
#include <config.h> /* autoconf's, from the build directory */
#include "ctl_notify.h"

#include "errbuf.h"
#include "scram.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

void ctl_password_wipe(char *password)
{
	OPENSSL_cleanse(password, CTL_PASSWORD_MAX + 1);
}

/*
 * One line of fd into out (CTL_PASSWORD_MAX + 1 bytes), byte by byte so
 * that nothing after the line is consumed. 0 (*len set, the line ending
 * removed), or -1 with errbuf set.
 */
static int read_line(int fd, char *out, size_t *len, char *errbuf, size_t errlen)
{
	size_t n = 0;
	bool too_long = false, nul = false;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errbuf_add(errbuf, errlen, "reading the password: %s", strerror(errno));
			return -1;
		}
		if (r == 0 || c == '\n')
			break;
		if (c == '\0')
			nul = true;
		if (n < CTL_PASSWORD_MAX)
			out[n++] = c;
		else
			too_long = true;
	}
	if (n && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	if (too_long) {
		errbuf_add(errbuf, errlen, "the password is longer than %d bytes", CTL_PASSWORD_MAX);
		return -1;
	}
	if (nul) {
		errbuf_add(errbuf, errlen, "the password holds a NUL byte");
		return -1;
	}
	*len = n;
	return 0;
}

/* Read one line from a terminal with its echo off, the prompt on stderr. */
static int read_typed(int fd, const char *prompt, char *out, size_t *len,
		      char *errbuf, size_t errlen)
{
	struct termios saved, quiet;
	int rc;

	if (tcgetattr(fd, &saved)) {
		errbuf_add(errbuf, errlen, "reading the terminal's settings: %s", strerror(errno));
		return -1;
	}
	quiet = saved;
	quiet.c_lflag &= (tcflag_t)~ECHO;
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(fd, TCSAFLUSH, &quiet)) {
		errbuf_add(errbuf, errlen, "turning the terminal's echo off: %s", strerror(errno));
		return -1;
	}
	rc = read_line(fd, out, len, errbuf, errlen);
	tcsetattr(fd, TCSAFLUSH, &saved);
	return rc;
}

int ctl_password_read(int fd, const char *user, char *out, char *errbuf,
		      size_t errlen)
{
	size_t len = 0;

	if (isatty(fd)) {
		char again[CTL_PASSWORD_MAX + 1], prompt[SCRAM_MAX_USER + 32];
		size_t again_len = 0;
		int rc;

		snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
		rc = read_typed(fd, prompt, out, &len, errbuf, errlen);
		if (rc == 0 && len)
			rc = read_typed(fd, "Again: ", again, &again_len, errbuf, errlen);
		if (rc == 0 && len && (again_len != len || memcmp(again, out, len))) {
			errbuf_add(errbuf, errlen, "the two passwords typed differ");
			rc = -1;
		}
		ctl_password_wipe(again);
		if (rc)
			return -1;
	} else if (read_line(fd, out, &len, errbuf, errlen)) {
		return -1;
	}
	if (len == 0) {
		errbuf_add(errbuf, errlen, "the password is empty");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] >= 0x80) {
			errbuf_add(errbuf, errlen,
				   "the password is not plain ASCII (clients apply SASLprep to such a password and the endpoint does not, so it might never match)");
			return -1;
		}
	return 0;
}

int ctl_verifier_user_check(const char *user, char *errbuf, size_t errlen)
{
	size_t len = strlen(user);

	if (len == 0 || len > SCRAM_MAX_USER) {
		errbuf_add(errbuf, errlen, "user name of %zu bytes (1 to %d)", len, SCRAM_MAX_USER);
		return -1;
	}
	if (user[0] == '#') {
		errbuf_add(errbuf, errlen, "user name starting with '#' (a comment in the verifier file)");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c == ':' || c <= ' ' || c == 0x7f) {
			errbuf_add(errbuf, errlen,
				   "user name with %s (the verifier file cannot hold it)",
				   c == ':' ? "a ':'" : "a space or control character");
			return -1;
		}
	}
	return 0;
}

/* Whether the verifier file open on fd has a line for user; -1 on a read
 * error. The last byte read goes to *last ('\n' for an empty file). */
static int file_has_user(int fd, const char *path, const char *user, char *last,
			 char *errbuf, size_t errlen)
{
	char buf[4096];
	size_t user_len = strlen(user), offset = 0, pos = 0;
	bool matching = true, found = false;
	ssize_t n;

	*last = '\n';
	while ((n = pread(fd, buf, sizeof(buf), (off_t)offset)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errbuf_add(errbuf, errlen, "reading %s: %s", path, strerror(errno));
			return -1;
		}
		offset += (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			/* A line starts after a '\n'; pos counts within it. */
			if (*last == '\n') {
				pos = 0;
				matching = true;
			}
			*last = buf[i];
			if (!matching)
				continue;
			if (pos < user_len)
				matching = buf[i] == user[pos];
			else if (pos == user_len) {
				found |= buf[i] == ':';
				matching = false;
			}
			pos++;
		}
	}
	return found;
}

int ctl_verifier_append(const char *path, const char *user,
			const char *verifier, char *errbuf, size_t errlen)
{
	struct stat st;
	char last;
	int fd, has;
	bool ok;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		errbuf_add(errbuf, errlen, "%s: %s", path,
			   errno == ELOOP ? "a symbolic link (name the file itself)" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		errbuf_add(errbuf, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_add(errbuf, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		errbuf_add(errbuf, errlen, "%s: others may read or write it (mode %03o): chmod o-rw first",
			   path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	has = file_has_user(fd, path, user, &last, errbuf, errlen);
	if (has != 0) {
		if (has > 0)
			errbuf_add(errbuf, errlen, "%s already has a line for user %s (remove it first)",
				   path, user);
		close(fd);
		return -1;
	}
	ok = (last == '\n' || write(fd, "\n", 1) == 1) &&
	     dprintf(fd, "%s:%s\n", user, verifier) == (int)(strlen(user) + strlen(verifier) + 2);
	if (!ok)
		errbuf_add(errbuf, errlen, "writing %s: %s", path, strerror(errno));
	if (close(fd) && ok) {
		errbuf_add(errbuf, errlen, "writing %s: %s", path, strerror(errno));
		ok = false;
	}
	return ok ? 0 : -1;
}

int ctl_copy_file(const char *path, FILE *out, char *errbuf, size_t errlen)
{
	char buf[8192];
	FILE *in = fopen(path, "re");
	size_t n;
	int rc = 0;

	if (!in) {
		errbuf_add(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			errbuf_add(errbuf, errlen, "writing %s out: %s", path, strerror(errno));
			rc = -1;
			break;
		}
	if (rc == 0 && ferror(in)) {
		errbuf_add(errbuf, errlen, "reading %s: %s", path, strerror(errno));
		rc = -1;
	}
	fclose(in);
	return rc;
}
