/*
 * unixsock.c: creating listening Unix socket files without trampling on
 * anything (stale files only, tight umask, then the configured group and
 * mode), warning about directories others can write, and the SO_PEERCRED
 * allow-list shared by sinks and the control socket.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "unixsock.h"

#include "log.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Is someone listening on path? 1 yes, 0 no (stale), -1 cannot tell. */
static int socket_in_use(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return -1;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	if (rc == 0)
		return 1;
	return errno == ECONNREFUSED ? 0 : -1;
}

/*
 * Warn when the socket's directory lets someone else replace the socket
 * file (writable by others without the sticky bit, or owned by another
 * user than us or root): the file's mode then guards nothing. systemd's
 * RuntimeDirectory= gives a directory the daemon owns.
 */
static void check_socket_dir(const char *who, const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st))
		return; /* bind will say what is wrong */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		log_warning(who, "directory %s is writable by others (mode %04o): they can replace the socket",
			    dir, (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		log_warning(who, "directory %s belongs to uid %ld: it can replace the socket",
			    dir, (long)st.st_uid);
}

int unixsock_set_access(const char *path, mode_t mode, const char *group,
			char *errbuf, size_t errlen)
{
	if (group && *group) {
		struct group *gr = getgrnam(group);

		if (!gr) {
			snprintf(errbuf, errlen, "unknown group %s", group);
			return -1;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid)) {
			snprintf(errbuf, errlen, "chown %s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (chmod(path, mode)) {
		snprintf(errbuf, errlen, "chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int unixsock_listen(const char *who, const char *path, mode_t mode,
		    const char *group, int backlog, char *errbuf, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd;

	if (!path || strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(errbuf, errlen, "socket path missing or longer than %zu bytes",
			 sizeof(addr.sun_path) - 1);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	check_socket_dir(who, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(errbuf, errlen, "%s exists and is not a socket; not replacing it",
				 path);
			return -1;
		}
		switch (socket_in_use(path)) {
		case 1:
			snprintf(errbuf, errlen, "%s is in use by another process", path);
			return -1;
		case 0:
			log_notice(who, "replacing stale socket %s", path);
			if (unlink(path) && errno != ENOENT) {
				snprintf(errbuf, errlen, "unlink %s: %s", path, strerror(errno));
				return -1;
			}
			break;
		default:
			snprintf(errbuf, errlen, "%s exists and cannot be probed: %s",
				 path, strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Born with no access for others; the configured mode comes next. */
	old_umask = umask(0177);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		umask(old_umask);
		snprintf(errbuf, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old_umask);
	if (unixsock_set_access(path, mode, group, errbuf, errlen))
		goto fail;
	if (listen(fd, backlog)) {
		snprintf(errbuf, errlen, "listen %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	unlink(path);
	close(fd);
	return -1;
}

bool unixsock_peer_allowed(const struct ucred *cred,
			   const uid_t *uids, size_t nuids,
			   const gid_t *gids, size_t ngids)
{
	if (nuids == 0 && ngids == 0)
		return true;
	if (!cred)
		return false;
	for (size_t i = 0; i < nuids; i++)
		if (uids[i] == cred->uid)
			return true;
	for (size_t i = 0; i < ngids; i++)
		if (gids[i] == cred->gid)
			return true;
	return false;
}
