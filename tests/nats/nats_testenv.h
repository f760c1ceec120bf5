/*
 * nats_testenv.h: a throwaway nats-server for a C test, started through
 * tests/nats/nats-env from the test process itself, so that the test (and
 * valgrind around it) runs as any other test under its LOG_COMPILER. The
 * server lives until nats_testenv_stop; a test can kill -9 a node and
 * start it again (same ports, same store).
 */
#ifndef CRDBFEED_TESTS_NATS_TESTENV_H
#define CRDBFEED_TESTS_NATS_TESTENV_H

#include <stddef.h>
#include <sys/types.h>

struct nats_testenv {
	pid_t pid;          /* nats-env */
	int hold;           /* nats-env runs until this pipe closes */
	char url[1024];     /* NATS_URL: comma-separated client URLs */
	char dir[1024];     /* NATS_ENV_DIR: node-N.conf, .pid, .log */
	char server[1024];  /* NATS_SERVER: the nats-server binary */
};

/* Start nats-env with nodes (1 or 3) nodes; $top_srcdir names the source
 * tree. 0, or -1 with errbuf set (no nats-server, no top_srcdir). */
int nats_testenv_start(struct nats_testenv *e, int nodes, char *errbuf,
		       size_t errlen);
/* Stop the servers (nats-env tears down, even restarted nodes). */
void nats_testenv_stop(struct nats_testenv *e);
/* kill -9 node n (1-based) and wait until it is gone. 0 or -1. */
int nats_testenv_kill_node(struct nats_testenv *e, int n);
/* Start node n again from its config, detached. 0 or -1. */
int nats_testenv_start_node(struct nats_testenv *e, int n);
/* The first URL of e->url (for a plain single-server connect). */
void nats_testenv_first_url(const struct nats_testenv *e, char *out,
			    size_t cap);

#endif /* CRDBFEED_TESTS_NATS_TESTENV_H */
