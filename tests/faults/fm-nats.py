#!/usr/bin/python3
"""fm-nats.py: the NATS fault variant's reading of a JetStream stream, as
tests/nats/nats-consume recorded it, for the ordered verdict.

usage: fm-nats.py convert [--strict-order] RECORDING OUT PREFIX FEED TABLE IDENTITY
       fm-nats.py doctor RECORDING OUTDIR

convert: RECORDING holds nats-consume's lines ({"stream_seq":N,
"subject":S,"headers":{...},"payload":"<the line>"}) of one feed's stream,
read by a durable consumer that may have been restarted: a message it
printed before its acknowledgement was lost comes again with the same
stream_seq (a redelivery, dropped and counted: it is one stored message).
Every message must carry what the publisher owes a NATS consumer, else
exit 1:
  - a row on PREFIX.FEED.TABLE, a resolved timestamp on PREFIX.FEED._resolved
    (names escaped as daemon/nats_subject.h says);
  - Nats-Msg-Id: for a row the hash of (IDENTITY, updated, table, the key's
    bytes as the line has them), for a resolved timestamp the hash of
    (IDENTITY, resolved) (nats_msg_id_row, nats_msg_id_resolved), so two
    daemons publishing the feed write one id per row;
  - Crdb-Type row or resolved, and on rows Crdb-Seq, Crdb-Updated and
    Crdb-Table equal to the payload's seq, updated and table.
The order the stream keeps (doc/nats.md): no row is stored after a
resolved message whose timestamp covers it (updated <= resolved), else
exit 1 (row-after-resolved=N); between two resolved messages the rows are
the interval's, in the order the publishers got them stored, which a
leader failover can break (a failed publish stored again after later
ones). So the rows of each resolved interval are put in commit order
(updated, then the publisher's seq, group_end last) and counted when
that moved them (reordered-in-interval=N rows in intervals-reordered=M),
not an error; with --strict-order they are left in stream order and the
verdict's order check is the stream's own.
OUT gets the stream as recorder.py would have received it from one
ordered feed ("<stream_seq> <line>" lines), for fm-check.py --ordered: the
row lines in stream order, their seq renumbered 1..N along the stream
(each publisher's own seq is local to it; on NATS the position is the
stream's), so a row the stream stored twice is a duplicate and one it
never stored is lost. A resolved timestamp not above the highest one
before it is dropped (two publishers' resolved messages interleave, a
consumer keeps the highest); a kept one gets as seq the number of rows
before it at or below it, so the verdict's resolved check is the one a
NATS consumer relies on: no row at or below a resolved timestamp comes
after it. With two publishers rows above it may come before it (one
publisher ran ahead of the other): counted, not an error. Prints one
"nats:" line.

doctor: spoiled copies of RECORDING in OUTDIR, around its 100th row
message R, each of which convert + the verdict must reject or account for:
  after-resolved R stored after the first resolved message that covers it:
                 row-after-resolved=1;
  interval-swap  from R on, the first row followed by a row of a later
                 transaction in the same resolved interval: the two
                 exchanged: reordered-in-interval=2,
                 accepted (rejected with --strict-order);
  stored-twice   R stored a second time right after itself (a new
                 stream_seq, later ones shifted): a duplicate;
  missing        R never stored: one row lost;
  redelivered    R printed twice with its stream_seq: one redelivery,
                 no duplicate;
  bad-msg-id     R's Nats-Msg-Id altered: bad-msg-id=1;
  bad-subject    R on another table's subject: bad-subject=1.
"""
import hashlib
import json
import struct
import sys

ROW_TAG = b"crdbfeed nats msg-id v1 row"
RESOLVED_TAG = b"crdbfeed nats msg-id v1 resolved"


def token(name):
    """nats_subject_token: a name as one subject token."""
    out = []
    for i, b in enumerate(name.encode()):
        keep = 0x21 <= b <= 0x7E and chr(b) not in ".*>%" and not (i == 0 and b == 0x5F)
        out.append(chr(b) if keep else "%%%02X" % b)
    return "".join(out)


def hlc(s):
    wall, _, logical = str(s).partition(".")
    return (int(wall), int(logical or 0))


def field(b):
    return struct.pack(">Q", len(b)) + b


def msg_id(tag, identity, stamp, table=None, key=None):
    """nats_msg_id_row / nats_msg_id_resolved."""
    wall, logical = stamp
    data = field(tag) + field(identity.encode()) + struct.pack(">QQ", wall, logical & 0xFFFFFFFF)
    if table is not None:
        data += field(table.encode()) + field(key)
    return "1-" + hashlib.sha256(data).hexdigest()[:32]


def raw_key(payload):
    """The bytes of the line's "key" value as the line holds them."""
    at = payload.find('"key":')
    if at < 0:
        return None
    start = at + len('"key":')
    _, end = json.JSONDecoder().raw_decode(payload, start)
    return payload[start:end].encode()


