#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""B2's report writer for the run in the test VM (bench/large-messages/host.sh
runs it):
    report.py [--pq] RAW OUTDIR RC VM_SECONDS ARGS
reads the guest's raw lines (run.sh --vm: "B2VM setup SYS XPORT LOSS I ok MS"
or "... I fail REASON", "B2VM point SYS XPORT LOSS N W SEEN DROPPED ...";
with --pq also "B2VM size SYS XPORT SIDE EXCHANGE DIRECTION XPORT BYTES [K]")
and writes OUTDIR/b2vm.md (--pq: OUTDIR/b2pq-vm.md, B6).  The percentiles are computed here from the
setups' times, not taken from the guest."""
import math
import os
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_vm import read_raw, vm_head

BOUND_MS = 30000
FAIL = math.inf


def pct(times, n, q):
    """Nearest-rank percentile q of n setups, failures ranked above every
    success (FAIL when the rank falls on one)."""
    v = sorted(times) + [FAIL] * (n - len(times))
    return v[max(0, math.ceil(q * n) - 1)]


def fmt(ms):
    return "> %d" % BOUND_MS if ms == FAIL else "%d" % ms


def ratio(a, b):
    if a == FAIL:
        return None
    if b == FAIL:
        return a / BOUND_MS  # at most this: b is beyond the bound
    return a / b if b > 0 else None


def fmt_ratio(a, b):
    r = ratio(a, b)
    if r is None:
        return "-"
    return ("< %.2f" if b == FAIL else "%.2f") % r


def add_up(a, b):
    """Two rounds' counters of a point: "-" (not read) stays "-"."""
    if isinstance(a, int):
        return a + b
    try:
        x = float(a) + float(b)
    except ValueError:
        return "-"
    return "%d" % x if x == int(x) else "%.1f" % x


def results(lines):
    """The guest's setup and point lines: (order of the points, setups,
    points, res: (sys, xport, loss) -> p50, p95, ok, n; losses, systems)."""
    setups = {}     # (sys, xport, loss) -> [ms of the established]
    points = {}     # (sys, xport, loss) -> dict
    order = []
    for w in lines:
        if w[0] != "B2VM" or len(w) < 6 or w[1] == "size":
            continue
        key = (w[2], w[3], int(w[4]))
        if w[1] == "setup" and len(w) >= 7:
            if w[6] == "ok":
                setups.setdefault(key, []).append(int(w[7]))
            else:
                setups.setdefault(key, [])
        elif w[1] == "point" and len(w) >= 19:
            q = dict(n=int(w[5]), w=int(w[6]), seen=int(w[7]), drop=int(w[8]),
                     wall=w[14], retx_a=w[15], retx_b=w[17], rbe=w[-1], rounds=1)
            if key not in points:
                order.append(key)
                points[key] = q
            else:   # a later round (B2_ROUNDS) of the same point: add it up
                o = points[key]
                for f in q:
                    if f != "w":
                        o[f] = add_up(o[f], q[f])
    res = {}
    for key in order:
        p = points[key]
        t = setups.get(key, [])
        res[key] = dict(p50=pct(t, p["n"], 0.50), p95=pct(t, p["n"], 0.95), ok=len(t), n=p["n"])
    losses = sorted(set(k[2] for k in order))
    systems = []
    for k in order:
        if (k[0], k[1]) not in systems:
            systems.append((k[0], k[1]))
    return order, setups, points, res, losses, systems


