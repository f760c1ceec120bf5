#!/usr/bin/python3
"""writer.py: the fault matrix's workload.

usage: writer.py DSN KEYS RATE STOPFILE

Commits keyed changes to table fm (k INT PRIMARY KEY, v BIGINT) through
PostgreSQL, one statement per transaction, about RATE a second in bursts
of 20: an INSERT when the key is absent, else an UPDATE (two times in
three) or a DELETE. Every written v is unique (a counter), so each change
is known by (key, op, v), the deleted row's v for a delete. Writes until
STOPFILE exists, then prints the number of changes committed. The
committed history itself is read from PostgreSQL afterwards (fm_audit).
"""
import os
import random
import sys
import time

import psycopg


def main():
    dsn, keys, rate, stopfile = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    rnd = random.Random(int(os.environ.get("FAULT_SEED", "0")) or None)
    present = set()
    counter = 0
    committed = 0
    conn = psycopg.connect(dsn, autocommit=True)
    with conn.cursor() as cur:
        while not os.path.exists(stopfile):
            start = time.monotonic()
            for _ in range(20):
                k = rnd.randrange(keys)
                counter += 1
                if k not in present:
                    cur.execute("INSERT INTO fm VALUES (%s, %s)", (k, counter))
                    present.add(k)
                elif rnd.randrange(3):
                    cur.execute("UPDATE fm SET v = %s WHERE k = %s", (counter, k))
                else:
                    cur.execute("DELETE FROM fm WHERE k = %s", (k,))
                    present.discard(k)
                committed += 1
            left = 20 / rate - (time.monotonic() - start)
            if left > 0:
                time.sleep(left)
    conn.close()
    print(committed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
