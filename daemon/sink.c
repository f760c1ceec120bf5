/*
 * sink.c: a sink's listener and life: listening on its socket file (or one
 * passed by systemd), attaching standard output, or opening a pg sink's
 * endpoint (sink_pg.c) or a nats sink's publisher (sink_nats.c); the allow-list check of each peer, opening,
 * closing and the counters. The subscribers behind it and their queues
 * are in subscriber.c.
 *
 * A sink with allow_users/allow_groups checks each peer's SO_PEERCRED on
 * accept: a peer in neither list gets one error line and is closed.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "sink_int.h"

#include "acceptor.h"
#include "defer.h"
#include "log.h"
#include "names.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *sink_name(const struct sink *sink)
{
	return sink->name;
}

const struct sink_config *sink_config(const struct sink *sink)
{
	return sink->cfg;
}

/* The owner's name for the sink's own lines; NULL when it has none. */
const char *sink_owner_name(const struct sink *sink)
{
	return sink->owner.name ? sink->owner.name(sink->owner.arg) : NULL;
}

size_t sink_high_watermark(const struct sink *sink)
{
	return sink->cfg->buffer_bytes ? sink->cfg->buffer_bytes : 1024 * 1024;
}

size_t sink_low_watermark(const struct sink *sink)
{
	size_t high = sink_high_watermark(sink);
	size_t low = sink->cfg->low_watermark;

	return low && low < high ? low : high / 2;
}

static void sink_cache_bounds(struct sink *sink)
{
	sink->high = sink_high_watermark(sink);
	sink->flush_at = sink->high / 2;
}

void sink_set_config(struct sink *sink, const struct sink_config *cfg)
{
	sink->cfg = cfg;
	sink_cache_bounds(sink);
}

/* ---- the listener --------------------------------------------------------- */

/* Is the peer on the sink's allow-list? Empty lists let everyone in (the
 * socket file's mode and group are then the only gate). */
static bool peer_allowed(const struct sink_config *cfg, const struct ucred *cred)
{
	return unixsock_peer_allowed(cred, cfg->allow_uids, cfg->nallow_uids,
				     cfg->allow_gids, cfg->nallow_gids);
}

/* Tell a refused peer why (one error line, best effort: never wait on
 * it), log it, count it, close it. */
