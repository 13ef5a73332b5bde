#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Crafted IKEv2 requests to a responder over UDP 500, and what comes back
on the wire, written from RFC 7296 and RFC 7383 (not from tcpiked): the
evidence for netns 54 that tcpiked's hardening holds against a peer that
is not tcpiked, and for netns 72 that it refuses bad key exchange values
as RFC 6989 says.

    ikeprobe.py LOCAL PEER [tcp:]CASE...

PSK "tcpike-test-psk-0123456789", IDi fqdn:py.test, AES-GCM-16-256 /
PRF-HMAC-SHA2-256 / X25519, one ESP Child SA 192.168.1.0/24 ===
192.168.2.0/24.  Each CASE prints one line or more:

    props17   17 proposals, only the 17th acceptable
              "props17 answered proposal=N transforms=T/ID[/KEYLEN],..."
              (or "props17 notify=N,...", "props17 no answer")
    trans33   one proposal of 35 transforms, the acceptable ENCR the 33rd
              (32 of a private-use ID first): "trans33 answered ..." as above
    spi0      IKE_SA_INIT with a zero initiator SPI (§3.1), then a valid one
              as the probe: "spi0 silent" when the probe is answered and the
              zero-SPI request is not, "spi0 answered"
    propspi   a proposal with an 8-byte SPI in IKE_SA_INIT (§3.3.1):
              "propspi notify=N,..." or "propspi answered proposal=..."
    badts     IKE_AUTH whose TSi has its start address after its end
              (§3.13.1): "badts auth notify=N,... spi_i=HEX spi_r=HEX"; then
              an INFORMATIONAL on that SA and a new IKE_SA_INIT as the probe:
              "badts info silent" or "badts info answered"
    frag      IKE_AUTH split in 2, fragment 1 sent, then split in 3 (RFC
              7383 §2.6.2: a larger Total Fragments starts reassembly over)
              with the 2-split's fragment 2 between fragments 2 and 3 (a
              smaller Total Fragments is discarded); the 2-split is of
              another IKE_AUTH, with a malformed TSi, so a responder that
              kept it instead answers INVALID_SYNTAX:
              "frag established" or "frag notify=N,..." or "frag no answer"
    retrans   IKE_AUTH offering two ESP proposals, the second acceptable:
              "auth esp answered proposal=N transforms=..."; then
              INFORMATIONAL 2, answered; the same bytes
              again: "retrans same answered identical=yes|no"; another
              INFORMATIONAL with Message ID 2 (a status notify in it), then
              INFORMATIONAL 3 as the probe: "retrans other silent|answered",
              "retrans next answered|no answer"
    mlkem     IKE_SA_INIT offering ML-KEM-768 alone, its KE of 1183, 1185
              and 1184 bytes that fail FIPS 203's key check: "mlkem LEN
              notify=7" (INVALID_SYNTAX) or "mlkem LEN answered ..."
    badke     IKE_SA_INIT requests, each offering one method with a KE
              value a recipient refuses (RFC 6989 §2, RFC 7296 §3.4, RFC
              7748 §6.1), made and checked here in Python integers:
              MODP-2048 (14) 0, 1, p-1, p, 255 and 257 bytes, p-2 and a
              random value with Legendre symbol -1 (of order 2q); ECP-256
              (19) a point off the curve, x = y = 0, 63 bytes; X25519 (31)
              u = 0, 1 and a point of order 8 (all-zero secret).  Each
              request its own SPIi (badke_spi); one line each: "badke
              GROUP LABEL notify=7 payloads=41 spi_r=0000000000000000" (the
              response's error notifies, its payload types, its SPIr), or
              "badke GROUP LABEL answered ...", "... no answer"
    childke   an IKE SA (X25519), then a CREATE_CHILD_SA request rekeying it
              (RFC 7296 §1.3.2) whose KE is X25519 u = 0 (all-zero secret):
              "childke rekey notify=N,... spi_i=HEX spi_r=HEX" of the answer;
              then an INFORMATIONAL on that IKE SA as the probe: "childke
              info silent" (RFC 6989 §2.5: the responder drops the IKE SA)
              or "childke info answered"
    goodke    per group above, an IKE_SA_INIT with a valid KE under the
              SPIi of badke's last request of that group, then IKE_AUTH:
              "goodke GROUP established" when the response to IKE_AUTH
              opened under keys from the Python side's own g^ir and carried
              AUTH, "goodke GROUP FAIL: ..." otherwise