def header(headers, name):
    v = headers.get(name)
    if isinstance(v, list):
        v = v[0] if v else None
    return v


def messages(path):
    """Decoded nats-consume lines; a torn last line is skipped."""
    with open(path, errors="replace") as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def interval_key(ev):
    """Commit order within a resolved interval: a transaction's rows share
    updated, and its group_end row is its last."""
    return (hlc(ev["updated"]), bool(ev.get("group_end")), ev.get("seq") or 0)


def convert(recording, out_path, prefix, feed, table, identity, strict_order=False):
    row_subject = "%s.%s.%s" % (prefix, token(feed), token(table))
    resolved_subject = "%s.%s._resolved" % (prefix, token(feed))
    total = redelivered = rows = kept_resolved = lower_resolved = 0
    resolved_after_later = row_after_resolved = 0
    reordered = intervals_reordered = 0
    interval = []            # (stream_seq, row line) since the last kept resolved
    bad = {"bad-subject": 0, "bad-msg-id": 0, "bad-headers": 0, "bad-payload": 0}
    examples = []
    row_updated = []         # updated of each row line so far, in stream order
    newest_row = None
    highest = None
    # A redelivered message (same stream_seq) is one stored message; a
    # message fetched, never printed and delivered again after the ack
    # wait comes later in the recording than its stream position.
    by_seq = {}
    for m in messages(recording):
        total += 1
        sseq = m.get("stream_seq")
        if not isinstance(sseq, int) or sseq < 1:
            bad["bad-payload"] += 1
            examples.append("a line without a stream_seq: %s" % m)
        elif sseq in by_seq:
            redelivered += 1
        else:
            by_seq[sseq] = m
    # The stream's sequence has no holes (a limits stream nothing was
    # deleted from): a missing one is a message the consumer never printed.
    unread = (max(by_seq) - len(by_seq)) if by_seq else 0
    out = open(out_path, "w")

    def flush_interval():
        nonlocal rows, reordered, intervals_reordered
        order = list(interval) if strict_order else sorted(interval, key=lambda t: interval_key(t[1]))
        moved = sum(1 for a, b in zip(interval, order) if a is not b)
        if moved:
            reordered += moved
            intervals_reordered += 1
        for sseq, (_, ev) in zip([t[0] for t in interval], order):
            rows += 1
            ev["seq"] = rows
            out.write("%d %s\n" % (sseq, json.dumps(ev, separators=(",", ":"))))
        interval.clear()
    with out:
        for sseq in sorted(by_seq):
            m = by_seq[sseq]
            headers = m.get("headers") or {}
            text = m.get("payload", "")
            try:
                ev = json.loads(text)
            except ValueError:
                bad["bad-payload"] += 1
                examples.append("stream_seq %s: payload not JSON" % sseq)
                continue
            kind = ev.get("type")
            if kind == "row":
                if m.get("subject") != row_subject:
                    bad["bad-subject"] += 1
                    examples.append("stream_seq %s: row on %s" % (sseq, m.get("subject")))
                key = raw_key(text)
                want = msg_id(ROW_TAG, identity, hlc(ev["updated"]), ev.get("table", ""), key or b"")
                if header(headers, "Nats-Msg-Id") != want:
                    bad["bad-msg-id"] += 1
                    examples.append("stream_seq %s: Nats-Msg-Id %s, want %s"
                                    % (sseq, header(headers, "Nats-Msg-Id"), want))
                hs = header(headers, "Crdb-Seq")
                hu = header(headers, "Crdb-Updated")
                if (header(headers, "Crdb-Type") != "row" or hs is None or hu is None
                        or str(hs) != str(ev.get("seq")) or hlc(hu) != hlc(ev["updated"])
                        or header(headers, "Crdb-Table") != ev.get("table")):
                    bad["bad-headers"] += 1
                    examples.append("stream_seq %s: row headers %s" % (sseq, headers))
                upd = hlc(ev["updated"])
                if highest is not None and upd <= highest:
                    row_after_resolved += 1
                    examples.append("stream_seq %s: a row at %s stored after the resolved "
                                    "timestamp %s that covers it" % (sseq, ev["updated"], highest))
                row_updated.append(upd)
                newest_row = upd if newest_row is None else max(newest_row, upd)
                interval.append((sseq, ev))
            elif kind == "resolved":
                if m.get("subject") != resolved_subject:
                    bad["bad-subject"] += 1
                    examples.append("stream_seq %s: resolved on %s" % (sseq, m.get("subject")))
                r = hlc(ev["resolved"])
                if (header(headers, "Nats-Msg-Id") != msg_id(RESOLVED_TAG, identity, r)
                        or header(headers, "Crdb-Type") != "resolved"):
                    bad["bad-msg-id"] += 1
                    examples.append("stream_seq %s: resolved headers %s" % (sseq, headers))
                if highest is not None and r <= highest:
                    lower_resolved += 1
                    continue
                flush_interval()
                highest = r
                kept_resolved += 1
                covered = sum(1 for u in row_updated if u <= r)
                if newest_row is not None and newest_row > r:
                    resolved_after_later += 1
                ev["seq"] = covered
                out.write("%d %s\n" % (sseq, json.dumps(ev, separators=(",", ":"))))
            else:
                bad["bad-payload"] += 1
                examples.append("stream_seq %s: a %r line" % (sseq, kind))
        flush_interval()
    print("nats: messages=%d redelivered=%d stored=%d unread=%d rows=%d resolved=%d "
          "resolved-lower-ignored=%d resolved-after-later-rows=%d row-after-resolved=%d "
          "reordered-in-interval=%d intervals-reordered=%d %s"
          % (total, redelivered, len(by_seq), unread, rows, kept_resolved, lower_resolved,
             resolved_after_later, row_after_resolved, reordered, intervals_reordered,
             " ".join("%s=%d" % kv for kv in bad.items())))
    for e in examples[:10]:
        print("  " + e, file=sys.stderr)
    return 1 if any(bad.values()) or unread or row_after_resolved or not rows else 0


