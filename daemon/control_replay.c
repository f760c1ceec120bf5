/*
 * control_replay.c: the control socket's replay command (control.h): an
 * ordered feed's journal streamed to the client as it drains it. The
 * first line says whether the replay starts; the journal's lines follow,
 * read one chunk (ctl_replay.h) per loop pass whenever the previous one
 * has been sent, so a connection holds about one chunk of memory and a
 * fast client never holds up the loop; the last line says how it ended.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "control_int.h"

#include "ctl_replay.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_stream {
	char *feed;                    /* the feed's name (the view's is
					  gone after this loop pass) */
	struct ctl_replay_query query;
	struct ctl_replay replay;
};

void ctl_stream_free(struct ctl_stream *stream)
{
	if (!stream)
		return;
	ctl_replay_query_free(&stream->query);
	free(stream->feed);
	free(stream);
}

/* The closing line, appended; the stream is over. */
static void stream_end(struct conn *conn, const char *error)
{
	struct ctl_stream *stream = conn->stream;
	json_t *last;
	char *text;

	if (error) {
		log_warning(CONTROL_WHO, "%s: replay of feed %s failed after %llu lines: %s",
			    conn->who, stream->feed,
			    (unsigned long long)stream->replay.lines, error);
		last = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", error,
				 "code", "failed");
	} else {
		log_info(CONTROL_WHO, "%s: replay of feed %s done, %llu lines",
			 conn->who, stream->feed,
			 (unsigned long long)stream->replay.lines);
		last = json_pack("{s:b, s:I}", "ok", 1, "lines",
				 (json_int_t)stream->replay.lines);
	}
	text = last ? json_dumps(last, JSON_COMPACT) : NULL;
	textbuf_puts(&conn->out, text ? text :
		     "{\"ok\":false,\"error\":\"out of memory\",\"code\":\"failed\"}");
	textbuf_puts(&conn->out, "\n");
	free(text);
	json_decref(last);
	ctl_stream_free(stream);
	conn->stream = NULL;
}

void ctl_stream_refill(struct conn *conn)
{
	struct control *ctl = conn->ctl;
	struct ctl_stream *stream = conn->stream;
	struct journal *journal;
	char errbuf[512] = "";
	int rc;

	textbuf_free(&conn->out);
	textbuf_init(&conn->out, RESPONSE_MAX);
	conn->out_off = 0;
	journal = ctl->ops->journal ? ctl->ops->journal(ctl->arg, stream->feed) : NULL;
	if (!journal) {
		snprintf(errbuf, sizeof(errbuf), "feed \"%.200s\" was removed or its journal closed during the replay",
			 stream->feed);
		stream_end(conn, errbuf);
		return;
	}
	rc = ctl_replay_chunk(&stream->replay, journal, &conn->out,
			      CTL_REPLAY_CHUNK_BYTES, errbuf, sizeof(errbuf));
	if (rc < 0)
		stream_end(conn, errbuf);
	else if (rc == 0)
		stream_end(conn, NULL);
}

void ctl_replay_command(struct conn *conn, const struct daemon_view *view,
			char *arg)
{
	struct control *ctl = conn->ctl;
	const struct feed_view *feed;
	struct ctl_stream *stream;
	struct journal *journal;
	char *options = arg + strcspn(arg, " \t");
	char errbuf[512], shown[128], shown_options[CONTROL_LINE_MAX];
	json_t *first;

	if (*options) {
		*options++ = '\0';
		options += strspn(options, " \t");
	}
	if (!*arg) {
		ctl_answer_error(conn, "bad_request", "usage: replay FEED [OPTIONS]");
		return;
	}
	ctl_printable(shown, sizeof(shown), arg);
	feed = ctl_find_feed(view, arg);
	if (!feed) {
		ctl_answer_error(conn, "unknown_feed", "unknown feed \"%s\"", shown);
		return;
	}
	if (feed->cfg->delivery != FEED_DELIVERY_ORDERED) {
		ctl_answer_error(conn, "failed", "feed \"%s\" has no journal: its delivery is stream, not ordered",
				 shown);
		return;
	}
	journal = ctl->ops->journal ? ctl->ops->journal(ctl->arg, arg) : NULL;
	if (!journal) {
		ctl_answer_error(conn, "failed", "the journal of feed \"%s\" is not open (see the daemon's log)",
				 shown);
		return;
	}
	stream = calloc(1, sizeof(*stream));
	if (!stream || !(stream->feed = strdup(arg))) {
		free(stream);
		ctl_answer_error(conn, "failed", "out of memory");
		return;
	}
	if (*options && ctl_replay_query_parse(options, &stream->query, errbuf,
					       sizeof(errbuf))) {
		ctl_stream_free(stream);
		ctl_answer_error(conn, "bad_request", "replay: %s", errbuf);
		return;
	}
	if (ctl_replay_start(&stream->replay, journal, &stream->query,
			     stream->feed, errbuf, sizeof(errbuf))) {
		ctl_stream_free(stream);
		ctl_answer_error(conn, "failed", "replay of feed \"%s\": %s", shown, errbuf);
		return;
	}
	first = json_pack("{s:b, s:I, s:I, s:I}", "ok", 1,
			  "after", (json_int_t)stream->replay.start_pos,
			  "first", (json_int_t)stream->replay.first_kept,
			  "last", (json_int_t)stream->replay.end_seq);
	ctl_answer_json(conn, first);
	ctl_printable(shown_options, sizeof(shown_options), options);
	log_notice(CONTROL_WHO, "%s: replay feed %s %s", conn->who, stream->feed,
		   *options ? shown_options : "(all)");
	conn->stream = stream;
}
