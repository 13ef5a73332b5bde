#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the IKE_SA_INIT requests in a pcap (Ethernet, IPv4), one per line:

    ikepcap.py FILE

    udp SPORT>DPORT SPIi=HEX natd_src=OK natd_dst=OK
    tcp SPORT>DPORT SPIi=HEX natd_src=OK natd_dst=OK

UDP: port 500 as is, port 4500 after the non-ESP marker.  TCP: each
client-to-server stream is put together in order, "IKETCP" removed and the
RFC 9329 frames read.  OK says whether the NAT_DETECTION_*_IP data is
SHA-1(SPIi | SPIr | address | port) of this packet's own source or
destination (RFC 7296 §2.23): "yes", "no", or "-" when the notify is
absent.
Only what the test needs: no IP options beyond IHL, no reordering.

    ikepcap.py --tcp-requests FILE

prints instead, in capture order, the hex of every IKE request (R flag
clear) carried in a TCP stream after IKE_SA_INIT: encrypted messages a
test can replay on a connection of its own.
"""
import hashlib
import struct
import sys

N_NATD_SRC, N_NATD_DST = 16388, 16389


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    if struct.unpack(end + "I", data[20:24])[0] != 1:
        sys.exit("ikepcap: only Ethernet captures")
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def sa_init(msg):
    """(SPIi, natd_src, natd_dst) of an IKE_SA_INIT request, else None."""
    if len(msg) < 28 or msg[18] != 34 or msg[19] & 0x20:
        return None
    natd = {N_NATD_SRC: "-", N_NATD_DST: "-"}
    nxt, off = msg[16], 28
    while nxt and off + 4 <= len(msg):
        this = nxt
        nxt, _, plen = struct.unpack("!BBH", msg[off:off + 4])
        if plen < 4:
            break
        if this == 41 and plen >= 8:
            ntype = struct.unpack("!H", msg[off + 6:off + 8])[0]
            spis = msg[off + 5]
            if ntype in natd:
                natd[ntype] = msg[off + 8 + spis:off + plen].hex()
        off += plen
    return msg[:8].hex(), natd[N_NATD_SRC], natd[N_NATD_DST]


def natd_ok(msg, natd, addr, port):
    if natd == "-":
        return "-"
    h = hashlib.sha1(msg[:16] + addr + struct.pack("!H", port)).hexdigest()
    return "yes" if h == natd else "no"


def show(kind, sport, dport, src, dst, msg):
    r = sa_init(msg)
    if r:
        print("%s %d>%d SPIi=%s natd_src=%s natd_dst=%s" %
              (kind, sport, dport, r[0], natd_ok(msg, r[1], src, sport),
               natd_ok(msg, r[2], dst, dport)))


def main(path, requests=False):
    streams = {}
    for p in packets(path):
        if len(p) < 14 + 20 or p[12:14] != b"\x08\x00":
            continue
        ip = p[14:]
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        proto, l4 = ip[9], ip[ihl:total]
        if proto == 17 and len(l4) >= 8:
            sport, dport = struct.unpack("!HH", l4[:4])
            pl = l4[8:]
            if dport == 4500:
                if pl[:4] != b"\0\0\0\0":
                    continue
                pl = pl[4:]
            if dport in (500, 4500) and not requests:
                show("udp", sport, dport, ip[12:16], ip[16:20], pl)
        elif proto == 6 and len(l4) >= 20:
            sport, dport = struct.unpack("!HH", l4[:4])
            doff = (l4[12] >> 4) * 4
            if l4[doff:]:
                streams.setdefault((sport, dport, ip[12:16], ip[16:20]),
                                   bytearray()).extend(l4[doff:])
    for (sport, dport, src, dst), s in streams.items():
        if s.startswith(b"IKETCP"):
            off = 6
        elif requests:
            off = 0     # captured mid-connection: starts on a frame
        else:
            continue
        while off + 2 <= len(s):
            n = struct.unpack("!H", s[off:off + 2])[0]
            if n < 2:
                break
            f = bytes(s[off + 2:off + n])
            off += n
            if f[:4] != b"\0\0\0\0":
                continue
            m = f[4:]
            if not requests:
                show("tcp", sport, dport, src, dst, m)
            elif len(m) >= 28 and m[18] != 34 and not m[19] & 0x20:
                print(m.hex())


if __name__ == "__main__":
    if sys.argv[1] == "--tcp-requests":
        main(sys.argv[2], True)
    else:
        main(sys.argv[1])
