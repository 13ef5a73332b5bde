# SPDX-License-Identifier: GPL-2.0
"""What the report writers of the VM benchmarks share (the report.py of
bench/large-messages for B2 and B6, esp-throughput for B3, udp-blocked for
B4, sa-scale for B5).  Their raw files hold the guest's lines: results
tagged TAG..., sentences tagged TAGINFO and TAGERR."""
import subprocess


def read_raw(path, tag):
    """(every other line split into words, INFO sentences, ERR sentences)"""
    lines, info, errs = [], [], []
    for line in open(path):
        w = line.split(None, 1)
        if not w:
            continue
        if w[0] == tag + "INFO":
            info.append(w[1].strip() if len(w) > 1 else "")
        elif w[0] == tag + "ERR":
            errs.append(w[1].strip() if len(w) > 1 else "")
        else:
            lines.append(line.split())
    return lines, info, errs


def commit():
    """The checkout's short commit id."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()


def problems(p, rc, errs):
    """The report's list of what went wrong in the harness, if anything."""
    if errs or rc != 0:
        p("**Harness problems in this run (exit %d):**" % rc)
        p("")
        for e in errs:
            p("- " + e)
        p("")


def vm_head(p, title, command, lines, rc, errs):
    """The opening of a VM report: the title; the command that ran it
    (command: the script with its arguments and how make runs it, if it
    does) with the checkout's commit, followed on its line by lines[0]; the
    rest of lines (what the emulation costs, the run's facts); then what
    went wrong in the harness, if anything."""
    p(title)
    p("")
    p("Command: %s, tcpike %s.  %s" % (command, commit(), lines[0]))
    for line in lines[1:]:
        p(line)
    p("")
    problems(p, rc, errs)
