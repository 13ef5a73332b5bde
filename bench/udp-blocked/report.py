#!/usr/bin/env python3
"""The udp-blocked benchmark's report writer (bench/udp-blocked/host.sh runs it):
    report.py RAW OUTDIR RC VM_SECONDS ARGS
reads the guest's raw lines and writes the report section."""
import os, statistics, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_vm import read_raw, vm_head
raw, out, rc, vm_s, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
lines, info, errs = read_raw(raw, "B4")
res = {}
for w in lines:
    if w[0] == "B4VM" and len(w) == 6:
        res.setdefault((w[1], w[2]), []).append((None if w[4] == "-" else int(w[4]), w[5]))
# Libreswan's retransmit-timeout sweep: every lsw-rtN the guest ran, longest first.
sweep = sorted({k[0] for k in res if k[0].startswith("lsw-rt")},
               key=lambda c: -int(c[len("lsw-rt"):]))
cases = [
    ("tcpiked-auto", "tcpiked, transport auto (default tcp_race_delay 250 ms)"),
    ("tcpiked-separate", "tcpiked, transport separate (default tcp_race_delay 250 ms)"),
    ("lsw-default", "Libreswan, enable-tcp=fallback, defaults (retransmit-timeout 60 s, interval 500 ms)"),
] + [(c, "Libreswan, enable-tcp=fallback, retransmit-timeout=%ss%s" % (
    c[len("lsw-rt"):], " (ipsec.conf(5))" if c == "lsw-rt10" else "")) for c in sweep]
L = []
p = L.append
vm_head(p, "## B4: UDP blocked, time to a working tunnel (VM part): tcpiked and Libreswan",
        "`bench/udp-blocked/host.sh %s` (`make bench B=4`)" % args,
        ["The 6.12 test VM under",
         "QEMU TCG (software emulation, 2 vCPUs): absolute times include the emulated CPU's slowness;",
         "%s; one boot, %s s." % ("; ".join(info) if info else "?", vm_s)],
        rc, errs)
p("Two namespaces on a veth, kernel ESP (AES-GCM-16-256), IKE AES-GCM-16-256 /")
p("PRF-HMAC-SHA2-256 / X25519, PSK; each pair of daemons fresh for every run.  With")
p("UDP blocked, nftables drops UDP 500 and 4500 at the responder's input.  Time = from")
p("the initiate command (`tcpikectl initiate`, `whack --initiate --asynchronous`) to the")
p("first echo reply of a ping sent every 50 ms from a's inner address to b's; clear ICMP")
p("never leaves either namespace, so only a reply through the tunnel counts.  tcpiked:")
p("backend module, every timer at its default.  Libreswan 4.10 (pluto) on both ends,")
p("`enable-tcp=fallback`, `tcp-remoteport=4500`, the responder `listen-tcp=yes`.")
p("ESP as = how a's kernel SAs carry ESP at the end of the run.")
p("")
p("| peers | UDP | runs | median ms | min | max | ESP as | vs. UDP open | goal <= 2000 ms |")
p("|---|---|---|---|---|---|---|---|---|")
med = {}
fail = False
for key, name in cases:
    for u in ("open", "blocked"):
        v = res.get((key, u), [])
        if not v:
            continue
        ok = [ms for ms, _ in v if ms is not None]
        carriers = sorted(set(c for _, c in v))
        m = statistics.median(ok) if ok else None
        med[(key, u)] = m
        ref = med.get((key, "open"))
        ratio = "%.1fx" % (m / ref) if (u == "blocked" and m and ref) else "-"
        goal = "-"
        if key.startswith("tcpiked") and u == "blocked":
            goal = "met" if ok and len(ok) == len(v) and max(ok) <= 2000 else "MISSED"
            fail = fail or goal != "met"
        p("| %s | %s | %d%s | %s | %s | %s | %s | %s | %s |" % (
            name, u, len(v), "" if len(ok) == len(v) else " (%d without reply)" % (len(v) - len(ok)),
            "%.0f" % m if m is not None else "-", min(ok) if ok else "-", max(ok) if ok else "-",
            ", ".join(carriers), ratio, goal))
p("")
rows = []
for t in ("tcpiked-auto", "tcpiked-separate"):
    for l in ["lsw-default"] + sweep:
        a, b = med.get((t, "blocked")), med.get((l, "blocked"))
        if a and b:
            rows.append("| %s | %s | %.0f / %.0f | %.3f | %.0fx |" % (t, l, a, b, a / b, b / a))
if rows:
    p("UDP blocked, tcpiked against Libreswan (medians):")
    p("")
    p("| tcpiked | Libreswan | ms, tcpiked / Libreswan | ratio | tcpiked faster by |")
    p("|---|---|---|---|---|")
    for r in rows:
        p(r)
    p("")
p("Libreswan's fallback starts only once its UDP attempt has given up: the")
p("retransmit-timeout is checked at retransmit instants, with the interval doubling from")
p("500 ms, so 60 s becomes about 64 s and 10 s about 16 s of UDP before the first TCP")
p("packet.  tcpiked sends IKE_SA_INIT over UDP; with no answer, auto sends it once more")
p("after tcp_race_delay (250 ms) and races a new IKE SA over TCP 4500 beside it (new SPI,")
p("RFC 9329 §5.1), keeping whichever completes IKE_SA_INIT first; separate races the")
p("same way (its TCP SA asks for separate transports from TCP, on the connection opened")
p("beside the UDP IKE_SA_INIT), then keeps ESP out of the TCP stream (on IP here).")
p("")
open(os.path.join(out, "b4vm.md"), "w").write("\n".join(L) + "\n")
sys.exit(1 if fail else 0)
