# SPDX-License-Identifier: GPL-2.0
"""The pieces of IKEv2 the independent test peers share, written from the
RFCs (not from tcpiked): RFC 7296 (messages, payloads, key derivation, PSK
authentication), RFC 5282 (AES-GCM in the SK payload), RFC 8031 (X25519),
RFC 3526 (the 2048-bit MODP group, in Python integers), RFC 5903 (P-256's
curve equation), RFC 9329 (TCP framing), RFC 9242 (IntAuth of IKE_INTERMEDIATE), ML-KEM
(FIPS 203, draft-ietf-ipsecme-ikev2-mlkem) from @noble/post-quantum through
selftests/noblepq.mjs (class Noble), not from OpenSSL.

One suite only: ENCR_AES_GCM_16 with 256-bit keys, PRF_HMAC_SHA2_256,
Curve25519; ESP proposals AES-GCM-16-256 without ESN.
"""
import base64
import hashlib
import hmac
import json
import os
import shlex
import socket
import struct
import subprocess

from cryptography.exceptions import InvalidTag

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.asymmetric.x448 import X448PrivateKey, X448PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# RFC 7296 §3.2, RFC 7383, RFC 8019
PL_SA, PL_KE, PL_IDI, PL_IDR, PL_AUTH, PL_NONCE, PL_NOTIFY, PL_DELETE = \
    33, 34, 35, 36, 39, 40, 41, 42
PL_TSI, PL_TSR, PL_SK, PL_SKF = 44, 45, 46, 53
EXCH_SA_INIT, EXCH_AUTH, EXCH_CREATE_CHILD, EXCH_INFO = 34, 35, 36, 37
EXCH_INTERMEDIATE = 43
EXCH_FOLLOWUP_KE = 44           # RFC 9370 §2.2.4
EXCH_NAMES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA",
              37: "INFORMATIONAL", 43: "IKE_INTERMEDIATE", 44: "IKE_FOLLOWUP_KE"}
F_INITIATOR, F_RESPONSE = 0x08, 0x20
PROTO_IKE, PROTO_ESP = 1, 3
N_NO_PROPOSAL_CHOSEN, N_INVALID_SYNTAX = 14, 7
N_NATD_SRC, N_NATD_DST, N_REKEY_SA = 16388, 16389, 16393
N_FRAG_SUPPORTED = 16430
N_INTERMEDIATE_SUPPORTED = 16438
N_AUTHENTICATION_FAILED = 24
ENCR_AES_GCM_16, PRF_HMAC_SHA2_256, KE_X25519 = 20, 5, 31
T_ENCR, T_PRF, T_INTEG, T_KE, T_ESN = 1, 2, 3, 4, 5
# RFC 9370 §2.2.1: Additional Key Exchange 1..7 are transform types 6..12,
# their IDs those of type 4 (0 = NONE)
T_ADDKE1 = 6
KE_NONE, KE_ECP256, KE_ECP384, KE_ECP521, KE_X448 = 0, 19, 20, 21, 32
KE_MODP2048 = 14
# RFC 3526 §3: the 2048-bit MODP group's prime; its generator is 2
MODP2048_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
    "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
    "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
# RFC 5903 §3.1: P-256, y^2 = x^3 - 3x + b mod p
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
# draft-ietf-ipsecme-ikev2-mlkem: ID -> (noble's name, encapsulation key
# bytes in KEi, ciphertext bytes in KEr), FIPS 203 §8 table 3
KE_MLKEM512, KE_MLKEM768, KE_MLKEM1024 = 35, 36, 37
MLKEM = {KE_MLKEM512: ("ml_kem512", 800, 768), KE_MLKEM768: ("ml_kem768", 1184, 1088),
         KE_MLKEM1024: ("ml_kem1024", 1568, 1568)}