def doctor(recording, outdir):
    lines = open(recording).read().splitlines(True)
    def is_row(line):
        try:
            return json.loads(json.loads(line)["payload"]).get("type") == "row"
        except (ValueError, KeyError, AttributeError):
            return False
    def payload(line):
        return json.loads(json.loads(line)["payload"])
    rows = [i for i, l in enumerate(lines) if is_row(l)]
    if len(rows) < 200:
        print("fm-nats doctor: only %d row messages in %s" % (len(rows), recording),
              file=sys.stderr)
        return 1
    r = rows[99]
    msg = json.loads(lines[r])

    def write(name, content):
        with open("%s/%s" % (outdir, name), "w") as f:
            f.writelines(content)

    def shifted(i, by):
        m = json.loads(lines[i])
        m["stream_seq"] += by
        return json.dumps(m) + "\n"
    rest = range(r + 1, len(lines))
    write("stored-twice", lines[:r + 1] + [shifted(i, 1) for i in [r] + list(rest)])
    write("missing", lines[:r] + [shifted(i, -1) for i in rest])
    write("redelivered", lines[:r + 1] + [lines[r]] + lines[r + 1:])
    spoiled = dict(msg, headers=dict(msg["headers"], **{"Nats-Msg-Id": "1-" + "0" * 32}))
    write("bad-msg-id", lines[:r] + [json.dumps(spoiled) + "\n"] + lines[r + 1:])
    spoiled = dict(msg, subject=msg["subject"] + "x")
    write("bad-subject", lines[:r] + [json.dumps(spoiled) + "\n"] + lines[r + 1:])
    # R's content moved after the first resolved message covering it, the
    # messages between shifted up one stream_seq.
    upd = hlc(payload(lines[r])["updated"])
    cover = next((i for i in range(r + 1, len(lines)) if not is_row(lines[i])
                  and hlc(payload(lines[i]).get("resolved", "0")) >= upd), None)
    if cover is None:
        print("fm-nats doctor: no resolved message after row message %d" % r, file=sys.stderr)
        return 1
    seq_of = [json.loads(l)["stream_seq"] for l in lines]

    def at_seq(i, sseq):
        m = json.loads(lines[i])
        m["stream_seq"] = sseq
        return json.dumps(m) + "\n"
    moved = [at_seq(i, seq_of[i - 1]) for i in range(r + 1, cover + 1)] + [at_seq(r, seq_of[cover])]
    write("after-resolved", lines[:r] + moved + lines[cover + 1:])
    # R and the next row of another transaction, both before the next
    # resolved message, exchanged.
    def next_other(i):
        u = hlc(payload(lines[i])["updated"])
        return next((j for j in range(i + 1, len(lines)) if not is_row(lines[j])
                     or hlc(payload(lines[j])["updated"]) != u), None)
    pair = next(((i, j) for i in rows[99:] for j in [next_other(i)]
                 if j is not None and is_row(lines[j])), None)
    if pair is None:
        print("fm-nats doctor: no two transactions in one resolved interval", file=sys.stderr)
        return 1
    a, b = pair
    swapped = list(lines)
    swapped[a], swapped[b] = at_seq(b, seq_of[a]), at_seq(a, seq_of[b])
    write("interval-swap", swapped)
    return 0


def main():
    if sys.argv[1:2] == ["convert"] and sys.argv[2:3] == ["--strict-order"] and len(sys.argv) == 9:
        return convert(*sys.argv[3:9], strict_order=True)
    if sys.argv[1:2] == ["convert"] and len(sys.argv) == 8:
        return convert(*sys.argv[2:8])
    if sys.argv[1:2] == ["doctor"] and len(sys.argv) == 4:
        return doctor(*sys.argv[2:4])
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
