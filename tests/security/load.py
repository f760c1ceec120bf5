#!/usr/bin/python3
"""load.py: the load phases of e2e-load.sh against a running crdbfeedd.

usage: load.py --pid PID --log FILE --socket PATH --hostile-socket PATH
               --dsn DSN --table NAME [--subscribers 1000]
               [--seconds 30] [--rate 25] [--churn 10000]
               [--no-rss-bounds]

Phases (each checks its own outcome, then the next runs):
  baseline   100 subscribers come and go (warms the allocator); then the
             daemon's open descriptors (/proc/PID/fd) and RSS are taken.
  sustained  --subscribers connect to --socket and stay while a writer
             inserts --rate rows a second for --seconds; every subscriber
             must receive every row (by key). All then close, and the
             descriptor count must come back to the baseline exactly.
  churn      --churn connects and disconnects (batches of 500; half read
             their first line, a quarter send a request line, the rest
             close at once), in five rounds; each batch waits until the
             daemon has closed the previous one (it notices a silent
             subscriber's close at its next write: the next resolved
             line). Descriptors back to the baseline after each round.
             RSS: the first round lifts the allocator to the high-water
             mark of one batch (measured: flat from then on, also at
             load average 15);
             after it RSS may not grow by more than CHURN_RSS_SLACK over
             the remaining four fifths (8,000 connects: a leak of 262
             bytes or more per connection shows; smaller ones are the
             valgrind and ASan runs' to find).
  emfile     the daemon's descriptor limit is lowered to baseline + 40 with
             prlimit; 300 subscribers try to connect (retrying while the
             listen queue is full): accept must back off (logged), the
             accepted ones keep receiving rows; the limit is restored and
             every one of the 300 must be accepted and get the next row.
  hostile    on --hostile-socket (policy drop, a 256 KiB buffer) 100
             subscribers never read (4 KiB receive buffers) and 100 send
             endless bytes (50 without a newline, 50 after a valid request
             line) while big rows are written; the daemon's RSS, sampled
             every 50 ms, must stay under baseline + 100 x 256 KiB +
             HOSTILE_OVERHEAD, and every endless sender must be closed by
             the daemon.
Prints one line per phase with its figures, and FAIL lines; exits 1 on any
failure. --no-rss-bounds (for a daemon under ASan or valgrind, whose
shadow memory and quarantine swamp the figures) reports RSS but checks
only descriptors and delivery.
"""
import argparse
import errno
import os
import re
import resource
import selectors
import socket
import sys
import threading
import time

import psycopg

CHURN_RSS_SLACK = 2 << 20          # bytes, see the churn phase: the
                                   # allocator's noise measured up to 0.4
                                   # MiB; a subscriber leaked whole is
                                   # over 4 KiB
HOSTILE_BUFFER = 256 * 1024        # the hostile sink's buffer (config)
HOSTILE_OVERHEAD = 24 << 20        # bytes: libevent and socket buffers,
                                   # the feed's row results, malloc arenas
KEY_RE = re.compile(rb'"key":\[(\d+)\]')
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg, flush=True)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def mib(n):
    return "%.1f MiB" % (n / 1048576.0)


class Sub:
    __slots__ = ("sock", "buf", "keys", "rows", "lines", "state", "error",
                 "eof", "connected")

    def __init__(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.buf = b""
        self.keys = set()
        self.rows = 0
        self.lines = 0
        self.state = False
        self.error = None
        self.eof = False
        self.connected = False

    def feed(self, data):
        self.buf += data
        if b"\n" not in self.buf:
            return
        *complete, self.buf = self.buf.split(b"\n")
        for line in complete:
            self.lines += 1
            if b'"type":"row"' in line:
                self.rows += 1
                m = KEY_RE.search(line)
                if m:
                    self.keys.add(int(m.group(1)))
            elif b'"type":"state"' in line:
                self.state = True
            elif b'"type":"error"' in line:
                self.error = line

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connect_all(path, subs, deadline):
    """Connect every sub not yet connected, retrying while the listen
    queue is full; returns how many are still not connected."""
    pending = [s for s in subs if not s.connected]
    while pending:
        waiting = []
        for s in pending:
            try:
                s.sock.connect(path)
                s.connected = True
            except (BlockingIOError, InterruptedError):
                waiting.append(s)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EINPROGRESS):
                    waiting.append(s)
                else:
                    raise
        pending = waiting
        if pending:
            if time.monotonic() > deadline:
                return len(pending)
            time.sleep(0.01)
    return 0


