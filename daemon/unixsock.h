/*
 * unixsock.h: the listening Unix socket files crdbfeedd makes (sinks, the
 * control socket, the metrics socket): one way to create them safely, and
 * one allow-list check of their peers.
 */
#ifndef CRDBFEEDD_UNIXSOCK_H
#define CRDBFEEDD_UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * Bind and listen on path (non-blocking, close-on-exec). A socket file
 * nobody answers on is replaced; a live socket or any other file is left
 * alone (an error). The file is born with no access for others, then gets
 * group (a name; NULL or "" = ours) and mode. A directory that lets others
 * replace the file is logged as a warning naming who. Returns the fd, or
 * -1 with errbuf set (and nothing left behind).
 */
int unixsock_listen(const char *who, const char *path, mode_t mode,
		    const char *group, int backlog, char *errbuf, size_t errlen);

/* Give an existing socket file group and mode (a reload). 0 or -1. */
int unixsock_set_access(const char *path, mode_t mode, const char *group,
			char *errbuf, size_t errlen);

/*
 * An allow-list: both lists empty lets everyone in (the file's mode is the
 * guard); otherwise the peer's uid or primary gid must be listed. cred NULL
 * (SO_PEERCRED failed) is refused when there is a list: fail closed.
 */
bool unixsock_peer_allowed(const struct ucred *cred,
			   const uid_t *uids, size_t nuids,
			   const gid_t *gids, size_t ngids);

#endif /* CRDBFEEDD_UNIXSOCK_H */
