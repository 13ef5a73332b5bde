#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""An IKEv2 peer of its own, initiator or responder, that speaks separate
transports for IKE and ESP as draft-ietf-ipsecme-ikev2-reliable-transport-04
describes them (§3.1-§3.4), written from that text, RFC 7296, RFC 9329 and
RFC 3948, not from tcpiked: so a mistake tcpiked makes the same way at both
ends of a test between two tcpiked cannot hide here.

    ikepeer.py [OPTIONS] init PEER [ACTION...]
    ikepeer.py [OPTIONS] resp [ACTION...]

It binds UDP 500 and 4500 (and, as responder, listens on TCP 4500) on
--local.  PSK authentication, AES-GCM-16-256 / PRF-HMAC-SHA2-256 / X25519,
one ESP Child SA (AES-GCM-16-256) between --lts and --rts; no ESP is sent.

As initiator (--start): "udp4500" sends IKE_SA_INIT to UDP 4500 behind the
non-ESP marker with N(SEPARATE_TRANSPORTS) (§3.1), "tcp" over TCP 4500 from
the start with it (§3.2), "udp500" plain RFC 7296 on UDP 500 (with
--notify it still carries the notify).  When the response echoes the notify
after a UDP start, the next request (IKE_AUTH) goes over a new TCP
connection to port 4500, "IKETCP" first (§3.1), and every later exchange
stays there (§3.3).  If that connection cannot be made the attempt is
cancelled, and with --rt8 a new IKE_SA_INIT goes over UDP 500 without the
notify (§3.1).

As responder it answers IKE_SA_INIT from wherever it comes, echoes the
notify (--echo: yes, no, or data:HEX to echo it with data §3.4 tells the
receiver to ignore), and takes IKE_AUTH over TCP (§3.1: "MUST be prepared
to receive these exchanges over TCP"), requiring IKETCP first (RFC 9329
§4); --no-tcp leaves TCP 4500 closed.  --bogus-natd sends a NAT-D source
hash that cannot match, so the initiator sees the responder behind a NAT.
--child-refuse N authenticates in IKE_AUTH but refuses the Child SA with
error notify N (RFC 7296 §2.21.2; 43 is TEMPORARY_FAILURE).

