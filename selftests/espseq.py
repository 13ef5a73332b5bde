#!/usr/bin/env python3
"""ESP sequence numbers on the wire, from a capture (pcap, Ethernet or
Linux cooked).

    espseq.py CAPTURE.pcap [CAPTURE.pcap ...]

Finds every ESP packet whatever carries it: IP protocol 50, UDP 4500
(RFC 3948: not a keepalive, not a non-ESP marker) or an RFC 9329 stream
on TCP 4500 (each direction reassembled from the TCP sequence numbers, so
a retransmitted segment is one record; after the 6-byte "IKETCP" prefix of
the connection's originator, records of a 2-byte length, IKE when the
first 4 bytes after it are zero).

An ESP packet is named by (SPI, sequence number).  Under AES-GCM and
ChaCha20-Poly1305 the sequence number is the IV, so the same (SPI,
sequence number) with two different ciphertexts is a nonce reused under
one key: that is reported and the exit status is 1 (2 when the capture cannot be read).  The same bytes seen
twice (a TCP retransmission, the same packet in two captures) are one
packet.

Prints, per SPI: "spi 0x... packets N distinct N max N" and one line per
reuse "REUSE spi 0x... seq N".  The low 32 bits of ESN sequence numbers
are what is on the wire; the check is on those.
"""
import hashlib
import struct
import sys


def pcap_packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        end = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        end = '>'
    else:
        raise SystemExit(f'{path}: not a pcap file (pcapng? use tcpdump -w)')
    linktype = struct.unpack(end + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(end + 'IIII', data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if len(pkt) < incl:
            break                # the capture ended inside this record
        # A snaplen shorter than the packet is fine for ESP on IP and in
        # UDP (SPI, sequence number and the start of the ciphertext are
        # compared); a TCP stream needs whole segments (see main).
        yield linktype, pkt, incl < orig
        continue


def ip_payload(linktype, pkt):
    """(src, dst, proto, payload) of an IPv4/IPv6 packet, or None."""
    if linktype == 1:            # Ethernet
        if len(pkt) < 14:
            return None
        etype = struct.unpack('!H', pkt[12:14])[0]
        pkt = pkt[14:]
    elif linktype == 113:        # Linux cooked (SLL)
        if len(pkt) < 16:
            return None
        etype = struct.unpack('!H', pkt[14:16])[0]
        pkt = pkt[16:]
    elif linktype == 276:        # SLL2
        if len(pkt) < 20:
            return None
        etype = struct.unpack('!H', pkt[0:2])[0]
        pkt = pkt[20:]
    else:
        raise SystemExit(f'unsupported link type {linktype}')
    if etype == 0x0800 and len(pkt) >= 20:
        ihl = (pkt[0] & 15) * 4
        tot = struct.unpack('!H', pkt[2:4])[0]
        frag = struct.unpack('!H', pkt[6:8])[0]
        if frag & 0x1fff or frag & 0x2000:
            return None          # fragments: not produced in these tests
        return pkt[12:16], pkt[16:20], pkt[9], pkt[ihl:tot]
    if etype == 0x86dd and len(pkt) >= 40:
        plen = struct.unpack('!H', pkt[4:6])[0]
        return pkt[8:24], pkt[24:40], pkt[6], pkt[40:40 + plen]
    return None


class Esp:
    def __init__(self):
        self.seen = {}           # (spi, seq) -> digest
        self.count = {}          # spi -> packets (distinct)
        self.maxseq = {}
        self.reuse = []

    def add(self, rec):
        if len(rec) < 8:
            return
        spi, seq = struct.unpack('!II', rec[:8])
        if spi == 0:
            return
        digest = hashlib.sha256(rec).digest()
        key = (spi, seq)
        old = self.seen.get(key)
        if old is None:
            self.seen[key] = digest
            self.count[spi] = self.count.get(spi, 0) + 1
            self.maxseq[spi] = max(self.maxseq.get(spi, 0), seq)
        elif old != digest:
            self.reuse.append(key)


class Stream:
    """One direction of a TCP connection, by sequence number."""

    def __init__(self):
        self.isn = None
        self.segs = {}

    def add(self, seq, flags, payload):
        if flags & 0x02:         # SYN
            self.isn = (seq + 1) & 0xffffffff
        if payload:
            self.segs.setdefault(seq, payload)

    def bytes(self):
        if not self.segs:
            return b'', False
        base = self.isn if self.isn is not None else min(self.segs)
        out = bytearray()
        pos = 0
        rel = sorted(((s - base) & 0xffffffff, p) for s, p in self.segs.items())
        for off, p in rel:
            if off > pos:
                return bytes(out), self.isn is not None   # a hole: stop there
            if off + len(p) > pos:
                out += p[pos - off:]
                pos = off + len(p)
        return bytes(out), self.isn is not None


def main():
    esp = Esp()
    streams = {}
    for path in sys.argv[1:]:
        for lt, pkt, cut in pcap_packets(path):
            ip = ip_payload(lt, pkt)
            if not ip:
                continue
            src, dst, proto, pl = ip
            if proto == 50:
                esp.add(pl)
            elif proto == 17 and len(pl) >= 8:
                sport, dport = struct.unpack('!HH', pl[:4])
                body = pl[8:]
                if 4500 in (sport, dport) and len(body) >= 8 and body[:4] != b'\0\0\0\0':
                    esp.add(body)
            elif proto == 6 and len(pl) >= 20:
                sport, dport, seq = struct.unpack('!HHI', pl[:8])
                doff = (pl[12] >> 4) * 4
                flags = pl[13]
                if 4500 not in (sport, dport):
                    continue
                if cut:
                    raise SystemExit(f'{path}: TCP segments cut by the snaplen: capture TCP with -s 0')
                key = (src, sport, dst, dport)
                streams.setdefault(key, Stream()).add(seq, flags, pl[doff:])
    unframed = 0
    for key, st in streams.items():
        data, from_syn = st.bytes()
        if not from_syn:
            unframed += 1        # started before the capture: no framing
            continue
        off = 6 if data[:6] == b'IKETCP' else 0
        while off + 2 <= len(data):
            ln = struct.unpack('!H', data[off:off + 2])[0]
            if ln < 2 or off + ln > len(data):
                break
            rec = data[off + 2:off + ln]
            if rec[:4] != b'\0\0\0\0':
                esp.add(rec)
            off += ln
    for spi in sorted(esp.count):
        print(f'spi 0x{spi:08x} packets {esp.count[spi]} max {esp.maxseq[spi]}')
    if unframed:
        print(f'# {unframed} TCP stream(s) without their SYN in the capture were not read')
    for spi, seq in esp.reuse:
        print(f'REUSE spi 0x{spi:08x} seq {seq}')
    return 1 if esp.reuse else 0


if __name__ == '__main__':
    sys.exit(main())
