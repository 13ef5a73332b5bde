#!/usr/bin/env python3
"""B3 inside the VM (bench/esp-throughput/guest.sh runs it): guest_check.py WORKDIR."""
import glob, json, os, sys
bad = 0
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    case, loss, run = os.path.basename(f)[:-5].rsplit("-", 2)
    try:
        j = json.load(open(f))
        e = j["end"]
        s = e["streams"][0]["sender"]
        sent = e["sum_sent"]["bytes"]
        # what crossed: bytes still queued at the end were never sent
        rcvd = e["sum_received"]["bytes"]
        mbps = e["sum_received"]["bits_per_second"] / 1e6
    except (ValueError, KeyError, IndexError) as ex:
        print("B3ERR %s loss %s run %s: no iperf3 result (%s)" % (case, loss, run, ex))
        bad = 1
        continue
    sa = int(open(f + ".sa").read())
    if sa < rcvd:
        print("B3ERR %s loss %s run %s: the SA carried %d bytes, iperf3 received %d: traffic bypassed the tunnel"
              % (case, loss, run, sa, rcvd))
        bad = 1
    print("B3 %s %s %s %.3f %.2f %.2f %d %d %d %d" % (case, loss, run, mbps, s["mean_rtt"] / 1000.0,
          s["max_rtt"] / 1000.0, s.get("retransmits", -1), sent, sa, rcvd))
sys.exit(bad)
