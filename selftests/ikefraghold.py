#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""IKE SAs that leave RFC 7383 reassemblies incomplete, so a responder
holds their fragments until the SA expires: netns 57 fills the daemon-wide
fragment memory bound with them.  Written from RFC 7296 and RFC 7383 (not
from tcpiked).

    ikefraghold.py PEER SRC[,SRC...] SAS FRAGMENTS BYTES

SAS IKE SAs over UDP 500, the i-th from SRC number i modulo their count
(bound to port 500 there), one after the other: an IKE_SA_INIT request,
sent again with the COOKIE when asked for one (RFC 7296 §2.6); once it is
answered with KE and Nonce, the keys (§2.14) and an IKE_AUTH request,
Message ID 1, announced in FRAGMENTS fragments (RFC 7383 §2.5) of which
every one but the last is sent, each with BYTES bytes of plaintext in its
SKF payload.  Nothing is answered to such a request, and nothing more is
sent on the SA.

Prints "keyed K of N SAs, F fragments of P bytes of plaintext in all,
D datagrams"; exit status 1 when an IKE_SA_INIT stayed unanswered (three
tries, 1 s apart) or was answered without keys.
"""
import os
import socket
import struct
import sys

from ikev2 import (EXCH_AUTH, EXCH_SA_INIT, F_INITIATOR, N_FRAG_SUPPORTED, PL_IDI,
                   PL_KE, PL_NONCE, PL_NOTIFY, PL_SA, Fail, KeyPair, Keys, chain,
                   header, ike_proposal, ke_body, notify_body, notifies, payloads,
                   seal_frag)

N_COOKIE = 16390
TRIES, WAIT = 3, 1.0


def sa_init(spi_i, ni, pub, cookie=None):
    pls = [(PL_SA, ike_proposal()), (PL_KE, ke_body(pub)), (PL_NONCE, ni),
           (PL_NOTIFY, notify_body(N_FRAG_SUPPORTED))]
    if cookie is not None:
        pls.insert(0, (PL_NOTIFY, notify_body(N_COOKIE, cookie)))
    first, body = chain(pls)
    return header(spi_i, b"\0" * 8, first, EXCH_SA_INIT, F_INITIATOR, 0, 28 + len(body)) + body


def ask(s, peer, msg, spi_i, sent):
    """Sends msg until an IKE_SA_INIT response for spi_i comes; returns it
    (None after TRIES)."""
    for _ in range(TRIES):
        s.sendto(msg, (peer, 500))
        sent[0] += 1
        s.settimeout(WAIT)
        try:
            while True:
                d, _ = s.recvfrom(65536)
                if d[:8] == spi_i and len(d) >= 28 and d[18] == EXCH_SA_INIT and \
                        d[19] & 0x20:
                    return d
        except socket.timeout:
            continue
    return None


def keyed(s, peer, sent):
    """Keys of a new IKE SA whose IKE_SA_INIT s sent, or Fail."""
    spi_i, ni, kp = os.urandom(8), os.urandom(32), KeyPair()
    msg = sa_init(spi_i, ni, kp.pub)
    r = ask(s, peer, msg, spi_i, sent)
    if r is not None and r[8:16] == b"\0" * 8:
        cookie = [d for n, _, _, d, _ in notifies(payloads(r[16], r[28:])) if n == N_COOKIE]
        if not cookie:
            raise Fail("IKE_SA_INIT answered without an SA: notifies %s" % [
                n for n, _, _, _, _ in notifies(payloads(r[16], r[28:]))])
        msg = sa_init(spi_i, ni, kp.pub, cookie[0])
        r = ask(s, peer, msg, spi_i, sent)
    if r is None:
        raise Fail("IKE_SA_INIT not answered (%d tries)" % TRIES)
    got = dict(payloads(r[16], r[28:]))
    if PL_KE not in got or PL_NONCE not in got:
        raise Fail("IKE_SA_INIT answered without KE and Nonce")
    return Keys(kp.shared(got[PL_KE][4:]), ni, got[PL_NONCE], spi_i, r[8:16]), spi_i, r[8:16]


def main(argv):
    peer, srcs = argv[1], argv[2].split(",")
    n, total, size = int(argv[3]), int(argv[4]), int(argv[5])
    socks = []
    for src in srcs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 500))
        socks.append(s)
    sent, frags, k = [0], 0, 0
    try:
        for i in range(n):
            s = socks[i % len(socks)]
            keys, spi_i, spi_r = keyed(s, peer, sent)
            k += 1
            for num in range(1, total):
                s.sendto(seal_frag(keys.sk_ei, spi_i, spi_r, EXCH_AUTH, F_INITIATOR, 1,
                                   PL_IDI, b"\0" * size, num, total), (peer, 500))
                sent[0] += 1
                frags += 1
    except (Fail, OSError) as e:
        print("FAIL:", e)
        return 1
    finally:
        print("keyed %d of %d SAs, %d fragments of %d bytes of plaintext in all, "
              "%d datagrams" % (k, n, frags, frags * size, sent[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
