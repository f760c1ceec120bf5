#!/usr/bin/python3
"""fm-doctor-ordered.py: spoiled copies of an ordered fault-matrix
recording, to prove that fm-check.py --ordered rejects them.

usage: fm-doctor-ordered.py RECORDED DUP_OUT GAP_OUT SWAP_OUT

Around the 100th row line R:
  DUP_OUT   R twice in a row (one row delivered twice, same seq);
  GAP_OUT   without R (one row and its seq never delivered);
  SWAP_OUT  from R on, the first row line followed by one of a later
            updated group exchange their contents, each keeping its seq
            (two rows delivered in the wrong order).
"""
import json
import sys


def main():
    src, dup_out, gap_out, swap_out = sys.argv[1:5]
    lines = open(src).read().splitlines(True)
    rows = [i for i, l in enumerate(lines) if '"type":"row"' in l]
    if len(rows) < 200:
        print("fm-doctor-ordered: only %d row lines in %s" % (len(rows), src), file=sys.stderr)
        return 1
    r = rows[99]
    open(dup_out, "w").writelines(lines[:r + 1] + [lines[r]] + lines[r + 1:])
    open(gap_out, "w").writelines(lines[:r] + lines[r + 1:])

    def event(i):
        stamp, _, text = lines[i].partition(" ")
        return stamp, json.loads(text)

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
    open(swap_out, "w").writelines(swapped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
