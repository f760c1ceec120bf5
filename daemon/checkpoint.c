/*
 * checkpoint.c: the durable per-feed cursor. The file STATE_DIR/FEED.checkpoint
 * holds one line, the HLC of the newest resolved timestamp before which every
 * event reached every `block` sink ("1700000000000000000.0000000000\n").
 * It only moves forward and is replaced atomically, so a crash leaves either
 * the old or the new cursor, never a torn one (checkpoint.h lists the
 * guarantees).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "checkpoint.h"
#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int checkpoint_path(char *buf, size_t len, const char *state_dir,
			   const char *feed, const char *suffix)
{
	int n = snprintf(buf, len, "%s/%s.checkpoint%s", state_dir, feed, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int checkpoint_read_at(const char *state_dir, const char *feed, crdb_hlc *out,
		       int64_t *mtime_ms, char *errbuf, size_t errlen)
{
	char path[4096], buf[CRDB_HLC_BUFSIZE + 2];
	crdb_error err;
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	if (checkpoint_path(path, sizeof(path), state_dir, feed, "")) {
		snprintf(errbuf, errlen, "checkpoint path too long");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (crdb_hlc_parse(buf, len, out, &err)) {
		snprintf(errbuf, errlen, "%s: %s", path, err.message);
		return -1;
	}
	if (mtime_ms)
		*mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
			    st.st_mtim.tv_nsec / 1000000;
	return 1;
}

int checkpoint_read(const char *state_dir, const char *feed, crdb_hlc *out,
		    char *errbuf, size_t errlen)
{
	return checkpoint_read_at(state_dir, feed, out, NULL, errbuf, errlen);
}

int checkpoint_write(const char *state_dir, const char *feed, crdb_hlc hlc,
		     char *errbuf, size_t errlen)
{
	char path[4096], buf[CRDB_HLC_BUFSIZE + 1], msg[128];
	crdb_hlc old;
	size_t len;

	/* Only forward, even across a restart with an older file. */
	if (checkpoint_read(state_dir, feed, &old, msg, sizeof(msg)) == 1 &&
	    crdb_hlc_compare(old, hlc) >= 0)
		return 0;
	if (checkpoint_path(path, sizeof(path), state_dir, feed, "")) {
		snprintf(errbuf, errlen, "checkpoint path too long");
		return -1;
	}
	len = crdb_hlc_format(hlc, buf);
	buf[len++] = '\n';
	return statefile_write(path, state_dir, buf, len, 0644, errbuf, errlen);
}

int checkpoint_remove_stale(const char *state_dir, const char *feed,
			    char *errbuf, size_t errlen)
{
	char tmp[4096];

	if (checkpoint_path(tmp, sizeof(tmp), state_dir, feed, ".tmp")) {
		snprintf(errbuf, errlen, "checkpoint path too long");
		return -1;
	}
	if (unlink(tmp) != 0 && errno != ENOENT) {
		snprintf(errbuf, errlen, "removing %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}
