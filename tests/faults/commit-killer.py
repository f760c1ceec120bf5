#!/usr/bin/python3
"""commit-killer.py: SIGKILL crdbfeedd while it commits to its journal.

usage: commit-killer.py JOURNAL_DIR PID

Watches JOURNAL_DIR/data.mdb (an ordered feed's LMDB journal, journal.h)
with inotify, lets a random 0-300 ms pass (so that the kill lands on any
commit, not always the first after a resolved line), then SIGKILLs PID at
the next write to the file: a commit's data pages are written before its
meta page and before its fsyncs, so the process dies inside the commit.
When no write comes within 2 s (a journal that writes through a memory
map gives inotify nothing to see) it kills PID anyway. Prints "mid-write"
or "timed" and exits 0; 1 when the file cannot be watched or PID is gone.
"""
import ctypes
import os
import random
import select
import signal
import struct
import sys
import time

IN_MODIFY = 0x00000002


def main():
    journal_dir, pid = sys.argv[1], int(sys.argv[2])
    path = os.path.join(journal_dir, "data.mdb")
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0 or libc.inotify_add_watch(fd, path.encode(), IN_MODIFY) < 0:
        print("commit-killer: cannot watch %s: %s" % (path, os.strerror(ctypes.get_errno())),
              file=sys.stderr)
        return 1
    time.sleep(random.uniform(0, 0.3))
    try:
        while True:
            os.read(fd, 4096)
    except BlockingIOError:
        pass
    how = "timed"
    end = time.monotonic() + 2
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0, end - time.monotonic()))
        if ready:
            data = os.read(fd, 4096)
            if len(data) >= 16 and struct.unpack_from("iIII", data)[1] & IN_MODIFY:
                how = "mid-write"
                break
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        print("commit-killer: process %d is gone" % pid, file=sys.stderr)
        return 1
    print(how)
    return 0


if __name__ == "__main__":
    sys.exit(main())