def pump(subs, until, timeout):
    """Read from every sub until until() or timeout; True if until()."""
    sel = selectors.DefaultSelector()
    for s in subs:
        if not s.eof:
            sel.register(s.sock, selectors.EVENT_READ, s)
    end = time.monotonic() + timeout
    try:
        while True:
            if until():
                return True
            left = end - time.monotonic()
            if left <= 0:
                return until()
            for key, _ in sel.select(min(left, 0.2)):
                s = key.data
                try:
                    data = s.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    s.eof = True
                    sel.unregister(s.sock)
                    continue
                s.feed(data)
    finally:
        sel.close()


def wait_fds(pid, want, timeout):
    end = time.monotonic() + timeout
    n = fd_count(pid)
    while n != want and time.monotonic() < end:
        time.sleep(0.05)
        n = fd_count(pid)
    return n


class Writer(threading.Thread):
    """Insert rows at a steady rate on its own connection."""

    def __init__(self, dsn, table, first_key, count, rate, payload):
        super().__init__(daemon=True)
        self.dsn, self.table = dsn, table
        self.first_key, self.count, self.rate = first_key, count, rate
        self.payload = payload
        self.done = 0
        self.error = None

    def run(self):
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                start = time.monotonic()
                for i in range(self.count):
                    conn.execute("INSERT INTO %s VALUES (%%s, %%s)" % self.table,
                                 (self.first_key + i, self.payload))
                    self.done += 1
                    if self.rate:
                        delay = start + (i + 1) / self.rate - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
        except Exception as e:  # reported by the phase
            self.error = repr(e)


def insert_one(dsn, table, key):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO %s VALUES (%%s, 'x')" % table, (key,))


def log_has(path, text):
    with open(path, errors="replace") as f:
        return text in f.read()


def phase_baseline(a):
    subs = [Sub() for _ in range(100)]
    if connect_all(a.socket, subs, time.monotonic() + 20):
        fail("baseline: could not connect 100 subscribers")
    pump(subs, lambda: all(s.state for s in subs), 20)
    for s in subs:
        s.close()
    time.sleep(1)
    fds, rss = fd_count(a.pid), rss_bytes(a.pid)
    # Settle: the count must be stable (nothing still closing).
    time.sleep(0.5)
    fds2 = fd_count(a.pid)
    if fds2 != fds:
        fds = wait_fds(a.pid, fds2, 5)
    print("baseline: %d open descriptors, RSS %s" % (fds, mib(rss)), flush=True)
    return fds, rss


def phase_sustained(a, fds0, rss0):
    n = a.subscribers
    subs = [Sub() for _ in range(n)]
    t0 = time.monotonic()
    if connect_all(a.socket, subs, time.monotonic() + 60):
        fail("sustained: not all %d subscribers could connect" % n)
        return
    if not pump(subs, lambda: all(s.state for s in subs), 60):
        fail("sustained: only %d of %d subscribers got their state line"
             % (sum(s.state for s in subs), n))
        return
    print("sustained: %d subscribers connected and streaming in %.1f s, "
          "%d descriptors, RSS %s" % (n, time.monotonic() - t0,
                                      fd_count(a.pid), mib(rss_bytes(a.pid))),
          flush=True)
    count = int(a.seconds * a.rate)
    w = Writer(a.dsn, a.table, 1, count, a.rate, "p" * 100)
    w.start()
    peak = [0]

    def all_done():
        r = rss_bytes(a.pid)
        if r > peak[0]:
            peak[0] = r
        return not w.is_alive() and all(len(s.keys) >= count for s in subs)
    pump(subs, all_done, a.seconds + 90)
    w.join(5)
    if w.error:
        fail("sustained: the writer failed: %s" % w.error)
    want = set(range(1, count + 1))
    short = [s for s in subs if s.keys != want]
    dups = sum(s.rows - len(s.keys) for s in subs)
    total = sum(len(s.keys) for s in subs)
    print("sustained: %d rows written in %.0f s; %d of %d subscribers got "
          "every row; %d row lines delivered (%d duplicates); peak RSS %s"
          % (w.done, a.seconds, n - len(short), n, total + dups, dups,
             mib(peak[0])), flush=True)
    if short:
        s = short[0]
        fail("sustained: %d subscribers missed rows (e.g. %d of %d, eof=%s, "
             "error=%s)" % (len(short), len(s.keys & want), count, s.eof,
                            s.error))
    for s in subs:
        s.close()
    got = wait_fds(a.pid, fds0, 15)
    print("sustained: after all closed: %d descriptors (baseline %d), RSS %s"
          % (got, fds0, mib(rss_bytes(a.pid))), flush=True)
    if got != fds0:
        fail("sustained: %d descriptors after the subscribers left, "
             "baseline %d" % (got, fds0))


