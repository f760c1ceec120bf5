/*
 * activation.c: the sockets systemd passed (LISTEN_FDS from fd 3 on, named
 * by LISTEN_FDNAMES), checked and kept by name for the life of the process.
 * With libsystemd sd_listen_fds_with_names() reads the environment; without
 * it the same variables are parsed here.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define FIRST_FD 3 /* SD_LISTEN_FDS_START */
#define NAME_MAX_LEN 255

struct passed {
	int fd;
	char *name;
	bool claimed;
};

static struct passed passed[ACTIVATION_MAX_FDS];
static size_t npassed;

/* A listening stream socket, AF_UNIX unless any_family. */
static int check_socket(int fd, const char *name, bool any_family,
			char *errbuf, size_t errlen)
{
	int type = 0, listening = 0, family = 0;
	socklen_t len;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(errbuf, errlen, "passed fd %d (%s) is not a socket", fd, name);
		return -1;
	}
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
		snprintf(errbuf, errlen, "passed socket %s is not a stream socket "
			 "(use ListenStream=)", name);
		return -1;
	}
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
		snprintf(errbuf, errlen, "passed socket %s is not listening "
			 "(Accept=yes is not supported)", name);
		return -1;
	}
	len = sizeof(family);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) != 0) {
		snprintf(errbuf, errlen, "passed socket %s: %s", name, strerror(errno));
		return -1;
	}
	if (!any_family && family != AF_UNIX) {
		snprintf(errbuf, errlen, "passed socket %s is not a Unix socket "
			 "(ListenStream= must be a path)", name);
		return -1;
	}
#ifdef HAVE_SYSTEMD
	/* The same check through libsystemd, as its users expect. */
	if (!any_family && sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		snprintf(errbuf, errlen, "passed socket %s is not a listening Unix "
			 "stream socket", name);
		return -1;
	}
#endif
	return 0;
}

static int add_passed(int fd, const char *name, char *errbuf, size_t errlen)
{
	bool metrics;

	if (!name || !*name || strcmp(name, "unknown") == 0) {
		snprintf(errbuf, errlen, "passed fd %d has no name: set FileDescriptorName= "
			 "to a [sink NAME], \"control\" or \"metrics\"", fd);
		return -1;
	}
	if (strlen(name) > NAME_MAX_LEN) {
		snprintf(errbuf, errlen, "passed fd %d: name too long", fd);
		return -1;
	}
	for (size_t i = 0; i < npassed; i++) {
		if (strcmp(passed[i].name, name) == 0) {
			snprintf(errbuf, errlen, "two sockets passed under the name %s "
				 "(one FileDescriptorName= per socket)", name);
			return -1;
		}
	}
	if (npassed >= ACTIVATION_MAX_FDS) {
		snprintf(errbuf, errlen, "more than %d sockets passed", ACTIVATION_MAX_FDS);
		return -1;
	}
	metrics = strcmp(name, "metrics") == 0;
	if (check_socket(fd, name, metrics, errbuf, errlen))
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(errbuf, errlen, "passed socket %s: %s", name, strerror(errno));
		return -1;
	}
	passed[npassed].name = strdup(name);
	if (!passed[npassed].name) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	passed[npassed].fd = fd;
	passed[npassed].claimed = false;
	npassed++;
	return 0;
}

#ifdef HAVE_SYSTEMD
static int read_passed(char *errbuf, size_t errlen)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);
	int rc = 0;

	if (n < 0) {
		snprintf(errbuf, errlen, "LISTEN_FDS: %s", strerror(-n));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0 && add_passed(FIRST_FD + i, names ? names[i] : NULL,
					  errbuf, errlen))
			rc = -1;
	}
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
#else
/* LISTEN_PID must be us: the variables may have been inherited by mistake. */
static int read_passed(char *errbuf, size_t errlen)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	const char *names_s = getenv("LISTEN_FDNAMES");
	char *names = NULL, *save = NULL, *name;
	long pid, nfds;
	char *end;
	int rc = 0;

	if (!pid_s || !fds_s)
		goto done;
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno || *end || pid != (long)getpid())
		goto done;
	errno = 0;
	nfds = strtol(fds_s, &end, 10);
	if (errno || *end || nfds < 0 || nfds > INT_MAX - FIRST_FD) {
		snprintf(errbuf, errlen, "bad LISTEN_FDS=%s", fds_s);
		rc = -1;
		goto done;
	}
	if (names_s && !(names = strdup(names_s))) {
		snprintf(errbuf, errlen, "out of memory");
		rc = -1;
		goto done;
	}
	name = names ? strtok_r(names, ":", &save) : NULL;
	for (long i = 0; i < nfds; i++) {
		if (add_passed(FIRST_FD + (int)i, name, errbuf, errlen)) {
			rc = -1;
			break;
		}
		name = name ? strtok_r(NULL, ":", &save) : NULL;
	}
done:
	free(names);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}
#endif

int activation_init(char *errbuf, size_t errlen)
{
	if (read_passed(errbuf, errlen)) {
		activation_close();
		return -1;
	}
	return 0;
}

int activation_fd(const char *name)
{
	for (size_t i = 0; name && i < npassed; i++) {
		if (strcmp(passed[i].name, name) == 0) {
			passed[i].claimed = true;
			return passed[i].fd;
		}
	}
	return -1;
}

size_t activation_count(void)
{
	return npassed;
}

const char *activation_unclaimed(void)
{
	for (size_t i = 0; i < npassed; i++)
		if (!passed[i].claimed)
			return passed[i].name;
	return NULL;
}

void activation_close(void)
{
	for (size_t i = 0; i < npassed; i++) {
		close(passed[i].fd);
		free(passed[i].name);
	}
	npassed = 0;
}