static void sink_refuse(struct sink *sink, int cfd, const struct ucred *cred)
{
	const char *feed = sink_owner_name(sink);
	char msg[256];
	struct line *line;

	sink->refused++;
	if (cred) {
		log_warning(sink->who, "refused subscriber pid %ld uid %ld gid %ld: not in allow_users/allow_groups",
			    (long)cred->pid, (long)cred->uid, (long)cred->gid);
		snprintf(msg, sizeof(msg), "uid %ld is not allowed to subscribe to sink %s (allow_users/allow_groups)",
			 (long)cred->uid, sink->name);
	} else {
		log_warning(sink->who, "refused a subscriber whose credentials are unknown (SO_PEERCRED: %s)",
			    strerror(errno));
		snprintf(msg, sizeof(msg), "unknown peers are not allowed to subscribe to sink %s (allow_users/allow_groups)",
			 sink->name);
	}
	line = line_new_error(feed, msg);
	if (line) {
		if (send(cfd, line->data, line->len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* Gone already, or not reading: closing says enough. */
		}
		line_unref(line);
	}
	close(cfd);
}

/* One accepted connection: a subscriber, or refused by the allow-list. */
static int on_accept(int cfd, void *arg)
{
	struct sink *sink = arg;
	struct subscriber *sub;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	bool have_cred;

	have_cred = getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0;
	if (!peer_allowed(sink->cfg, have_cred ? &cred : NULL)) {
		sink_refuse(sink, cfd, have_cred ? &cred : NULL);
		return 0;
	}
	sub = subscriber_new(sink, cfd, false, have_cred ? &cred : NULL);
	if (!sub) {
		log_error(sink->who, "out of memory accepting a subscriber");
		close(cfd);
		return -1;
	}
	sink->accepted++;
	log_info(sink->who, "subscriber %s connected (%zu now)", sub->ident,
		 sink->nsubs);
	return 0;
}

static int listen_unix(struct sink *sink, char *errbuf, size_t errlen)
{
	const struct sink_config *cfg = sink->cfg;
	int fd = unixsock_listen(sink->who, cfg->path, cfg->mode ? cfg->mode : 0660,
				 cfg->group, 128, errbuf, errlen);

	if (fd < 0)
		return -1;
	sink->path = strdup(cfg->path);
	if (!sink->path) {
		snprintf(errbuf, errlen, "out of memory");
		unlink(cfg->path);
		close(fd);
		return -1;
	}
	sink->listen_fd = fd;
	return 0;
}

static void sink_free(void *ptr)
{
	struct sink *sink = ptr;

	if (sink->flush_ev)
		event_free(sink->flush_ev);
	free(sink->name);
	free(sink->path);
	free(sink);
}

static struct sink *sink_alloc(struct event_base *base, const struct sink_config *cfg,
			       const struct sink_owner *owner, char *errbuf, size_t errlen)
{
	struct sink *sink = calloc(1, sizeof(*sink));

	if (!sink || !(sink->name = strdup(cfg->name)) ||
	    !(sink->flush_ev = event_new(base, -1, 0, sink_on_flush, sink))) {
		snprintf(errbuf, errlen, "out of memory");
		if (sink)
			free(sink->name);
		free(sink);
		return NULL;
	}
	sink->cfg = cfg;
	sink->base = base;
	if (owner)
		sink->owner = *owner;
	sink->listen_fd = -1;
	TAILQ_INIT(&sink->subs);
	snprintf(sink->who, sizeof(sink->who), "sink %s", cfg->name);
	sink_cache_bounds(sink);
	return sink;
}

/* Start accepting on sink->listen_fd. On failure the sink is closed. */
static int sink_watch_listener(struct sink *sink, char *errbuf, size_t errlen)
{
	sink->acceptor = acceptor_new(sink->base, sink->listen_fd, sink->who, 32,
				      on_accept, sink, &sink->accept_errors);
	if (!sink->acceptor) {
		snprintf(errbuf, errlen, "cannot watch the listening socket");
		memset(&sink->owner, 0, sizeof(sink->owner));
		sink_close(sink, NULL);
		return -1;
	}
	return 0;
}

struct sink *sink_open(struct event_base *base, const struct sink_config *cfg,
		       const struct sink_owner *owner, char *errbuf, size_t errlen)
{
	struct sink *sink = sink_alloc(base, cfg, owner, errbuf, errlen);

	if (!sink)
		return NULL;
	if (cfg->type == SINK_STDOUT) {
		int flags = fcntl(STDOUT_FILENO, F_GETFL);

		/* Never let a slow reader of stdout stall the loop. */
		if (flags < 0 || fcntl(STDOUT_FILENO, F_SETFL, flags | O_NONBLOCK)) {
			snprintf(errbuf, errlen, "standard output: %s", strerror(errno));
			sink_free(sink);
			return NULL;
		}
		if (!subscriber_new(sink, STDOUT_FILENO, true, NULL)) {
			snprintf(errbuf, errlen, "out of memory");
			sink_free(sink);
			return NULL;
		}
		return sink;
	}
	if (cfg->type == SINK_PG) {
		if (sink_pg_open(sink, errbuf, errlen)) {
			sink_free(sink);
			return NULL;
		}
		return sink;
	}
	if (cfg->type == SINK_NATS) {
		if (sink_nats_open(sink, errbuf, errlen)) {
			sink_free(sink);
			return NULL;
		}
		return sink;
	}
	if (listen_unix(sink, errbuf, errlen)) {
		sink_free(sink);
		return NULL;
	}
	if (sink_watch_listener(sink, errbuf, errlen))
		return NULL;
	log_info(sink->who, "listening on %s (policy %s, buffer %zu bytes)",
		 cfg->path, slow_policy_name(cfg->policy), sink_high_watermark(sink));
	return sink;
}

/* Is fd a listening AF_UNIX stream socket? 0, or -1 with errbuf set. */
static int check_activated_socket(int fd, char *errbuf, size_t errlen)
{
	int domain = 0, type = 0, listening = 0;
	socklen_t len;

	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len)) {
		snprintf(errbuf, errlen, "passed fd %d is not a socket: %s", fd,
			 strerror(errno));
		return -1;
	}
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		type = -1;
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len))
		listening = 0;
	if (domain != AF_UNIX || type != SOCK_STREAM || !listening) {
		snprintf(errbuf, errlen, "passed fd %d is not a listening Unix stream socket (ListenStream= with a path)",
			 fd);
		return -1;
	}
	return 0;
}