A case named tcp:CASE runs over one TCP connection to PEER port 4500
(RFC 9329: "IKETCP", then each message framed behind the zero marker),
shared by every tcp: case, its lines prefixed "tcp ".

The last line, "summary sent=N received=M", counts the UDP datagrams each
way, for the test to compare with the counts on the wire.  A probe that is
not answered within 3 s prints "... probe unanswered".
"""
import os
import socket
import struct
import sys
import time

from ikev2 import (
    AUTH_PSK, ENCR_AES_GCM_16, EXCH_AUTH, EXCH_CREATE_CHILD, EXCH_INFO, EXCH_SA_INIT,
    F_INITIATOR, ID_FQDN, IKETCP, KE_ECP256, KE_MODP2048, KE_X25519, KEYLEN256, MARKER,
    MODP2048_P, P256_P, N_FRAG_SUPPORTED, N_NATD_DST, N_NATD_SRC, PL_AUTH, PL_IDI, PL_KE,
    PL_NONCE, PL_NOTIFY, PL_SA, PL_TSI, PL_TSR, PRF_HMAC_SHA2_256, PROTO_ESP, PROTO_IKE, T_ENCR,
    T_ESN, T_KE, T_PRF, Fail, FrameReader, KeyExchange, Keys, chain, esp_proposal, frame,
    header, ike_proposal, ke_body, legendre, natd_hash, notify_body, notifies, on_p256, open_sk,
    parse_proposals, payloads, proposal, psk_auth, seal, seal_frag, transform, ts_payload,
    x25519)

PSK = b"tcpike-test-psk-0123456789"
ID_BODY = struct.pack("!B3x", ID_FQDN) + b"py.test"
PRF_HMAC_SHA2_512 = 7
WAIT = 3.0          # for an answer that must come
GRACE = 0.3         # after the probe's answer, for a late one that must not
# a TSi whose one IPv4 range starts after its end (RFC 7296 §3.13.1)
BAD_TSI = struct.pack("!B3xBBHHH", 1, 7, 0, 16, 0, 65535) + \
    socket.inet_aton("192.168.1.255") + socket.inet_aton("192.168.1.0")


def out(*a):
    print(*a)
    sys.stdout.flush()


def suite(last=True):
    return [transform(False, T_ENCR, ENCR_AES_GCM_16, KEYLEN256),
            transform(False, T_PRF, PRF_HMAC_SHA2_256),
            transform(last, T_KE, KE_X25519)]


def chosen(msg):
    """'proposal=N transforms=...' of an IKE_SA_INIT response's SA payload,
    or 'notify=N,...' of its error notifies."""
    return chosen_of(payloads(msg[16], msg[28:]))


def chosen_of(pls):
    """The same of a response's payloads."""
    errs = [str(n[0]) for n in notifies(pls) if n[0] < 16384]
    if errs:
        return "notify=" + ",".join(errs)
    sa = dict(pls).get(PL_SA)
    if sa is None:
        return "no SA payload"
    props = parse_proposals(sa)
    return "answered proposal=%s transforms=%s" % (
        ",".join(str(p[0]) for p in props),
        ",".join("%d/%d%s" % (t, i, "/%d" % struct.unpack("!H", a[2:4])[0] if len(a) == 4 else "")
                 for p in props for t, i, a in p[3]))


