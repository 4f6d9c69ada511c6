"""Try to break out; report each attempt as BLOCKED or ESCAPED.

target.json (written beside this file by 'moat demo') names the host
listener to reach and the other org's dataset file; without it the job uses
moat's default locations.
"""

import errno
import json
import os
import socket
import sys

import moat_job

results = []


def attempt(name, fn):
    try:
        detail = fn()
        results.append((name, False, detail))
    except moat_job.GatewayError as e:
        results.append((name, True, f"gateway rejected it: {e.code}: {e.message}"))
    except OSError as e:
        results.append((name, True, f"{errno.errorcode.get(e.errno, e.errno)}: {e.strerror}"))


def load_target():
    try:
        with open("/job/target.json") as f:
            return json.load(f)
    except FileNotFoundError:
        return {
            "host_tcp": "127.0.0.1:18099",
            "other_org": "globex",
            "other_dataset_file": "/var/lib/moat/datasets/org=globex/watchlist/data.parquet",
        }


def connect_host(hostport):
    host, port = hostport.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=3):
        return f"connected to {hostport}"


def write_root():
    with open("/pwned", "w") as f:
        f.write("owned")
    return "wrote /pwned"


def read_by_name(org):
    rows = moat_job.query(f"select * from {org}.watchlist")
    return f"read {len(rows)} rows of {org}.watchlist"


def read_by_path(path):
    rows = moat_job.query(f"select * from read_parquet('{path}')")
    return f"read {len(rows)} rows from {path}"


def read_by_glob():
    rows = moat_job.query("select * from read_parquet('/**/*.parquet')")
    return f"read {len(rows)} rows by glob"


def undeclared_webhook():
    moat_job.webhook("exfil", {"stolen": True})
    return "sent to an undeclared webhook"


def main():
    target = load_target()
    attempt(f"tcp to the host's {target['host_tcp']}", lambda: connect_host(target["host_tcp"]))
    attempt("write to /", write_root)
    attempt(f"read {target['other_org']}'s watchlist by name", lambda: read_by_name(target["other_org"]))
    attempt(f"read {target['other_org']}'s watchlist by file path", lambda: read_by_path(target["other_dataset_file"]))
    attempt("read any parquet by glob", read_by_glob)
    attempt("post to an undeclared webhook", undeclared_webhook)

    escaped = 0
    for name, blocked, detail in results:
        print(f"{'BLOCKED' if blocked else 'ESCAPED'}  {name}: {detail}")
        escaped += 0 if blocked else 1
    sys.exit(1 if escaped else 0)


if __name__ == "__main__":
    main()
