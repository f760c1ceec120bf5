/*
 * listen-pg-driver.c: the LISTEN endpoint (listen_pg) alone on an event
 * loop, for the end-to-end tests: commands come one per line on stdin,
 *   notify CHANNEL PAYLOAD...   push a notification (sender pid 77)
 *   stats                       print "stats sessions=N channels=N ..."
 * and end of input closes the endpoint and exits. Prints "ready
 * tcp_port=N" once listening.
 *
 *   listen-pg-driver [--dir DIR] [--port N] [--tcp HOST --auth-file F]
 *                    [--max-listeners N] [--max-channels N] [--max-queued N]
 *                    [--uid N] [--tls-cert F --tls-key F [--tls-required 1]]
 *   listen-pg-driver --verifier USER PASSWORD   print a verifier file line
 */
#include <config.h> /* autoconf's, from the build directory */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/listen_pg.h"
#include "daemon/scram.h"

struct driver {
	struct event_base *base;
	struct listen_pg *ep;
	char line[16384];
	size_t len;
};

static void run_command(struct driver *d, char *line)
{
	if (strncmp(line, "notify ", 7) == 0) {
		char *channel = line + 7;
		char *sp = strchr(channel, ' ');
		const char *payload = "";
		if (sp) {
			*sp = '\0';
			payload = sp + 1;
		}
		int n = listen_pg_notify(d->ep, channel, payload, 77);
		printf("notified %d\n", n);
	} else if (strcmp(line, "stats") == 0) {
		struct listen_pg_stats st;
		listen_pg_stats(d->ep, &st);
		printf("stats sessions=%zu channels=%zu accepted=%llu refused_full=%llu "
		       "refused_peer=%llu auth_failed=%llu protocol_errors=%llu "
		       "dropped_slow=%llu cancel_requests=%llu notifications=%llu\n",
		       st.sessions, st.channels, (unsigned long long)st.accepted,
		       (unsigned long long)st.refused_full, (unsigned long long)st.refused_peer,
		       (unsigned long long)st.auth_failed, (unsigned long long)st.protocol_errors,
		       (unsigned long long)st.dropped_slow, (unsigned long long)st.cancel_requests,
		       (unsigned long long)st.notifications);
	} else if (*line) {
		printf("unknown command: %s\n", line);
	}
	fflush(stdout);
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct driver *d = arg;
	(void)what;
	ssize_t n = read(fd, d->line + d->len, sizeof d->line - 1 - d->len);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		event_base_loopbreak(d->base);
		return;
	}
	d->len += (size_t)n;
	char *nl;
	while ((nl = memchr(d->line, '\n', d->len)) != NULL) {
		*nl = '\0';
		run_command(d, d->line);
		size_t rest = d->len - (size_t)(nl + 1 - d->line);
		memmove(d->line, nl + 1, rest);
		d->len = rest;
	}
	if (d->len == sizeof d->line - 1)
		d->len = 0; /* an over-long line is dropped */
}

static size_t number(const char *s)
{
	return (size_t)strtoul(s, NULL, 10);
}

int main(int argc, char **argv)
{
	struct listen_pg_config cfg = {0};
	uid_t uid;
	if (argc == 4 && strcmp(argv[1], "--verifier") == 0) {
		char v[SCRAM_VERIFIER_MAX], err[200] = "";
		if (scram_make_verifier(argv[3], 4096, NULL, 0, v, sizeof v, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%s:%s\n", argv[2], v);
		return 0;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "--dir") == 0)
			cfg.unix_dir = v;
		else if (strcmp(k, "--port") == 0)
			cfg.port = (int)number(v);
		else if (strcmp(k, "--tcp") == 0)
			cfg.tcp_host = v;
		else if (strcmp(k, "--auth-file") == 0)
			cfg.auth_file = v;
		else if (strcmp(k, "--tls-cert") == 0)
			cfg.tls_cert = v;
		else if (strcmp(k, "--tls-key") == 0)
			cfg.tls_key = v;
		else if (strcmp(k, "--tls-required") == 0)
			cfg.tls_required = number(v) != 0;
		else if (strcmp(k, "--max-listeners") == 0)
			cfg.max_listeners = number(v);
		else if (strcmp(k, "--max-channels") == 0)
			cfg.max_channels = number(v);
		else if (strcmp(k, "--max-queued") == 0)
			cfg.max_queued_bytes = number(v);
		else if (strcmp(k, "--uid") == 0) {
			uid = (uid_t)number(v);
			cfg.uids = &uid;
			cfg.nuids = 1;
		} else {
			fprintf(stderr, "listen-pg-driver: unknown option %s\n", k);
			return 2;
		}
	}
	struct driver d = {.base = event_base_new()};
	char err[512] = "";
	d.ep = d.base ? listen_pg_new(d.base, &cfg, err, sizeof err) : NULL;
	if (!d.ep) {
		fprintf(stderr, "listen-pg-driver: %s\n", err);
		if (d.base)
			event_base_free(d.base);
		return 1;
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	struct event *in = event_new(d.base, 0, EV_READ | EV_PERSIST, on_stdin, &d);
	event_add(in, NULL);
	printf("ready tcp_port=%d\n", listen_pg_tcp_port(d.ep));
	fflush(stdout);
	event_base_dispatch(d.base);
	event_free(in);
	listen_pg_close(d.ep);
	event_base_free(d.base);
	return 0;
}
