/*
 * checkpoint.c: the durable per-feed cursor. The file STATE_DIR/FEED.checkpoint
 * holds one line, the HLC of the newest resolved timestamp before which every
 * event reached every `block` sink ("1700000000000000000.0000000000\n").
 * It only moves forward and is replaced atomically, so a crash leaves either
 * the old or the new cursor, never a torn one.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int checkpoint_path(char *buf, size_t len, const char *state_dir,
			   const char *feed, const char *suffix)
{
	int n = snprintf(buf, len, "%s/%s.checkpoint%s", state_dir, feed, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int checkpoint_read(const char *state_dir, const char *feed, crdb_hlc *out,
		    char *errbuf, size_t errlen)
{
	char path[4096], buf[CRDB_HLC_BUFSIZE + 2];
	crdb_error err;
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
	n = read(fd, buf, sizeof(buf));
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
	return 1;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int checkpoint_write(const char *state_dir, const char *feed, crdb_hlc hlc,
		     char *errbuf, size_t errlen)
{
	char path[4096], tmp[4096], buf[CRDB_HLC_BUFSIZE + 1], msg[128];
	crdb_hlc old;
	size_t len;
	int fd;

	/* Only forward, even across a restart with an older file. */
	if (checkpoint_read(state_dir, feed, &old, msg, sizeof(msg)) == 1 &&
	    crdb_hlc_compare(old, hlc) >= 0)
		return 0;
	if (checkpoint_path(path, sizeof(path), state_dir, feed, "") ||
	    checkpoint_path(tmp, sizeof(tmp), state_dir, feed, ".tmp")) {
		snprintf(errbuf, errlen, "checkpoint path too long");
		return -1;
	}
	len = crdb_hlc_format(hlc, buf);
	buf[len++] = '\n';
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0) {
		int saved = errno;

		close(fd);
		unlink(tmp);
		errno = saved ? saved : EIO;
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (fsync_dir(state_dir) != 0)
		goto fail;
	return 0;
fail:
	snprintf(errbuf, errlen, "writing %s: %s", path, strerror(errno));
	return -1;
}
