"""fm_ordered.py: the fault matrix's verdict on an ordered feed (called by
fm-check.py --ordered, whose header lists the checks): PostgreSQL's
committed transactions against the recorded row, resolved and gap lines.
"""
import collections
import sys

import psycopg


def expected_transactions(conn, hlc):
    """Committed transactions in commit order, each a dict: commit (its
    fm_txn number), hlc (crdbsim's timestamp for it, or None), statements,
    rows {(key, op, v): v of the before image or None}."""
    audit = conn.execute(
        "SELECT t.commit_no, a.xid, a.k, a.op, a.v FROM fm_audit a"
        " LEFT JOIN fm_txn t ON t.xid = a.xid"
        " ORDER BY t.commit_no NULLS FIRST, a.n").fetchall()
    stamps = {}
    for xid, wall, logical in conn.execute(
            "SELECT DISTINCT xid, wall, logical FROM crdbsim.history"
            " WHERE table_name = 'fm' AND action IN ('I', 'U', 'D')").fetchall():
        stamps[xid] = hlc("%d.%d" % (wall, logical))
    state = {}
    txns = []
    unnumbered = 0
    by_commit = collections.OrderedDict()
    for commit, xid, k, op, v in audit:
        if commit is None:
            unnumbered += 1
            continue
        by_commit.setdefault(commit, (xid, []))[1].append((k, op, v))
    for commit, (xid, changes) in by_commit.items():
        prior = {}
        for k, op, v in changes:
            prior.setdefault(k, state.get(k))
            if op == "delete":
                state.pop(k, None)
            else:
                state[k] = v
        rows = {}
        for k, before in prior.items():
            after = state.get(k)
            if before is None and after is None:
                continue
            if before is None:
                rows[(k, "insert", after)] = None
            elif after is None:
                rows[(k, "delete", before)] = before
            else:
                rows[(k, "update", after)] = before
        # wal2json's xid is the 32-bit transaction id; txid_current() adds
        # the epoch above it.
        txns.append({"commit": commit, "hlc": stamps.get(xid % (1 << 32)),
                     "statements": len(changes), "rows": rows})
    return txns, unnumbered