class Probe:
    def __init__(self, local, peer, tcp):
        self.local, self.peer, self.tcp = local, peer, tcp
        self.tag = "tcp " if tcp else ""
        if tcp:
            self.s = socket.create_connection((peer, 4500), WAIT, (local, 0))
            self.s.sendall(IKETCP)
            self.reader, self.frames = FrameReader(), []
            self.ports = (self.s.getsockname()[1], 4500)
        else:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind((local, 500))
            self.ports = (500, 500)
        self.sent = self.received = 0

    def send(self, msg):
        if self.tcp:
            self.s.sendall(frame(msg))
        else:
            self.s.sendto(msg, (self.peer, 500))
        self.sent += 1

    def recv(self, timeout):
        """The next message within timeout, or None."""
        self.s.settimeout(max(timeout, 0.001))
        try:
            if self.tcp:
                while not self.frames:
                    d = self.s.recv(65536)
                    if not d:
                        raise Fail("connection closed")
                    self.reader.feed(d)
                    self.frames = [f[4:] for f in self.reader.frames() if f[:4] == MARKER]
                d = self.frames.pop(0)
            else:
                d, _ = self.s.recvfrom(65536)
        except socket.timeout:
            return None
        self.received += 1
        return d

    def until(self, pred, timeout=WAIT, grace=0.0):
        """(the first message pred accepts or None, every other message
        received meanwhile and for grace seconds after the match)."""
        end, got, others = time.monotonic() + timeout, None, []
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got, others
            d = self.recv(left)
            if d is None:
                continue
            if got is None and pred(d):
                got = d
                end = time.monotonic() + grace
            else:
                others.append(d)

    # --- IKE_SA_INIT ------------------------------------------------------------

    def init(self, sa_body=None, spi_i=None, ke=KE_X25519, ke_data=None):
        """Sends an IKE_SA_INIT request offering method ke, with ke_data as
        its KE value when given; returns the state to go on with."""
        st = dict(spi_i=os.urandom(8) if spi_i is None else spi_i, ni=os.urandom(32),
                  kp=KeyExchange(ke))
        zero = b"\0" * 8
        pls = [(PL_SA, sa_body or ike_proposal(ke=ke)),
               (PL_KE, ke_body(st["kp"].pub if ke_data is None else ke_data, ke)),
               (PL_NONCE, st["ni"]),
               (PL_NOTIFY, notify_body(N_NATD_SRC, natd_hash(st["spi_i"], zero, self.local,
                                                             self.ports[0]))),
               (PL_NOTIFY, notify_body(N_NATD_DST, natd_hash(st["spi_i"], zero, self.peer,
                                                             self.ports[1]))),
               (PL_NOTIFY, notify_body(N_FRAG_SUPPORTED))]
        first, body = chain(pls)
        st["msg1"] = header(st["spi_i"], zero, first, EXCH_SA_INIT, F_INITIATOR, 0,
                            28 + len(body)) + body
        self.send(st["msg1"])
        return st

    @staticmethod
    def init_resp_of(st):
        return lambda d: d[:8] == st["spi_i"] and d[18] == EXCH_SA_INIT and d[19] & 0x20

    def init_answered(self, sa_body=None, spi_i=None, ke=KE_X25519, ke_data=None):
        st = self.init(sa_body, spi_i, ke, ke_data)
        r, _ = self.until(self.init_resp_of(st))
        return st, r

    def keyed(self, sa_body=None, spi_i=None, ke=KE_X25519):
        """A completed IKE_SA_INIT: st with keys, or Fail."""
        st, r = self.init_answered(sa_body, spi_i, ke)
        if r is None:
            raise Fail("IKE_SA_INIT not answered")
        d = dict(payloads(r[16], r[28:]))
        if PL_KE not in d or PL_NONCE not in d:
            raise Fail("IKE_SA_INIT answered without KE and Nonce: %s" % chosen(r))
        st.update(msg2=r, spi_r=r[8:16], nr=d[PL_NONCE])
        st["keys"] = Keys(st["kp"].shared(d[PL_KE][4:]), st["ni"], d[PL_NONCE],
                          st["spi_i"], st["spi_r"])
        return st

    # --- IKE_AUTH and later -----------------------------------------------------

    def auth_payloads(self, st, tsi=None, esp=None):
        auth = psk_auth(PSK, st["msg1"], st["nr"], st["keys"].sk_pi, ID_BODY)
        return [(PL_IDI, ID_BODY), (PL_AUTH, struct.pack("!B3x", AUTH_PSK) + auth),
                (PL_SA, esp or esp_proposal(os.urandom(4))),
                (PL_TSI, tsi or ts_payload("192.168.1.0/24")),
                (PL_TSR, ts_payload("192.168.2.0/24"))]

    def sealed(self, st, exch, msgid, pls):
        return seal(st["keys"].sk_ei, st["spi_i"], st["spi_r"], exch, F_INITIATOR, msgid, pls)

    @staticmethod
    def resp_of(st, msgid):
        return lambda d: (d[:16] == st["spi_i"] + st["spi_r"] and d[19] & 0x20 and
                          struct.unpack("!I", d[20:24])[0] == msgid)

    def answer(self, st, msgid, grace=0.0):
        """(the response to msgid, opened: its payloads; the raw bytes), or
        (None, None); the other messages received meanwhile in st."""
        r, st["others"] = self.until(self.resp_of(st, msgid), grace=grace)
        if r is None:
            return None, None
        return open_sk(st["keys"].sk_er, r), r

    def established(self):
        """An IKE SA and its Child SA; two ESP proposals offered, only the
        second acceptable (AES-GCM-16 with 128-bit keys first): prints
        "auth esp answered proposal=N transforms=..." of the answer."""
        st = self.keyed()
        spi = os.urandom(4)
        esp = proposal(1, PROTO_ESP, spi, [transform(False, T_ENCR, ENCR_AES_GCM_16,
                                                     struct.pack("!HH", 0x800E, 128)),
                                           transform(True, T_ESN, 0)], last=False) + \
            esp_proposal(spi, 2)
        out(self.tag + "auth esp " + chosen_of(self.authed(st, esp)))
        return st

    def authed(self, st, esp=None):
        """IKE_AUTH (message 1) on the keyed st: the response's payloads,
        or Fail unless it was answered with AUTH."""
        self.send(self.sealed(st, EXCH_AUTH, 1, self.auth_payloads(st, esp=esp)))
        inner, _ = self.answer(st, 1)
        if inner is None or PL_AUTH not in dict(inner):
            raise Fail("IKE_AUTH not answered with AUTH")
        return inner


