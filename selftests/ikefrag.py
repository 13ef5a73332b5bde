#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A minimal IKEv2 initiator over TCP (RFC 9329) whose IKE_AUTH request is
sent in RFC 7383 fragments: RFC 9329 §7.5 (TCP-39) says fragments are not
sent over TCP but MUST be accepted.  tcpiked never sends them there, so
this script does, to test the receiving side.

    ikefrag.py HOST PORT IDi IDr PSK FRAGMENTS [TIMEOUT]
    ikefrag.py HOST PORT IDi IDr PSK conns|conns-b WAIT

The second form (RFC 9329 §6.1, TCP-26/27) sets the SA up in one fragment
on connection A, then opens connection B and sends an INFORMATIONAL on B
(answered on B), one on A (answered on A: the old connection still
accepted), a tampered one on B (not answered, and it must not move the
responder's return path); then it waits up to WAIT seconds for a request
of the responder's own (e.g. its DPD) and prints the connection it came on.
conns-b leaves out the INFORMATIONAL on A and tampers on A instead, so the
last valid message is the one on B.

AES-GCM-16-256, PRF-HMAC-SHA2-256, X25519, PSK authentication (RFC 7296
§2.15), one ESP Child SA 192.168.1.0/24 <-> 192.168.2.0/24.  Prints
"established" when the IKE_AUTH response decrypts and carries AUTH and no
error notify; exit status 1 with a reason otherwise.
"""
import os
import select
import socket
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ikev2 import (KEYLEN256, N_FRAG_SUPPORTED, PL_AUTH, PL_IDI, PL_KE, PL_NONCE, PL_NOTIFY,
                   PL_SA, PL_SK, PL_TSI, PL_TSR, Fail, KeyPair, Keys, frame, header,
                   payloads, pl, proposal, psk_auth, seal_frag, transform, ts_payload)


def read_frame(s):
    buf = b""
    while True:
        if len(buf) >= 2:
            n = struct.unpack("!H", buf[:2])[0]
            if n < 6:
                raise Fail("frame with Length %d" % n)
            if len(buf) >= n:
                f = buf[2:n]
                if f[:4] != b"\0\0\0\0":
                    raise Fail("a frame that is not IKE")
                return f[4:]
        d = s.recv(65536)
        if not d:
            raise Fail("connection closed by the responder")
        buf += d


def main(argv):
    host, port, idi, idr, psk = (argv[1], int(argv[2]), argv[3], argv[4],
                                 argv[5].encode())
    nfrag = 1 if argv[6].startswith("conns") else int(argv[6])
    timeout = float(argv[7]) if len(argv) > 7 else 10
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(b"IKETCP")

    # IKE_SA_INIT
    spi_i, ni = os.urandom(8), os.urandom(32)
    kp = KeyPair()
    pub = kp.pub
    sa = proposal(1, 1, b"", [transform(False, 1, 20, KEYLEN256),
                              transform(False, 2, 5), transform(True, 4, 31)])
    body = (pl(PL_KE, sa) + pl(PL_NONCE, struct.pack("!HH", 31, 0) + pub) +
            pl(PL_NOTIFY, ni) +
            pl(0, struct.pack("!BBH", 0, 0, N_FRAG_SUPPORTED)))
    msg1 = header(spi_i, b"\0" * 8, PL_SA, 34, 0x08, 0, 28 + len(body)) + body
    s.sendall(frame(msg1))
    r = read_frame(s)
    if r[:8] != spi_i or r[18] != 34 or not r[19] & 0x20:
        raise Fail("not our IKE_SA_INIT response")
    spi_r = r[8:16]
    got = dict()
    for t, b in payloads(r[16], r[28:]):
        if t == PL_NOTIFY and struct.unpack("!H", b[2:4])[0] < 16384:
            raise Fail("IKE_SA_INIT error notify %d" % struct.unpack("!H", b[2:4])[0])
        got.setdefault(t, b)
    if PL_KE not in got or PL_NONCE not in got:
        raise Fail("IKE_SA_INIT response without KE or Nonce")
    nr = got[PL_NONCE]
    keys = Keys(kp.shared(got[PL_KE][4:]), ni, nr, spi_i, spi_r)
    sk_ei, sk_er = keys.sk_ei, keys.sk_er

    # IKE_AUTH, PSK (§2.15)
    id_body = struct.pack("!B3x", 2) + idi.encode()
    auth = psk_auth(psk, msg1, nr, keys.sk_pi, id_body)
    esp = proposal(1, 3, os.urandom(4), [transform(False, 1, 20, KEYLEN256),
                                         transform(True, 5, 0)])
    inner = (pl(PL_AUTH, id_body) +
             pl(PL_SA, struct.pack("!B3x", 2) + auth) +
             pl(PL_TSI, esp) +
             pl(PL_TSR, ts_payload("192.168.1.0/24")) +
             pl(0, ts_payload("192.168.2.0/24")))
    chunk = -(-len(inner) // nfrag)
    parts = [inner[i:i + chunk] for i in range(0, len(inner), chunk)]
    for num, part in enumerate(parts, 1):
        s.sendall(frame(seal_frag(sk_ei, spi_i, spi_r, 35, 0x08, 1, PL_IDI, part, num,
                                  len(parts))))

    r = read_frame(s)
    if r[:16] != spi_i + spi_r or r[18] != 35 or not r[19] & 0x20:
        raise Fail("not our IKE_AUTH response")
    if r[16] != PL_SK:
        raise Fail("IKE_AUTH response not in one SK payload (first payload %d)" % r[16])
    sk = r[28:]
    first = sk[0]
    ct = sk[12:]
    plain = AESGCM(sk_er[:32]).decrypt(sk_er[32:] + sk[4:12], ct, r[:28] + sk[:4])
    plain = plain[:len(plain) - 1 - plain[-1]]
    types = []
    for t, b in payloads(first, plain):
        types.append(t)
        if t == PL_NOTIFY and struct.unpack("!H", b[2:4])[0] < 16384:
            raise Fail("IKE_AUTH error notify %d" % struct.unpack("!H", b[2:4])[0])
    if PL_AUTH not in types:
        raise Fail("IKE_AUTH response without AUTH: %s" % types)
    print("established, IKE_AUTH sent in %d fragments, answer of %d bytes "
          "in one SK payload" % (len(parts), len(r)))
    if argv[6] in ("conns", "conns-b"):
        return conns(host, port, s, spi_i, spi_r, sk_ei, sk_er, timeout,
                     argv[6] == "conns-b")
    return 0


def conns(host, port, a, spi_i, spi_r, sk_ei, sk_er, wait, last_on_b):
    """TCP-26/27 on an established SA whose connection is a."""
    def informational(msgid, tamper=False):
        iv = os.urandom(8)
        plain = b"\0"                  # no payloads, Pad Length 0
        sk_len = 4 + 8 + len(plain) + 16
        hdr = header(spi_i, spi_r, PL_SK, 37, 0x08, msgid, 28 + sk_len)
        sk_hdr = struct.pack("!BBH", 0, 0, sk_len)
        ct = AESGCM(sk_ei[:32]).encrypt(sk_ei[32:] + iv, plain, hdr + sk_hdr)
        if tamper:
            ct = ct[:-1] + bytes([ct[-1] ^ 1])
        return frame(hdr + sk_hdr + iv + ct)

    def answered(conn, msgid, name):
        conn.settimeout(3)
        r = read_frame(conn)
        if r[:16] != spi_i + spi_r or r[18] != 37 or not r[19] & 0x20 or \
                struct.unpack("!I", r[20:24])[0] != msgid:
            raise Fail("on %s: not the answer to INFORMATIONAL %d (exchange %d, "
                       "flags 0x%02x, message ID %d; header %s)" % (
                           name, msgid, r[18], r[19], struct.unpack("!I", r[20:24])[0],
                           r[:28].hex()))
        sk = r[28:]
        AESGCM(sk_er[:32]).decrypt(sk_er[32:] + sk[4:12], sk[12:], r[:28] + sk[:4])
        print("INFORMATIONAL %d answered on %s" % (msgid, name))

    b = socket.create_connection((host, port), timeout=wait)
    b.sendall(b"IKETCP")
    b.sendall(informational(2))
    answered(b, 2, "B")
    if last_on_b:
        # Not valid (ICV broken): no answer, the return path stays on B.
        a.sendall(informational(3, tamper=True))
    else:
        a.sendall(informational(3))
        answered(a, 3, "A")
        # Not valid: no answer, the return path stays on A.
        b.sendall(informational(4, tamper=True))
    print("ready")
    sys.stdout.flush()
    conns_by = {a: "A", b: "B"}
    r, _, _ = select.select([a, b], [], [], wait)
    if not r:
        raise Fail("no request from the responder within %d s" % wait)
    conn = r[0]
    conn.settimeout(3)
    f = read_frame(conn)
    if f[:16] != spi_i + spi_r or f[19] & 0x20:
        raise Fail("on %s: a frame that is no request of this SA (exchange %d, "
                   "flags 0x%02x)" % (conns_by[conn], f[18], f[19]))
    print("request from the responder on %s, exchange %d, message ID %d" %
          (conns_by[conn], f[18], struct.unpack("!I", f[20:24])[0]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (Fail, OSError, ValueError) as e:
        print("FAIL:", e)
        sys.exit(1)
