#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""IKE messages in a capture (pcap, Ethernet, IPv4 or IPv6), read from the
RFCs alone: RFC 7296 (UDP 500), RFC 3948 / RFC 7296 §2.23 (UDP 4500 behind
the non-ESP marker), RFC 9329 (TCP: "IKETCP" from the originator, then
16-bit Length frames, IKE behind a zero marker).  TCP streams are put
together by sequence number, so retransmitted and reordered segments do
not matter.

    ikepcap.py FILE

prints the IKE_SA_INIT requests, one per line:

    udp SPORT>DPORT SPIi=HEX natd_src=OK natd_dst=OK
    tcp SPORT>DPORT SPIi=HEX natd_src=OK natd_dst=OK

OK says whether the NAT_DETECTION_*_IP data is SHA-1(SPIi | SPIr | address
| port) of this packet's own source or destination (RFC 7296 §2.23):
"yes", "no", or "-" when the notify is absent.

    ikepcap.py --tcp-requests FILE

prints, in capture order, the hex of every IKE request (R flag clear)
carried in a TCP stream after IKE_SA_INIT: encrypted messages a test can
replay on a connection of its own.

    ikepcap.py --ike FILE

prints every IKE message in capture order (TCP: by the segment that
completed it), one per line:

    TRANSPORT SRC>DST EXCHANGE req|resp msgid=N spi_i=HEX spi_r=HEX [N=TYPE/PROTO/SPISIZE/LEN...]

TRANSPORT is udp500, udp4500 (after the marker: one without it is not IKE
and is not listed) or tcp; SRC and DST are ADDR:PORT; the notifies (N=) are
those of unencrypted messages (IKE_SA_INIT), PROTO/SPISIZE/LEN as encoded.
Then one line per TCP stream that carried anything:

    stream SRC>DST prefix=yes|no frames=N ike=N esp=N keepalive=N empty=N bad=N
"""
import hashlib
import ipaddress
import struct
import sys

N_NATD_SRC, N_NATD_DST = 16388, 16389
PL_NOTIFY = 41
EXCH = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA",
        37: "INFORMATIONAL", 43: "IKE_INTERMEDIATE"}


def frames(path):
    """(index, ethernet frame) of a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    if struct.unpack(end + "I", data[20:24])[0] != 1:
        sys.exit("ikepcap: only Ethernet captures")
    off, i = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        yield i, data[off + 16:off + 16 + incl]
        off += 16 + incl
        i += 1


def addr_str(a):
    if len(a) == 4:
        return ".".join(str(b) for b in a)
    return "[%s]" % ipaddress.IPv6Address(a)


def l4_packets(path):
    """(index, proto, src, dst, l4 bytes) of the IPv4/IPv6 packets."""
    for i, p in frames(path):
        et = p[12:14]
        if et == b"\x08\x00" and len(p) >= 34:
            ip = p[14:]
            ihl = (ip[0] & 15) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            yield i, ip[9], ip[12:16], ip[16:20], ip[ihl:total]
        elif et == b"\x86\xdd" and len(p) >= 54:
            ip = p[14:]
            plen = struct.unpack("!H", ip[4:6])[0]
            # no extension headers in these tests
            yield i, ip[6], ip[8:24], ip[24:40], ip[40:40 + plen]


class Stream:
    """One direction of a TCP connection, put together by sequence number."""

    def __init__(self):
        self.isn = None
        self.segs = {}          # offset -> (bytes, capture index)

    def add(self, seq, flags, data, idx):
        if flags & 0x02:        # SYN
            self.isn = (seq + 1) & 0xFFFFFFFF
        elif data and self.isn is None:
            self.isn = seq      # captured mid-connection: starts on a frame
        if data:
            off = (seq - self.isn) & 0xFFFFFFFF
            if off not in self.segs or len(self.segs[off][0]) < len(data):
                self.segs[off] = (data, idx)

    def bytes_with_index(self):
        """The contiguous stream from its start, and for each byte the
        capture index of the segment that carried it."""
        out, idx = bytearray(), []
        for off in sorted(self.segs):
            data, i = self.segs[off]
            if off > len(out):
                break           # a gap: nothing after it is known
            new = data[len(out) - off:]
            out += new
            idx += [i] * len(new)
        return bytes(out), idx


def notifies(msg):
    """[(type, proto, spi size, payload length, data)] of an unencrypted
    IKE message's notify payloads."""
    out = []
    nxt, off = msg[16], 28
    while nxt and off + 4 <= len(msg):
        this = nxt
        nxt, _, plen = struct.unpack("!BBH", msg[off:off + 4])
        if plen < 4 or off + plen > len(msg):
            break
        if this == PL_NOTIFY and plen >= 8:
            proto, spis, ntype = struct.unpack("!BBH", msg[off + 4:off + 8])
            out.append((ntype, proto, spis, plen, msg[off + 8 + spis:off + plen]))
        if this == 46:          # SK: the rest is encrypted
            break
        off += plen
    return out