def errors(inner):
    return ",".join(str(n[0]) for n in notifies(inner) if n[0] < 16384)


def silent(p, what, answer_to):
    """Sends a valid IKE_SA_INIT as the probe and prints "WHAT silent" when
    it is answered and nothing answer_to accepts came before it or within
    GRACE after it, "WHAT answered" when something did."""
    probe = p.init()
    r, others = p.until(p.init_resp_of(probe), grace=GRACE)
    if any(answer_to(d) for d in others):
        out(p.tag + what + " answered")
    elif r is None:
        out(p.tag + what + " probe unanswered")
    else:
        out(p.tag + what + " silent")


def case_props17(p):
    bad = [proposal(i, PROTO_IKE, b"",
                    [transform(False, T_ENCR, ENCR_AES_GCM_16, KEYLEN256),
                     transform(False, T_PRF, PRF_HMAC_SHA2_512),
                     transform(True, T_KE, KE_X25519)], last=False) for i in range(1, 17)]
    _, r = p.init_answered(b"".join(bad) + proposal(17, PROTO_IKE, b"", suite()))
    out(p.tag + "props17", chosen(r) if r else "no answer")


def case_trans33(p):
    # 1024-65535 are private use (§3.3.2): no responder takes them unasked
    junk = [transform(False, T_ENCR, 1024 + i) for i in range(32)]
    _, r = p.init_answered(proposal(1, PROTO_IKE, b"", junk + suite()))
    out(p.tag + "trans33", chosen(r) if r else "no answer")


def case_spi0(p):
    zero = p.init(spi_i=b"\0" * 8)
    silent(p, "spi0", p.init_resp_of(zero))


def case_propspi(p):
    _, r = p.init_answered(proposal(1, PROTO_IKE, os.urandom(8), suite()))
    out(p.tag + "propspi", chosen(r) if r else "no answer")


def case_badts(p):
    st = p.keyed()
    p.send(p.sealed(st, EXCH_AUTH, 1, p.auth_payloads(st, BAD_TSI)))
    inner, _ = p.answer(st, 1)
    if inner is None:
        out(p.tag + "badts auth no answer")
        return
    out(p.tag + "badts auth notify=%s auth=%s spi_i=%s spi_r=%s" % (
        errors(inner) or "none", "yes" if PL_AUTH in dict(inner) else "no",
        st["spi_i"].hex(), st["spi_r"].hex()))
    p.send(p.sealed(st, EXCH_INFO, 2, []))
    silent(p, "badts info", p.resp_of(st, 2))


