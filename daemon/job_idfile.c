/*
 * job_idfile.c: the job id of a job feed, kept in state_dir/NAME.job as
 * one decimal line, so that a restart finds its changefeed job instead of
 * creating a second one (job_int.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "job_int.h"
#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int job_idfile_read(const char *path, int64_t *id, char *errbuf,
		    size_t errlen)
{
	char buf[32];
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(errbuf, errlen, "job id file %s: %s", path, strerror(errno));
		return -1;
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0) {
		snprintf(errbuf, errlen, "job id file %s: %s", path, strerror(errno));
		return -1;
	}
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	/* 19 digits hold any INT8; a longer file is not ours. */
	bool digits = len > 0 && len <= 19 && (size_t)n < sizeof(buf);
	for (size_t i = 0; digits && i < len; i++)
		digits = buf[i] >= '0' && buf[i] <= '9';
	if (digits) {
		buf[len] = '\0';
		errno = 0;
		long long v = strtoll(buf, NULL, 10);
		if (errno == 0 && v > 0) {
			*id = (int64_t)v;
			return 1;
		}
	}
	snprintf(errbuf, errlen,
		 "job id file %s is corrupt (expected one positive job id, as written by crdbfeedd): "
		 "remove it to look for or create the job again, or set job_id", path);
	return -1;
}

int job_idfile_write(const char *path, int64_t id, char *errbuf,
		     size_t errlen)
{
	char buf[32], dir[4096];
	int n = snprintf(buf, sizeof(buf), "%" PRId64 "\n", id);
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else {
		snprintf(errbuf, errlen, "job id file %s: path too long", path);
		return -1;
	}
	return statefile_write(path, dir, buf, (size_t)n, 0644, errbuf, errlen);
}
