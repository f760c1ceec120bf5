"""listen-pg-psycopg.py: a psycopg 3 listener for the LISTEN endpoint's
end-to-end test, written as a program for PostgreSQL would be.

    listen-pg-psycopg.py CONNINFO CHANNEL COUNT

LISTENs on CHANNEL and on "done" inside a transaction (psycopg's default),
sends a cancel request, prints "listening", prints "notify CHANNEL PAYLOAD
PID" for COUNT notifications from conn.notifies(), then UNLISTENs CHANNEL,
prints "unlistened" and waits for one notification on "done": one more on
CHANNEL first is a failure (exit 1).
"""
import sys

import psycopg


def main():
    conninfo, channel, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = psycopg.connect(conninfo)
    conn.execute("LISTEN %s" % channel)
    conn.execute("LISTEN done")
    conn.commit()
    conn.cancel()
    print("listening", flush=True)
    got = 0
    for n in conn.notifies():
        print("notify %s %s %d" % (n.channel, n.payload, n.pid), flush=True)
        got += 1
        if got == count:
            break
    conn.execute("UNLISTEN %s" % channel)
    conn.commit()
    print("unlistened", flush=True)
    for n in conn.notifies():
        if n.channel != "done":
            print("after UNLISTEN: %s %s" % (n.channel, n.payload), flush=True)
            return 1
        print("done", flush=True)
        break
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
