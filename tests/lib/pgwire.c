/*
 * pgwire.c: the raw protocol v3 client of pgwire.h.
 */
#include "config.h"

#include "pgwire.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void pgw_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t pgw_get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

int pgw_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(port > 0 && port < 65536, "bad port %d", port);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
		      "cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

void pgw_send(int fd, const void *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, (const char *)p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		done += (size_t)w;
	}
}

void pgw_send_msg(int fd, char type, const void *body, size_t n)
{
	unsigned char hdr[5];

	ck_assert_uint_le(n, UINT32_MAX - 4);
	hdr[0] = (unsigned char)type;
	pgw_put32(hdr + 1, (uint32_t)n + 4);
	pgw_send(fd, hdr, sizeof hdr);
	if (n)
		pgw_send(fd, body, n);
}

void pgw_send_startup(int fd, const char *user, const char *database)
{
	unsigned char pkt[512];
	size_t n = 8, ul = strlen(user) + 1, dl = strlen(database) + 1;

	ck_assert_uint_le(n + 5 + ul + 9 + dl + 1, sizeof pkt);
	memcpy(pkt + n, "user", 5);
	n += 5;
	memcpy(pkt + n, user, ul);
	n += ul;
	memcpy(pkt + n, "database", 9);
	n += 9;
	memcpy(pkt + n, database, dl);
	n += dl;
	pkt[n++] = '\0';
	pgw_put32(pkt, (uint32_t)n);
	pgw_put32(pkt + 4, PGW_PROTOCOL_3);
	pgw_send(fd, pkt, n);
}

void pgw_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ck_assert_msg(poll(&p, 1, PGW_READ_TIMEOUT_MS) == 1,
			      "nothing from the server within %d ms", PGW_READ_TIMEOUT_MS);
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_msg(r > 0, "the server closed the connection (%zu of %zu bytes read)",
			      got, n);
		got += (size_t)r;
	}
}

void pgw_read_msg(int fd, struct pgw_msg *m, size_t max)
{
	unsigned char hdr[5];
	uint32_t len;

	pgw_read_full(fd, hdr, sizeof hdr);
	len = pgw_get32(hdr + 1);
	ck_assert_msg(len >= 4, "message '%c' with length %u", hdr[0], len);
	ck_assert_msg(len - 4 <= max, "message '%c' of %u bytes, more than %zu",
		      hdr[0], len - 4, max);
	m->type = (char)hdr[0];
	m->len = len - 4;
	m->body = malloc(m->len + 1);
	ck_assert_ptr_nonnull(m->body);
	pgw_read_full(fd, m->body, m->len);
	m->body[m->len] = '\0';
}

void pgw_msg_free(struct pgw_msg *m)
{
	free(m->body);
	m->body = NULL;
	m->len = 0;
}

void pgw_read_until_ready(int fd)
{
	struct pgw_msg m;

	do {
		pgw_read_msg(fd, &m, 64 * 1024);
		if (m.type == 'E') {
			const char *text = pgw_error_field(m.body, m.len, 'M');
			ck_abort_msg("ErrorResponse before ReadyForQuery: %s",
				     text ? text : "(no message)");
		}
		pgw_msg_free(&m);
	} while (m.type != 'Z');
}

int pgw_session(int port)
{
	int fd = pgw_connect(port);

	pgw_send_startup(fd, "root", "defaultdb");
	pgw_read_until_ready(fd);
	return fd;
}

size_t pgw_read_to_eof(int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ck_assert_msg(poll(&p, 1, PGW_READ_TIMEOUT_MS) == 1,
			      "the server neither wrote nor closed within %d ms",
			      PGW_READ_TIMEOUT_MS);
		char scratch[512];
		char *to = got < len ? buf + got : scratch;
		size_t room = got < len ? len - got : sizeof scratch;
		ssize_t r = read(fd, to, room);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_msg(r >= 0, "read: %s", strerror(errno));
		if (r == 0)
			return got;
		if (to != scratch)
			got += (size_t)r;
	}
}

const char *pgw_error_field(const unsigned char *body, size_t len, char code)
{
	size_t i = 0;

	while (i < len && body[i]) {
		char f = (char)body[i++];
		const char *v = (const char *)body + i;
		size_t vlen = strnlen(v, len - i);

		if (i + vlen >= len)
			return NULL;
		if (f == code)
			return v;
		i += vlen + 1;
	}
	return NULL;
}