def check(dsn, recorded, feed, faults, recorded_events, row_ident, hlc):
    with psycopg.connect(dsn) as conn:
        txns, unnumbered = expected_transactions(conn, hlc)
    owner = {}
    for i, t in enumerate(txns):
        for ident in t["rows"]:
            owner[ident] = i
    writing = [t for t in txns if t["rows"]]
    hlc_order_broken = sum(
        1 for a, b in zip(writing, writing[1:])
        if a["hlc"] is None or b["hlc"] is None or a["hlc"] > b["hlc"])

    by_seq = {}              # seq -> (ident, updated, group_end, before v)
    first_seq = {}           # ident -> seq
    deliveries = duplicates = conflicts = breaks = no_seq = late = 0
    phantoms = []
    wrong_before = []
    resolved = []            # (resolved HLC, seq)
    resolved_early = gap_lines = 0
    errors = []
    conn_last = None         # the last seq this connection has had
    for idx, t, ev in recorded_events(recorded):
        kind = ev.get("type")
        if kind == "_connected":
            conn_last = None
        elif kind == "_request":
            conn_last = ev["after"]
        elif kind == "gap":
            gap_lines += 1
            errors.append("gap line: %s" % ev)
        elif kind == "error":
            errors.append("error line: %s" % ev)
        elif kind == "resolved" and ev.get("feed") == feed:
            seq = ev.get("seq")
            if seq is None or (conn_last is not None and conn_last < seq):
                resolved_early += 1
            resolved.append((hlc(ev["resolved"]), seq or 0))
        elif kind == "row" and ev.get("feed") == feed:
            deliveries += 1
            if ev.get("late"):
                late += 1
            seq = ev.get("seq")
            if not isinstance(seq, int):
                no_seq += 1
                continue
            if conn_last is not None and seq != conn_last + 1:
                breaks += 1
            conn_last = seq
            ident = row_ident(ev)
            if ident in first_seq:
                duplicates += 1
            else:
                first_seq[ident] = seq
            if seq in by_seq:
                if by_seq[seq][0] != ident:
                    conflicts += 1
                continue
            before = ev.get("before")
            by_seq[seq] = (ident, hlc(ev["updated"]), bool(ev.get("group_end")),
                           (before or {}).get("v") if before is not None else None)
            if ident not in owner:
                phantoms.append(ident)
            elif txns[owner[ident]]["rows"][ident] != by_seq[seq][3]:
                wrong_before.append((ident, by_seq[seq][3]))

    seqs = sorted(by_seq)
    top = seqs[-1] if seqs else 0
    seq_gaps = top - sum(1 for s in seqs if s >= 1)

    # Along seq: groups of equal updated.
    groups = []              # [updated, [idents]]
    backwards = group_end_wrong = 0
    for i, s in enumerate(seqs):
        ident, upd, gend, _ = by_seq[s]
        if groups and groups[-1][0] == upd:
            groups[-1][1].append(ident)
        else:
            if groups and upd < groups[-1][0]:
                backwards += 1
            groups.append([upd, [ident]])
        last_of_group = i + 1 == len(seqs) or by_seq[seqs[i + 1]][1] != upd
        if gend != last_of_group:
            group_end_wrong += 1
    not_one_txn = shared_hlc = out_of_commit_order = 0
    bad_groups = []
    newest = 0
    for upd, idents in groups:
        members = sorted({owner[i] for i in idents if i in owner})
        want = set()
        for m in members:
            want.update(txns[m]["rows"])
        exact = (members and set(idents) == want and len(idents) == len(want)
                 and all(txns[m]["hlc"] == upd for m in members))
        if exact and len(members) > 1:
            shared_hlc += 1
        elif not exact:
            not_one_txn += 1
            bad_groups.append((upd, idents, [txns[m]["commit"] for m in members]))
        if members:
            if txns[members[0]]["commit"] <= newest:
                out_of_commit_order += 1
            newest = max(newest, txns[members[-1]]["commit"])

    # Each resolved line against the rows on both sides of its seq.
    pos = {s: i for i, s in enumerate(seqs)}
    upto_max, after_min = [], [None] * (len(seqs) + 1)
    for s in seqs:
        u = by_seq[s][1]
        upto_max.append(max(upto_max[-1], u) if upto_max else u)
    for i in range(len(seqs) - 1, -1, -1):
        u = by_seq[seqs[i]][1]
        after_min[i] = min(after_min[i + 1], u) if after_min[i + 1] is not None else u
    resolved_bad = 0
    for r, s in resolved:
        i = pos.get(s)
        if s and i is None:
            resolved_bad += 1
            continue
        below = upto_max[i] if s else None
        above = after_min[i + 1] if s else after_min[0]
        if (below is not None and below > r) or (above is not None and above <= r):
            resolved_bad += 1

    expected = len(owner)
    lost = [i for i in owner if i not in first_seq]
    statements = sum(t["statements"] for t in txns)
    ok = not (lost or duplicates or conflicts or breaks or no_seq or late or phantoms
              or wrong_before or seq_gaps or backwards or group_end_wrong or not_one_txn
              or out_of_commit_order or resolved_bad or resolved_early or errors
              or unnumbered or hlc_order_broken)
    print("faults: " + " ".join("%s=%d" % kv for kv in sorted(faults.items())))
    print("changes: committed=%d (final row states of %d transactions, %d statements)"
          " delivered=%d (row lines %d) duplicates=%d phantom=%d wrong-before=%d"
          % (expected, len(txns), statements, len(first_seq), deliveries, duplicates,
             len(phantoms), len(wrong_before)))
    print("seq: 1..%d gaps=%d conflicts=%d breaks-in-a-connection=%d without-seq=%d"
          % (top, seq_gaps, conflicts, breaks, no_seq))
    print("order: groups=%d not-one-transaction=%d shared-hlc=%d out-of-commit-order=%d"
          " updated-backwards=%d group_end-wrong=%d resolved=%d resolved-wrong=%d"
          " resolved-before-its-rows=%d gap-lines=%d error-lines=%d"
          % (len(groups), not_one_txn, shared_hlc, out_of_commit_order, backwards,
             group_end_wrong, len(resolved), resolved_bad, resolved_early, gap_lines,
             len(errors) - gap_lines))
    if unnumbered or hlc_order_broken:
        print("reference broken: %d audit rows without a commit number, %d crdbsim"
              " timestamps against the commit order" % (unnumbered, hlc_order_broken))
    print("totals: committed=%d delivered=%d duplicates=%d lost=%d late=%d"
          % (expected, len(first_seq), duplicates, len(lost), late))
    print("lost: %d" % len(lost))
    print("duplicates: %d" % duplicates)
    print("late: %d" % late)
    for i in lost[:10]:
        print("  lost row key=%s op=%s v=%s (commit #%d)" % (i + (txns[owner[i]]["commit"],)),
              file=sys.stderr)
    for p in phantoms[:10]:
        print("  delivered but never committed: key=%s op=%s v=%s" % p, file=sys.stderr)
    for i, b in wrong_before[:10]:
        print("  key=%s op=%s v=%s: before v=%s" % (i + (b,)), file=sys.stderr)
    for upd, idents, commits in bad_groups[:10]:
        print("  group at %d.%010d is not one transaction: rows %s, from commits %s"
              % (upd + (idents[:8], commits)), file=sys.stderr)
    for e in errors[:10]:
        print("  " + e, file=sys.stderr)
    return 0 if ok else 1
