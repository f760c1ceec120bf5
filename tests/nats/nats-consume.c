/*
 * nats-consume: a JetStream consumer for the tests (Debian 12 has no nats
 * CLI), written with libnats. It prints every message of a stream as one
 * JSON line:
 *   {"stream_seq":N,"subject":"..","redelivered":false,
 *    "headers":{"Nats-Msg-Id":"..",...},"payload":"<payload as a string>"}
 * or, with --info, the stream's state as one JSON line.
 *
 * Without --durable it reads the whole stream from its first message with
 * an ephemeral pull consumer that takes no acks; with --durable NAME it
 * resumes (or creates) that durable pull consumer and acknowledges each
 * message after printing it, so a second run goes on where the first
 * stopped.
 *
 * Exit: 0 after --count messages or --idle-exit seconds without one; 1
 * when --timeout passes first or on any error (one line on stderr); 64 on
 * bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <nats/nats.h>

#define MAX_SERVERS 16
#define FETCH_BATCH 256
#define FETCH_WAIT_MS 200
#define SECRET_MAX 4096

struct options {
	char *url;
	const char *stream;
	const char *filter;
	const char *durable;
	const char *tls_ca;
	const char *token_file;
	long long count;       /* 0: no count */
	double idle_exit;      /* 0: never */
	double timeout;        /* 0: never */
	bool info;
};

static void usage(FILE *to)
{
	fprintf(to,
		"usage: nats-consume --url URL[,URL...] --stream S [--filter SUBJ]\n"
		"        [--durable NAME] [--count N] [--idle-exit SEC] [--timeout SEC]\n"
		"        [--tls-ca FILE] [--token-file FILE] [--info]\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail_status(const char *what, natsStatus s, jsErrCode jerr)
{
	const char *last = nats_GetLastError(NULL);

	fprintf(stderr, "nats-consume: %s: %s%s%s", what, natsStatus_GetText(s),
		last && *last ? ": " : "", last ? last : "");
	if (jerr)
		fprintf(stderr, " (JetStream error %d)", (int)jerr);
	fputc('\n', stderr);
}

/* The token file's first line; the caller wipes and frees it. */
static char *read_token(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "nats-consume: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, SECRET_MAX);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, SECRET_MAX - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

static natsStatus connect_js(const struct options *o, natsConnection **nc,
			     jsCtx **js)
{
	const char *servers[MAX_SERVERS];
	int n = 0;
	natsOptions *opts = NULL;
	natsStatus s;
	char *save = NULL, *tok;
	char *token = NULL;

	for (tok = strtok_r(o->url, ",", &save); tok && n < MAX_SERVERS;
	     tok = strtok_r(NULL, ",", &save))
		servers[n++] = tok;
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, servers, n);
	/* The tests restart servers under us: keep trying, quickly. */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, 100);
	if (s == NATS_OK && o->tls_ca) {
		s = natsOptions_SetSecure(opts, true);
		if (s == NATS_OK)
			s = natsOptions_LoadCATrustedCertificates(opts,
								  o->tls_ca);
	}
	if (s == NATS_OK && o->token_file) {
		token = read_token(o->token_file);
		s = token ? natsOptions_SetToken(opts, token) : NATS_ERR;
		if (token) {
			memset(token, 0, SECRET_MAX);
			free(token);
		}
		if (s != NATS_OK) {
			natsOptions_Destroy(opts);
			return s;
		}
	}
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, opts);
	if (s == NATS_OK)
		s = natsConnection_JetStream(js, *nc, NULL);
	natsOptions_Destroy(opts);
	if (s != NATS_OK)
		fail_status("connect", s, 0);
	return s;
}

static void fail_stream(const char *stream, natsStatus s, jsErrCode jerr)
{
	char what[300];

	snprintf(what, sizeof(what), "stream %s", stream);
	fail_status(what, s, jerr);
}

