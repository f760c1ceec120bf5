/*
 * statefile.c: replacing a small state file atomically and durably:
 * temporary file, fsync, rename, fsync of the directory (statefile.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int statefile_write(const char *path, const char *dir, const char *buf,
		    size_t len, int mode, char *errbuf, size_t errlen)
{
	char tmp[4096];
	const char *step;
	int fd, saved;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(errbuf, errlen, "%s: path too long", path);
		return -1;
	}
	/* O_NOFOLLOW: a link planted at the temporary name is not followed. */
	step = "create";
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  (mode_t)mode);
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
	if (fsync_dir(dir) != 0) {
		snprintf(errbuf, errlen, "%s written, but syncing %s failed: %s",
			 path, dir, strerror(errno));
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
