/*
 * nats_testenv.c: nats-server for C tests through tests/nats/nats-env
 * (nats_testenv.h). nats-env runs a shell that prints the environment it
 * exported, then waits on its stdin: the test holds the pipe's write end,
 * and closing it ends the shell, so nats-env tears the servers down.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "nats_testenv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char report_script[] =
	"printf '%s\\n%s\\n%s\\n' \"$NATS_URL\" \"$NATS_ENV_DIR\" \"$NATS_SERVER\"; "
	"exec cat >/dev/null";

static int read_line(FILE *in, char *out, size_t cap)
{
	if (!fgets(out, (int)cap, in))
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return out[0] ? 0 : -1;
}

int nats_testenv_start(struct nats_testenv *e, int nodes, char *errbuf,
		       size_t errlen)
{
	const char *top = getenv("top_srcdir");
	char script[2048], cluster[16];
	int to_child[2], from_child[2];
	FILE *in;
	pid_t pid;

	memset(e, 0, sizeof(*e));
	e->hold = -1;
	if (!top) {
		snprintf(errbuf, errlen,
			 "nats_testenv: top_srcdir is not set (run through make check)");
		return -1;
	}
	snprintf(script, sizeof(script), "%s/tests/nats/nats-env", top);
	snprintf(cluster, sizeof(cluster), "%d", nodes);
	/* Close-on-exec: a server a test restarts must not hold the pipe
	 * open, or nats-env would never see it close. */
	if (pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC)) {
		snprintf(errbuf, errlen, "nats_testenv: pipe: %s",
			 strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(errbuf, errlen, "nats_testenv: fork: %s",
			 strerror(errno));
		return -1;
	}
	if (pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[0]);
		close(to_child[1]);
		close(from_child[0]);
		close(from_child[1]);
		setenv("NATS_CLUSTER", cluster, 1);
		execl("/bin/sh", "sh", script, "sh", "-c", report_script,
		      (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	e->pid = pid;
	e->hold = to_child[1];
	in = fdopen(from_child[0], "r");
	if (!in || read_line(in, e->url, sizeof(e->url)) ||
	    read_line(in, e->dir, sizeof(e->dir)) ||
	    read_line(in, e->server, sizeof(e->server))) {
		if (in)
			fclose(in);
		else
			close(from_child[0]);
		nats_testenv_stop(e);
		snprintf(errbuf, errlen,
			 "nats_testenv: %s did not start a server (see its message above)",
			 script);
		return -1;
	}
	fclose(in);
	return 0;
}

void nats_testenv_stop(struct nats_testenv *e)
{
	if (e->hold >= 0)
		close(e->hold);
	e->hold = -1;
	if (e->pid > 0)
		waitpid(e->pid, NULL, 0);
	e->pid = 0;
}

static pid_t node_pid(const struct nats_testenv *e, int n)
{
	char path[1100];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/node-%d.pid", e->dir, n);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* Running: the process exists and is no zombie (a node nats-env started
 * stays one until nats-env reaps it at teardown). */
static bool running(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	size_t n;
	const char *paren;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

int nats_testenv_kill_node(struct nats_testenv *e, int n)
{
	pid_t pid = node_pid(e, n);

	if (pid <= 0 || kill(pid, SIGKILL) != 0)
		return -1;
	for (int i = 0; i < 100 && running(pid); i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	return running(pid) ? -1 : 0;
}

int nats_testenv_start_node(struct nats_testenv *e, int n)
{
	char cmd[4096];

	/* Detached (sh's background job), as nats-env documents: it stops
	 * the node through its pid file. Through system(), which execs at
	 * once: a forked copy of the test that exits by itself would be
	 * leak-checked by valgrind with the library's threads gone. The
	 * pipe to nats-env is close-on-exec, so the node does not hold it. */
	snprintf(cmd, sizeof(cmd),
		 "exec >>'%s/node-%d.log' 2>&1 </dev/null; '%s' -c '%s/node-%d.conf' &",
		 e->dir, n, e->server, e->dir, n);
	return system(cmd) == 0 ? 0 : -1;
}

void nats_testenv_first_url(const struct nats_testenv *e, char *out,
			    size_t cap)
{
	snprintf(out, cap, "%s", e->url);
	out[strcspn(out, ",")] = '\0';
}