static int print_info(jsCtx *js, const struct options *o)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, js, o->stream, NULL, &jerr);
	json_t *subjects, *root;
	char *text;
	int i;

	if (s != NATS_OK) {
		fail_stream(o->stream, s, jerr);
		return 1;
	}
	subjects = json_array();
	for (i = 0; i < si->Config->SubjectsLen; i++)
		json_array_append_new(subjects,
				      json_string(si->Config->Subjects[i]));
	root = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			 "stream", si->Config->Name,
			 "msgs", (json_int_t)si->State.Msgs,
			 "bytes", (json_int_t)si->State.Bytes,
			 "first_seq", (json_int_t)si->State.FirstSeq,
			 "last_seq", (json_int_t)si->State.LastSeq,
			 "consumers", (json_int_t)si->State.Consumers,
			 "replicas", (json_int_t)si->Config->Replicas,
			 "duplicate_window_ms",
			 (json_int_t)(si->Config->Duplicates / 1000000),
			 "subjects", subjects);
	jsStreamInfo_Destroy(si);
	if (!root)
		return 1;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return 1;
	puts(text);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The message as the JSON line this tool prints, or NULL. */
static char *message_line(natsMsg *m)
{
	jsMsgMetaData *meta = NULL;
	const char **keys = NULL;
	int nkeys = 0, i;
	json_t *headers = json_object(), *root;
	char *text;

	if (natsMsg_GetMetaData(&meta, m) != NATS_OK)
		return NULL;
	if (natsMsgHeader_Keys(m, &keys, &nkeys) == NATS_OK) {
		for (i = 0; i < nkeys; i++) {
			const char *v = NULL;

			if (natsMsgHeader_Get(m, keys[i], &v) == NATS_OK)
				json_object_set_new(headers, keys[i],
						    json_string(v));
		}
		free((void *)keys);
	}
	root = json_pack("{s:I, s:s, s:b, s:o, s:s%}",
			 "stream_seq", (json_int_t)meta->Sequence.Stream,
			 "subject", natsMsg_GetSubject(m),
			 "redelivered", meta->NumDelivered > 1,
			 "headers", headers,
			 "payload", natsMsg_GetData(m),
			 (size_t)natsMsg_GetDataLength(m));
	jsMsgMetaData_Destroy(meta);
	if (!root)
		return NULL;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* The subject to pull: --filter, else the stream's own subject (the
 * client requires one; a stream with several needs --filter). */
static char *pull_subject(jsCtx *js, const struct options *o)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	char *subject = NULL;

	if (o->filter)
		return strdup(o->filter);
	s = js_GetStreamInfo(&si, js, o->stream, NULL, &jerr);
	if (s != NATS_OK) {
		fail_stream(o->stream, s, jerr);
		return NULL;
	}
	if (si->Config->SubjectsLen == 1)
		subject = strdup(si->Config->Subjects[0]);
	else
		fprintf(stderr, "nats-consume: stream %s has %d subjects: give --filter\n",
			o->stream, si->Config->SubjectsLen);
	jsStreamInfo_Destroy(si);
	return subject;
}