def churn(a, total, fds0=None):
    """total connects in batches of 500; with fds0, each batch waits for
    the daemon to have closed the previous one, so that it never holds
    more than one batch (its memory high-water mark then does not depend
    on how busy the machine is)."""
    done = 0
    batch = 500
    while done < total:
        subs = [Sub() for _ in range(min(batch, total - done))]
        if connect_all(a.socket, subs, time.monotonic() + 30):
            fail("churn: connects failed")
            return
        readers = subs[:len(subs) // 2]
        for s in subs[len(subs) // 2:len(subs) * 3 // 4]:
            try:
                s.sock.send(b'{"resolved":false}\n')
            except OSError:
                pass
        pump(readers, lambda: all(s.state or s.eof for s in readers), 20)
        for s in subs:
            s.close()
        done += len(subs)
        if fds0 is not None:
            wait_fds(a.pid, fds0, 10)


def phase_churn(a, fds0):
    rounds = 5
    t0 = time.monotonic()
    fds, rss = [], []
    for r in range(rounds):
        churn(a, a.churn // rounds, fds0)
        fds.append(wait_fds(a.pid, fds0, 15))
        rss.append(rss_bytes(a.pid))
    growth = rss[-1] - rss[0]
    print("churn: %d connects and disconnects in %.1f s; descriptors after "
          "each fifth %s (baseline %d); RSS after each fifth %s (growth "
          "after the first fifth %+d bytes, allowed %d)"
          % (a.churn, time.monotonic() - t0, fds, fds0,
             ", ".join(mib(x) for x in rss), growth, CHURN_RSS_SLACK),
          flush=True)
    if any(n != fds0 for n in fds):
        fail("churn: descriptors %s after the rounds, baseline %d"
             % (fds, fds0))
    if growth > CHURN_RSS_SLACK and a.rss_bounds:
        fail("churn: RSS grew by %d bytes over the last %d connects"
             % (growth, a.churn - a.churn // rounds))


def phase_emfile(a, fds0):
    soft, hard = resource.prlimit(a.pid, resource.RLIMIT_NOFILE)
    low = fds0 + 40
    resource.prlimit(a.pid, resource.RLIMIT_NOFILE, (low, hard))
    n = 300
    subs = [Sub() for _ in range(n)]
    try:
        # Not all can connect while the queue is full: keep those waiting.
        connect_all(a.socket, subs, time.monotonic() + 3)
        live = [s for s in subs if s.connected]
        pump(live, lambda: log_has(a.log, "pausing accepts"), 20)
        if not log_has(a.log, "pausing accepts"):
            fail("emfile: accept did not back off at a limit of %d" % low)
        pump(live, lambda: False, 1)
        accepted = [s for s in live if s.state]
        print("emfile: limit %d descriptors: %d of %d subscribers accepted, "
              "%d connected and waiting" % (low, len(accepted), n,
                                            len(live) - len(accepted)),
              flush=True)
        if not accepted or len(accepted) >= n:
            fail("emfile: %d of %d accepted under a limit of %d"
                 % (len(accepted), n, low))
        insert_one(a.dsn, a.table, 900001)
        if not pump(accepted, lambda: all(900001 in s.keys for s in accepted), 30):
            fail("emfile: the accepted subscribers stopped receiving rows")
    finally:
        resource.prlimit(a.pid, resource.RLIMIT_NOFILE, (soft, hard))
    t0 = time.monotonic()
    if connect_all(a.socket, subs, time.monotonic() + 30):
        fail("emfile: subscribers could not connect after the limit was restored")
    pump(subs, lambda: all(s.state for s in subs), 60)
    served = sum(s.state for s in subs)
    insert_one(a.dsn, a.table, 900002)
    pump(subs, lambda: all(900002 in s.keys for s in subs), 30)
    got_row = sum(900002 in s.keys for s in subs)
    print("emfile: limit restored: %d of %d served within %.1f s, %d got "
          "the next row" % (served, n, time.monotonic() - t0, got_row),
          flush=True)
    if served != n or got_row != n:
        fail("emfile: after recovery %d of %d served, %d got the row"
             % (served, n, got_row))
    for s in subs:
        s.close()
    got = wait_fds(a.pid, fds0, 15)
    if got != fds0:
        fail("emfile: %d descriptors afterwards, baseline %d" % (got, fds0))


def phase_hostile(a, fds0, rss0):
    readers = []
    for _ in range(100):
        s = Sub()
        s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        readers.append(s)
    senders = [Sub() for _ in range(100)]
    if connect_all(a.hostile_socket, readers + senders, time.monotonic() + 30):
        fail("hostile: connects failed")
        return
    for s in senders[50:]:
        s.sock.send(b'{"resolved":false}\n')
    junk = b"x" * 65536
    bound = rss0 + 100 * HOSTILE_BUFFER + HOSTILE_OVERHEAD
    w = Writer(a.dsn, a.table, 500001, 400, 0, "h" * 8192)
    w.start()
    peak = rss0
    closed = set()
    sent = 0
    end = time.monotonic() + 60
    while time.monotonic() < end:
        for i, s in enumerate(senders):
            if i in closed:
                continue
            try:
                sent += s.sock.send(junk)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed.add(i)
        peak = max(peak, rss_bytes(a.pid))
        if not w.is_alive() and len(closed) == len(senders):
            break
        time.sleep(0.05)
    w.join(30)
    # The never-readers' queues are full now: one more look.
    time.sleep(1)
    peak = max(peak, rss_bytes(a.pid))
    print("hostile: 100 never-reading and 100 endless-sending subscribers, "
          "%d rows of 8 KiB; %d of 100 senders closed by the daemon after "
          "%s sent; peak RSS %s (bound %s = baseline %s + 100 x 256 KiB + "
          "%s)" % (w.done, len(closed), mib(sent), mib(peak), mib(bound),
                   mib(rss0), mib(HOSTILE_OVERHEAD)), flush=True)
    if w.error:
        fail("hostile: the writer failed: %s" % w.error)
    # The bound means something only if the queues did fill up.
    with open(a.log, errors="replace") as f:
        drops = sum(1 for line in f if "sink hostile: subscriber" in line
                    and "too slow" in line)
    print("hostile: %d drop episodes logged (each a queue at its 256 KiB "
          "bound)" % drops, flush=True)
    if drops < len(readers):
        fail("hostile: only %d drop episodes for %d never-reading "
             "subscribers: the queues never filled" % (drops, len(readers)))
    if len(closed) != len(senders):
        fail("hostile: %d endless senders were never closed"
             % (len(senders) - len(closed)))
    if peak > bound and a.rss_bounds:
        fail("hostile: peak RSS %d over the bound %d" % (peak, bound))
    for s in readers + senders:
        s.close()
    got = wait_fds(a.pid, fds0, 15)
    if got != fds0:
        fail("hostile: %d descriptors afterwards, baseline %d" % (got, fds0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--hostile-socket", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=float, default=25)
    ap.add_argument("--churn", type=int, default=10000)
    ap.add_argument("--no-rss-bounds", dest="rss_bounds", action="store_false")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))

    fds0, rss0 = phase_baseline(a)
    phase_sustained(a, fds0, rss0)
    if not failures:
        phase_churn(a, fds0)
    if not failures:
        phase_emfile(a, fds0)
    if not failures:
        phase_hostile(a, fds0, rss0)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
