#!/usr/bin/python3
"""fm-synth.py: the recording a faultless ordered feed of table fm would
give, built from crdbsim's own change history (crdbsim.history in
PostgreSQL), without crdbfeedd: the reference fm-check.py --ordered is
tried on (fm-check-selftest.sh).

usage: fm-synth.py PG_DSN OUTFILE

Every change of fm in crdbsim's HLC order becomes a row line (op from the
wal2json action, before from the old row, updated from the HLC), sorted by
(updated, key) with seq 1..N and group_end on each group's last row; a
resolved line follows one group in 20 (and the last), and one group in 50
ends a connection, the next asking for {"after": its last seq}, as
recorder.py writes them.
"""
import json
import random
import sys

import psycopg


def main():
    dsn, outfile = sys.argv[1:3]
    rnd = random.Random(7)
    with psycopg.connect(dsn) as conn:
        history = conn.execute(
            "SELECT wall, logical, action, change FROM crdbsim.history"
            " WHERE table_name = 'fm' AND action IN ('I', 'U', 'D')"
            " ORDER BY wall, logical, pos").fetchall()
    rows = []
    for wall, logical, action, change in history:
        doc = json.loads(change)

        def image(columns):
            return {c["name"]: c["value"] for c in columns} if columns else None
        after = image(doc.get("columns")) if action != "D" else None
        before = image(doc.get("identity"))
        op = {"I": "insert", "U": "update", "D": "delete"}[action]
        rows.append({"v": 1, "type": "row", "feed": "fm", "table": "fm",
                     "key": [(after or before)["k"]], "op": op, "after": after,
                     "before": before, "updated": "%d.%010d" % (wall, logical)})
    rows.sort(key=lambda r: (r["updated"], r["key"][0]))
    t = 0
    with open(outfile, "w") as out:
        def emit(ev):
            nonlocal t
            t += 1
            out.write("%d %s\n" % (t, json.dumps(ev, separators=(",", ":"))))
        emit({"type": "_connected"})
        emit({"type": "_request", "after": 0})
        for i, r in enumerate(rows):
            r["seq"] = i + 1
            last = i + 1 == len(rows) or rows[i + 1]["updated"] != r["updated"]
            if last:
                r["group_end"] = True
            emit(r)
            if last and (rnd.random() < 0.05 or i + 1 == len(rows)):
                emit({"v": 1, "type": "resolved", "feed": "fm", "resolved": r["updated"], "seq": i + 1})
            if last and rnd.random() < 0.02:
                emit({"type": "_disconnected"})
                emit({"type": "_connected"})
                emit({"type": "_request", "after": i + 1})
    print(len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