static int consume(jsCtx *js, const struct options *o)
{
	char *subject = pull_subject(js, o);
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;
	long long printed = 0;
	double start = now_s(), last = start;
	int rc = 1;

	if (!subject)
		return 1;
	jsSubOptions_Init(&so);
	so.Stream = o->stream;
	so.Config.DeliverPolicy = js_DeliverAll;
	so.Config.AckPolicy = o->durable ? js_AckExplicit : js_AckNone;
	if (!o->durable)
		so.Config.InactiveThreshold = 5LL * 1000 * 1000 * 1000;
	s = js_PullSubscribe(&sub, js, subject, o->durable, NULL, &so, &jerr);
	free(subject);
	if (s != NATS_OK) {
		fail_status("subscribe", s, jerr);
		return 1;
	}
	for (;;) {
		natsMsgList list = {0};
		double t = now_s();
		int i, batch;

		if (o->count && printed >= o->count) {
			rc = 0;
			break;
		}
		if (o->idle_exit > 0 && t - last >= o->idle_exit) {
			rc = 0;
			break;
		}
		if (o->timeout > 0 && t - start >= o->timeout) {
			fprintf(stderr,
				"nats-consume: timeout after %.1f s: %lld of %lld messages\n",
				o->timeout, printed, o->count);
			break;
		}
		/* Never fetch more than --count leaves: a durable would get
		 * the surplus again only after its ack wait. */
		batch = FETCH_BATCH;
		if (o->count && o->count - printed < batch)
			batch = (int)(o->count - printed);
		jerr = 0;
		s = natsSubscription_Fetch(&list, sub, batch,
					   FETCH_WAIT_MS, &jerr);
		if (s == NATS_TIMEOUT || s == NATS_CONNECTION_DISCONNECTED ||
		    s == NATS_NO_RESPONDERS) {
			continue;
		}
		if (s != NATS_OK) {
			fail_status("fetch", s, jerr);
			break;
		}
		for (i = 0; i < list.Count; i++) {
			char *line;

			if (o->count && printed >= o->count)
				break; /* unacked: a durable gets it again */
			line = message_line(list.Msgs[i]);
			if (!line) {
				fprintf(stderr,
					"nats-consume: message without JetStream metadata\n");
				natsMsgList_Destroy(&list);
				goto out;
			}
			puts(line);
			free(line);
			if (fflush(stdout) != 0)
				break;
			if (o->durable) {
				s = natsMsg_AckSync(list.Msgs[i], NULL, &jerr);
				if (s != NATS_OK) {
					fail_status("ack", s, jerr);
					natsMsgList_Destroy(&list);
					goto out;
				}
			}
			printed++;
			last = now_s();
		}
		natsMsgList_Destroy(&list);
	}
out:
	/* Unsubscribe deletes the consumer the subscribe created: do it for
	 * the ephemeral one; Destroy alone leaves a durable in place. */
	if (!o->durable)
		natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},
		{"stream", required_argument, NULL, 's'},
		{"filter", required_argument, NULL, 'f'},
		{"durable", required_argument, NULL, 'd'},
		{"count", required_argument, NULL, 'c'},
		{"idle-exit", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{"tls-ca", required_argument, NULL, 'a'},
		{"token-file", required_argument, NULL, 'k'},
		{"info", no_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct options o = {0};
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	char *end;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': o.url = optarg; break;
		case 's': o.stream = optarg; break;
		case 'f': o.filter = optarg; break;
		case 'd': o.durable = optarg; break;
		case 'a': o.tls_ca = optarg; break;
		case 'k': o.token_file = optarg; break;
		case 'I': o.info = true; break;
		case 'c':
			o.count = strtoll(optarg, &end, 10);
			if (*end || o.count <= 0) {
				fprintf(stderr, "nats-consume: --count: not a positive number: %s\n", optarg);
				return 64;
			}
			break;
		case 'i':
		case 't': {
			double v = strtod(optarg, &end);

			if (*end || v <= 0) {
				fprintf(stderr, "nats-consume: --%s: not a positive number of seconds: %s\n",
					c == 'i' ? "idle-exit" : "timeout", optarg);
				return 64;
			}
			if (c == 'i')
				o.idle_exit = v;
			else
				o.timeout = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc || !o.url || !o.stream) {
		usage(stderr);
		return 64;
	}
	if (!o.info && !o.count && o.idle_exit <= 0 && o.timeout <= 0) {
		fprintf(stderr, "nats-consume: give --count, --idle-exit or --timeout (else it never ends)\n");
		return 64;
	}
	if (connect_js(&o, &nc, &js) != NATS_OK) {
		natsConnection_Destroy(nc);
		nats_Close();
		return 1;
	}
	rc = o.info ? print_info(js, &o) : consume(js, &o);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
