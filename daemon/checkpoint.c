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

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Write all of buf (a short write on a full disk is an error). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int checkpoint_write(const char *state_dir, const char *feed, crdb_hlc hlc,
		     char *errbuf, size_t errlen)
{
	char path[4096], tmp[4096], buf[CRDB_HLC_BUFSIZE + 1], msg[128];
	const char *step;
	crdb_hlc old;
	size_t len;
	int fd, saved;

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
	/* O_NOFOLLOW: a link planted at the temporary name is not followed. */
	step = "create";
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		goto fail;
	step = "write";
	if (write_all(fd, buf, len) != 0)
		goto fail_fd;
	step = "fsync";
	if (fsync(fd) != 0)
		goto fail_fd;
	step = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail_fd;
	}
	fd = -1;
	step = "rename";
	if (rename(tmp, path) != 0)
		goto fail_fd;
	/* The new file is in place; make the rename itself durable. */
	if (fsync_dir(state_dir) != 0) {
		snprintf(errbuf, errlen, "%s written, but syncing %s failed: %s",
			 path, state_dir, strerror(errno));
		return -1;
	}
	return 0;
fail_fd:
	saved = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
fail:
	snprintf(errbuf, errlen, "writing %s (%s): %s", path, step, strerror(errno));
	return -1;
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