def natd_ok(msg, natd, addr, port):
    if natd is None:
        return "-"
    h = hashlib.sha1(msg[:16] + addr + struct.pack("!H", port)).digest()
    return "yes" if h == natd else "no"


def collect(path):
    """Every IKE message: (capture index, transport, src, sport, dst,
    dport, message bytes); and the TCP streams' summaries."""
    msgs, streams = [], {}
    for i, proto, src, dst, l4 in l4_packets(path):
        if proto == 17 and len(l4) >= 8:
            sport, dport = struct.unpack("!HH", l4[:4])
            pl = l4[8:]
            if 4500 in (sport, dport):
                if len(pl) < 4 or pl[:4] != b"\0\0\0\0":
                    continue    # ESP or a keepalive
                msgs.append((i, "udp4500", src, sport, dst, dport, pl[4:]))
            elif 500 in (sport, dport):
                msgs.append((i, "udp500", src, sport, dst, dport, pl))
        elif proto == 6 and len(l4) >= 20:
            sport, dport = struct.unpack("!HH", l4[:4])
            seq = struct.unpack("!I", l4[4:8])[0]
            doff = (l4[12] >> 4) * 4
            key = (src, sport, dst, dport)
            streams.setdefault(key, Stream()).add(seq, l4[13], l4[doff:], i)
    summary = []
    for (src, sport, dst, dport), st in streams.items():
        s, idx = st.bytes_with_index()
        if not s:
            continue
        prefix = s.startswith(b"IKETCP")
        off = 6 if prefix else 0
        c = dict(frames=0, ike=0, esp=0, keepalive=0, empty=0, bad=0)
        while off + 2 <= len(s):
            n = struct.unpack("!H", s[off:off + 2])[0]
            if n < 2:
                c["bad"] += 1
                break
            if off + n > len(s):
                break           # incomplete at the end of the capture
            f = s[off + 2:off + n]
            c["frames"] += 1
            if n == 2:
                c["empty"] += 1
            elif f == b"\xff":
                c["keepalive"] += 1
            elif f[:4] == b"\0\0\0\0":
                c["ike"] += 1
                msgs.append((idx[off + n - 1], "tcp", src, sport, dst, dport, f[4:]))
            else:
                c["esp"] += 1
            off += n
        summary.append((src, sport, dst, dport, prefix, c))
    msgs.sort(key=lambda m: m[0])
    return msgs, summary


def main_sa_init(path):
    for _, kind, src, sport, dst, dport, m in collect(path)[0]:
        if len(m) < 28 or m[18] != 34 or m[19] & 0x20:
            continue
        natd = {N_NATD_SRC: None, N_NATD_DST: None}
        for ntype, _, _, _, data in notifies(m):
            if ntype in natd:
                natd[ntype] = data
        print("%s %d>%d SPIi=%s natd_src=%s natd_dst=%s" % (
            "udp" if kind.startswith("udp") else "tcp", sport, dport, m[:8].hex(),
            natd_ok(m, natd[N_NATD_SRC], src, sport),
            natd_ok(m, natd[N_NATD_DST], dst, dport)))


def main_tcp_requests(path):
    for _, kind, _, _, _, _, m in collect(path)[0]:
        if kind == "tcp" and len(m) >= 28 and m[18] != 34 and not m[19] & 0x20:
            print(m.hex())


def main_ike(path):
    msgs, summary = collect(path)
    for _, kind, src, sport, dst, dport, m in msgs:
        if len(m) < 28:
            print("%s %s:%d>%s:%d short message of %d bytes" % (
                kind, addr_str(src), sport, addr_str(dst), dport, len(m)))
            continue
        exch = EXCH.get(m[18], "exchange-%d" % m[18])
        line = "%s %s:%d>%s:%d %s %s msgid=%d spi_i=%s spi_r=%s" % (
            kind, addr_str(src), sport, addr_str(dst), dport, exch,
            "resp" if m[19] & 0x20 else "req", struct.unpack("!I", m[20:24])[0],
            m[:8].hex(), m[8:16].hex())
        if m[18] == 34:
            line += "".join(" N=%d/%d/%d/%d" % n[:4] for n in notifies(m))
        print(line)
    for src, sport, dst, dport, prefix, c in summary:
        print("stream %s:%d>%s:%d prefix=%s %s" % (
            addr_str(src), sport, addr_str(dst), dport, "yes" if prefix else "no",
            " ".join("%s=%d" % kv for kv in c.items())))


if __name__ == "__main__":
    if sys.argv[1] == "--tcp-requests":
        main_tcp_requests(sys.argv[2])
    elif sys.argv[1] == "--ike":
        main_ike(sys.argv[2])
    else:
        main_sa_init(sys.argv[1])