def case_frag(p):
    st = p.keyed()
    got = [n[0] for n in notifies(payloads(st["msg2"][16], st["msg2"][28:]))]
    if N_FRAG_SUPPORTED not in got:
        out(p.tag + "frag responder did not offer fragmentation")
    first, inner = chain(p.auth_payloads(st))
    n = -(-len(inner) // 3)
    parts = [inner[i:i + n] for i in range(0, len(inner), n)]
    k = st["keys"].sk_ei

    def frag(num, total, part):
        return seal_frag(k, st["spi_i"], st["spi_r"], EXCH_AUTH, F_INITIATOR, 1, first,
                         part, num, total)
    # the 2-split: another IKE_AUTH, its TSi malformed (answered
    # INVALID_SYNTAX, were it the one reassembled)
    _, other = chain(p.auth_payloads(st, BAD_TSI))
    half = -(-len(other) // 2)
    p.send(frag(1, 2, other[:half]))    # a split into 2, given up for 3:
    p.send(frag(1, 3, parts[0]))        # a larger total starts over
    p.send(frag(2, 3, parts[1]))
    p.send(frag(2, 2, other[half:]))    # the stale split: fewer, discarded
    p.send(frag(3, 3, parts[2]))
    inner, _ = p.answer(st, 1)
    if inner is None:
        out(p.tag + "frag no answer")
    elif errors(inner):
        out(p.tag + "frag notify=%s" % errors(inner))
    else:
        out(p.tag + ("frag established" if PL_AUTH in dict(inner) else
                     "frag answered without AUTH"))


def case_retrans(p):
    st = p.established()
    req = p.sealed(st, EXCH_INFO, 2, [])
    p.send(req)
    _, r1 = p.answer(st, 2)
    if r1 is None:
        out(p.tag + "retrans first no answer")
        return
    p.send(req)
    _, r2 = p.answer(st, 2)
    out(p.tag + "retrans same %s" % ("no answer" if r2 is None else
                             "answered identical=%s" % ("yes" if r1 == r2 else "no")))
    # another request with Message ID 2: authentic, but not the one answered
    p.send(p.sealed(st, EXCH_INFO, 2, [(PL_NOTIFY, notify_body(40001, b"other"))]))
    p.send(p.sealed(st, EXCH_INFO, 3, []))
    r3, _ = p.answer(st, 3, grace=GRACE)
    out(p.tag + "retrans other %s" % ("answered" if any(p.resp_of(st, 2)(d) for d in st["others"])
                              else "silent"))
    out(p.tag + "retrans next %s" % ("answered" if r3 is not None else "no answer"))


def case_mlkem(p):
    """IKE_SA_INIT offering ML-KEM-768 (ID 36) alone with a KE payload that
    is no encapsulation key: 1183 and 1185 bytes (ML-KEM-768's is 1184,
    FIPS 203 table 3), then 1184 bytes of 0xff, every 12-bit coefficient
    4095, not below q = 3329 (FIPS 203 §7.2's modulus check).  One line
    each, "mlkem LEN chosen" as in props17 (notify=7 is INVALID_SYNTAX)."""
    mlkem = proposal(1, PROTO_IKE, b"", [transform(False, T_ENCR, ENCR_AES_GCM_16, KEYLEN256),
                                          transform(False, T_PRF, PRF_HMAC_SHA2_256),
                                          transform(True, T_KE, 36)])
    zero = b"\0" * 8
    for n, data in ((1183, os.urandom(1183)), (1185, os.urandom(1185)), (1184, b"\xff" * 1184)):
        spi_i = os.urandom(8)
        first, body = chain([(PL_SA, mlkem), (PL_KE, struct.pack("!HH", 36, 0) + data),
                             (PL_NONCE, os.urandom(32))])
        p.send(header(spi_i, zero, first, EXCH_SA_INIT, F_INITIATOR, 0, 28 + len(body)) + body)
        r, _ = p.until(p.init_resp_of(dict(spi_i=spi_i)))
        out(p.tag + "mlkem %d" % n, chosen(r) if r else "no answer")


def badke_values():
    """{group: [(label, KE data)]} of values a recipient refuses, each
    checked here first (Fail if not what its label says)."""
    p = MODP2048_P
    good = KeyExchange(KE_MODP2048).pub
    y = int.from_bytes(os.urandom(256), "big") % (p - 3) + 2        # 2..p-2
    # p = 3 mod 4: -1 is a non-residue, so one of y, p - y is
    nonres = y if legendre(y, p) == -1 else p - y
    # the largest non-residue below p-1 (p-2, p being 7 mod 8): of order
    # 2q, a generator of the whole group
    full = next(a for a in range(p - 2, 1, -1) if legendre(a, p) == -1)
    if legendre(nonres, p) != -1 or legendre(full, p) != -1 or not 1 < nonres < p - 1:
        raise Fail("the MODP non-residues are not")
    ec = KeyExchange(KE_ECP256).pub
    off = ec[:32] + ((int.from_bytes(ec[32:], "big") + 1) % P256_P).to_bytes(32, "big")
    if not on_p256(ec) or on_p256(off) or on_p256(bytes(64)):
        raise Fail("the P-256 points are not what they should be")
    # RFC 7748 §6.1's all-zero output: u = 0, 1, and a point of order 8
    low = [("u=0", bytes(32)), ("u=1", (1).to_bytes(32, "little")),
           ("order-8", bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46a"
                                     "da098deb9c32b1fd866205165f49b800"))]
    if any(any(x25519(os.urandom(32), u)) for _, u in low):
        raise Fail("a low-order X25519 point gave a non-zero secret")

    def be(v):
        return v.to_bytes(256, "big")
    return {KE_MODP2048: [("0", be(0)), ("1", be(1)), ("p-1", be(p - 1)), ("p", be(p)),
                          ("255-bytes", good[1:]), ("257-bytes", b"\0" + good),
                          ("p-2-nonresidue", be(full)), ("random-nonresidue", be(nonres))],
            KE_ECP256: [("off-curve", off), ("x=y=0", bytes(64)), ("63-bytes", ec[:63])],
            KE_X25519: low}


def badke_spi(group, n):
    """The initiator SPI of badke's n-th request of group."""
    return struct.pack("!HHI", 0xbad0, group, n)


def case_badke(p):
    for group, cases in badke_values().items():
        for n, (label, data) in enumerate(cases):
            st, r = p.init_answered(spi_i=badke_spi(group, n), ke=group, ke_data=data)
            if r is None:
                out(p.tag + "badke %d %s no answer" % (group, label))
                continue
            pls = payloads(r[16], r[28:])
            out(p.tag + "badke %d %s %s payloads=%s spi_r=%s" % (
                group, label, chosen_of(pls), ",".join(str(t) for t, _ in pls), r[8:16].hex()))


def case_goodke(p):
    """After badke: each group's last SPIi again, now with a valid KE."""
    for group, n in ((g, len(c)) for g, c in badke_values().items()):
        try:
            st = p.keyed(spi_i=badke_spi(group, n - 1), ke=group)
            p.authed(st)
            out(p.tag + "goodke %d established spi_i=%s spi_r=%s" % (
                group, st["spi_i"].hex(), st["spi_r"].hex()))
        except (Fail, ValueError) as e:
            out(p.tag + "goodke %d FAIL: %s" % (group, e))


def case_childke(p):
    st = p.keyed()
    p.authed(st)
    p.send(p.sealed(st, EXCH_CREATE_CHILD, 2, [
        (PL_SA, ike_proposal(spi=os.urandom(8))), (PL_NONCE, os.urandom(32)),
        (PL_KE, ke_body(bytes(32)))]))
    inner, _ = p.answer(st, 2)
    if inner is None:
        out(p.tag + "childke rekey no answer")
        return
    out(p.tag + "childke rekey notify=%s spi_i=%s spi_r=%s" % (
        errors(inner) or "none", st["spi_i"].hex(), st["spi_r"].hex()))
    p.send(p.sealed(st, EXCH_INFO, 3, []))
    silent(p, "childke info", p.resp_of(st, 3))


CASES = {"props17": case_props17, "trans33": case_trans33, "spi0": case_spi0,
         "propspi": case_propspi, "badts": case_badts, "frag": case_frag,
         "retrans": case_retrans, "mlkem": case_mlkem, "badke": case_badke,
         "goodke": case_goodke, "childke": case_childke}


def main(argv):
    names = [c[4:] if c.startswith("tcp:") else c for c in argv[3:]]
    if len(argv) < 4 or any(c not in CASES for c in names):
        sys.exit("usage: ikeprobe.py LOCAL PEER [tcp:]CASE... (%s)" % " ".join(CASES))
    udp, tcp = Probe(argv[1], argv[2], False), None
    out("ready")
    st = 0
    for c in argv[3:]:
        if c.startswith("tcp:"):
            tcp = tcp or Probe(argv[1], argv[2], True)
        p = tcp if c.startswith("tcp:") else udp
        try:
            CASES[c[4:] if p.tcp else c](p)
        except (Fail, OSError, ValueError) as e:
            out("%s FAIL: %s" % (c, e))
            st = 1
    out("summary sent=%d received=%d" % (udp.sent, udp.received))
    return st


if __name__ == "__main__":
    sys.exit(main(sys.argv))