N_INVALID_KE_PAYLOAD = 17
N_STATE_NOT_FOUND, N_ADDITIONAL_KEY_EXCHANGE = 47, 16441     # RFC 9370 §2.2.4
ID_FQDN = 2
AUTH_PSK = 2
KEYLEN256 = struct.pack("!HH", 0x800E, 256)
IKETCP = b"IKETCP"
MARKER = b"\0\0\0\0"


class Fail(Exception):
    """The peer did something the RFCs do not allow (or we cannot follow)."""


# --- encoding ---------------------------------------------------------------------

def pl(nxt, body, critical=False):
    """A generic payload: next payload, critical bit, length, body."""
    return struct.pack("!BBH", nxt, 0x80 if critical else 0, 4 + len(body)) + body


def chain(payloads):
    """[(type, body)] -> (first type, bytes) with the next-payload links."""
    out = b""
    for i, (_, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        out += pl(nxt, body)
    return (payloads[0][0] if payloads else 0), out


def transform(last, ttype, tid, attrs=b""):
    body = struct.pack("!BBH", ttype, 0, tid) + attrs
    return struct.pack("!BBH", 0 if last else 3, 0, 4 + len(body)) + body


def proposal(num, proto, spi, trans, last=True):
    t = b"".join(trans)
    return struct.pack("!BBHBBBB", 0 if last else 2, 0, 8 + len(spi) + len(t), num,
                       proto, len(spi), len(trans)) + spi + t


def ike_proposal(addke=None, spi=b"", ke=KE_X25519):
    """Our one IKE proposal; addke {n: [IDs]}: ADDKEn transforms (RFC 9370);
    spi: the new IKE SA's in a rekey (RFC 7296 §1.3.2); ke: its key
    exchange method."""
    ts = [(T_ENCR, ENCR_AES_GCM_16, KEYLEN256), (T_PRF, PRF_HMAC_SHA2_256, b""),
          (T_KE, ke, b"")]
    for n in sorted(addke or {}):
        ts += [(T_ADDKE1 + n - 1, i, b"") for i in addke[n]]
    return proposal(1, PROTO_IKE, spi, [transform(k == len(ts) - 1, t, i, a)
                                         for k, (t, i, a) in enumerate(ts)])


def esp_proposal(spi, num=1):
    return proposal(num, PROTO_ESP, spi, [transform(False, T_ENCR, ENCR_AES_GCM_16, KEYLEN256),
                                          transform(True, T_ESN, 0)])


def notify_body(ntype, data=b"", proto=0, spi=b""):
    return struct.pack("!BBH", proto, len(spi), ntype) + spi + data


def header(spi_i, spi_r, nxt, exch, flags, msgid, length):
    return spi_i + spi_r + struct.pack("!BBBBII", nxt, 0x20, exch, flags, msgid, length)


def ts_payload(cidr):
    """One IPv4 address range TS (RFC 7296 §3.13.1), any protocol and port."""
    net, plen = cidr.split("/")
    a = struct.unpack("!I", socket.inet_aton(net))[0]
    mask = (0xFFFFFFFF << (32 - int(plen))) & 0xFFFFFFFF
    lo, hi = a & mask, (a & mask) | (~mask & 0xFFFFFFFF)
    return struct.pack("!B3xBBHHH", 1, 7, 0, 16, 0, 65535) + \
        struct.pack("!II", lo, hi)


def frame(msg):
    """RFC 9329 §3: Length (itself included), the zero marker, the message."""
    return struct.pack("!H", 2 + 4 + len(msg)) + MARKER + msg


def natd_hash(spi_i, spi_r, addr, port):
    """RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port)."""
    return hashlib.sha1(spi_i + spi_r + socket.inet_aton(addr) +
                        struct.pack("!H", port)).digest()


# --- parsing ----------------------------------------------------------------------

def payloads(first, data):
    """[(type, body)] of a payload chain; Fail on a malformed one."""
    out, nxt, off = [], first, 0
    while nxt:
        if off + 4 > len(data):
            raise Fail("truncated payload chain")
        this = nxt
        nxt, _, plen = struct.unpack("!BBH", data[off:off + 4])
        if plen < 4 or off + plen > len(data):
            raise Fail("bad payload length %d at offset %d" % (plen, off))
        out.append((this, data[off + 4:off + plen]))
        off += plen
    return out


def parse_notify(body):
    """(type, protocol, spi, data, encoded length) of a Notify body."""
    if len(body) < 4:
        raise Fail("short notify")
    proto, spis, ntype = struct.unpack("!BBH", body[:4])
    return ntype, proto, body[4:4 + spis], body[4 + spis:], 4 + len(body)


def notifies(pls):
    return [parse_notify(b) for t, b in pls if t == PL_NOTIFY]


def parse_header(msg):
    if len(msg) < 28:
        raise Fail("message of %d bytes" % len(msg))
    nxt, ver, exch, flags, msgid, length = struct.unpack("!BBBBII", msg[16:28])
    if length != len(msg):
        raise Fail("IKE length %d in %d bytes" % (length, len(msg)))
    return dict(spi_i=msg[:8], spi_r=msg[8:16], next=nxt, exch=exch, flags=flags,
                msgid=msgid, response=bool(flags & F_RESPONSE))


def parse_proposals(body):
    """[(num, proto, spi, [(type, id, attrs)])] of an SA payload."""
    out, off = [], 0
    while off + 8 <= len(body):
        last, _, plen, num, proto, spis, ntrans = struct.unpack("!BBHBBBB", body[off:off + 8])
        if plen < 8 or off + plen > len(body):
            raise Fail("bad proposal length")
        spi = body[off + 8:off + 8 + spis]
        toff, trans = off + 8 + spis, []
        for _ in range(ntrans):
            _, _, tlen, ttype, _, tid = struct.unpack("!BBHBBH", body[toff:toff + 8])
            trans.append((ttype, tid, body[toff + 8:toff + tlen]))
            toff += tlen
        out.append((num, proto, spi, trans))
        off += plen
        if last == 0:
            break
    return out


def offers_our_suite(trans, esp=False):
    """Does a proposal list every transform of our one suite?"""
    have = {(t, i, a) for t, i, a in trans}
    if (T_ENCR, ENCR_AES_GCM_16, KEYLEN256) not in have:
        return False
    if esp:
        return (T_ESN, 0, b"") in have or not any(t == T_ESN for t, _, _ in trans)
    return (T_PRF, PRF_HMAC_SHA2_256, b"") in have and (T_KE, KE_X25519, b"") in have


# --- crypto -----------------------------------------------------------------------

def prf(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def prf_plus(key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


class KeyPair:
    """An ephemeral X25519 key pair (RFC 8031)."""

    def __init__(self):
        self.priv = X25519PrivateKey.generate()
        self.pub = self.priv.public_key().public_bytes(serialization.Encoding.Raw,
                                                       serialization.PublicFormat.Raw)

    def shared(self, peer_pub):
        return self.priv.exchange(X25519PublicKey.from_public_bytes(peer_pub))


def ke_body(pub, group=KE_X25519):
    return struct.pack("!HH", group, 0) + pub


class Noble:
    """@noble/post-quantum, run by node through selftests/noblepq.mjs: one
    process for the whole peer, started on first use, one JSON request and
    answer a line.  TCPIKE_NOBLE_CMD is the command that runs it
    (selftests/trixie.sh trixie_noble: node in the Debian 13 root); without
    it, the host's node with TCPIKE_NOBLE_DIR, the directory holding
    noble's node_modules (scripts/noble-pq.sh installs it there)."""
    proc = None

    @classmethod
    def call(cls, **req):
        if cls.proc is None:
            cmd = os.environ.get("TCPIKE_NOBLE_CMD")
            d = os.environ.get("TCPIKE_NOBLE_DIR")
            if cmd:
                argv = shlex.split(cmd)
            elif d:
                here = os.path.dirname(os.path.abspath(__file__))
                argv = ["node", os.path.join(here, "noblepq.mjs"), d]
            else:
                raise Fail("ML-KEM/ML-DSA need @noble/post-quantum: set TCPIKE_NOBLE_CMD or "
                           "TCPIKE_NOBLE_DIR (scripts/noble-pq.sh)")
            cls.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        cls.proc.stdin.write(json.dumps(req) + "\n")
        cls.proc.stdin.flush()
        line = cls.proc.stdout.readline()
        if not line:
            raise Fail("noblepq.mjs exited")
        r = json.loads(line)
        if "error" in r:
            raise Fail("noble %s: %s" % (req.get("op"), r["error"]))
        return {k: bytes.fromhex(v) if isinstance(v, str) and k != "version" else v
                for k, v in r.items()}


def ke_respond(group, peer):
    """The responder's side of a key exchange of method group with the
    initiator's value peer: (our KE data, the shared secret).  ML-KEM
    (draft-ietf-ipsecme-ikev2-mlkem §2): the initiator's KE data is its
    encapsulation key, of exactly the parameter set's length, ours the
    ciphertext noble's encapsulation to it gave (noble refuses a key
    failing FIPS 203 §7.2's modulus check); a DH group: a key pair of our
    own."""
    if group in MLKEM:
        name, eklen, _ = MLKEM[group]
        if len(peer) != eklen:
            raise Fail("ML-KEM encapsulation key of %d bytes, %d expected" % (len(peer), eklen))
        r = Noble.call(op="kem-encap", alg=name, ek=peer.hex())
        return r["ct"], r["ss"]
    kx = KeyExchange(group)
    return kx.pub, kx.shared(peer)


class KeyExchange:
    """The initiator's side of a key exchange: an ephemeral key pair of any
    group we know: Curve25519 and Curve448 (RFC 8031: the raw public value,
    the raw shared secret), the NIST curves (RFC 5903 §7: x | y in fixed
    length, the shared secret x), ML-KEM (noble's encapsulation key sent,
    the responder's ciphertext decapsulated, of exactly its length)."""
    CURVES = {KE_ECP256: (ec.SECP256R1, 32), KE_ECP384: (ec.SECP384R1, 48),
              KE_ECP521: (ec.SECP521R1, 66)}

    def __init__(self, group):
        self.group = group
        if group in MLKEM:
            r = Noble.call(op="kem-keygen", alg=MLKEM[group][0])
            self.pub, self.dk = r["ek"], r["dk"]
        elif group == KE_X25519:
            kp = KeyPair()
            self.priv, self.pub = kp.priv, kp.pub
        elif group == KE_X448:
            self.priv = X448PrivateKey.generate()
            self.pub = self.priv.public_key().public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)
        elif group == KE_MODP2048:
            self.x = int.from_bytes(os.urandom(64), "big")
            self.pub = pow(2, self.x, MODP2048_P).to_bytes(256, "big")
        elif group in self.CURVES:
            curve, n = self.CURVES[group]
            self.priv = ec.generate_private_key(curve())
            pt = self.priv.public_key().public_bytes(serialization.Encoding.X962,
                                                     serialization.PublicFormat.UncompressedPoint)
            self.pub = pt[1:]
        else:
            raise Fail("key exchange method %d unknown here" % group)

    def shared(self, peer):
        if self.group in MLKEM:
            name, _, ctlen = MLKEM[self.group]
            if len(peer) != ctlen:
                raise Fail("ML-KEM ciphertext of %d bytes, %d expected" % (len(peer), ctlen))
            return Noble.call(op="kem-decap", alg=name, ct=peer.hex(), dk=self.dk.hex())["ss"]
        if self.group == KE_MODP2048:
            y = int.from_bytes(peer, "big")
            if len(peer) != 256 or not 1 < y < MODP2048_P - 1 or legendre(y, MODP2048_P) != 1:
                raise Fail("MODP-2048 public value outside the order-q subgroup")
            return pow(y, self.x, MODP2048_P).to_bytes(256, "big")
        try:
            if self.group == KE_X25519:
                return self.priv.exchange(X25519PublicKey.from_public_bytes(peer))
            if self.group == KE_X448:
                return self.priv.exchange(X448PublicKey.from_public_bytes(peer))
            curve, n = self.CURVES[self.group]
            if len(peer) != 2 * n:
                raise Fail("ECP public value of %d bytes" % len(peer))
            pk = ec.EllipticCurvePublicKey.from_encoded_point(curve(), b"\x04" + peer)
            return self.priv.exchange(ec.ECDH(), pk)
        except ValueError as e:
            raise Fail("invalid public value for method %d: %s" % (self.group, e))


def legendre(a, p):
    """The Legendre symbol (a/p) of an odd prime p, by Euler's criterion:
    1 (a square mod p), -1 (not), 0 (p divides a).  For RFC 3526's safe
    primes p = 2q + 1, 1 is exactly the order-q subgroup's (with 1 itself)."""
    r = pow(a, (p - 1) // 2, p)
    return -1 if r == p - 1 else r


def x25519(k, u):
    """RFC 7748 §5's X25519 in Python integers: the scalar k (32 bytes,
    clamped here) times the u-coordinate u (32 bytes little-endian, its top
    bit masked, §5's decoding), by the Montgomery ladder."""
    p = 2**255 - 19
    k = bytearray(k)
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    k = int.from_bytes(k, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in range(254, -1, -1):
        kt = (k >> t) & 1
        if swap ^ kt:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = (x2 + z2) % p, (x2 - z2) % p
        aa, bb = a * a % p, b * b % p
        e = (aa - bb) % p
        da, cb = (x3 - z3) * a % p, (x3 + z3) * b % p
        x3, z3 = (da + cb) ** 2 % p, x1 * (da - cb) ** 2 % p
        x2, z2 = aa * bb % p, e * (aa + 121665 * e) % p
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, p - 2, p) % p).to_bytes(32, "little")


def on_p256(xy):
    """Does x | y (RFC 5903 §7, 32 bytes each) satisfy P-256's equation?"""
    x, y = int.from_bytes(xy[:32], "big"), int.from_bytes(xy[32:], "big")
    return x < P256_P and y < P256_P and \
        (y * y - (x * x * x - 3 * x + P256_B)) % P256_P == 0


class Keys:
    """RFC 7296 §2.14 for AES-GCM-16-256 / PRF-HMAC-SHA2-256: no SK_a, SK_e
    is 32 key bytes and a 4-byte salt (RFC 5282 §7.1)."""

    def __init__(self, shared, ni, nr, spi_i, spi_r):
        skeyseed = prf(ni + nr, shared)
        km = prf_plus(skeyseed, ni + nr + spi_i + spi_r, 32 + 36 + 36 + 32 + 32)
        self.sk_d, self.sk_ei, self.sk_er = km[:32], km[32:68], km[68:104]
        self.sk_pi, self.sk_pr = km[104:136], km[136:168]

    def update(self, shared, ni, nr, spi_i, spi_r):
        """RFC 9370 §2.2.2, after the n-th additional key exchange:
        SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr), then the seven keys
        from prf+(SKEYSEED(n), Ni | Nr | SPIi | SPIr) as in §2.14."""
        skeyseed = prf(self.sk_d, shared + ni + nr)
        km = prf_plus(skeyseed, ni + nr + spi_i + spi_r, 32 + 36 + 36 + 32 + 32)
        self.sk_d, self.sk_ei, self.sk_er = km[:32], km[32:68], km[68:104]
        self.sk_pi, self.sk_pr = km[104:136], km[136:168]


def rekeyed_keys(sk_d, secrets, ni, nr, spi_i, spi_r):
    """RFC 9370 §2.2.4, an IKE SA rekey with additional key exchanges:
    SKEYSEED = prf(SK_d, SK(0) | Ni | Nr | SK(1) | ... SK(n)), SK_d of the
    old SA, then the keys as RFC 7296 §2.18 (prf+ over Ni | Nr | SPIi |
    SPIr of the new SA)."""
    k = Keys.__new__(Keys)
    skeyseed = prf(sk_d, secrets[0] + ni + nr + b"".join(secrets[1:]))
    km = prf_plus(skeyseed, ni + nr + spi_i + spi_r, 32 + 36 + 36 + 32 + 32)
    k.sk_d, k.sk_ei, k.sk_er = km[:32], km[32:68], km[68:104]
    k.sk_pi, k.sk_pr = km[104:136], km[136:168]
    return k


def psk_auth(psk, signed_msg, nonce, sk_p, id_body, int_auth=b""):
    """RFC 7296 §2.15: prf(prf(PSK, "Key Pad for IKEv2"),
    RealMessage | Nonce | prf(SK_p, RestOfIDPayload)), with RFC 9242
    §3.3.2's IntAuth appended after IKE_INTERMEDIATE exchanges."""
    return prf(prf(psk, b"Key Pad for IKEv2"),
               signed_msg + nonce + prf(sk_p, id_body) + int_auth)


def int_auth_step(prev, sk_p, hdr, first, plain, unprot=b"", sk_flags=0, wire_len=None):
    """RFC 9242 §3.3.2: IntAuth_[i/r]n = prf(SK_p[i/r], IntAuth_[i/r](n-1) |
    A | P).  A runs from the IKE header (hdr: its 28 bytes as sent or
    received) to the Encrypted payload's generic header, the header's Length
    and SK's Payload Length counting A and P only (no IV, padding, Pad
    Length or ICV); P is SK's inner payloads in plain text.  The header's
    Next Payload names the first unprotected payload or SK, as in the
    message reassembled from fragments.  wire_len: lengths as on the wire
    instead (a mistake, for tests)."""
    nxt = hdr[16] if unprot else PL_SK
    length = 28 + len(unprot) + 4 + len(plain)
    sk_len = 4 + len(plain)
    if wire_len is not None:
        length, sk_len = wire_len, wire_len - 28 - len(unprot)
    a = hdr[:16] + bytes([nxt]) + hdr[17:24] + struct.pack("!I", length) + unprot + \
        struct.pack("!BBH", first, sk_flags, sk_len)
    return prf(sk_p, prev + a + plain)


def seal(sk_e, spi_i, spi_r, exch, flags, msgid, pls):
    """An encrypted message: HDR, SK{payloads}, AES-GCM per RFC 5282 (8-byte
    IV, salt | IV nonce, AAD the header and SK payload header, 16-byte
    ICV), no padding beyond the Pad Length byte."""
    return seal_inner(sk_e, spi_i, spi_r, exch, flags, msgid, *chain(pls))


def seal_inner(sk_e, spi_i, spi_r, exch, flags, msgid, first, inner):
    """The same of an inner payload chain given as bytes, first its first
    payload's type: one malformed on purpose, for tests."""
    iv = os.urandom(8)
    plain = inner + b"\0"
    sk_len = 4 + 8 + len(plain) + 16
    hdr = header(spi_i, spi_r, PL_SK, exch, flags, msgid, 28 + sk_len)
    sk_hdr = struct.pack("!BBH", first, 0, sk_len)
    ct = AESGCM(sk_e[:32]).encrypt(sk_e[32:] + iv, plain, hdr + sk_hdr)
    return hdr + sk_hdr + iv + ct


def seal_frag(sk_e, spi_i, spi_r, exch, flags, msgid, first, part, num, total):
    """One RFC 7383 fragment: HDR, SKF{part}; first is the inner chain's
    first payload type (sent in fragment 1 only, §2.5), the AAD the header
    and the whole SKF header (§2.5.3)."""
    iv = os.urandom(8)
    plain = part + b"\0"
    skf_len = 8 + 8 + len(plain) + 16
    hdr = header(spi_i, spi_r, PL_SKF, exch, flags, msgid, 28 + skf_len)
    skf_hdr = struct.pack("!BBHHH", first if num == 1 else 0, 0, skf_len, num, total)
    return hdr + skf_hdr + iv + AESGCM(sk_e[:32]).encrypt(sk_e[32:] + iv, plain, hdr + skf_hdr)


def open_sk(sk_e, msg):
    """The payloads inside an encrypted message's SK payload."""
    return payloads(*open_sk_plain(sk_e, msg))


def open_sk_plain(sk_e, msg):
    """(first inner payload type, inner payloads as bytes) of an encrypted
    message with SK as its only payload."""
    h = parse_header(msg)
    if h["next"] != PL_SK:
        raise Fail("encrypted message without an SK payload first (first payload %d)" % h["next"])
    sk = msg[28:]
    first, _, sk_len = struct.unpack("!BBH", sk[:4])
    if sk_len != len(sk) or sk_len < 4 + 8 + 1 + 16:
        raise Fail("SK payload length %d" % sk_len)
    try:
        plain = AESGCM(sk_e[:32]).decrypt(sk_e[32:] + sk[4:12], sk[12:], msg[:28] + sk[:4])
    except InvalidTag:
        raise Fail("%s message %d does not decrypt (ICV)" %
                   (EXCH_NAMES.get(h["exch"], h["exch"]), h["msgid"]))
    plain = plain[:len(plain) - 1 - plain[-1]]
    return first, plain


# --- RFC 9329 stream --------------------------------------------------------------

class FrameReader:
    """Frames out of a TCP stream: feed() bytes, frames() the complete ones."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data

    def frames(self):
        out = []
        while len(self.buf) >= 2:
            n = struct.unpack("!H", self.buf[:2])[0]
            if n < 2:
                raise Fail("frame with Length %d" % n)
            if len(self.buf) < n:
                break
            out.append(self.buf[2:n])
            self.buf = self.buf[n:]
        return out


# --- ML-DSA certificates and RFC 7427 AUTH (draft-ietf-ipsecme-ikev2-pqc-auth) ---

PL_CERT, PL_CERTREQ = 37, 38
CERT_X509_SIG = 4
AUTH_DIGITAL_SIGNATURE = 14                      # RFC 7427 §3
N_SIGNATURE_HASH_ALGORITHMS = 16431
SIG_HASH_IDENTITY = 5                            # RFC 8420: the signer hashes itself
# id-ml-dsa-44/65/87, 2.16.840.1.101.3.4.3.17-19 (FIPS 204, RFC 9881): the
# AlgorithmIdentifier DER with parameters absent; noble's name
MLDSA = {
    "ml_dsa44": bytes.fromhex("300b0609608648016503040311"),
    "ml_dsa65": bytes.fromhex("300b0609608648016503040312"),
    "ml_dsa87": bytes.fromhex("300b0609608648016503040313"),
}


def der(data, off=0):
    """(tag, value, offset after) of one DER element at off."""
    if off + 2 > len(data):
        raise Fail("truncated DER")
    tag, n = data[off], data[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[off:off + k], "big")
        off += k
    if off + n > len(data):
        raise Fail("DER length past the end")
    return tag, data[off:off + n], off + n


def der_seq(value):
    """The DER elements of a SEQUENCE's value, each as its whole encoding."""
    out, off = [], 0
    while off < len(value):
        _, _, end = der(value, off)
        out.append(value[off:end])
        off = end
    return out


def pem_der(path):
    """The DER of a PEM file's first block (or the file, if DER)."""
    raw = open(path, "rb").read()
    if not raw.startswith(b"-----"):
        return raw
    lines = raw.decode().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("-----BEGIN"))
    end = next(i for i, l in enumerate(lines) if i > start and l.startswith("-----END"))
    return base64.b64decode("".join(lines[start + 1:end]))


class Cert:
    """An X.509 certificate read field by field (RFC 5280 §4.1): the signed
    TBSCertificate, the issuer's signature algorithm and signature, the
    subject's AlgorithmIdentifier and public key.  Only ML-DSA keys are
    of use here."""

    def __init__(self, der_bytes):
        self.der = der_bytes
        _, cert, _ = der(der_bytes)
        tbs, sig_alg, sig = der_seq(cert)
        self.tbs = tbs
        self.sig_alg = sig_alg
        _, bits, _ = der(sig)
        self.sig = bits[1:]
        fields = der_seq(der(tbs)[1])
        if fields[0][0] == 0xA0:                # [0] version
            fields = fields[1:]
        spki = fields[5]
        alg, pub = der_seq(der(spki)[1])
        self.key_alg = alg
        self.pub = der(pub)[1][1:]
        self.alg = next((n for n, a in MLDSA.items() if a == alg), None)

    def verify_by(self, issuer):
        """The issuer's ML-DSA signature over the TBSCertificate, checked
        by noble; Fail when it is not."""
        if issuer.alg is None or self.sig_alg != MLDSA[issuer.alg]:
            raise Fail("certificate not signed with the issuer's ML-DSA")
        if not Noble.call(op="dsa-verify", alg=issuer.alg, pk=issuer.pub.hex(),
                          msg=self.tbs.hex(), sig=self.sig.hex())["ok"]:
            raise Fail("certificate signature does not verify under the CA's key (noble)")


def mldsa_seed(path):
    """The 32-byte seed in OpenSSL 3.5's PKCS#8 ML-DSA private key
    (draft-ietf-lamps-dilithium-certificates: seed [0], or SEQUENCE {seed,
    expandedKey}): noble's keygen(seed) makes the same key pair."""
    _, pki, _ = der(pem_der(path))
    _, inner, _ = der(der_seq(pki)[2])
    tag, val, _ = der(inner)
    if tag == 0x80 and len(val) == 32:
        return val
    if tag == 0x30:
        t, seed, _ = der(val)
        if t == 0x04 and len(seed) == 32:
            return seed
    raise Fail("%s: no ML-DSA seed (an expanded-key-only file?)" % path)


def mldsa_auth(alg, sk, octets):
    """RFC 7427 §3 AUTH data: method 14, the AlgorithmIdentifier's length
    and DER, then pure ML-DSA (empty context) over the signed octets."""
    sig = Noble.call(op="dsa-sign", alg=alg, sk=sk.hex(), msg=octets.hex())["sig"]
    ai = MLDSA[alg]
    return struct.pack("!B3x", AUTH_DIGITAL_SIGNATURE) + bytes([len(ai)]) + ai + sig


def mldsa_check(cert, auth, octets):
    """The peer's AUTH payload body: method 14 with its certificate key's
    ML-DSA AlgorithmIdentifier, a signature over octets noble verifies."""
    if len(auth) < 5 or auth[0] != AUTH_DIGITAL_SIGNATURE:
        raise Fail("AUTH method %d, 14 expected" % (auth[0] if auth else -1))
    n = auth[4]
    ai, sig = auth[5:5 + n], auth[5 + n:]
    if cert.alg is None or ai != MLDSA[cert.alg]:
        raise Fail("AUTH AlgorithmIdentifier %s, not the certificate key's" % ai.hex())
    if not Noble.call(op="dsa-verify", alg=cert.alg, pk=cert.pub.hex(), msg=octets.hex(),
                      sig=sig.hex())["ok"]:
        raise Fail("the peer's ML-DSA AUTH does not verify (noble)")
    return cert.alg, len(sig)


def signed_octets(msg, nonce, sk_p, id_body, int_auth=b""):
    """RFC 7296 §2.15 (RFC 9242 §3.3.2): RealMessage | Nonce |
    prf(SK_p, RestOfIDPayload) | IntAuth, what AUTH signs."""
    return msg + nonce + prf(sk_p, id_body) + int_auth