def point_table(p, systems, losses, res, points):
    """The table of every point: N, W, established, p50, p95, counters."""
    p("| initiator | transport | loss % | N | W | established | p50 ms | p95 ms | loss seen % | retransmits (initiator/responder) | UDP rcvbuf drops | wall s |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in systems:
        for loss in losses:
            k = (s[0], s[1], loss)
            if k not in res:
                continue
            r, q = res[k], points[k]
            p("| %s | %s | %d | %d | %d | %d/%d (%.0f %%) | %s | %s | %.1f | %s/%s | %s | %s |" % (
                s[0], s[1], loss, r["n"], q["w"], r["ok"], r["n"], 100.0 * r["ok"] / r["n"],
                fmt(r["p50"]), fmt(r["p95"]), 100.0 * q["drop"] / q["seen"] if q["seen"] else 0,
                q["retx_a"], q["retx_b"], q["rbe"], q["wall"]))


def best_udp_of(res, daemon, loss):
    """The UDP timer of DAEMON with the most setups established at LOSS,
    then the lowest p95, then the lowest p50."""
    c = [(-r["ok"], r["p95"], r["p50"], k[1]) for k, r in res.items()
         if k[0] == daemon and k[1].startswith("udp@") and k[2] == loss]
    return min(c)[3] if c else None


def same_timer_separate(res, best, loss):
    """Separate transports with the best UDP's retransmit_base for their
    IKE_SA_INIT (the one exchange they send on UDP): the like-for-like
    timer.  "separate" is the 1 s default; without a run at that timer,
    the default.  Returns (name, result)."""
    x = "separate"
    if best and best[4] != "udp@1s" and ("tcpiked", "separate@" + best[4][4:], loss) in res:
        x = "separate@" + best[4][4:]
    return x, res.get(("tcpiked", x, loss))


def connect_race(info):
    """What the run's tcp and separate rows did about a lost SYN."""
    race = [i.split()[2] for i in info if i.startswith("tcpiked tcp_connect_race ")]
    if not race:
        return ("tcp and separate: the connect race was not recorded (a run before it:"
                " a lost SYN waits for the kernel's 1 s retransmission).")
    if race[0] in ("0", "0ms", "0s"):
        return ("tcp and separate: `tcp_connect_race = 0`, one connect: a lost SYN"
                " waits for the kernel's 1 s retransmission.")
    return ("tcp and separate: `tcp_connect_race = %s`, a second SYN when the connect"
            " has not completed by then (the first to complete is kept, the other"
            " closed unused)." % race[0])


def b2_head(p, title, args, cost, info, vm_s, rc, errs):
    """The opening of B2's and B6's VM report: what the emulation costs
    (cost: its lines) between the common words."""
    vm_head(p, title, "`bench/large-messages/host.sh %s`" % args,
            ["**The 6.12 test VM under",
             "QEMU TCG (software emulation, 2 vCPUs): every time below includes the emulated"]
            + cost + ["%s; one boot, %s s of VM." % ("; ".join(info) if info else "?", vm_s)],
            rc, errs)


def main():
    argv = sys.argv[1:]
    pq = argv[0] == "--pq"
    if pq:
        return main_pq(*argv[1:])
    raw, out, rc, vm_s, args = argv[0], argv[1], int(argv[2]), argv[3], argv[4]
    lines, info, errs = read_raw(raw, "B2")
    order, setups, points, res, losses, systems = results(lines)

    def best_udp(daemon, loss):
        return best_udp_of(res, daemon, loss)

    daemons = [d for d in ("tcpiked", "charon") if any(k[0] == d for k in order)]
    n_set = sorted(set(r["n"] for r in res.values()))
    L = []
    p = L.append
    b2_head(p, "## B2 in the VM: big IKE messages under loss, with delay and a rate limit",
            args, ["CPU, which is many times slower than the host's** (RSA-4096 signatures and",
                   "chain checks on both sides of every setup), so absolute times are not those of",
                   "real hardware; the transports and timers are compared under the same emulation."],
            info, vm_s, rc, errs)
    p("Each IKE_AUTH request and response carries four RSA-4096 certificates (end")
    p("entity and three intermediates, each with 241 DNS names; about 42 KB per")
    p("message; RFC 7383 fragments of at most 1280 bytes over UDP).  Two namespaces")
    p("on a veth pair, netem on both ends' egress: delay and rate as above each way")
    p("(a 50 ms RTT), random loss each way on every packet (UDP fragments, TCP")
    p("segments, SYNs and ACKs alike; one packet per skb, gso_max_segs 1).  Time to")
    p("established = the initiator's \"initiating\" log line to its installed Child")
    p("SA line, the daemon's own clock, ms.  Each point starts fresh daemons (backend")
    p("none, the -O2 build, log level info); one connection per setup, W in flight,")
    p("starts at least 20 ms apart; a setup not established within 30 s failed, and")
    p("p50/p95 (nearest rank over all N) rank failures above every success (\"> 30000\").")
    rounds = max(q["rounds"] for q in points.values())
    p("**N is %s setups per point**%s (the host run has 100 to 200): a p95 is"
      % ("/".join(str(x) for x in n_set),
         ", in %d interleaved rounds (every point in turn, its share of N each"
         " round, fresh daemons each time)" % rounds if rounds > 1 else ""))
    p("%s of a point, so it is coarse.  The 0 %% rows are the floor that the" %
      ", ".join("%s (N %d)" % (slowest(x - math.ceil(0.95 * x) + 1), x) for x in n_set))
    p("emulated CPU sets (W 2).  Loss seen = netem's drops / (packets sent + dropped)")
    p("at both ends.  UDP rcvbuf drops = datagrams the receiving sockets of both")
    p("namespaces dropped for a full buffer (RcvbufErrors; buffers at their 208 KB")
    p("default): a loss on top of the path's, from whole messages of 36 fragments")
    p("resent faster than the emulated receiver takes them in.")
    p("")
    p("UDP timers: tcpiked `retransmit_base` swept (retransmit_factor 2 and")
    p("retransmit_tries 5, its defaults; the responder gets the same); charon")
    p("(initiator, against a tcpiked responder) `retransmit_timeout` swept with")
    p("`retransmit_base = 2` and `retransmit_tries = 5`, so both send on the same")
    p("schedule (0, b, 3b, 7b, 15b); charon's own defaults, 4 s x 1.8, are not run")
    p("here.  charon uses kernel-libipsec (as in the host run; its ESP is not")
    p("exercised: no traffic), max_packet 65000, fragment_size 1280.  tcpiked TCP")
    p("(RFC 9329) and separate transports keep the 1 s default (separate: it times")
    p("only IKE_SA_INIT, on UDP; separate@RT, where run, has RT).  %s" % connect_race(info))
    p("\"Best UDP\" is,")
    p("per loss rate and daemon, the")
    p("timer with the most setups established, then the lowest p95: a choice made")
    p("after the fact, which flatters UDP.  The goal compares separate transports")
    p("whose IKE_SA_INIT (their one UDP exchange) has the same retransmit_base as")
    p("that best UDP, the like-for-like timer; the 1 s default and the other")
    p("timers are listed beside it.")
    p("")
    point_table(p, systems, losses, res, points)
    p("")
    p("(charon's retransmission count is not read: \"-\".)")
    p("")
    p("### Best UDP per loss rate, TCP and separate transports")
    p("")
    head = "| loss % |"
    for d in daemons:
        head += " %s best UDP | p50 / p95 ms | established |" % d
    head += (" tcpiked tcp p50 / p95 ms | established | tcpiked separate | p50 / p95 ms |"
             " established | separate / best UDP p50 | separate / best UDP p95 |")
    p(head)
    p("|" + "---|" * (head.count("|") - 1))
    ref = {}
    for loss in losses:
        row = "| %d |" % loss
        best = None
        for d in daemons:
            rt = best_udp(d, loss)
            if rt:
                r = res[(d, rt, loss)]
                row += " %s | %s / %s | %d/%d |" % (rt[4:], fmt(r["p50"]), fmt(r["p95"]), r["ok"], r["n"])
                c = (-r["ok"], r["p95"], r["p50"], d, rt)
                best = min(best, c) if best else c
            else:
                row += " - | - | - |"
        ref[loss] = best
        r = res.get(("tcpiked", "tcp", loss))
        row += " %s / %s | %d/%d |" % (fmt(r["p50"]), fmt(r["p95"]), r["ok"], r["n"]) if r else " - | - |"
        # at the best UDP's timer, as the goal compares it
        sx, sep = same_timer_separate(res, best, loss)
        row += " %s | %s / %s | %d/%d |" % (sx, fmt(sep["p50"]), fmt(sep["p95"]), sep["ok"],
                                          sep["n"]) if sep else " - | - | - |"
        if sep and best:
            u = res[(best[3], best[4], loss)]
            row += " %s | %s |" % (fmt_ratio(sep["p50"], u["p50"]), fmt_ratio(sep["p95"], u["p95"]))
        else:
            row += " - | - |"
        p(row)
    p("")
    p("The ratios divide separate transports, at the best UDP's timer where that")
    p("was run, by the best UDP setting of either daemon at that loss rate.")
    p("")
    # separate@RT (B2_SYSTEMS="... tcpiked-separate@250ms"): its IKE_SA_INIT,
    # on UDP, with a shorter timer than the 1 s default
    tuned = [s[1] for s in systems if s[0] == "tcpiked" and s[1].startswith("separate@")]
    if tuned:
        p("Separate transports with IKE_SA_INIT's UDP timer tuned too (retransmit_base):")
        p("")
        p("| loss % | separate | p50 / p95 ms | established | / best UDP p50 | / best UDP p95 |")
        p("|---|---|---|---|---|---|")
        for loss in losses:
            for x in tuned:
                r, b = res.get(("tcpiked", x, loss)), ref.get(loss)
                if not r:
                    continue
                u = res[(b[3], b[4], loss)] if b else None
                p("| %d | %s | %s / %s | %d/%d | %s | %s |" % (
                    loss, x, fmt(r["p50"]), fmt(r["p95"]), r["ok"], r["n"],
                    fmt_ratio(r["p50"], u["p50"]) if u else "-", fmt_ratio(r["p95"], u["p95"]) if u else "-"))
        p("")
    p("| goal (at 5 % loss, against the best-tuned UDP with fragments) | value | status |")
    p("|---|---|---|")
    best = ref.get(5)
    sx, sep = same_timer_separate(res, best, 5)
    if sep and best:
        u = res[(best[3], best[4], 5)]
        name = "%s against %s udp, %s" % (sx, best[3], best[4][4:])
        r95, r50 = ratio(sep["p95"], u["p95"]), ratio(sep["p50"], u["p50"])
        p("| separate p95 <= 0.5 x best UDP p95 (%s) | %s / %s ms = %s | %s |" % (
            name, fmt(sep["p95"]), fmt(u["p95"]), fmt_ratio(sep["p95"], u["p95"]),
            "met" if r95 is not None and r95 <= 0.5 else "not met"))
        p("| separate p50 <= 1.2 x best UDP p50 (%s) | %s / %s ms = %s | %s |" % (
            name, fmt(sep["p50"]), fmt(u["p50"]), fmt_ratio(sep["p50"], u["p50"]),
            "met" if r50 is not None and r50 <= 1.2 else "not met"))
        for d in daemons:
            rt = best_udp(d, 5)
            if rt and (d, rt) != (best[3], best[4]):
                o = res[(d, rt, 5)]
                p("| (for comparison) against %s's best UDP (%s): p95, p50 | %s, %s | - |" % (
                    d, rt[4:], fmt_ratio(sep["p95"], o["p95"]), fmt_ratio(sep["p50"], o["p50"])))
        for x in ["separate"] + tuned:
            t = res.get(("tcpiked", x, 5))
            if t and x != sx:
                p("| (for comparison) %s against the same: p95, p50 | %s, %s | - |" % (
                    x, fmt_ratio(t["p95"], u["p95"]), fmt_ratio(t["p50"], u["p50"])))
    else:
        p("| separate against the best UDP at 5 %% | not measured | - |")
    p("")
    path = [i[len("path netem "):] for i in info if i.startswith("path netem ")]
    plot(out, systems, losses, res, p, path[0] if path else "netem")
    open(os.path.join(out, "b2vm.md"), "w").write("\n".join(L) + "\n")
    return 0


def main_pq(raw, out, rc, vm_s, args):
    """B6 in the VM: OUTDIR/b2pq-vm.md (and b2pq-vm.png)."""
    rc = int(rc)
    lines, info, errs = read_raw(raw, "B2")
    order, setups, points, res, losses, systems = results(lines)
    # (sys, xport, side, exchange, direction) -> [(bytes, fragments or None)]
    sizes = {}
    for w in lines:
        if len(w) >= 9 and w[0] == "B2VM" and w[1] == "size":
            sizes.setdefault((w[2], w[3], w[4], w[5], w[6]), []).append(
                (int(w[8]), int(w[9]) if len(w) > 9 else None))
    n_set = sorted(set(r["n"] for r in res.values()))
    L = []
    p = L.append
    b2_head(p, "## B6 in the VM: post-quantum IKE messages under loss, with delay and a rate limit",
            args.strip(), ["CPU, which is many times slower than the host's** (ML-KEM-1024, X25519 and",
                           "ML-DSA-87 signatures and chain checks on both sides of every setup), so absolute",
                           "times are not those of real hardware; the transports and timers are compared",
                           "under the same emulation."],
            info, vm_s, rc, errs)
    p("The setups of `bench/large-messages/run.sh --pq` (B6): both tcpikeds built")
    p("against OpenSSL 3.5 in the Debian 13 root (the -O2 build, made on the host")
    p("before the boot, run chrooted in that root over the VM's 9p root); IKE SA")
    p("proposal aes256gcm16-prfsha256-x25519-ke1_mlkem1024 (ML-KEM-1024 in an")
    p("IKE_INTERMEDIATE exchange, RFC 9370); each side authenticates with an")
    p("ML-DSA-87 end-entity certificate sent with its ML-DSA-87 intermediate.  The")
    p("path of B2's VM run: two namespaces on a veth pair, netem on both ends'")
    p("egress, delay and rate as above each way, random loss each way on every")
    p("packet (UDP fragments, TCP segments, SYNs and ACKs alike; one packet per skb,")
    p("gso_max_segs 1).  Time to established = the initiator's \"initiating\" log")
    p("line to its installed Child SA line, the daemon's own clock, ms.  Each point")
    p("starts fresh daemons (backend none); one connection per setup, W in flight,")
    p("starts at least 20 ms apart; a setup not established within 30 s failed, and")
    p("p50/p95 (nearest rank over all N) rank failures above every success (\"> 30000\").")
    p("**N is %s setups per point** (the host run has 100): a p95 is" % "/".join(str(x) for x in n_set))
    p("%s of a point, so it is coarse.  The 0 %% points log at level debug (for" %
      ", ".join("%s (N %d)" % (slowest(x - math.ceil(0.95 * x) + 1), x) for x in n_set))
    p("the sizes), the others at info; W is 2 at 0 %, 4 at 1 %, 6 at 5 %, 8 at 10 %.")
    p("Loss seen = netem's drops / (packets sent + dropped) at both ends.  UDP")
    p("rcvbuf drops = datagrams the receiving sockets dropped for a full buffer.")
    p("")
    p("UDP: RFC 7383 fragments of at most 1280 bytes, `retransmit_base` swept")
    p("(retransmit_factor 2 and retransmit_tries 5, the defaults; the responder gets")
    p("the same).  TCP (RFC 9329) and separate transports keep the 1 s default")
    p("(separate: it times only IKE_SA_INIT, on UDP).  \"Best UDP\" is, per loss")
    p("rate, the timer with the most setups established, then the lowest p95: a")
    p("choice made after the fact, which flatters UDP.")
    p("")
    p("### Message sizes")
    p("")
    if sizes:
        p("Bytes of the IKE message as the daemons logged it at the 0 % point")
        p("(\"sending ... (B bytes in K fragments)\": over UDP the sum of its fragments,")
        p("without UDP/IP headers; over TCP without RFC 8229's length field); \"xK\" =")
        p("K fragments.  Request = initiator to responder, response = back.  A cell")
        p("with several values: the messages of the point differed (e.g. retransmitted")
        p("or with a cookie).")
        p("")
        p("| system | IKE_SA_INIT request | IKE_SA_INIT response | IKE_INTERMEDIATE request | IKE_INTERMEDIATE response | IKE_AUTH request | IKE_AUTH response |")
        p("|---|---|---|---|---|---|---|")
        for s in systems:
            row = "| %s %s |" % s
            for x in ("IKE_SA_INIT", "IKE_INTERMEDIATE", "IKE_AUTH"):
                for side, d in (("a", "request"), ("b", "response")):
                    v = sorted(set(sizes.get((s[0], s[1], side, x, d), [])), key=lambda t: (t[0], t[1] or 0))
                    row += " %s |" % (", ".join("%d%s" % (b, " x%d" % k if k else "") for b, k in v) or "-")
            p(row)
    else:
        p("No size lines (the 0 % points did not run or logged none).")
    p("")
    p("### Time to established per loss rate")
    p("")
    point_table(p, systems, losses, res, points)
    p("")
    p("### Best UDP per loss rate against TCP and separate transports")
    p("")
    p("| loss % | best UDP | p50 / p95 ms | established | tcp p50 / p95 ms | established | separate p50 / p95 ms | established | tcp / best UDP p50, p95 | separate / best UDP p50, p95 |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for loss in losses:
        rt = best_udp_of(res, "tcpiked", loss)
        u = res.get(("tcpiked", rt, loss)) if rt else None
        row = "| %d |" % loss
        row += " %s | %s / %s | %d/%d |" % (rt[4:], fmt(u["p50"]), fmt(u["p95"]), u["ok"], u["n"]) if u else " - | - | - |"
        for x in ("tcp", "separate"):
            r = res.get(("tcpiked", x, loss))
            row += " %s / %s | %d/%d |" % (fmt(r["p50"]), fmt(r["p95"]), r["ok"], r["n"]) if r else " - | - |"
        for x in ("tcp", "separate"):
            r = res.get(("tcpiked", x, loss))
            row += " %s, %s |" % (fmt_ratio(r["p50"], u["p50"]), fmt_ratio(r["p95"], u["p95"])) if r and u else " - |"
        p(row)
    p("")
    path = [i[len("path netem "):] for i in info if i.startswith("path netem ")]
    plot(out, systems, losses, res, p, path[0] if path else "netem", "b2pq-vm", "B6 (PQ)")
    open(os.path.join(out, "b2pq-vm.md"), "w").write("\n".join(L) + "\n")
    return 0


def plot(out, systems, losses, res, p, path, name="b2vm", what="B2"):
    """NAME.png: p95 per loss rate, a line per system (a failed p95 drawn
    at the bound), and its link in the report."""
    if not shutil.which("gnuplot"):
        p("(gnuplot not installed: no plot)")
        return
    dat = os.path.join(out, ".%s-plot.dat" % name)
    with open(dat, "w") as f:
        for s in systems:
            f.write("\"%s %s\"\n" % s)
            for loss in losses:
                r = res.get((s[0], s[1], loss))
                if r:
                    f.write("%d %d\n" % (loss, BOUND_MS if r["p95"] == FAIL else max(r["p95"], 1)))
            f.write("\n\n")
    gp = """set terminal pngcairo size 760,480 font "sans,10" noenhanced
set output "%s"
set title "%s in the VM (TCG), %s: time to established, p95"
set logscale y
set xlabel "random loss on the path, %% each way"
set ylabel "p95 ms (log scale; %d = failed)"
set xtics (%s)
set key below
set grid ytics
plot for [i=0:%d] "%s" index i using 1:2 with linespoints lw 2 title columnheader(1), \\
     %d with lines dashtype 2 lc rgb "gray" title "bound (30 s)"
""" % (os.path.join(out, name + ".png"), what, path, BOUND_MS, ", ".join(str(x) for x in losses),
           len(systems) - 1, dat, BOUND_MS)
    r = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True)
    os.unlink(dat)
    if r.returncode:
        print("bench-b2vm: gnuplot: " + r.stderr.strip(), file=sys.stderr)
        p("(gnuplot failed: no plot)")
        return
    p("![%s in the VM: p95 per loss rate](%s.png)" % (what, name))
    p("")


def slowest(n):
    """'the slowest setup', 'the 2nd-slowest setup', ..."""
    if n == 1:
        return "the slowest setup"
    return "the %d%s-slowest setup" % (
        n, "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))


if __name__ == "__main__":
    sys.exit(main())