struct sink *sink_open_fd(struct event_base *base, const struct sink_config *cfg,
			  const struct sink_owner *owner, int fd,
			  char *errbuf, size_t errlen)
{
	struct sink *sink;
	int dupfd, flags;

	if (cfg->type != SINK_UNIX) {
		snprintf(errbuf, errlen, "only a unix sink can take a socket from systemd");
		return NULL;
	}
	if (check_activated_socket(fd, errbuf, errlen))
		return NULL;
	sink = sink_alloc(base, cfg, owner, errbuf, errlen);
	if (!sink)
		return NULL;
	/* Our own descriptor: the caller keeps fd for later reloads. The
	 * file's path, mode and group are systemd's (the .socket unit):
	 * sink->path stays NULL, so nothing here unlinks it. */
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0) {
		snprintf(errbuf, errlen, "dup of passed fd %d: %s", fd, strerror(errno));
		sink_free(sink);
		return NULL;
	}
	flags = fcntl(dupfd, F_GETFL);
	if (flags < 0 || fcntl(dupfd, F_SETFL, flags | O_NONBLOCK)) {
		snprintf(errbuf, errlen, "passed fd %d: %s", fd, strerror(errno));
		close(dupfd);
		sink_free(sink);
		return NULL;
	}
	sink->listen_fd = dupfd;
	sink->activated = true;
	if (sink_watch_listener(sink, errbuf, errlen))
		return NULL;
	log_info(sink->who, "listening on a socket from systemd%s%s (policy %s, buffer %zu bytes)",
		 cfg->path ? " for " : "", cfg->path ? cfg->path : "",
		 slow_policy_name(cfg->policy), sink_high_watermark(sink));
	return sink;
}

void sink_get_stats(const struct sink *sink, struct sink_stats *out)
{
	const struct subscriber *sub;

	memset(out, 0, sizeof(*out));
	out->accepted = sink->accepted;
	out->refused = sink->refused;
	out->accept_errors = sink->accept_errors;
	out->lines_out = sink->lines_out;
	out->bytes_out = sink->bytes_out;
	out->dropped = sink->dropped;
	out->disconnected_slow = sink->disconnected_slow;
	out->disconnected_other = sink->disconnected_other;
	out->blocked = sink->blocked;
	out->subscribers = sink->nsubs;
	TAILQ_FOREACH(sub, &sink->subs, link) {
		out->queued_bytes += sub->queued_bytes;
		if (sub->queued_bytes > out->max_queued_bytes)
			out->max_queued_bytes = sub->queued_bytes;
	}
	out->buffer_bytes = sink_high_watermark(sink);
	out->activated = sink->activated;
	sink_replay_stats(sink, out);
	sink_pg_stats(sink, out);
	sink_nats_stats(sink, out);
}

uint64_t sink_keep_after(const struct sink *sink)
{
	return sink_nats_keep_after(sink);
}

void sink_close(struct sink *sink, const char *why)
{
	struct subscriber *sub;

	if (sink->closed)
		return;
	if (why)
		TAILQ_FOREACH(sub, &sink->subs, link)
			subscriber_say_goodbye(sub, why);
	sink->closed = true;
	if (sink->flush_ev)
		event_del(sink->flush_ev);
	sink->flush_scheduled = false;
	/* The owner is told by subscriber_close; detach first so that a
	 * closing sink never wakes a feed that is going away. */
	memset(&sink->owner, 0, sizeof(sink->owner));
	while ((sub = TAILQ_FIRST(&sink->subs)) != NULL)
		subscriber_close(sub, CLOSE_SINK, LOG_LEVEL_INFO, "sink closed");
	sink_pg_close(sink);
	sink_nats_close(sink);
	acceptor_free(sink->acceptor);
	sink->acceptor = NULL;
	if (sink->listen_fd >= 0)
		close(sink->listen_fd);
	sink->listen_fd = -1;
	if (sink->path)
		unlink(sink->path);
	if (sink->cfg->type == SINK_STDOUT) {
		int flags = fcntl(STDOUT_FILENO, F_GETFL);

		if (flags >= 0)
			fcntl(STDOUT_FILENO, F_SETFL, flags & ~O_NONBLOCK);
	}
	if (sink->disconnected_slow || sink->drops)
		log_info(sink->who, "closed after %llu slow-subscriber disconnects and %llu drop episodes",
			 (unsigned long long)sink->disconnected_slow,
			 (unsigned long long)sink->drops);
	defer_free(sink_free, sink);
}
