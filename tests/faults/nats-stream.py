#!/usr/bin/python3
"""nats-stream.py: a JetStream stream's state as nats-server's monitoring
endpoints show it (/jsz?streams=true), for the NATS fault scenarios.

usage: nats-stream.py MONITOR_URLS STREAM exists|leader|healthy

MONITOR_URLS: the nodes' monitoring URLs, comma-separated, node-1 first
(tests/nats/nats-env's NATS_MONITOR_URLS; node N is server_name node-N).
  exists   exit 0 when a node that answers knows the stream
  leader   print the server_name of the stream's leader, as the leader
           itself reports it (exit 1 when no node claims it)
  healthy  exit 0 when the leader reports every other replica current
           (one node: when the stream exists)
A node that does not answer (killed) is skipped.
"""
import json
import sys
import urllib.request


def views(urls, stream):
    """(node name, the stream's entry in that node's /jsz) per node that
    answers and knows the stream."""
    for n, url in enumerate(urls.split(","), 1):
        try:
            with urllib.request.urlopen(url + "/jsz?streams=true", timeout=1) as r:
                jsz = json.load(r)
        except (OSError, ValueError):
            continue
        for acc in jsz.get("account_details") or []:
            for s in acc.get("stream_detail") or []:
                if s.get("name") == stream:
                    yield "node-%d" % n, s


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("exists", "leader", "healthy"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    urls, stream, what = sys.argv[1:4]
    nodes = len(urls.split(","))
    seen = list(views(urls, stream))
    if what == "exists":
        return 0 if seen else 1
    for name, s in seen:
        cluster = s.get("cluster") or {}
        if nodes == 1:
            if what == "leader":
                print(name)
            return 0
        if cluster.get("leader") != name:
            continue
        if what == "leader":
            print(name)
            return 0
        replicas = cluster.get("replicas") or []
        return 0 if len(replicas) == nodes - 1 and all(r.get("current") for r in replicas) else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
