#!/usr/bin/python3
"""fm-check.py: the fault matrix's verdict.

usage: fm-check.py [--ordered] PG_DSN RECORDED DAEMON_LOG FAULT_LOG FEED

Compares what the subscriber recorded (recorder.py's file) with the
history PostgreSQL committed (table fm_audit, filled by a trigger in the
writer's transactions with each change's txid_current(); fm_txn gives each
transaction its place in the commit order, see writer.py), and prints the
summary. Each change is known by (key, op, v): inserts and updates by the v
they wrote, deletes by the v of the row they removed (the feed runs with
diff, so a delete carries its before image).

Stream delivery (default; one change per transaction) - exit 1 unless:
  - every committed change was delivered at least once (lost = 0); the
    caller waited for a resolved line past the writer's last commit;
  - nothing was delivered that was not committed;
  - per key, the first deliveries come in commit order;
  - every duplicate lies in a window crdbfeedd.8 explains: after a
    changefeed statement whose cursor (the checkpoint it resumed from) is
    older than the change's `updated`, sent before the duplicate arrived
    and after the original was produced (its arrival minus 1 s, the most a
    line waits in the daemon here); or after crdbsim's `dup` fault re-sent
    its last rows (original before the fault + 1 s, duplicate after it).

Ordered delivery (--ordered; transactions of several changes) - a
transaction's expected rows are the final states of the rows it wrote (a
changefeed sends only the last write of a row in a transaction, section 9
of doc/crdb-wire.md): per key, insert (absent before, present after),
update (present both), delete (present before, absent after), nothing
(absent both). Exit 1 unless:
  - every expected row was delivered exactly once (lost = 0, duplicates =
    0), nothing else was, and the before images are the previous states;
  - the seqs of the row lines are exactly 1..N, each delivered once over
    all the recorder's connections, each connection going on from the
    "after" it asked for, one by one; no gap line, no error line;
  - along seq, rows are grouped by updated (never going back), and each
    group is one transaction's rows with that transaction's timestamp in
    crdbsim's history (crdbsim stamps every transaction with its own HLC,
    strictly increasing in commit order, tests/crdbsim/ingest.c; a group
    of several transactions is accepted only where they share one HLC);
    the groups follow fm_txn's commit order; group_end is set on the last
    row of each group and only there;
  - each resolved line comes after the rows it covers (its seq), every row
    up to its seq has updated <= it and every later row updated > it
    (section 3 of doc/crdb-wire.md);
  - no row is flagged late.
"""
import collections
import datetime
import json
import os
import re
import sys

import psycopg

SLACK_MS = 1000


def hlc(s):
    wall, _, logical = str(s).partition(".")
    return (int(wall), int(logical or 0))


def log_time_ms(stamp):
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def count_faults(fault_log):
    """(Counter of fault kinds, times of the dup faults in ms)."""
    faults = collections.Counter()
    dups_at = []
    with open(fault_log) as f:
        for line in f:
            t, kind = line.split()[:2]
            faults[kind] += 1
            if kind == "dup":
                dups_at.append(int(t))
    return faults, dups_at


def recorded_events(recorded):
    """(line index, receive time in ms, decoded line) of each JSON line."""
    with open(recorded, errors="replace") as f:
        for idx, line in enumerate(f):
            t, _, text = line.partition(" ")
            try:
                yield idx, int(t), json.loads(text)
            except ValueError:
                continue


def row_ident(ev):
    """(key, op, v) of a row line; v of the before image for a delete."""
    op = ev.get("op")
    img = ev.get("before") if op == "delete" else ev.get("after")
    return (ev["key"][0], op, (img or {}).get("v"))


def check_stream(dsn, recorded, daemon_log, fault_log, feed):
    with psycopg.connect(dsn) as conn:
        audit = conn.execute("SELECT n, k, op, v FROM fm_audit ORDER BY n").fetchall()
    committed = {}
    per_key = collections.defaultdict(list)
    for n, k, op, v in audit:
        ident = (k, op, v)
        committed[ident] = n
        per_key[k].append(ident)

    # Statements: (time, cursor or None).
    stmts = []
    pat = re.compile(r"^(\S+) \S+ debug: feed %s: sending .*?(?: with \$1 = (\S+))?$" % re.escape(feed))
    with open(daemon_log, errors="replace") as f:
        for line in f:
            m = pat.match(line.rstrip("\n"))
            if m:
                stmts.append((log_time_ms(m.group(1)), hlc(m.group(2)) if m.group(2) else None))
    faults, dups_at = count_faults(fault_log)

    first = {}          # ident -> (line index, time)
    deliveries = 0
    duplicated = 0
    dup_restart = dup_sim = 0
    unexplained = []
    phantoms = []
    for idx, t, ev in recorded_events(recorded):
        if ev.get("type") != "row":
            continue
        deliveries += 1
        ident = row_ident(ev)
        if ident not in committed:
            phantoms.append(ident)
            continue
        if ident not in first:
            first[ident] = (idx, t)
            continue
        duplicated += 1
        t0 = first[ident][1]
        upd = hlc(ev["updated"])
        if any(c is not None and c < upd and t0 - SLACK_MS <= ts <= t for ts, c in stmts):
            dup_restart += 1
        elif any(t0 <= td + SLACK_MS and td <= t for td in dups_at):
            dup_sim += 1
        else:
            unexplained.append((ident, ev["updated"], t0, t))

    lost = [i for i in committed if i not in first]
    disorder = []
    for k, idents in per_key.items():
        seen = [first[i][0] for i in idents if i in first]
        if any(a > b for a, b in zip(seen, seen[1:])):
            disorder.append(k)

    ok = not lost and not disorder and not unexplained and not phantoms
    print("faults: " + " ".join("%s=%d" % kv for kv in sorted(faults.items())))
    print("changes: committed=%d delivered=%d (row lines %d) duplicated=%d "
          "(after a resume from a checkpoint %d, crdbsim dup windows %d, unexplained %d) "
          "phantom=%d keys-out-of-order=%d statements=%d"
          % (len(committed), len(first), deliveries, duplicated, dup_restart,
             dup_sim, len(unexplained), len(phantoms), len(disorder), len(stmts)))
    print("lost: %d" % len(lost))
    for i in lost[:10]:
        print("  lost change key=%s op=%s v=%s (commit #%d)" % (i + (committed[i],)), file=sys.stderr)
    for u in unexplained[:10]:
        print("  unexplained duplicate %s updated=%s first at %d again at %d" % u, file=sys.stderr)
    for p in phantoms[:10]:
        print("  delivered but never committed: key=%s op=%s v=%s" % p, file=sys.stderr)
    for k in disorder[:10]:
        print("  key %s: first deliveries out of commit order" % k, file=sys.stderr)
    return 0 if ok else 1


def main():
    args = sys.argv[1:]
    if args[:1] == ["--ordered"]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import fm_ordered
        dsn, recorded, _daemon_log, fault_log, feed = args[1:6]
        return fm_ordered.check(dsn, recorded, feed, count_faults(fault_log)[0],
                                recorded_events, row_ident, hlc)
    return check_stream(*args[:5])


if __name__ == "__main__":
    sys.exit(main())