IKE_INTERMEDIATE (RFC 9242).  As responder, --intermediate answers
N(INTERMEDIATE_EXCHANGE_SUPPORTED) and each IKE_INTERMEDIATE request (in
order, Message IDs 1, 2, ...) with an empty SK, and checks and makes AUTH
with IntAuth.  As initiator, --intermediate puts
N(INTERMEDIATE_EXCHANGE_SUPPORTED) in IKE_SA_INIT; when the response has it
too, one IKE_INTERMEDIATE (Message ID 1) goes before IKE_AUTH (Message ID
2), over wherever IKE_AUTH goes (TCP after the separate transports' echo),
carrying --inter-pad N bytes in a private-use status notify (none: SK
empty), in RFC 7383 fragments of --frag-size N bytes over UDP (it then
announces IKEV2_FRAGMENTATION_SUPPORTED too); --inter-notify-data HEX puts
data in the notify (§3.1 has the receiver ignore it).  Both AUTH payloads, ours
and the responder's, cover IntAuth_i1 | IntAuth_r1 | IKE_AUTH_MID
(§3.3.2), computed here from the messages before fragmentation.
--int-auth-mistake computes it wrongly on purpose: wire-length (Length
fields as on the wire, not adjusted), swap (IntAuth_r before IntAuth_i),
mid (IKE_AUTH_MID 1, as if there had been no IKE_INTERMEDIATE).

Additional key exchanges (RFC 9370).  --addke N=ID[,ID...] (repeatable)
offers (initiator) or accepts (responder) the Transform IDs (those of type
4; 0 is NONE) for ADDKE N, transform type 5 + N (§2.2.1).  The responder
picks, for each ADDKE type of the initiator's proposal, the first offered
ID it accepts (an omitted type counts as NONE) and fails when it cannot.
After IKE_SA_INIT one IKE_INTERMEDIATE per ADDKE not NONE, in type order
(§2.2.2): KEi(n) with the n-th method, KEr(n) back, then SKEYSEED(n) =
prf(SK_d(n-1), SK(n) | Ni | Nr) and the seven keys from prf+(SKEYSEED(n),
Ni | Nr | SPIi | SPIr); the next exchange goes under those keys, IntAuth
chains on with the keys of each exchange (RFC 9242 §3.3.2).  Without any
ADDKE chosen --intermediate runs the one empty exchange as above.
--addke-mistake, on purpose: no-update (keys kept as IKE_SA_INIT made
them), wrong-group (a KE of another method than negotiated), no-ke (the
IKE_INTERMEDIATE without KE); an initiator makes it in every exchange, a
responder in its answers; skip (initiator): IKE_AUTH right after
IKE_SA_INIT, no IKE_INTERMEDIATE at all; short-ke (KE data one byte
short), bad-ek (an ML-KEM encapsulation key whose first coefficient is
0xfff, which FIPS 203 §7.2's modulus check refuses).  ML-KEM (IDs 35-37,
draft-ietf-ipsecme-ikev2-mlkem) comes from @noble/post-quantum
(ikev2.py's Noble, TCPIKE_NOBLE_DIR): the initiator's KEi(n) is noble's
encapsulation key, the responder's KEr(n) noble's ciphertext.
--rekey-ke-mistake zero (responder): the KEr of our answer to the peer's
IKE SA rekey is X25519 u = 0, whose shared secret is all zero (RFC 7748
§6.1); we stay on the old SA, where RFC 6989 §2.5 has the peer delete it.
--invalid-syntax KIND (responder or initiator): the peer's first request of
KIND (ike-rekey: a CREATE_CHILD_SA rekeying the IKE SA; child: one for a
Child SA; info: an INFORMATIONAL) answered by an encrypted response of
N(INVALID_SYNTAX) alone, which RFC 7296 §2.21.3 makes fatal in both peers:
the IKE SA is gone without a Delete (see expect-syntax-end).

ML-DSA (FIPS 204, draft-ietf-ipsecme-ikev2-pqc-auth).  With --cert (and
--key, --cacert) AUTH is RFC 7427's method 14 instead of the PSK: the
key is noble's keygen of the 32-byte seed in the OpenSSL 3.5 key file,
which must give the certificate's public key; IKE_SA_INIT carries
SIGNATURE_HASH_ALGORITHMS with Identity (5); our CERT and a pure ML-DSA
signature over the octets of RFC 7296 §2.15 (IntAuth appended) go in
IKE_AUTH; the peer's CERT must be signed by --cacert's key and its AUTH
carry that key's AlgorithmIdentifier and verify, both checked by noble.

Once established the ACTIONs run in order:

    serve:S          answer the peer's requests for S seconds
    info             an empty INFORMATIONAL (liveness), await the answer
    info-notify      an INFORMATIONAL carrying N(SEPARATE_TRANSPORTS)
    bad-chain        an INFORMATIONAL whose inner chain is malformed (a
                     Notify whose Payload Length runs past its end, RFC
                     7296 3.2): "bad-chain answered notify=N,..." (or none)
    bad-delete       an INFORMATIONAL with a Delete of ESP with a 3-byte
                     SPI (3.11: 4): "bad-delete answered notify=N,..."
    stalled-bad-delete:N  bad-delete over TCP behind N copies of an
                     answered liveness check, none of the answers read
                     until 0.25 s after, then all of it read to the
                     connection's end (or --timeout): "stalled-bad-delete
                     read N answers to the copies", "stalled-bad-delete
                     answered notify=N,..." (nothing may follow it) or
                     "... unanswered", "stalled-bad-delete then the
                     connection closed by the peer" (or "... open")
                     (with --tcp-rcvbuf, as the responder the peer
                     connected to: its answer waits in its own queue)
    expect-gone:S    after the peer answered INVALID_SYNTAX (2.21.3): a
                     liveness check on the SA gets no answer and nothing
                     else comes on it for S seconds: "gone silent"
    delete           Delete the IKE SA and await the answer
    expect-delete:S  answer requests until the peer deletes the IKE SA
    expect-syntax-end:S  answer requests until one got --invalid-syntax's
                     answer (fails after S seconds), then 2 s more in which
                     the peer must send nothing on the SA (no Delete, no
                     other request): "syntax-end silent" or a failure
    child            a new Child SA by CREATE_CHILD_SA (RFC 7296 §1.3.1), the
                     first one's selectors, no PFS: "child created" or
                     "child refused notify=N,..."
    await-child:S    answer requests until the peer has made a Child SA
                     (fails after S seconds)
    await-rekey:S    answer requests until the peer has rekeyed the IKE SA
                     (its ADDKE types chosen as in IKE_SA_INIT, RFC 9370
                     2.2.4: one IKE_FOLLOWUP_KE per method, linked); the
                     next actions on the new SA
    rekey-addke:IDS  CREATE_CHILD_SA rekeying the IKE SA with ADDKE1 of
                     these IDs (RFC 9370 2.2.4), the answer printed; with
                     an additional key exchange chosen, one IKE_FOLLOWUP_KE
                     per method (KEi(n) and the link the last answer
                     carried), the new SA keyed from SKEYSEED = prf(SK_d,
                     SK(0) | Ni | Nr | SK(1) | ...), the old one deleted
                     and the next actions on the new one

What it sees is printed, one line each, for the test to check:

    rx|tx TRANSPORT EXCHANGE req|resp msgid=N   every message (transport:
                     udp500, udp4500, tcp; a message whose exchange is not
                     ours is "rx ... other-sa")
    init-req TRANSPORT N=TYPE/PROTO/SPISIZE/LEN... natd=yes|no|-
                     the IKE_SA_INIT request a responder got, its notifies
                     as encoded, and whether NAT-D matched the packet
    init-resp TRANSPORT echo=yes|no [N=...]
    tcp prefix=yes|no              a connection accepted, its first bytes
    tcp connect failed: REASON     (initiator)
    inter-resp TRANSPORT msgid=N frags=N   the IKE_INTERMEDIATE answered
    inter-req TRANSPORT msgid=N    an IKE_INTERMEDIATE request (responder)
    addke chosen=ID,...            the ADDKE IDs chosen, in type order
    addke-resp msgid=N ke=ID       an additional key exchange done (initiator)
    addke-req msgid=N ke=ID        ... (responder; ke=- without a KE)
    ke-len msgid=N sent=N got=N    the KE data lengths of that exchange
                     (responder: got first)
    established transport=T separate=yes|no spi_i=HEX spi_r=HEX
    info answered on T notify=yes|no
    rekey-addke answered notify=N | sa addke=TYPE:ID,...
    rekey-addke link=yes|no        N(ADDITIONAL_KEY_EXCHANGE) in the answer
    followup msgid=N ke=ID link=yes|no   an IKE_FOLLOWUP_KE answered, KEr(n)
                     of method ID, with or without the next link
    followup answered notify=N     ... refused
    rekeyed spi_i=HEX spi_r=HEX    the new IKE SA, the old one deleted
    ike-rekey-req addke=TYPE:ID,... | refused   the peer's IKE SA rekey
    followup-req msgid=N ke=ID | refused STATE_NOT_FOUND   its IKE_FOLLOWUP_KE
    rekeyed by the peer spi_i=HEX spi_r=HEX     its new SA, now ours
    peer deleted the old IKE SA
    mldsa key ALG from the seed: the certificate's   (--cert)
    peer-auth ALG sig=N cert=N by-ca=yes   the peer's ML-DSA AUTH verified
    auth-resp child refused with N (--child-refuse)
    child creation answered S s after IKE_AUTH (--child-refuse)
    summary udp_after_switch=N tcp_requests_rx=N
                     IKE of this SA that came over UDP after it moved to
                     TCP (§3.3 says none), and requests that came over TCP

The exit status is 1 when the peer broke a rule above (the line "FAIL:"
says which) or did not answer in time.
"""
import argparse
import os
import select
import socket
import struct
import sys
import time

from ikev2 import (
    EXCH_AUTH, EXCH_CREATE_CHILD, EXCH_FOLLOWUP_KE, EXCH_INFO, EXCH_INTERMEDIATE, EXCH_NAMES,
    EXCH_SA_INIT, N_ADDITIONAL_KEY_EXCHANGE, N_STATE_NOT_FOUND, F_INITIATOR, F_RESPONSE, IKETCP, MARKER, N_FRAG_SUPPORTED, N_INTERMEDIATE_SUPPORTED,
    N_INVALID_SYNTAX, N_NATD_DST, N_NATD_SRC, N_NO_PROPOSAL_CHOSEN, N_REKEY_SA, PL_SK,
    PL_AUTH, PL_DELETE, PL_IDI, PL_IDR, PL_KE, PL_NONCE, PL_NOTIFY, PL_SA, PL_TSI, PL_TSR,
    PROTO_ESP, PROTO_IKE, AUTH_PSK, ID_FQDN, KE_NONE, KE_X25519, KE_X448, T_ADDKE1,
    MLKEM, Fail, FrameReader, KeyExchange, KeyPair, Keys, chain, ke_respond,
    CERT_X509_SIG, N_SIGNATURE_HASH_ALGORITHMS, PL_CERT, SIG_HASH_IDENTITY, Cert, Noble,
    mldsa_auth, mldsa_check, mldsa_seed, pem_der, signed_octets,
    esp_proposal, frame, header, ike_proposal, ke_body, natd_hash, notify_body, notifies,
    int_auth_step, offers_our_suite, open_sk, open_sk_plain, parse_header, parse_proposals,
    payloads, psk_auth, rekeyed_keys, seal, seal_frag, seal_inner, ts_payload)


def out(*a):
    print(*a)
    sys.stdout.flush()


class Conn:
    """One TCP connection: its frames, whether IKETCP came first."""

    def __init__(self, sock, accepted):
        self.sock = sock
        self.accepted = accepted
        self.reader = FrameReader()
        self.prefix = None if accepted else True
        self.pending = b""
        self.open = True


class Net:
    """The peer's sockets: UDP 500 and 4500, TCP 4500 listener and
    connections.  poll() returns the IKE messages that arrived."""

    def __init__(self, local, listen_tcp, rcvbuf=0):
        self.local = local
        self.udp = {}
        for port in (500, 4500):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((local, port))
            self.udp[port] = s
        self.listener = None
        if listen_tcp:
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if rcvbuf:
                # inherited by the connections accepted: a small window
                self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.listener.bind((local, 4500))
            self.listener.listen(8)
        self.conns = []

    def connect(self, peer, timeout=3):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(timeout)
        s.bind((self.local, 0))
        s.connect((peer, 4500))
        s.sendall(IKETCP)
        c = Conn(s, False)
        self.conns.append(c)
        return c

    def send(self, where, msg):
        kind, arg = where
        if kind == "tcp":
            arg.sock.sendall(frame(msg))
        elif kind == "udp4500":
            self.udp[4500].sendto(MARKER + msg, arg)
        else:
            self.udp[500].sendto(msg, arg)

    def poll(self, timeout):
        """[(where, msg)] arriving within timeout; where is ("udp500",
        (addr, port)), ("udp4500", (addr, port)) or ("tcp", Conn)."""
        socks = list(self.udp.values()) + [c.sock for c in self.conns if c.open]
        if self.listener:
            socks.append(self.listener)
        r, _, _ = select.select(socks, [], [], max(0.0, timeout))
        got = []
        for s in r:
            if s is self.listener:
                cs, _ = s.accept()
                self.conns.append(Conn(cs, True))
                continue
            for port, u in self.udp.items():
                if s is u:
                    d, addr = s.recvfrom(65536)
                    if port == 4500:
                        if len(d) == 1 and d == b"\xff":
                            continue            # a NAT-keepalive
                        if d[:4] != MARKER:
                            continue            # ESP
                        d = d[4:]
                    got.append((("udp%d" % port, addr), d))
            for c in self.conns:
                if s is c.sock:
                    got += self.read_conn(c)
        return got

    def read_conn(self, c):
        try:
            d = c.sock.recv(65536)
        except OSError:
            d = b""
        if not d:
            c.open = False
            c.sock.close()
            return []
        if c.prefix is None:
            c.pending += d
            if len(c.pending) < 6:
                return []
            c.prefix = c.pending[:6] == IKETCP
            out("tcp prefix=%s" % ("yes" if c.prefix else "no"))
            if not c.prefix:
                # RFC 9329 §6.1: nothing for a session without the prefix
                c.open = False
                c.sock.close()
                return []
            d, c.pending = c.pending[6:], b""
        c.reader.feed(d)
        got = []
        for f in c.reader.frames():
            if len(f) <= 1:
                continue                # empty frame or keepalive
            if f[:4] != MARKER:
                continue                # ESP in the stream
            got.append((("tcp", c), f[4:]))
        return got


def request_kind(exch, inner):
    """--invalid-syntax's name of a request: ike-rekey, child, info or None."""
    if exch == EXCH_INFO:
        return "info"
    if exch != EXCH_CREATE_CHILD:
        return None
    props = parse_proposals(dict(inner).get(PL_SA, b""))
    return "ike-rekey" if any(p[1] == PROTO_IKE for p in props) else "child"


def where_name(where):
    return where[0]


class Peer:
    def __init__(self, args, net):
        self.a = args
        self.net = net
        self.psk = args.psk.encode()
        self.spi_i = self.spi_r = None
        self.keys = None
        self.msgid_out = 0
        self.msgid_in = 0
        self.where = None           # where our requests go
        self.on_tcp = False         # the SA moved to (or started on) TCP
        self.separate = False
        self.udp_after_switch = 0
        self.tcp_requests_rx = 0
        self.resp_cache = {}        # msgid -> response bytes
        self.children = []          # [our inbound SPI, the peer's]
        self.deleted = False
        self.syntax_at = None       # when --invalid-syntax's answer went
        self.after_syntax = 0       # requests of the peer's after it
        self.initiator = args.role == "init"
        self.auth_at = None         # when our IKE_AUTH response went
        self.inter_ok = False       # both announced IKE_INTERMEDIATE (RFC 9242)
        self.int_auth = b""         # IntAuth for the AUTH payloads (§3.3.2)
        self.addke = {}             # RFC 9370: ADDKE n -> [IDs] offered/accepted
        for spec in args.addke:
            n, ids = spec.split("=")
            self.addke[int(n)] = [int(i) for i in ids.split(",")]
        self.addke_chosen = []      # the methods of the exchanges, in order
        self.rekey_st = None        # the peer's IKE SA rekey under way (RFC 9370 §2.2.4)
        self.old_sa = None          # (spi_i, spi_r, keys, initiator, msgid_in) it replaced
        self.rekeyed = False
        self.cert = None            # --cert: ML-DSA with noble instead of the PSK
        if args.cert:
            self.cert = Cert(pem_der(args.cert))
            self.ca = Cert(pem_der(args.cacert))
            if self.cert.alg is None:
                raise Fail("%s: not an ML-DSA certificate" % args.cert)
            k = Noble.call(op="dsa-keygen", alg=self.cert.alg, seed=mldsa_seed(args.key).hex())
            if k["pk"] != self.cert.pub:
                raise Fail("noble's %s key from the seed in %s is not the certificate's" %
                           (self.cert.alg, args.key))
            self.sk = k["sk"]
            out("mldsa key %s from the seed: the certificate's" % self.cert.alg)

    # --- authentication: PSK, or ML-DSA certificates (RFC 7427) -------------------

    def our_auth(self, msg, nonce, sk_p, id_body):
        """Our CERT and AUTH payloads over RFC 7296 §2.15's octets."""
        if not self.cert:
            return [(PL_AUTH, struct.pack("!B3x", AUTH_PSK) +
                     psk_auth(self.psk, msg, nonce, sk_p, id_body, self.int_auth))]
        octets = signed_octets(msg, nonce, sk_p, id_body, self.int_auth)
        return [(PL_CERT, bytes([CERT_X509_SIG]) + self.cert.der),
                (PL_AUTH, mldsa_auth(self.cert.alg, self.sk, octets))]

    def check_auth(self, pls, msg, nonce, sk_p, id_body):
        """The peer's AUTH: the PSK's, or its certificate (signed by
        --cacert, checked by noble) and ML-DSA signature; Fail if not."""
        d = dict(pls)
        if not self.cert:
            return d.get(PL_AUTH, b"")[4:] == psk_auth(self.psk, msg, nonce, sk_p, id_body,
                                                       self.int_auth)
        certs = [b for t, b in pls if t == PL_CERT and b[:1] == bytes([CERT_X509_SIG])]
        if not certs:
            raise Fail("no X.509 CERT payload from the peer")
        cert = Cert(certs[0][1:])
        cert.verify_by(self.ca)
        alg, n = mldsa_check(cert, d.get(PL_AUTH, b""),
                             signed_octets(msg, nonce, sk_p, id_body, self.int_auth))
        out("peer-auth %s sig=%d cert=%d by-ca=yes" % (alg, n, len(cert.der)))
        return True

    def sig_hash_notify(self):
        """RFC 7427 §4 with Identity (RFC 8420), which ML-DSA signs with."""
        return [(PL_NOTIFY, notify_body(N_SIGNATURE_HASH_ALGORITHMS,
                                        struct.pack("!HH", 2, SIG_HASH_IDENTITY)))] \
            if self.cert else []

    # --- bookkeeping of every message --------------------------------------------

    def note_rx(self, where, msg):
        h = parse_header(msg)
        mine = self.spi_i is not None and h["spi_i"] == self.spi_i
        out("rx %s %s %s msgid=%d%s" % (where_name(where), EXCH_NAMES.get(h["exch"], h["exch"]),
                                         "resp" if h["response"] else "req", h["msgid"],
                                         "" if mine or h["exch"] == EXCH_SA_INIT else " other-sa"))
        if mine and self.on_tcp and where[0] != "tcp":
            self.udp_after_switch += 1
        if mine and where[0] == "tcp" and not h["response"]:
            self.tcp_requests_rx += 1
        return h

    def send(self, where, msg):
        h = parse_header(msg)
        out("tx %s %s %s msgid=%d" % (where_name(where), EXCH_NAMES.get(h["exch"], h["exch"]),
                                       "resp" if h["response"] else "req", h["msgid"]))
        self.net.send(where, msg)

    def flags(self, response):
        return (F_INITIATOR if self.initiator else 0) | (F_RESPONSE if response else 0)

    def sk_out(self):
        return self.keys.sk_ei if self.initiator else self.keys.sk_er

    def sk_in(self):
        return self.keys.sk_er if self.initiator else self.keys.sk_ei

    # --- waiting ------------------------------------------------------------------

    def wait(self, pred, timeout, what):
        """Poll until pred(where, header, msg) returns something; requests
        of the established SA meanwhile are answered."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("timed out waiting for " + what)
            for where, msg in self.net.poll(left):
                try:
                    h = self.note_rx(where, msg)
                except Fail as e:
                    out("rx bad message: %s" % e)
                    continue
                r = pred(where, h, msg)
                if r is not None:
                    return r
                if (self.old_sa and h["spi_i"] == self.old_sa[0] and not h["response"] and
                        h["exch"] != EXCH_SA_INIT):
                    self.answer_old(where, h, msg)
                    continue
                if h["spi_i"] != self.spi_i or h["response"] or not self.keys:
                    continue
                if h["exch"] == EXCH_SA_INIT:
                    if not self.initiator:
                        self.send(where, self.msg2)     # a retransmission
                    continue
                self.answer(where, h, msg)

    # --- IKE_SA_INIT ----------------------------------------------------------------

    def st_notify(self, data=b""):
        return (PL_NOTIFY, notify_body(self.a.st_type, data))

    def init_request(self, start, with_notify):
        self.spi_i, self.spi_r = os.urandom(8), b"\0" * 8
        self.ni = os.urandom(32)
        self.kp = KeyPair()
        if start == "tcp":
            try:
                c = self.net.connect(self.a.peer)
            except OSError as e:
                out("tcp connect failed: %s" % e)
                raise Fail("cannot connect to TCP 4500")
            self.where = ("tcp", c)
            self.on_tcp = True
            lport = c.sock.getsockname()[1]
            rport = 4500
        else:
            port = 4500 if start == "udp4500" else 500
            self.where = (start, (self.a.peer, port))
            lport = rport = port
        pls = [(PL_SA, ike_proposal(self.addke)), (PL_KE, ke_body(self.kp.pub)),
               (PL_NONCE, self.ni),
               (PL_NOTIFY, notify_body(N_NATD_SRC, natd_hash(self.spi_i, self.spi_r, self.a.local, lport))),
               (PL_NOTIFY, notify_body(N_NATD_DST, natd_hash(self.spi_i, self.spi_r, self.a.peer, rport)))]
        if with_notify:
            pls.append(self.st_notify(bytes.fromhex(self.a.notify_data)))
        if self.a.intermediate:
            pls.append((PL_NOTIFY, notify_body(N_INTERMEDIATE_SUPPORTED,
                                               bytes.fromhex(self.a.inter_notify_data))))
        if self.a.frag_size:
            pls.append((PL_NOTIFY, notify_body(N_FRAG_SUPPORTED)))
        pls += self.sig_hash_notify()
        first, body = chain(pls)
        self.msg1 = header(self.spi_i, self.spi_r, first, EXCH_SA_INIT, F_INITIATOR, 0,
                           28 + len(body)) + body
        self.send(self.where, self.msg1)

        def resp(where, h, msg):
            if h["exch"] == EXCH_SA_INIT and h["response"] and h["spi_i"] == self.spi_i:
                return where, msg
        where, msg = self.wait(resp, self.a.timeout, "the IKE_SA_INIT response")
        if where[0] != self.where[0]:
            raise Fail("IKE_SA_INIT response over %s, the request went over %s" %
                       (where[0], self.where[0]))
        self.msg2 = msg
        got = payloads(msg[16], msg[28:])
        ns = notifies(got)
        for ntype, _, _, _, _ in ns:
            if ntype < 16384:
                raise Fail("IKE_SA_INIT error notify %d" % ntype)
        echo = [n for n in ns if n[0] == self.a.st_type]
        out("init-resp %s echo=%s%s" % (where[0], "yes" if echo else "no",
                                        "".join(" N=%d/%d/%d/%d" % (n[0], n[1], len(n[2]), n[4])
                                                for n in ns)))
        d = dict(got)
        if PL_KE not in d or PL_NONCE not in d:
            raise Fail("IKE_SA_INIT response without KE or Nonce")
        self.spi_r = msg[8:16]
        self.nr = d[PL_NONCE]
        self.keys = Keys(self.kp.shared(d[PL_KE][4:]), self.ni, self.nr, self.spi_i, self.spi_r)
        self.inter_ok = self.a.intermediate and any(n[0] == N_INTERMEDIATE_SUPPORTED for n in ns)
        self.addke_chosen = self.chosen_addke(d[PL_SA])
        return bool(echo) and with_notify

    def chosen_addke(self, sa):
        """RFC 9370 §2.2.1: the responder's choice, one transform per ADDKE
        type we offered, each one of ours, no method twice but NONE."""
        props = parse_proposals(sa)
        if len(props) != 1:
            raise Fail("%d proposals in the IKE_SA_INIT response" % len(props))
        got = {}
        for t, i, _ in props[0][3]:
            if t < T_ADDKE1:
                continue
            n = t - T_ADDKE1 + 1
            if n in got or i not in self.addke.get(n, []):
                raise Fail("ADDKE%d %d chosen, not one of ours" % (n, i))
            got[n] = i
        for n in self.addke:
            if n not in got and KE_NONE not in self.addke[n]:
                raise Fail("no ADDKE%d chosen" % n)
        chosen = [got[n] for n in sorted(got) if got[n] != KE_NONE]
        if len(set(chosen)) != len(chosen):
            raise Fail("a method chosen twice for ADDKE: %s" % chosen)
        if chosen and not self.inter_ok:
            raise Fail("ADDKE chosen without IKE_INTERMEDIATE")
        if self.addke:
            out("addke chosen=%s" % ",".join(str(i) for i in chosen))
        return chosen

    def mistaken_ke(self, group):
        """(KE payloads, our key exchange) for an exchange of method
        group, as --addke-mistake says."""
        m = self.a.addke_mistake
        if m == "no-ke":
            return [], None
        kx = KeyExchange(group)
        if m == "wrong-group":
            other = KeyExchange(KE_X448 if group != KE_X448 else KE_X25519)
            return [(PL_KE, ke_body(other.pub, other.group))], kx
        return [(PL_KE, ke_body(self.mistaken_data(kx.pub, group), group))], kx

    def mistaken_data(self, data, group):
        """KE data as --addke-mistake says: short-ke one byte short;
        bad-ek (ML-KEM) the first coefficient of the encapsulation key
        0xfff, at least q (FIPS 203 §7.2's modulus check fails)."""
        m = self.a.addke_mistake
        if m == "short-ke":
            return data[:-1]
        if m == "bad-ek" and group in MLKEM:
            return b"\xff" + bytes([data[1] | 0x0f]) + data[2:]
        return data

    def answer_ke(self, group, peer):
        """A responder's (KE payloads, shared secret) answering KEi(n) of
        method group, as --addke-mistake says (the secret the right one)."""
        m = self.a.addke_mistake
        if m == "no-ke":
            return [], None
        pub, shared = ke_respond(group, peer)
        if m == "wrong-group":
            other = KeyExchange(KE_X448 if group != KE_X448 else KE_X25519)
            return [(PL_KE, ke_body(other.pub, other.group))], shared
        return [(PL_KE, ke_body(self.mistaken_data(pub, group), group))], shared

    def ke_of(self, pls, group):
        """The peer's KE payload of method group, Fail otherwise."""
        kes = [b for t, b in pls if t == PL_KE]
        if len(kes) != 1:
            raise Fail("%d KE payloads in an additional key exchange" % len(kes))
        got = struct.unpack("!H", kes[0][:2])[0]
        if got != group:
            raise Fail("KE of method %d, %d was negotiated" % (got, group))
        return kes[0][4:]

    def update_keys(self, shared):
        if self.a.addke_mistake != "no-update":
            self.keys.update(shared, self.ni, self.nr, self.spi_i, self.spi_r)

    # --- IKE_INTERMEDIATE (initiator, RFC 9242) -----------------------------------------

    def intermediate(self):
        """One exchange per additional key exchange chosen, else one empty
        one; IKE_AUTH's Message ID follows the last."""
        ia = [b"", b""]
        for mid, group in enumerate(self.addke_chosen or [None], 1):
            ia = self.inter_round(mid, group, ia)
        # IntAuth = IntAuth_iN | IntAuth_rN | IKE_AUTH_MID (one more than
        # the last IKE_INTERMEDIATE's Message ID, §3.2)
        self.msgid_out = len(self.addke_chosen or [None]) + 1
        mistake = self.a.int_auth_mistake
        mid = 1 if mistake == "mid" else self.msgid_out
        self.int_auth = (ia[1] + ia[0] if mistake == "swap" else ia[0] + ia[1]) + \
            struct.pack("!I", mid)

    def inter_round(self, mid, group, ia):
        """§3.2: Message ID mid, the Encrypted payload present (empty unless
        --inter-pad or a KE); §3.3.2: IntAuth_i over our request and
        IntAuth_r over the answer chained on, each as if unfragmented.
        RFC 9370 §2.2.2: with group, KEi(n), KEr(n) and the key update."""
        pls, kx = [], None
        if group is not None:
            pls, kx = self.mistaken_ke(group)
        if self.a.inter_pad:
            pls.append((PL_NOTIFY, notify_body(40961, b"\x5a" * self.a.inter_pad)))
        first, inner = chain(pls)
        fs = self.a.frag_size
        if fs and self.where[0] != "tcp":
            parts = [inner[i:i + fs] for i in range(0, len(inner), fs)] or [b""]
            for num, part in enumerate(parts, 1):
                msg = seal_frag(self.keys.sk_ei, self.spi_i, self.spi_r, EXCH_INTERMEDIATE,
                                F_INITIATOR, mid, first, part, num, len(parts))
                self.send(self.where, msg)
            frags, wire = len(parts), None
        else:
            msg = seal(self.keys.sk_ei, self.spi_i, self.spi_r, EXCH_INTERMEDIATE,
                       F_INITIATOR, mid, pls)
            self.send(self.where, msg)
            frags, wire = 1, len(msg)
        hdr = header(self.spi_i, self.spi_r, PL_SK, EXCH_INTERMEDIATE, F_INITIATOR, mid, 0)
        mistake = self.a.int_auth_mistake
        ia_i = int_auth_step(ia[0], self.keys.sk_pi, hdr, first, inner,
                             wire_len=wire if mistake == "wire-length" else None)
        where, h, msg = self.await_response(mid, EXCH_INTERMEDIATE)
        rfirst, rplain = open_sk_plain(self.keys.sk_er, msg)
        rpls = payloads(rfirst, rplain)
        for ntype, _, _, data, _ in notifies(rpls):
            if ntype < 16384:
                raise Fail("IKE_INTERMEDIATE error notify %d%s" %
                           (ntype, " data=" + data.hex() if data else ""))
        ia_r = int_auth_step(ia[1], self.keys.sk_pr, msg[:28], rfirst, rplain, sk_flags=msg[29],
                             wire_len=len(msg) if mistake == "wire-length" else None)
        out("inter-resp %s msgid=%d frags=%d" % (where[0], h["msgid"], frags))
        if group is not None:
            peer = self.ke_of(rpls, group)
            out("ke-len msgid=%d sent=%d got=%d" % (mid, len(pls[0][1]) - 4 if pls else 0, len(peer)))
            if kx is not None:
                self.update_keys(kx.shared(peer))
            out("addke-resp msgid=%d ke=%d" % (mid, group))
        return [ia_i, ia_r]

    # --- IKE_AUTH (initiator) ---------------------------------------------------------

    def auth_request(self):
        id_body = struct.pack("!B3x", self.a.id_type) + self.a.id.encode()
        spi = os.urandom(4)
        self.children.append([spi, None])
        pls = [(PL_IDI, id_body)] + self.our_auth(self.msg1, self.nr, self.keys.sk_pi, id_body) + [
               (PL_SA, esp_proposal(spi)),
               (PL_TSI, ts_payload(self.a.lts)),
               (PL_TSR, ts_payload(self.a.rts))]
        mid = self.msgid_out if self.int_auth else 1
        self.msgid_out = mid
        self.send(self.where, seal(self.keys.sk_ei, self.spi_i, self.spi_r, EXCH_AUTH,
                                   F_INITIATOR, mid, pls))
        where, h, msg = self.await_response(mid, EXCH_AUTH)
        rpls = open_sk(self.keys.sk_er, msg)
        inner = dict(rpls)
        for ntype, _, _, _, _ in notifies(rpls):
            if ntype < 16384:
                raise Fail("IKE_AUTH error notify %d" % ntype)
        if PL_AUTH not in inner or PL_IDR not in inner or PL_SA not in inner:
            raise Fail("IKE_AUTH response without IDr, AUTH or SA")
        if not self.check_auth(rpls, self.msg2, self.ni, self.keys.sk_pr, inner[PL_IDR]):
            raise Fail("the responder's AUTH does not verify")
        props = parse_proposals(inner[PL_SA])
        self.children[-1][1] = props[0][2]
        self.msgid_out = mid + 1

    def await_response(self, msgid, exch):
        def resp(where, h, msg):
            if h["spi_i"] == self.spi_i and h["response"] and h["msgid"] == msgid:
                if h["exch"] != exch:
                    raise Fail("response %d is %s, not %s" % (msgid, h["exch"], exch))
                if self.on_tcp and where[0] != "tcp":
                    raise Fail("response %d over %s after the switch to TCP" % (msgid, where[0]))
                return where, h, msg
        return self.wait(resp, self.a.timeout, "the response to message %d" % msgid)

    # --- responder ----------------------------------------------------------------------

    def serve_init(self):
        def req(where, h, msg):
            if h["exch"] == EXCH_SA_INIT and not h["response"]:
                return where, msg
        where, msg = self.wait(req, self.a.timeout, "an IKE_SA_INIT request")
        while True:
            r = self.serve_one(where, msg)
            if r is None:
                return
            # A new IKE_SA_INIT instead of IKE_AUTH: the initiator gave the
            # first attempt up (§3.1: TCP unreachable); this one counts.
            where, msg = r
            out("previous IKE SA abandoned by the initiator")

    def serve_one(self, where, msg):
        self.keys = None
        self.separate = False
        self.msg1 = msg
        self.spi_i = msg[:8]
        got = payloads(msg[16], msg[28:])
        ns = notifies(got)
        d = dict(got)
        # NAT-D over the addresses and ports this request came with
        if where[0] == "tcp":
            src, dst = where[1].sock.getpeername(), where[1].sock.getsockname()
        else:
            src, dst = where[1], (self.a.local, 4500 if where[0] == "udp4500" else 500)
        zero = b"\0" * 8
        natd = "-"
        nsrc = [n for n in ns if n[0] == N_NATD_SRC]
        ndst = [n for n in ns if n[0] == N_NATD_DST]
        if nsrc and ndst:
            natd = "yes" if (nsrc[0][3] == natd_hash(self.spi_i, zero, src[0], src[1]) and
                             ndst[0][3] == natd_hash(self.spi_i, zero, dst[0], dst[1])) else "no"
        out("init-req %s%s natd=%s" % (where[0], "".join(" N=%d/%d/%d/%d" % (n[0], n[1], len(n[2]), n[4])
                                                          for n in ns), natd))
        props = [p for p in parse_proposals(d.get(PL_SA, b"")) if p[1] == PROTO_IKE and
                 offers_our_suite(p[3])]
        # RFC 9242 §3.1: answered with --intermediate
        self.inter_ok = self.a.intermediate and any(n[0] == N_INTERMEDIATE_SUPPORTED for n in ns)
        props = [(p, c) for p, c in ((p, self.choose_addke(p[3])) for p in props) if c is not None]
        if not props or PL_KE not in d or struct.unpack("!H", d[PL_KE][:2])[0] != 31:
            raise Fail("no acceptable IKE proposal (AES-GCM-16-256, SHA2-256, X25519 KE)")
        props, chosen = [props[0][0]], props[0][1]
        self.addke_chosen = [chosen[n] for n in sorted(chosen) if chosen[n] != KE_NONE]
        if self.addke:
            out("addke chosen=%s" % ",".join(str(i) for i in self.addke_chosen))
        self.spi_r = os.urandom(8)
        self.ni = d[PL_NONCE]
        self.nr = os.urandom(32)
        kp = KeyPair()
        self.keys = Keys(kp.shared(d[PL_KE][4:]), self.ni, self.nr, self.spi_i, self.spi_r)
        sa = ike_proposal(dict((n, [i]) for n, i in chosen.items()))
        sa = sa[:4] + bytes([props[0][0]]) + sa[5:]        # their proposal number
        natd_src = natd_hash(self.spi_i, self.spi_r, dst[0], dst[1])
        if self.a.bogus_natd:
            natd_src = bytes(20)
        pls = [(PL_SA, sa), (PL_KE, ke_body(kp.pub)), (PL_NONCE, self.nr),
               (PL_NOTIFY, notify_body(N_NATD_SRC, natd_src)),
               (PL_NOTIFY, notify_body(N_NATD_DST, natd_hash(self.spi_i, self.spi_r, src[0], src[1])))]
        if self.inter_ok:
            pls.append((PL_NOTIFY, notify_body(N_INTERMEDIATE_SUPPORTED)))
        pls += self.sig_hash_notify()
        self.int_auth, ia, inter_resp = b"", [b"", b""], {}
        asked = any(n[0] == self.a.st_type for n in ns)
        if asked and self.a.echo != "no":
            data = bytes.fromhex(self.a.echo[5:]) if self.a.echo.startswith("data:") else b""
            pls.append(self.st_notify(data))
            self.separate = True
        first, body = chain(pls)
        self.msg2 = header(self.spi_i, self.spi_r, first, EXCH_SA_INIT, F_RESPONSE, 0,
                           28 + len(body)) + body
        self.send(where, self.msg2)
        self.on_tcp = where[0] == "tcp"
        self.where = where

        def intermediate(where, h, msg):
            """RFC 9242: an IKE_INTERMEDIATE request (§3.2: Message IDs 1,
            2, ...) answered with an empty SK; IntAuth_i and IntAuth_r
            chained over the request and our answer (§3.3.2)."""
            if h["msgid"] in inter_resp:
                self.send(where, inter_resp[h["msgid"]])       # a retransmission
                return
            if not self.inter_ok or h["msgid"] != len(inter_resp) + 1:
                raise Fail("IKE_INTERMEDIATE request %d not expected" % h["msgid"])
            if self.separate and where[0] != "tcp":
                raise Fail("IKE_INTERMEDIATE over %s after SEPARATE_TRANSPORTS was echoed" % where[0])
            out("inter-req %s msgid=%d" % (where[0], h["msgid"]))
            first, plain = open_sk_plain(self.keys.sk_ei, msg)
            ia[0] = int_auth_step(ia[0], self.keys.sk_pi, msg[:28], first, plain, sk_flags=msg[29])
            # RFC 9370 §2.2.2: the n-th exchange carries the n-th method
            n = h["msgid"]
            group = self.addke_chosen[n - 1] if n <= len(self.addke_chosen) else None
            rpls, shared = [], None
            if group is not None:
                peer = self.ke_of(payloads(first, plain), group)
                rpls, shared = self.answer_ke(group, peer)
                out("ke-len msgid=%d got=%d sent=%d" % (n, len(peer), len(rpls[0][1]) - 4 if rpls else 0))
            elif any(t == PL_KE for t, _ in payloads(first, plain)):
                raise Fail("a KE in IKE_INTERMEDIATE %d, no additional key exchange left" % n)
            rfirst, rinner = chain(rpls)
            resp = seal(self.keys.sk_er, self.spi_i, self.spi_r, EXCH_INTERMEDIATE, F_RESPONSE,
                        h["msgid"], rpls)
            rhdr = header(self.spi_i, self.spi_r, PL_SK, EXCH_INTERMEDIATE, F_RESPONSE, h["msgid"], 0)
            ia[1] = int_auth_step(ia[1], self.keys.sk_pr, rhdr, rfirst, rinner)
            inter_resp[h["msgid"]] = resp
            self.send(where, resp)
            if group is not None:
                out("addke-req msgid=%d ke=%d" % (n, group))
                if shared is not None:
                    self.update_keys(shared)

        # IKE_AUTH: over TCP after a UDP start with the echo (§3.1)
        def auth(where, h, msg):
            if h["spi_i"] == self.spi_i and h["exch"] in (EXCH_AUTH, EXCH_INTERMEDIATE) and \
                    not h["response"]:
                return where, h, msg
            if h["spi_i"] != self.spi_i and h["exch"] == EXCH_SA_INIT and not h["response"]:
                return where, None, msg
        where, h, msg = self.wait(auth, self.a.timeout, "IKE_AUTH")
        while h is not None and h["exch"] == EXCH_INTERMEDIATE:
            intermediate(where, h, msg)
            where, h, msg = self.wait(auth, self.a.timeout, "IKE_AUTH")
        if h is None:
            return where, msg
        out("auth-req %s msgid=%d spis=%s" % (
            where[0], h["msgid"], "same" if msg[:16] == self.spi_i + self.spi_r else "other"))
        if self.separate and where[0] != "tcp":
            raise Fail("IKE_AUTH over %s after SEPARATE_TRANSPORTS was echoed" % where[0])
        if len(inter_resp) < len(self.addke_chosen):
            raise Fail("IKE_AUTH after %d of %d additional key exchanges" %
                       (len(inter_resp), len(self.addke_chosen)))
        if inter_resp:
            if h["msgid"] != len(inter_resp) + 1:
                raise Fail("IKE_AUTH with Message ID %d after %d IKE_INTERMEDIATE" %
                           (h["msgid"], len(inter_resp)))
            # IntAuth = IntAuth_iN | IntAuth_rN | IKE_AUTH_MID (§3.3.2)
            self.int_auth = ia[0] + ia[1] + struct.pack("!I", h["msgid"])
        inner = open_sk(self.keys.sk_ei, msg)
        d = dict(inner)
        if not self.check_auth(inner, self.msg1, self.nr, self.keys.sk_pi, d.get(PL_IDI, b"")):
            raise Fail("the initiator's AUTH does not verify")
        id_body = struct.pack("!B3x", self.a.id_type) + self.a.id.encode()
        esp = [p for p in parse_proposals(d[PL_SA]) if p[1] == PROTO_ESP and offers_our_suite(p[3], True)]
        if not esp:
            raise Fail("no acceptable ESP proposal")
        pls = [(PL_IDR, id_body)] + self.our_auth(self.msg2, self.ni, self.keys.sk_pr, id_body)
        if self.a.child_refuse:
            # RFC 7296 2.21.2: authenticated, the Child SA refused
            pls.append((PL_NOTIFY, notify_body(self.a.child_refuse)))
            out("auth-resp child refused with %d" % self.a.child_refuse)
        else:
            spi = os.urandom(4)
            self.children.append([spi, esp[0][2]])
            pls += [(PL_SA, esp_proposal(spi, esp[0][0])), (PL_TSI, d[PL_TSI]), (PL_TSR, d[PL_TSR])]
        self.auth_at = time.monotonic()
        self.msgid_in = h["msgid"] + 1
        self.where = where
        self.on_tcp = where[0] == "tcp"
        self.respond(where, h, EXCH_AUTH, pls)
        return None

    def choose_addke(self, trans):
        """RFC 9370 §2.2.1: for each ADDKE type of a proposal the first ID
        we accept ({n: ID}), None when a type has none; an omitted type
        is NONE.  Without IKE_INTERMEDIATE ADDKE types are unknown ones,
        and the proposal is skipped."""
        offered = {}
        for t, i, _ in trans:
            if t >= T_ADDKE1:
                offered.setdefault(t - T_ADDKE1 + 1, []).append(i)
        if offered and not self.inter_ok:
            return None
        chosen = {}
        for n in sorted(offered):
            ok = [i for i in offered[n] if i in self.addke.get(n, [KE_NONE]) and
                  (i == KE_NONE or i not in chosen.values())]
            if not ok:
                return None
            chosen[n] = ok[0]
        return chosen

    def answer_ike_rekey(self, where, h, inner):
        """RFC 7296 §1.3.2, the peer rekeys the IKE SA: SA (our SPI), Nr,
        KEr; RFC 9370 §2.2.4: ADDKE types chosen as in IKE_SA_INIT, and
        with a method among them N(ADDITIONAL_KEY_EXCHANGE) to link the
        first IKE_FOLLOWUP_KE.  The new SA is ours after the last."""
        d = dict(inner)
        prop = [p for p in parse_proposals(d[PL_SA]) if p[1] == PROTO_IKE][0]
        chosen = self.choose_addke(prop[3]) if offers_our_suite(prop[3]) else None
        if chosen is None:
            out("ike-rekey-req refused")
            self.respond(where, h, EXCH_CREATE_CHILD,
                         [(PL_NOTIFY, notify_body(N_NO_PROPOSAL_CHOSEN))])
            return
        kx = KeyPair()
        st = {"spi_i": prop[2], "spi_r": os.urandom(8), "ni": d[PL_NONCE],
              "nr": os.urandom(32), "secrets": [kx.shared(self.ke_of(inner, KE_X25519))],
              "methods": [chosen[n] for n in sorted(chosen) if chosen[n]],
              "link": os.urandom(8)}
        zero = self.a.rekey_ke_mistake == "zero"
        pls = [(PL_SA, ike_proposal({n: [chosen[n]] for n in chosen}, st["spi_r"])),
               (PL_NONCE, st["nr"]), (PL_KE, ke_body(bytes(32) if zero else kx.pub))]
        if st["methods"]:
            pls.append((PL_NOTIFY, notify_body(N_ADDITIONAL_KEY_EXCHANGE, st["link"])))
        out("ike-rekey-req addke=%s" % ",".join("%d:%d" % (T_ADDKE1 + n - 1, i)
                                                 for n, i in sorted(chosen.items())))
        self.respond(where, h, EXCH_CREATE_CHILD, pls)
        if zero:
            out("ike-rekey-req answered KEr u=0")
            return
        self.rekey_st = st
        if not st["methods"]:
            self.rekey_switch()

    def answer_followup(self, where, h, inner):
        """RFC 9370 §2.2.4, responder: KEi(n) of the n-th method with the
        link we gave; KEr(n) back with the next link, none after the last;
        an unknown link: STATE_NOT_FOUND."""
        st, m = self.rekey_st, self.a.followup_mistake
        links = [n[3] for n in notifies(inner) if n[0] == N_ADDITIONAL_KEY_EXCHANGE]
        if not st or not links or links[0] != st["link"] or m == "state-not-found":
            out("followup-req msgid=%d refused STATE_NOT_FOUND" % h["msgid"])
            self.rekey_st = None
            self.respond(where, h, EXCH_FOLLOWUP_KE,
                         [(PL_NOTIFY, notify_body(N_STATE_NOT_FOUND))])
            return
        group = st["methods"][len(st["secrets"]) - 1]
        pub, shared = ke_respond(group, self.ke_of(inner, group))
        st["secrets"].append(shared)
        pls = [(PL_KE, ke_body(pub, group))]
        more = len(st["secrets"]) - 1 < len(st["methods"])
        if more:
            st["link"] = os.urandom(8)
            pls.append((PL_NOTIFY, notify_body(N_ADDITIONAL_KEY_EXCHANGE, st["link"])))
        out("followup-req msgid=%d ke=%d" % (h["msgid"], group))
        self.respond(where, h, EXCH_FOLLOWUP_KE, pls)
        if not more:
            self.rekey_switch()

    def rekey_switch(self):
        """The peer's rekey done: the new SA's keys (RFC 9370 §2.2.4), the
        peer its original initiator (§2.18); the old SA kept to answer
        its Delete."""
        st = self.rekey_st
        self.rekey_st = None
        self.old_sa = (self.spi_i, self.spi_r, self.keys, self.initiator, self.msgid_in)
        self.keys = rekeyed_keys(self.keys.sk_d, st["secrets"], st["ni"], st["nr"],
                                 st["spi_i"], st["spi_r"])
        self.spi_i, self.spi_r = st["spi_i"], st["spi_r"]
        self.initiator, self.msgid_out, self.msgid_in, self.resp_cache = False, 0, 0, {}
        self.rekeyed = True
        out("rekeyed by the peer spi_i=%s spi_r=%s" % (self.spi_i.hex(), self.spi_r.hex()))

    def answer_old(self, where, h, msg):
        """A request on the SA the peer rekeyed (its Delete, §2.8)."""
        spi_i, spi_r, keys, initiator, mid = self.old_sa
        inner = open_sk(keys.sk_ei if not initiator else keys.sk_er, msg)
        if any(t == PL_DELETE and b[0] == PROTO_IKE for t, b in inner):
            out("peer deleted the old IKE SA")
        msg = seal(keys.sk_er if not initiator else keys.sk_ei, spi_i, spi_r, h["exch"],
                   (F_INITIATOR if initiator else 0) | F_RESPONSE, h["msgid"], [])
        self.send(where, msg)

    def respond(self, where, h, exch, pls):
        msg = seal(self.sk_out(), self.spi_i, self.spi_r, exch, self.flags(True), h["msgid"], pls)
        self.resp_cache = {h["msgid"]: msg}
        self.send(where, msg)

    def answer(self, where, h, msg):
        """A request of the established SA: answered where it came from."""
        if self.syntax_at is not None:
            self.after_syntax += 1
            out("request after INVALID_SYNTAX: exch=%d msgid=%d" % (h["exch"], h["msgid"]))
        if h["msgid"] in self.resp_cache:
            self.send(where, self.resp_cache[h["msgid"]])     # a retransmission
            return
        if h["msgid"] != self.msgid_in:
            out("request with message ID %d, expected %d: dropped" % (h["msgid"], self.msgid_in))
            return
        inner = open_sk(self.sk_in(), msg)
        self.msgid_in += 1
        if where[0] == "tcp":
            self.where = where      # RFC 9329 §6.1: the newest connection
        kind = request_kind(h["exch"], inner)
        if self.syntax_at is None and kind == self.a.invalid_syntax:
            out("%s-req answered INVALID_SYNTAX" % kind)
            self.respond(where, h, h["exch"], [(PL_NOTIFY, notify_body(N_INVALID_SYNTAX))])
            self.syntax_at = time.monotonic()
            return
        if h["exch"] == EXCH_INFO:
            pls = []
            for t, b in inner:
                if t != PL_DELETE:
                    continue
                proto = b[0]
                if proto == PROTO_IKE:
                    self.deleted = True
                    out("peer deleted the IKE SA")
                elif proto == PROTO_ESP:
                    theirs = [b[4 + 4 * i:8 + 4 * i] for i in range(struct.unpack("!H", b[2:4])[0])]
                    ours = [c[0] for c in self.children if c[1] in theirs]
                    self.children = [c for c in self.children if c[1] not in theirs]
                    if ours:
                        pls.append((PL_DELETE, struct.pack("!BBH", PROTO_ESP, 4, len(ours)) + b"".join(ours)))
            self.respond(where, h, EXCH_INFO, pls)
        elif h["exch"] == EXCH_CREATE_CHILD and any(
                p[1] == PROTO_IKE for p in parse_proposals(dict(inner).get(PL_SA, b""))):
            self.answer_ike_rekey(where, h, inner)
        elif h["exch"] == EXCH_FOLLOWUP_KE:
            self.answer_followup(where, h, inner)
        elif h["exch"] == EXCH_CREATE_CHILD:
            d = dict(inner)
            esp = [p for p in parse_proposals(d.get(PL_SA, b"")) if p[1] == PROTO_ESP and
                   offers_our_suite(p[3], True)]
            if not esp or PL_KE in d:
                self.respond(where, h, EXCH_CREATE_CHILD,
                             [(PL_NOTIFY, notify_body(N_NO_PROPOSAL_CHOSEN))])
                return
            spi = os.urandom(4)
            self.children.append([spi, esp[0][2]])
            pls = [(PL_SA, esp_proposal(spi, esp[0][0])), (PL_NONCE, os.urandom(32)),
                   (PL_TSI, d[PL_TSI]), (PL_TSR, d[PL_TSR])]
            rekey = [n for n in notifies(inner) if n[0] == N_REKEY_SA]
            out("child %s answered" % ("rekey" if rekey else "creation"))
            if not rekey and self.a.child_refuse:
                out("child creation answered %.1f s after IKE_AUTH" % (time.monotonic() - self.auth_at))
            self.respond(where, h, EXCH_CREATE_CHILD, pls)
        else:
            self.respond(where, h, h["exch"], [])

    # --- after establishment -------------------------------------------------------------

    def request(self, exch, pls):
        return self.request_inner(exch, *chain(pls))

    def request_inner(self, exch, first, inner):
        """A request of the inner payload chain as bytes (malformed on
        purpose, for tests) and the payloads of its answer."""
        msgid = self.msgid_out
        self.msgid_out += 1
        self.send(self.where, seal_inner(self.sk_out(), self.spi_i, self.spi_r, exch,
                                         self.flags(False), msgid, first, inner))
        where, h, msg = self.await_response(msgid, exch)
        return where, open_sk(self.sk_in(), msg)

    def stalled_bad_delete(self, n):
        """bad-delete over TCP with the peer's socket full: one liveness
        check answered, then n copies of it (each answered again from the
        peer's cache, RFC 7296 2.1) and the bad Delete sent while we read
        nothing, so that the INVALID_SYNTAX answer waits in the peer's
        own queue when 2.21.3 ends its IKE SA; we read 0.25 s later."""
        if self.where[0] != "tcp":
            raise Fail("stalled-bad-delete needs IKE over TCP")
        mid = self.msgid_out
        self.msgid_out += 1
        ping = seal(self.sk_out(), self.spi_i, self.spi_r, EXCH_INFO, self.flags(False), mid, [])
        self.send(self.where, ping)
        self.await_response(mid, EXCH_INFO)
        sock = self.where[1].sock
        sock.sendall(frame(ping) * n)
        first, inner = chain([(PL_DELETE, struct.pack("!BBH", PROTO_ESP, 3, 1) + os.urandom(3))])
        mid = self.msgid_out
        self.msgid_out += 1
        self.send(self.where, seal_inner(self.sk_out(), self.spi_i, self.spi_r, EXCH_INFO,
                                         self.flags(False), mid, first, inner))
        out("stalled-bad-delete sent after %d copies of a liveness check" % n)
        time.sleep(0.25)
        # Read fast, straight off the socket (the peer's drain is bounded),
        # until the peer closes the connection or --timeout passes.
        chunks, closed, until = [], False, time.monotonic() + self.a.timeout
        while not closed and time.monotonic() < until:
            if not select.select([sock], [], [], until - time.monotonic())[0]:
                break
            try:
                d = sock.recv(1 << 20)
            except OSError:
                d = b""
            chunks.append(d)
            closed = not d
        data, off, copies, answer = b"".join(chunks), 0, 0, None
        while off + 2 <= len(data):
            flen = struct.unpack("!H", data[off:off + 2])[0]
            if flen < 2 or off + flen > len(data):
                break
            msg, off = data[off + 6:off + flen], off + flen
            h_mid = struct.unpack("!I", msg[20:24])[0]
            if answer is not None:
                raise Fail("message %d came after the INVALID_SYNTAX answer (RFC 7296 2.21.3)"
                           % h_mid)
            if h_mid == mid:
                answer = msg
            elif h_mid == mid - 1:
                copies += 1
            else:
                raise Fail("message %d in the stream" % h_mid)
        out("stalled-bad-delete read %d answers to the copies" % copies)
        if answer is None:
            out("stalled-bad-delete unanswered")
        else:
            out("stalled-bad-delete answered notify=%s" % (",".join(
                str(n[0]) for n in notifies(open_sk(self.sk_in(), answer)) if n[0] < 16384) or
                "none"))
        # 2.21.3: nothing more on the SA; its end closes the connection
        out("stalled-bad-delete then %s" % ("the connection closed by the peer" if closed else
                                            "the connection open"))
        self.where[1].open = False
        sock.close()

    def expect_gone(self, secs):
        """RFC 7296 2.21.3: once the peer answered INVALID_SYNTAX it holds
        the IKE SA no more: a liveness check on it goes unanswered, and
        nothing else (no Delete, no request) comes on it for secs."""
        mid = self.msgid_out
        self.msgid_out += 1
        self.send(self.where, seal(self.sk_out(), self.spi_i, self.spi_r, EXCH_INFO,
                                   self.flags(False), mid, []))
        try:
            h = self.wait(lambda w, h, m: h if h["spi_i"] == self.spi_i and
                          h["exch"] != EXCH_SA_INIT else None, secs, "")
        except Fail:
            out("gone silent")
            return
        raise Fail("the IKE SA is still up after INVALID_SYNTAX: %s %s %d came on it" % (
            EXCH_NAMES.get(h["exch"], h["exch"]), "response" if h["response"] else "request",
            h["msgid"]))

    def rekey_followup(self, kx, req, inner, props, methods):
        """RFC 9370 §2.2.4: the additional key exchanges of our IKE SA
        rekey, one IKE_FOLLOWUP_KE each, in type order, each request with
        the link the previous answer carried; then the new SA's keys,
        the old SA deleted (RFC 7296 §2.8) and the new one ours."""
        d, r = dict(inner), dict(req)
        ni, nr = r[PL_NONCE], d[PL_NONCE]
        spi_i, spi_r = parse_proposals(r[PL_SA])[0][2], props[0][2]
        secrets = [kx.shared(self.ke_of(inner, KE_X25519))]
        m = self.a.followup_mistake

        def link_of(pls):
            ls = [n[3] for n in notifies(pls) if n[0] == N_ADDITIONAL_KEY_EXCHANGE]
            return ls[0] if ls else None
        link = link_of(inner)
        out("rekey-addke link=%s" % ("yes" if link is not None else "no"))
        if link is None and methods:
            raise Fail("additional key exchanges chosen, no ADDITIONAL_KEY_EXCHANGE")
        for group in methods:
            if m == "bad-link":
                link = bytes(b ^ 0xff for b in link)
            kxn = KeyExchange(KE_X448 if m == "wrong-group" else group)
            mid = self.msgid_out
            ke = [] if m == "no-ke" else [(PL_KE, ke_body(kxn.pub, kxn.group))]
            where, rinner = self.request(EXCH_FOLLOWUP_KE, ke + [
                (PL_NOTIFY, notify_body(N_ADDITIONAL_KEY_EXCHANGE, link))])
            errs = [n[0] for n in notifies(rinner) if n[0] < 16384]
            if errs:
                out("followup answered notify=%d" % errs[0])
                return
            secrets.append(kxn.shared(self.ke_of(rinner, group)))
            link = link_of(rinner)
            out("followup msgid=%d ke=%d link=%s" % (mid, group, "no" if link is None else "yes"))
        if not methods:
            return
        if link is not None:
            raise Fail("ADDITIONAL_KEY_EXCHANGE after the last additional key exchange")
        if m == "no-addke-secret":
            secrets = secrets[:1]
        keys = rekeyed_keys(self.keys.sk_d, secrets, ni, nr, spi_i, spi_r)
        self.request(EXCH_INFO, [(PL_DELETE, struct.pack("!BBH", PROTO_IKE, 0, 0))])
        # §2.18: who rekeyed is the new SA's original initiator
        self.spi_i, self.spi_r, self.keys = spi_i, spi_r, keys
        self.initiator, self.msgid_out, self.msgid_in, self.resp_cache = True, 0, 0, {}
        out("rekeyed spi_i=%s spi_r=%s" % (spi_i.hex(), spi_r.hex()))

    def run(self, actions):
        for act in actions:
            verb, _, arg = act.partition(":")
            if verb == "serve":
                try:
                    self.wait(lambda w, h, m: None, float(arg), "")
                except Fail:
                    pass
            elif verb in ("info", "info-notify"):
                pls = [self.st_notify()] if verb == "info-notify" else []
                where, inner = self.request(EXCH_INFO, pls)
                has = any(n[0] == self.a.st_type for n in notifies(inner))
                out("info answered on %s notify=%s" % (where[0], "yes" if has else "no"))
            elif verb == "rekey-addke":
                # RFC 7296 §1.3.2: SA (a new SPI), Ni, KEi
                kx = KeyPair()
                pls = [(PL_SA, ike_proposal({1: [int(i) for i in arg.split(",")]}, os.urandom(8))),
                       (PL_NONCE, os.urandom(32)), (PL_KE, ke_body(kx.pub))]
                where, inner = self.request(EXCH_CREATE_CHILD, pls)
                errs = [n[0] for n in notifies(inner) if n[0] < 16384]
                if errs:
                    out("rekey-addke answered notify=%d" % errs[0])
                else:
                    props = parse_proposals(dict(inner).get(PL_SA, b""))
                    got = [(t, i) for t, i, _ in (props[0][3] if props else []) if t >= T_ADDKE1]
                    out("rekey-addke answered sa addke=%s" % ",".join("%d:%d" % x for x in got))
                    self.rekey_followup(kx, pls, inner, props, [i for _, i in got if i])
            elif verb in ("bad-chain", "bad-delete"):
                if verb == "bad-chain":
                    # RFC 7296 3.2: a Payload Length past the chain's end
                    first, inner = PL_NOTIFY, struct.pack("!BBH", 0, 0, 64) + \
                        notify_body(self.a.st_type)
                else:
                    # 3.11: ESP SPIs are 4 bytes, not 3
                    first, inner = chain([(PL_DELETE, struct.pack("!BBH", PROTO_ESP, 3, 1) +
                                           os.urandom(3))])
                where, inner = self.request_inner(EXCH_INFO, first, inner)
                out("%s answered notify=%s" % (verb, ",".join(
                    str(n[0]) for n in notifies(inner) if n[0] < 16384) or "none"))
            elif verb == "stalled-bad-delete":
                self.stalled_bad_delete(int(arg))
            elif verb == "expect-gone":
                self.expect_gone(float(arg))
            elif verb == "delete":
                self.request(EXCH_INFO, [(PL_DELETE, struct.pack("!BBH", PROTO_IKE, 0, 0))])
                out("deleted")
                self.deleted = True
            elif verb == "await-child":
                end = time.monotonic() + float(arg)
                while not self.children:
                    if time.monotonic() >= end:
                        raise Fail("no Child SA asked for within %s s" % arg)
                    try:
                        self.wait(lambda w, h, m: None, min(0.2, end - time.monotonic()), "")
                    except Fail:
                        pass
            elif verb == "child":
                spi = os.urandom(4)
                where, inner = self.request(EXCH_CREATE_CHILD, [
                    (PL_SA, esp_proposal(spi)), (PL_NONCE, os.urandom(32)),
                    (PL_TSI, ts_payload(self.a.lts)), (PL_TSR, ts_payload(self.a.rts))])
                errs = [str(n[0]) for n in notifies(inner) if n[0] < 16384]
                props = parse_proposals(dict(inner).get(PL_SA, b""))
                if errs or not props:
                    out("child refused notify=%s" % (",".join(errs) or "none"))
                else:
                    self.children.append([spi, props[0][2]])
                    out("child created")
            elif verb == "await-rekey":
                end = time.monotonic() + float(arg)
                while not self.rekeyed:
                    if time.monotonic() >= end:
                        raise Fail("the peer did not rekey the IKE SA within %s s" % arg)
                    try:
                        self.wait(lambda w, h, m: None, min(0.2, end - time.monotonic()), "")
                    except Fail:
                        pass
            elif verb == "expect-syntax-end":
                end = time.monotonic() + float(arg)
                while self.syntax_at is None:
                    if time.monotonic() >= end:
                        raise Fail("no %s request to answer INVALID_SYNTAX within %s s" %
                                   (self.a.invalid_syntax, arg))
                    try:
                        self.wait(lambda w, h, m: None, min(0.2, end - time.monotonic()), "")
                    except Fail:
                        pass
                try:
                    self.wait(lambda w, h, m: None, self.syntax_at + 2 - time.monotonic(), "")
                except Fail:
                    pass
                if self.after_syntax:
                    raise Fail("%d requests on the IKE SA after INVALID_SYNTAX (RFC 7296 "
                               "2.21.3: it is gone in both peers)" % self.after_syntax)
                out("syntax-end silent")
            elif verb == "expect-delete":
                end = time.monotonic() + float(arg)
                while not self.deleted:
                    try:
                        self.wait(lambda w, h, m: None, min(0.2, end - time.monotonic()), "")
                    except Fail:
                        pass
                    if time.monotonic() >= end and not self.deleted:
                        raise Fail("the peer did not delete the IKE SA within %s s" % arg)
            else:
                raise Fail("unknown action " + act)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--local", required=True)
    ap.add_argument("--psk", default="tcpike-test-psk-0123456789")
    ap.add_argument("--id", default="py.test")
    ap.add_argument("--id-type", type=int, default=ID_FQDN,
                    help="the ID payload's type (RFC 7296 3.5); --id is its data")
    ap.add_argument("--lts", default="192.168.1.0/24")
    ap.add_argument("--rts", default="192.168.2.0/24")
    ap.add_argument("--st-type", type=int, default=49152,
                    help="SEPARATE_TRANSPORTS' code point (tcpiked's default)")
    ap.add_argument("--start", default="udp4500", choices=("udp4500", "udp500", "tcp"))
    ap.add_argument("--no-notify", action="store_true")
    ap.add_argument("--notify-data", default="", help="hex data in our notify")
    ap.add_argument("--rt8", action="store_true")
    ap.add_argument("--echo", default="yes")
    ap.add_argument("--no-tcp", action="store_true")
    ap.add_argument("--bogus-natd", action="store_true")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--child-refuse", type=int, default=0, metavar="NOTIFY",
                    help="responder: refuse the Child SA of IKE_AUTH with this error notify")
    ap.add_argument("--intermediate", action="store_true",
                    help="announce and run (initiator) or answer (responder) IKE_INTERMEDIATE")
    ap.add_argument("--inter-notify-data", default="", metavar="HEX",
                    help="data in our INTERMEDIATE_EXCHANGE_SUPPORTED (RFC 9242 3.1: ignored)")
    ap.add_argument("--inter-pad", type=int, default=0, metavar="BYTES")
    ap.add_argument("--frag-size", type=int, default=0, metavar="BYTES",
                    help="RFC 7383 fragments of IKE_INTERMEDIATE over UDP")
    ap.add_argument("--int-auth-mistake", default="none",
                    choices=("none", "wire-length", "swap", "mid"))
    ap.add_argument("--addke", action="append", default=[], metavar="N=ID[,ID...]",
                    help="RFC 9370: ADDKE N (transform type 5 + N) with these IDs (0: NONE)")
    ap.add_argument("--addke-mistake", default="none",
                    choices=("none", "no-update", "wrong-group", "no-ke", "skip", "short-ke",
                             "bad-ek"),
                    help="short-ke: KE data a byte short; bad-ek: an ML-KEM encapsulation "
                    "key failing FIPS 203's modulus check")
    ap.add_argument("--followup-mistake", default="none",
                    choices=("none", "bad-link", "wrong-group", "no-ke", "no-addke-secret",
                             "state-not-found"),
                    help="RFC 9370 2.2.4 on purpose (initiator): the link altered, a KE "
                    "of x448 for the negotiated method, no KE at all, the new keys "
                    "without SK(1..n); "
                    "(responder) every IKE_FOLLOWUP_KE answered STATE_NOT_FOUND")
    ap.add_argument("--rekey-ke-mistake", default="none", choices=("none", "zero"),
                    help="zero (responder): KEr X25519 u = 0 in our answer to an IKE SA rekey")
    ap.add_argument("--invalid-syntax", default="none",
                    choices=("none", "ike-rekey", "child", "info"),
                    help="the peer's first request of this kind answered N(INVALID_SYNTAX) "
                    "alone (RFC 7296 2.21.3)")
    ap.add_argument("--tcp-rcvbuf", type=int, default=0, metavar="BYTES",
                    help="responder: SO_RCVBUF of the TCP connections accepted (a small "
                    "window, for stalled-bad-delete)")
    ap.add_argument("--cert", metavar="PEM",
                    help="authenticate with this ML-DSA certificate (RFC 7427, noble) instead "
                    "of the PSK; --key its OpenSSL 3.5 key file (the seed is taken), --cacert "
                    "the CA the peer's certificate must be signed by")
    ap.add_argument("--key", metavar="PEM")
    ap.add_argument("--cacert", metavar="PEM")
    ap.add_argument("role", choices=("init", "resp"))
    ap.add_argument("rest", nargs="*")
    a = ap.parse_args()
    actions = a.rest
    if a.role == "init":
        if not actions:
            ap.error("init needs the peer's address")
        a.peer, actions = actions[0], actions[1:]
    net = Net(a.local, a.role == "resp" and not a.no_tcp, a.tcp_rcvbuf)
    try:
        p = Peer(a, net)
    except Fail as e:
        out("FAIL:", e)
        return 1
    out("ready")
    try:
        if a.role == "init":
            with_notify = not a.no_notify
            echoed = p.init_request(a.start, with_notify)
            if echoed and a.start != "tcp":
                # §3.1: the next exchange over TCP 4500, IKETCP first
                try:
                    c = net.connect(a.peer)
                    p.where = ("tcp", c)
                    p.on_tcp = True
                except OSError as e:
                    out("tcp connect failed: %s" % e)
                    if not a.rt8:
                        raise Fail("TCP 4500 unreachable after the echo")
                    # the attempt is cancelled; a new one over UDP without it
                    p.on_tcp = False
                    p.init_request("udp500", False)
                    echoed = False
            p.separate = echoed
            if p.inter_ok and a.addke_mistake != "skip":
                p.intermediate()
            p.auth_request()
        else:
            p.serve_init()
        out("established transport=%s separate=%s spi_i=%s spi_r=%s" % (
            p.where[0], "yes" if p.separate else "no", p.spi_i.hex(), p.spi_r.hex()))
        p.run(actions)
    except (Fail, OSError, ValueError) as e:
        out("FAIL:", e)
        out("summary udp_after_switch=%d tcp_requests_rx=%d" % (p.udp_after_switch, p.tcp_requests_rx))
        return 1
    out("summary udp_after_switch=%d tcp_requests_rx=%d" % (p.udp_after_switch, p.tcp_requests_rx))
    return 0


if __name__ == "__main__":
    sys.exit(main())
