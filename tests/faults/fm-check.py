#!/usr/bin/python3
"""fm-check.py: the fault matrix's verdict.

usage: fm-check.py PG_DSN RECORDED DAEMON_LOG FAULT_LOG FEED

Compares what the block subscriber recorded (recorder.py's file) with the
history PostgreSQL committed (table fm_audit, filled by a trigger in the
writer's transactions, in commit order: one writer, autocommit), and
prints the summary. Each change is known by (key, op, v): inserts and
updates by the v they wrote, deletes by the v of the row they removed
(the feed runs with diff, so a delete carries its before image).

Checks (exit 1 when one fails):
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
"""
import collections
import datetime
import json
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


def main():
    dsn, recorded, daemon_log, fault_log, feed = sys.argv[1:6]
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
    faults = collections.Counter()
    dups_at = []
    with open(fault_log) as f:
        for line in f:
            t, kind = line.split()[:2]
            faults[kind] += 1
            if kind == "dup":
                dups_at.append(int(t))

    first = {}          # ident -> (line index, time)
    deliveries = 0
    duplicated = 0
    dup_restart = dup_sim = 0
    unexplained = []
    phantoms = []
    with open(recorded, errors="replace") as f:
        for idx, line in enumerate(f):
            t, _, text = line.partition(" ")
            try:
                ev = json.loads(text)
            except ValueError:
                continue
            if ev.get("type") != "row":
                continue
            t = int(t)
            deliveries += 1
            k = ev["key"][0]
            op = ev.get("op")
            img = ev.get("before") if op == "delete" else ev.get("after")
            ident = (k, op, (img or {}).get("v"))
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


if __name__ == "__main__":
    sys.exit(main())
