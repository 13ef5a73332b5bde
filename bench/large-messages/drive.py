#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""B2's setup driver (bench/large-messages/run.sh): starts N IKE SA setups, at
most W at a time, and times each one from the initiator's own log.

    bench-b2-drive.py --log FILE --count N --window W --bound S \
        --start 'CMD ... {i} ...' [--stop 'CMD ... {i} ...'] \
        --begin REGEX --done REGEX [--fail REGEX] [--wait] [--pace MS]

Setup i is started by running --start with {i} replaced (without --wait
the command is left running, e.g. a blocking `swanctl --initiate`, and
reaped later).  The log is followed from where it ended when the driver
started; --begin, --done and --fail are regular expressions with the
named groups t (the log line's time: seconds since the epoch with a
fraction, as charon writes it, or ISO 8601 UTC as tcpiked does) and i (the setup's number).  A setup's time is done.t -
begin.t, both read from the log (the daemon's clock, not this process's
scheduling).  A setup that has no done line within --bound seconds of
its start, or that logs a --fail line first, failed; --stop is then run
for it.  Starts are at least --pace ms apart (default 20), so that W
setups do not start as one burst of fragments that overflows a socket
buffer or the backlog (a loss the path did not cause).  One line per
setup on stdout: "i ok MS" or "i fail REASON".
"""
import argparse
import calendar
import re
import shlex
import subprocess
import sys
import time



def seconds(t):
    """A log time in seconds: "1796490899.338" or "2026-12-05T17:06:07.123Z"."""
    if "T" not in t:
        return float(t)
    day, frac = t.rstrip("Z").split(".") if "." in t else (t.rstrip("Z"), "0")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--window", type=int, required=True)
    ap.add_argument("--bound", type=float, default=30.0)
    ap.add_argument("--start", required=True)
    ap.add_argument("--stop")
    ap.add_argument("--wait", action="store_true",
                    help="the start command returns at once: wait for it")
    ap.add_argument("--begin", required=True)
    ap.add_argument("--done", required=True)
    ap.add_argument("--fail")
    ap.add_argument("--pace", type=float, default=20.0)
    a = ap.parse_args()
    if a.count < 1 or a.window < 1:
        sys.exit("bench-b2-drive: --count and --window must be at least 1")
    begin = re.compile(a.begin)
    done = re.compile(a.done)
    fail = re.compile(a.fail) if a.fail else None

    log = open(a.log, "r", errors="replace")
    log.seek(0, 2)
    partial = ""
    todo = list(range(a.count))
    todo.reverse()
    started = {}        # i -> our clock at the start command
    t_begin = {}        # i -> the log's time of its begin line
    children = []
    results = {}

    def finish(i, ok, what):
        results[i] = (ok, what)
        started.pop(i, None)
        if not ok and a.stop:
            try:
                subprocess.run(shlex.split(a.stop.format(i=i)),
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=15)
            except subprocess.TimeoutExpired:
                print("bench-b2-drive: stopping setup %d timed out" % i,
                      file=sys.stderr)

    last = 0.0
    while todo or started:
        while (todo and len(started) < a.window and
               time.time() - last >= a.pace / 1000):
            i = todo.pop()
            started[i] = last = time.time()
            cmd = shlex.split(a.start.format(i=i))
            if a.wait:
                r = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, timeout=15)
                if r.returncode:
                    finish(i, False, "start command failed: " +
                           r.stderr.decode(errors="replace").strip())
            else:
                children.append(subprocess.Popen(
                    cmd, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL))
        chunk = log.read()
        if chunk:
            lines = (partial + chunk).split("\n")
            partial = lines.pop()
            for line in lines:
                m = begin.search(line)
                if m:
                    # a retry of the same setup counts from the first
                    t_begin.setdefault(int(m.group("i")), seconds(m.group("t")))
                    continue
                m = done.search(line)
                if m:
                    i = int(m.group("i"))
                    if i in started and i in t_begin:
                        ms = (seconds(m.group("t")) - t_begin[i]) * 1000
                        finish(i, True, "%.0f" % ms)
                    continue
                m = fail.search(line) if fail else None
                if m and int(m.group("i")) in started:
                    finish(int(m.group("i")), False, "logged: " + line.strip())
        now = time.time()
        for i in [i for i, t0 in started.items() if now - t0 > a.bound]:
            finish(i, False, "not established within %g s" % a.bound)
        children = [c for c in children if c.poll() is None]
        time.sleep(0.01)
    for c in children:
        c.kill()
        c.wait()
    for i in range(a.count):
        ok, what = results[i]
        print(i, "ok" if ok else "fail", what)


if __name__ == "__main__":
    main()
