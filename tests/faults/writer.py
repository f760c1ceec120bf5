#!/usr/bin/python3
"""writer.py: the fault matrix's workload.

usage: writer.py DSN KEYS RATE STOPFILE [MAX_CHANGES]

Commits keyed changes to table fm (k INT PRIMARY KEY, v BIGINT) through
PostgreSQL, about RATE changes a second in bursts of 20: an INSERT when the
key is absent, else an UPDATE (two times in three) or a DELETE. Each
transaction holds 1 to MAX_CHANGES changes (default 1), drawn at random; a
key may change several times in one transaction, so that only its final
state is what a changefeed sends. Every written v is unique (a counter),
so each change is known by (key, op, v), the deleted row's v for a delete.

The last statement of every transaction takes the next number of the
one-row counter fm_commit and stores it in fm_txn with txid_current(): the
counter's row lock is held until the commit, so the numbers follow
PostgreSQL's commit order (fault-matrix.sh creates both tables; the audit
trigger stores the same txid_current() with each change).

Writes until STOPFILE exists, then prints the number of changes committed.
The committed history itself is read from PostgreSQL afterwards (fm_audit,
fm_txn).
"""
import os
import random
import sys
import time

import psycopg

COMMIT_ORDER = ("WITH c AS (UPDATE fm_commit SET n = n + 1 RETURNING n)"
                " INSERT INTO fm_txn (xid, commit_no) SELECT txid_current(), n FROM c")


def main():
    dsn, keys, rate, stopfile = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    max_changes = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    rnd = random.Random(int(os.environ.get("FAULT_SEED", "0")) or None)
    present = set()
    counter = 0
    committed = 0
    conn = psycopg.connect(dsn, autocommit=True)
    with conn.cursor() as cur:
        while not os.path.exists(stopfile):
            start = time.monotonic()
            burst = 0
            while burst < 20:
                n = rnd.randint(1, max_changes)
                after = set(present)
                with conn.transaction():
                    for _ in range(n):
                        k = rnd.randrange(keys)
                        counter += 1
                        if k not in after:
                            cur.execute("INSERT INTO fm VALUES (%s, %s)", (k, counter))
                            after.add(k)
                        elif rnd.randrange(3):
                            cur.execute("UPDATE fm SET v = %s WHERE k = %s", (counter, k))
                        else:
                            cur.execute("DELETE FROM fm WHERE k = %s", (k,))
                            after.discard(k)
                    cur.execute(COMMIT_ORDER)
                present = after
                committed += n
                burst += n
            left = burst / rate - (time.monotonic() - start)
            if left > 0:
                time.sleep(left)
    conn.close()
    print(committed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
