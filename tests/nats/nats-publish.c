/*
 * nats-publish: a JetStream publisher for the tests (Debian 12 has no nats
 * CLI), written with libnats, the mirror of nats-consume. It reads JSON
 * lines from stdin, each one message as nats-consume prints them:
 *   {"subject":"..","headers":{"Name":"value",...},"payload":"<string>"}
 * and publishes each to JetStream, waiting for its acknowledgement, in
 * order. With --stream NAME --subjects SUBJ it first creates the stream
 * (file storage, one replica) when it does not exist.
 *
 * Exit: 0 when every message was acknowledged, 1 on any error (one line on
 * stderr naming the input line), 64 on bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nats/nats.h>

#define LINE_MAX_BYTES (1 << 20)

static void usage(FILE *to)
{
	fprintf(to, "usage: nats-publish --url URL [--stream NAME --subjects SUBJ] < LINES\n");
}

static int ensure_stream(jsCtx *js, const char *stream, const char *subjects)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode jerr = 0;
	const char *subj[1] = { subjects };
	natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);

	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subj;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	s = js_AddStream(&si, js, &cfg, NULL, &jerr);
	if (s != NATS_OK) {
		fprintf(stderr, "nats-publish: stream %s: %s (%d)\n", stream,
			natsStatus_GetText(s), (int)jerr);
		return -1;
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

/* One input line as a message, published and acknowledged. */
static int publish_line(jsCtx *js, const char *text, size_t len, long lineno)
{
	json_error_t jerror;
	json_t *obj = json_loadb(text, len, 0, &jerror);
	const char *subject = json_string_value(json_object_get(obj, "subject"));
	json_t *payload = json_object_get(obj, "payload");
	json_t *headers = json_object_get(obj, "headers");
	natsMsg *msg = NULL;
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	const char *name;
	json_t *value;
	int rc = -1;

	if (!subject || !json_is_string(payload)) {
		fprintf(stderr, "nats-publish: line %ld: not {\"subject\":..,\"payload\":..}\n",
			lineno);
		goto out;
	}
	s = natsMsg_Create(&msg, subject, NULL, json_string_value(payload),
			   (int)json_string_length(payload));
	json_object_foreach(headers, name, value)
		if (s == NATS_OK && json_is_string(value))
			s = natsMsgHeader_Set(msg, name, json_string_value(value));
	if (s == NATS_OK)
		s = js_PublishMsg(&ack, js, msg, NULL, &jerr);
	if (s != NATS_OK) {
		fprintf(stderr, "nats-publish: line %ld: %s (%d)\n", lineno,
			natsStatus_GetText(s), (int)jerr);
		goto out;
	}
	rc = 0;
out:
	jsPubAck_Destroy(ack);
	natsMsg_Destroy(msg);
	json_decref(obj);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "stream", required_argument, NULL, 's' },
		{ "subjects", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *stream = NULL, *subjects = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 's': stream = optarg; break;
		case 'j': subjects = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (!url || optind != argc || !stream != !subjects) {
		usage(stderr);
		return 64;
	}
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK ||
	    natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
		fprintf(stderr, "nats-publish: %s: %s\n", url,
			nats_GetLastError(NULL));
		rc = 1;
		goto out;
	}
	if (stream && ensure_stream(js, stream, subjects) < 0) {
		rc = 1;
		goto out;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		if (n > LINE_MAX_BYTES) {
			fprintf(stderr, "nats-publish: line %ld: longer than %d bytes\n",
				lineno, LINE_MAX_BYTES);
			rc = 1;
			break;
		}
		if (publish_line(js, line, (size_t)n, lineno) < 0) {
			rc = 1;
			break;
		}
	}
out:
	free(line);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
