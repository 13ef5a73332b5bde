#!/usr/bin/env python3
"""The sa-scale benchmark's report writer (bench/sa-scale/host.sh runs it):
    report.py RAW OUTDIR RC VM_SECONDS ARGS
reads the guest's raw lines and writes the report section."""
import os, statistics, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from report_vm import read_raw, vm_head
raw, out, rc, vm_s, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
lines, info, errs = read_raw(raw, "B5")
sa, ka = {}, None
for w in lines:
    if w[0] == "B5SA" and len(w) == 8:
        sa.setdefault(w[1], []).append(dict(pairs=int(w[3]), add=float(w[4]), dele=float(w[5]),
                                            first=None if w[6] == "-" else float(w[6]),
                                            last=None if w[7] == "-" else float(w[7])))
    elif w[0] == "B5KA" and len(w) > 2:
        ka = dict(x.split("=", 1) for x in w[2:] if "=" in x)
pairs = int(os.environ.get("B5_PAIRS", "10000"))
L = []
p = L.append
vm_head(p, "## B5: scale (VM part): SA install rate, keepalive cost",
        "`bench/sa-scale/host.sh %s` (`make bench B=5`)" % args,
        ["The 6.12 test VM under",
         "QEMU TCG (software emulation, 2 vCPUs): absolute times are slow, read the ratios; %s;"
         % (info[0] if info else "?"),
         "one boot, %s s." % vm_s],
        rc, errs)
p("%d SA pairs (AES-GCM-16-256 tunnel mode, 10.0.0.1 <-> one peer per pair, inbound" % pairs)
p("replay window 64), each method in a fresh namespace, %d rounds interleaved; median."
  % max(len(v) for v in sa.values()) if sa else "")
p("*module* and *xfrm*: `tcpike-scale sa` through the daemon's own backends (one")
p("request per SA, acked, as tcpiked installs them); *ip*: `ip -batch` of `ip xfrm")
p("state add` lines (iproute2, XFRM netlink).  first/last: time for the first and")
p("the last tenth of the pairs (equal when the cost per SA does not grow).")
p("")
p("| method | SA pairs/s (median) | add ms (median) | min | max | delete ms | first tenth ms | last tenth ms |")
p("|---|---|---|---|---|---|---|---|")
rate = {}
for m in ("module", "xfrm", "ip"):
    v = [r for r in sa.get(m, []) if r["pairs"] == pairs]
    if not v:
        continue
    a = statistics.median(r["add"] for r in v)
    rate[m] = pairs * 1000.0 / a if a else 0
    fl = [r["first"] for r in v if r["first"] is not None]
    ll = [r["last"] for r in v if r["last"] is not None]
    p("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %s |" % (m, rate[m], a, min(r["add"] for r in v),
      max(r["add"] for r in v), statistics.median(r["dele"] for r in v),
      "%.0f" % statistics.median(fl) if fl else "-", "%.0f" % statistics.median(ll) if ll else "-"))
p("")
p("| goal | value | status |")
p("|---|---|---|")
for ref in ("xfrm", "ip"):
    if "module" in rate and ref in rate and rate[ref]:
        r = rate["module"] / rate[ref]
        p("| module install rate >= XFRM netlink (%s) | %.2fx | %s |" % (ref, r, "met" if r >= 1 else "not met"))
p("")
if ka:
    peers = int(ka.get("peers", 0))
    busy, base = float(ka.get("busy_pct", 0)), float(ka.get("base_busy_pct", 0))
    sent, exp = int(ka.get("sent", 0)), int(ka.get("expected", 0))
    p("NAT keepalives: %d UDP peers (10.0.0.1:4500 -> 10.64.0.0/10:4500 through a dummy"
      % peers + (" device, **partial: the set budget ran out**)," if ka.get("partial") else " device),"))
    p("every 20 s, set through the module one request each.  CPU busy (all CPUs, in % of")
    p("one, /proc/stat) over %s s without keepalives, then over %s s with them running"
      % (ka.get("hold_s"), ka.get("hold_s")))
    p("(the window starts after the first wave was due); sent = the module's counter.")
    p("")
    p("| peers | set ms | first tenth ms | last tenth ms | remove ms | busy % without | busy % with | cost % of a CPU | sent | expected | CPU us per keepalive |")
    p("|---|---|---|---|---|---|---|---|---|---|---|")
    hold = float(ka.get("hold_s", 1))
    per = (busy - base) / 100.0 * hold * 1e6 / sent if sent else float("nan")
    p("| %d | %s | %s | %s | %s | %.1f | %.1f | %.1f | %d | %d | %.1f |" % (peers, ka.get("set_ms"),
      ka.get("first_ms"), ka.get("last_ms"), ka.get("del_ms"), base, busy, busy - base, sent, exp, per))
    p("")
    if ka.get("first_ms") and ka.get("last_ms") and float(ka["first_ms"]) > 0:
        g = float(ka["last_ms"]) / float(ka["first_ms"])
        if g >= 2:
            p("Setting a keepalive walks the namespace's whole list for a duplicate")
            p("(kernel/keepalive.c, tcpike_ka_set): the last tenth of the peers took")
            p("%.1fx as long as the first, so setting N peers costs O(N^2)." % g)
        else:
            p("The last tenth of the peers took %.1fx as long as the first to set." % g)
        p("")
open(os.path.join(out, "b5vm.md"), "w").write("\n".join(L) + "\n")
