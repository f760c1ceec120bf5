-- notify.sql: crdbfeed's notify channels on CockroachDB, the sending side
-- of LISTEN/NOTIFY (doc/crdb-wire.md §15, README "Moving LISTEN/NOTIFY
-- code to CockroachDB").
--
-- A notification is one row of crdbfeed_notify, written by
-- crdbfeed_notify(channel, payload) inside the sender's transaction; a
-- changefeed on the table (crdbfeedd's feed of kind notify) delivers the
-- committed rows. Needs CockroachDB 24.1 or later: SQL functions may
-- modify data from 23.2, and the storage parameter
-- ttl_disable_changefeed_replication exists from 24.1 (on 23.2, drop it
-- from the WITH clause and SET CLUSTER SETTING
-- sql.ttl.changefeed_replication.disabled = true instead).
--
-- The rules are PostgreSQL's pg_notify():
--   * the channel is taken as given, 1 to 63 bytes: pg_notify does not
--     case-fold it (LISTEN folds its identifier, so NOTIFY Orders and
--     LISTEN Orders meet on channel "orders": send 'orders');
--   * the payload is shorter than 8000 bytes; NULL is the empty string;
--   * nothing is sent unless the transaction commits; notifications of
--     one transaction arrive together, in the order they were sent (the
--     key, unique_rowid(), increases on the node that runs the
--     transaction), and identical ones (same channel and payload) are
--     folded into one by the receiving side.
-- Rows expire after an hour (row-level TTL); the TTL job's deletions are
-- not replicated to changefeeds, so they never become notifications.

CREATE TABLE IF NOT EXISTS crdbfeed_notify (
	id INT8 NOT NULL DEFAULT unique_rowid() PRIMARY KEY,
	channel STRING NOT NULL,
	payload STRING NOT NULL,
	sent_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	CONSTRAINT crdbfeed_notify_channel_is_1_to_63_bytes
		CHECK (octet_length(channel) BETWEEN 1 AND 63),
	CONSTRAINT crdbfeed_notify_payload_is_under_8000_bytes
		CHECK (octet_length(payload) < 8000)
) WITH (
	ttl_expiration_expression = 'sent_at + INTERVAL ''1 hour''',
	ttl_job_cron = '@hourly',
	ttl_disable_changefeed_replication = true
);

CREATE OR REPLACE FUNCTION crdbfeed_notify(channel STRING, payload STRING)
RETURNS VOID LANGUAGE SQL VOLATILE AS $$
	INSERT INTO crdbfeed_notify (channel, payload)
	VALUES (coalesce(channel, ''), coalesce(payload, ''));
$$;
