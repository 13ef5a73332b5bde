#!/usr/bin/env python3
"""An ESP SA's anti-replay state through XFRM netlink (XFRM_MSG_GETAE and
XFRM_MSG_NEWAE), as a key manager sees and sets it.  iproute2 has no
command for XFRM_MSG_NEWAE.

    xfrm_ae.py get DST SPI
    xfrm_ae.py set-window DST SPI WINDOW

get prints one line:
    window W bmp_len L seq S oseq O seq_hi H oseq_hi OH bmp XXXXXXXX...
(the xfrm_replay_state_esn of an SA with one: ESN, or a window above 32),
or "legacy window W seq S oseq O bitmap XXXXXXXX" for the others.

set-window keeps everything and lowers (or raises, up to bmp_len * 32)
replay_window, as XFRM_MSG_NEWAE may: the kernel checks bmp_len only
(xfrm_replay_verify_len), so bmp_len stays.  Exit status 1 with the
kernel's error on a refusal.  IPv4 destinations, no mark.
"""
import errno
import os
import socket
import struct
import sys

NETLINK_XFRM = 6
XFRM_MSG_NEWAE = 30
XFRM_MSG_GETAE = 31
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLM_F_REPLACE = 0x100
NLMSG_ERROR = 2
XFRMA_REPLAY_VAL = 10
XFRMA_REPLAY_ESN_VAL = 23
XFRM_AE_RVAL = 2
XFRM_AE_CVAL = 8
IPPROTO_ESP = 50


def aevent_id(dst, spi, flags=0):
    # struct xfrm_aevent_id: xfrm_usersa_id (daddr[16], spi, family,
    # proto, pad) + saddr[16] + flags + reqid
    daddr = socket.inet_aton(dst) + bytes(12)
    return struct.pack('=16sIHBx16sII', daddr, socket.htonl(spi), socket.AF_INET,
                       IPPROTO_ESP, bytes(16), flags, 0)


def attr(kind, payload):
    ln = 4 + len(payload)
    return struct.pack('=HH', ln, kind) + payload + bytes((4 - ln % 4) % 4)


def talk(msg_type, flags, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    s.bind((0, 0))
    hdr = struct.pack('=IHHII', 16 + len(body), msg_type, flags | NLM_F_REQUEST, 1, 0)
    s.send(hdr + body)
    data = s.recv(65536)
    s.close()
    ln, typ = struct.unpack('=IH', data[:6])
    if typ == NLMSG_ERROR:
        err = struct.unpack('=i', data[16:20])[0]
        return -err, None
    return 0, data[16:ln]


def parse_attrs(buf):
    out = {}
    off = 0
    while off + 4 <= len(buf):
        ln, kind = struct.unpack('=HH', buf[off:off + 4])
        if ln < 4:
            break
        out[kind & 0x7fff] = buf[off + 4:off + ln]
        off += (ln + 3) & ~3
    return out


def get(dst, spi):
    err, body = talk(XFRM_MSG_GETAE, 0, aevent_id(dst, spi, XFRM_AE_RVAL | XFRM_AE_CVAL))
    if err:
        raise SystemExit(f'xfrm_ae: GETAE: {os.strerror(err)}')
    return parse_attrs(body[struct.calcsize('=16sIHBx16sII'):])


def esn_fields(raw):
    bmp_len, oseq, seq, oseq_hi, seq_hi, window = struct.unpack('=6I', raw[:24])
    bmp = raw[24:24 + 4 * bmp_len]
    return bmp_len, oseq, seq, oseq_hi, seq_hi, window, bmp


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    cmd, dst, spi = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    a = get(dst, spi)
    if cmd == 'get':
        if XFRMA_REPLAY_ESN_VAL in a:
            bmp_len, oseq, seq, oseq_hi, seq_hi, window, bmp = esn_fields(a[XFRMA_REPLAY_ESN_VAL])
            words = ''.join('%08x' % w for w in struct.unpack(f'={bmp_len}I', bmp))
            print(f'window {window} bmp_len {bmp_len} seq {seq} oseq {oseq} seq_hi {seq_hi} '
                  f'oseq_hi {oseq_hi} bmp {words}')
        elif XFRMA_REPLAY_VAL in a:
            oseq, seq, bitmap = struct.unpack('=3I', a[XFRMA_REPLAY_VAL][:12])
            print(f'legacy seq {seq} oseq {oseq} bitmap {bitmap:08x}')
        else:
            raise SystemExit('xfrm_ae: no replay state in the answer')
        return 0
    if cmd == 'set-window' and len(sys.argv) == 5:
        if XFRMA_REPLAY_ESN_VAL not in a:
            raise SystemExit('xfrm_ae: the SA has no xfrm_replay_state_esn (window <= 32, no ESN)')
        raw = bytearray(a[XFRMA_REPLAY_ESN_VAL])
        struct.pack_into('=I', raw, 20, int(sys.argv[4], 0))
        body = aevent_id(dst, spi) + attr(XFRMA_REPLAY_ESN_VAL, bytes(raw))
        err, _ = talk(XFRM_MSG_NEWAE, NLM_F_ACK | NLM_F_REPLACE, body)
        if err:
            print(f'xfrm_ae: NEWAE: {os.strerror(err)}', file=sys.stderr)
            return 1
        return 0
    raise SystemExit(__doc__)


if __name__ == '__main__':
    sys.exit(main())
