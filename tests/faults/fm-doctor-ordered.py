#!/usr/bin/python3
"""fm-doctor-ordered.py: spoiled copies of an ordered fault-matrix
recording, to prove that fm-check.py --ordered rejects them.

usage: fm-doctor-ordered.py RECORDED OUTDIR

Around the 100th row line R, writes into OUTDIR:
  dup        R twice in a row (one row delivered twice, same seq);
  gap        without R (one row and its seq never delivered);
  swap       from R on, the first row line followed by one of a later
             updated group: the two exchange their contents, each keeping
             its seq (two rows delivered in the wrong order);
  late       R flagged "late":true;
  group-end  R's group_end flag inverted;
  resolved   the first resolved line after R claiming to cover one row
             less than it does (its seq minus 1).
"""
import json
import os
import sys


def main():
    src, outdir = sys.argv[1:3]
    lines = open(src).read().splitlines(True)
    rows = [i for i, l in enumerate(lines) if '"type":"row"' in l]
    if len(rows) < 200:
        print("fm-doctor-ordered: only %d row lines in %s" % (len(rows), src), file=sys.stderr)
        return 1
    r = rows[99]

    def event(i):
        stamp, _, text = lines[i].partition(" ")
        return stamp, json.loads(text)

    def write(name, content):
        with open(os.path.join(outdir, name), "w") as f:
            f.writelines(content)

    def changed(i, change):
        stamp, ev = event(i)
        change(ev)
        out = list(lines)
        out[i] = "%s %s\n" % (stamp, json.dumps(ev, separators=(",", ":")))
        return out

    write("dup", lines[:r + 1] + [lines[r]] + lines[r + 1:])
    write("gap", lines[:r] + lines[r + 1:])
    write("late", changed(r, lambda ev: ev.update(late=True)))
    write("group-end", changed(r, lambda ev: ev.update(group_end=not ev.get("group_end", False))))
    covering = [i for i, l in enumerate(lines[r:], r) if '"type":"resolved"' in l]
    if not covering:
        print("fm-doctor-ordered: no resolved line after row line %d" % r, file=sys.stderr)
        return 1
    write("resolved", changed(covering[0], lambda ev: ev.update(seq=ev["seq"] - 1)))

    for a, b in zip(rows[99:], rows[100:]):
        if event(a)[1]["updated"] != event(b)[1]["updated"]:
            break
    else:
        print("fm-doctor-ordered: no two groups to swap", file=sys.stderr)
        return 1
    (sa, ea), (sb, eb) = event(a), event(b)
    ea["seq"], eb["seq"] = eb["seq"], ea["seq"]
    swapped = list(lines)
    swapped[a] = "%s %s\n" % (sa, json.dumps(eb, separators=(",", ":")))
    swapped[b] = "%s %s\n" % (sb, json.dumps(ea, separators=(",", ":")))
    write("swap", swapped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
