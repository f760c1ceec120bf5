#!/usr/bin/python3
"""e2e-replay-check.py: the verdicts of e2e-replay.sh on what its
subscribers received from an ordered feed.

usage:
  e2e-replay-check.py union HOPS PG_DSN TABLE
      HOPS (e2e-replay-hopper.py's file): every connection goes on from the
      "after" it sent, one seq at a time; over all of them each seq 1..N
      came exactly once, no gap or error line, and the rows' (k, v) are
      exactly TABLE's rows (an insert-only workload). Prints one summary.
  e2e-replay-check.py pick-hlc HOPS
      prints the updated of the last row of a group of several rows in the
      middle of HOPS (so that "since" must go back to the group's start).
  e2e-replay-check.py pick-time HOPS
      prints an RFC 3339 time (ns) equal to the wall time of a group in the
      middle of HOPS whose wall time differs from the group before it.
  e2e-replay-check.py since HOPS OUT SINCE
      OUT's row lines are exactly, in order and once each, the rows of HOPS
      with updated >= SINCE (an HLC, or RFC 3339 with Z).
  e2e-replay-check.py from OUT AFTER
      OUT starts with a gap line for AFTER whose "first" is above AFTER + 1,
      then the rows from "first" on, one seq at a time, none missing.
Exit 0 when the verdict holds, else 1 with the reason on stderr.
"""
import datetime
import json
import sys


def hlc(s):
    if s.endswith("Z"):
        whole, _, frac = s[:-1].partition(".")
        t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")
        secs = int(t.replace(tzinfo=datetime.timezone.utc).timestamp())
        return (secs * 10**9 + int((frac + "000000000")[:9]), 0)
    wall, _, logical = s.partition(".")
    return (int(wall), int(logical or 0))


def events(path):
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def rows_by_seq(path):
    rows = {}
    for ev in events(path):
        if ev.get("type") == "row":
            rows.setdefault(ev["seq"], ev)
    return [rows[s] for s in sorted(rows)]


def groups(rows):
    out = []
    for r in rows:
        if out and out[-1][0]["updated"] == r["updated"]:
            out[-1].append(r)
        else:
            out.append([r])
    return out


def fail(msg):
    print("e2e-replay-check: " + msg, file=sys.stderr)
    return 1


def union(hops, dsn, table):
    import psycopg
    seen = {}
    last = None
    breaks = conns = fed = 0
    got_rows = False
    for ev in events(hops):
        kind = ev.get("type")
        if kind == "_request":
            conns += 1
            fed += got_rows
            got_rows = False
            last = ev["after"]
        elif kind == "row":
            got_rows = True
            if ev["seq"] != last + 1:
                breaks += 1
            last = ev["seq"]
            seen.setdefault(ev["seq"], []).append((ev["key"][0], ev["after"]["v"]))
        elif kind in ("gap", "error"):
            return fail("unexpected line %s" % json.dumps(ev))
    fed += got_rows
    with psycopg.connect(dsn) as conn:
        committed = set(conn.execute("SELECT k, v FROM %s" % table).fetchall())
    duplicates = sum(len(v) - 1 for v in seen.values())
    top = max(seen) if seen else 0
    gaps = top - len(seen)
    delivered = {v[0] for v in seen.values()}
    print("replay: %d connections (%d with rows), seq 1..%d, gaps=%d duplicates=%d "
          "breaks=%d, committed %d rows, missing=%d extra=%d"
          % (conns, fed, top, gaps, duplicates, breaks, len(committed),
             len(committed - delivered), len(delivered - committed)))
    if gaps or duplicates or breaks or committed != delivered or len(seen) != len(committed):
        return fail("the rows delivered over the reconnects are not exactly the committed ones, once each")
    return 0


def pick_hlc(hops):
    gs = groups(rows_by_seq(hops))
    many = [g for g in gs[len(gs) // 3:] if len(g) > 1]
    if not many:
        return fail("no group of several rows in the second two thirds of %s" % hops)
    print(many[0][-1]["updated"])
    return 0


def pick_time(hops):
    gs = groups(rows_by_seq(hops))
    for prev, g in zip(gs[len(gs) // 3:], gs[len(gs) // 3 + 1:]):
        wall = hlc(g[0]["updated"])[0]
        if hlc(prev[0]["updated"])[0] < wall:
            t = datetime.datetime.fromtimestamp(wall // 10**9, datetime.timezone.utc)
            print("%s.%09dZ" % (t.strftime("%Y-%m-%dT%H:%M:%S"), wall % 10**9))
            return 0
    return fail("no two groups with different wall times in %s" % hops)


def since(hops, out, since_text):
    bound = hlc(since_text)
    want = [r["seq"] for r in rows_by_seq(hops) if hlc(r["updated"]) >= bound]
    got = [ev["seq"] for ev in events(out) if ev.get("type") == "row"]
    if got != want:
        return fail("since %s: expected seqs %s..%s (%d rows), got %d rows: %s..%s"
                    % (since_text, want[:1], want[-1:], len(want), len(got), got[:3], got[-3:]))
    print("since %s: %d rows, seq %d..%d" % (since_text, len(got), got[0], got[-1]))
    return 0


def from_gap(out, after):
    evs = [ev for ev in events(out) if ev.get("type") in ("gap", "row", "error")]
    if not evs or evs[0].get("type") != "gap" or evs[0].get("after") != after:
        return fail("no gap line for after %d first: %s" % (after, evs[:1]))
    first = evs[0].get("first")
    seqs = [ev["seq"] for ev in evs[1:] if ev.get("type") == "row"]
    if not isinstance(first, int) or first <= after + 1:
        return fail("the gap line's first (%s) is not past after + 1" % first)
    if not seqs or seqs != list(range(first, first + len(seqs))) or len(seqs) != len(evs) - 1:
        return fail("after the gap line: %s, expected rows from %d on" % ([e.get("seq") for e in evs[1:6]], first))
    print("gap: after %d, first %d, then rows %d..%d" % (after, first, seqs[0], seqs[-1]))
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "union":
        return union(*args)
    if cmd == "pick-hlc":
        return pick_hlc(*args)
    if cmd == "pick-time":
        return pick_time(*args)
    if cmd == "since":
        return since(*args)
    if cmd == "from":
        return from_gap(args[0], int(args[1]))
    return fail("unknown command %s" % cmd)


if __name__ == "__main__":
    sys.exit(main())
