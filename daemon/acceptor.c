/*
 * acceptor.c: the accept loop shared by every listening socket, with its
 * pause after running out of descriptors (acceptor.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "acceptor.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct acceptor {
	struct event *ev;
	struct event *retry;  /* accepts paused after EMFILE */
	char who[96];
	int per_pass;
	acceptor_fn fn;
	void *arg;
	uint64_t *errors;
};

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct acceptor *acc = arg;

	event_add(acc->ev, NULL);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct acceptor *acc = arg;

	for (int i = 0; i < acc->per_pass; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (acc->errors)
				(*acc->errors)++;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				struct timeval tv = { ACCEPTOR_RETRY_MS / 1000,
						      (ACCEPTOR_RETRY_MS % 1000) * 1000 };

				log_warning(acc->who, "accept: %s; pausing accepts for %d ms",
					    strerror(errno), ACCEPTOR_RETRY_MS);
				event_del(acc->ev);
				evtimer_add(acc->retry, &tv);
			} else {
				log_warning(acc->who, "accept: %s", strerror(errno));
			}
			return;
		}
		if (acc->fn(cfd, acc->arg))
			return;
	}
}

struct acceptor *acceptor_new(struct event_base *base, int listen_fd,
			      const char *who, int per_pass,
			      acceptor_fn fn, void *arg, uint64_t *errors)
{
	struct acceptor *acc = calloc(1, sizeof(*acc));

	if (!acc)
		return NULL;
	snprintf(acc->who, sizeof(acc->who), "%s", who);
	acc->per_pass = per_pass;
	acc->fn = fn;
	acc->arg = arg;
	acc->errors = errors;
	acc->ev = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, acc);
	acc->retry = evtimer_new(base, on_retry, acc);
	if (!acc->ev || !acc->retry || event_add(acc->ev, NULL)) {
		acceptor_free(acc);
		return NULL;
	}
	return acc;
}

void acceptor_free(struct acceptor *acc)
{
	if (!acc)
		return;
	if (acc->ev)
		event_free(acc->ev);
	if (acc->retry)
		event_free(acc->retry);
	free(acc);
}
