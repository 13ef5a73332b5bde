#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the seed corpus of fuzz_netlink: netlink messages laid out as the
kernel sends them (kernel/netlink.c for the tcpike family, the XFRM GETSA
reply and error acks with extack), one buffer per file.

    userspace/fuzz/gen_netlink_seeds.py userspace/fuzz/corpus/netlink
"""
import os
import struct
import sys

FAM = 0x1d  # a generic-netlink family id as the controller hands out
NLMSG_ERROR = 2
NLM_F_MULTI, NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x2, 0x100, 0x200
XFRM_MSG_NEWSA, XFRMA_ENCAP, XFRMA_LASTUSED = 0x10, 4, 15
A = {n: i for i, n in enumerate(
    "UNSPEC SPI FAMILY SRC DST MODE REQID AEAD_NAME AEAD_ICV_BITS ENC_NAME "
    "AUTH_NAME AUTH_TRUNC_BITS ENC_KEY AUTH_KEY REPLAY_WINDOW SA_FLAGS "
    "STATS_PACKETS STATS_BYTES STATS_ERRORS STATS_SAS STATS_SA_CREATED "
    "STATS_SA_DELETED PAD POLICY_DIR SEL_SRC SEL_DST SEL_SRC_PLEN SEL_DST_PLEN "
    "SEL_PROTO PRIORITY STATS_POLICIES LIFE_SOFT_BYTES LIFE_HARD_BYTES "
    "LIFE_SOFT_PACKETS LIFE_HARD_PACKETS LIFE_SOFT_SECONDS LIFE_HARD_SECONDS "
    "EVENT_HARD STATS_EVENTS_SENT STATS_EVENTS_DROPPED ENCAP ENCAP_SPORT "
    "ENCAP_DPORT STATS_STEERS MAPPING_ADDR MAPPING_PORT KEEPALIVE_INTERVAL "
    "STATS_KEEPALIVES STATS_KEEPALIVES_SENT PAIR_SPI REACH_TIMEOUT REACH_UP "
    "STATS_REACHES".split())}
CMD = {n: i for i, n in enumerate(
    "UNSPEC SA_NEW SA_DEL SA_GET STATS_GET POLICY_NEW POLICY_DEL EVENT_EXPIRE "
    "EVENT_ACQUIRE SA_STEER EVENT_MAPPING KEEPALIVE_SET REACH_SET EVENT_REACH "
    "POLICY_GET".split())}


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def nla(t, v):
    return pad(struct.pack("=HH", 4 + len(v), t) + v)


def u8(t, v): return nla(A[t], struct.pack("=B", v))
def u16(t, v): return nla(A[t], struct.pack("=H", v))
def be16(t, v): return nla(A[t], struct.pack(">H", v))
def u32(t, v): return nla(A[t], struct.pack("=I", v))
def be32(t, v): return nla(A[t], struct.pack(">I", v))
def u64(t, v): return nla(A[t], struct.pack("=Q", v))  # after a PAD as needed
def raw(t, v): return nla(A[t], v)
def s(t, v): return nla(A[t], v.encode() + b"\0")


def nlmsg(typ, flags, payload, seq=1):
    return pad(struct.pack("=IHHII", 16 + len(payload), typ, flags, seq, 4242) + payload)


def genl(cmd, attrs, flags=0):
    return nlmsg(FAM, flags, struct.pack("=BBH", CMD[cmd], 1, 0) + b"".join(attrs))


V4A, V4B = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 7])
V6A = bytes.fromhex("20010db8000000000000000000000001")
V6B = bytes.fromhex("20010db8000000000000000000000002")


def sa(fam, src, dst, encap):
    return [be32("SPI", 0xc0ffee01), u16("FAMILY", fam), raw("SRC", src), raw("DST", dst),
            u8("MODE", 1), u32("REQID", 7), s("AEAD_NAME", "rfc4106(gcm(aes))"),
            u32("AEAD_ICV_BITS", 128), u32("REPLAY_WINDOW", 128), u32("SA_FLAGS", 1),
            u64("STATS_PACKETS", 10), u64("STATS_BYTES", 1400), u64("STATS_ERRORS", 0),
            u8("ENCAP", encap), be16("ENCAP_SPORT", 4500), be16("ENCAP_DPORT", 4500)]


def policy(fam, a, b):
    return [u8("POLICY_DIR", 1), u16("FAMILY", fam), raw("SEL_SRC", a), raw("SEL_DST", b),
            u8("SEL_SRC_PLEN", 24 if fam == 2 else 64), u8("SEL_DST_PLEN", 32),
            u8("SEL_PROTO", 0), u32("PRIORITY", 1000), u32("REQID", 7), u8("MODE", 1),
            raw("SRC", a), raw("DST", b)]


def ack(err, orig, extack=None, capped=True):
    flags = (NLM_F_CAPPED if capped else 0) | (NLM_F_ACK_TLVS if extack else 0)
    body = struct.pack("=i", err) + (orig if not capped else orig[:16])
    if extack:
        body += nla(1, extack.encode() + b"\0")  # NLMSGERR_ATTR_MSG
    return nlmsg(NLMSG_ERROR, flags, body)


def usersa(fam, src, dst, encap=True):
    sel = src + b"\0" * (16 - len(src)) + dst + b"\0" * (16 - len(dst)) + struct.pack(
        "=HHHHHBBBxxxiI", 0, 0, 0, 0, fam, 0, 0, 0, 0, 0)
    xid = dst + b"\0" * (16 - len(dst)) + struct.pack(">I", 0xc0ffee01) + struct.pack("=B3x", 50)
    saddr = src + b"\0" * (16 - len(src))
    lft = struct.pack("=8Q", *([2**64 - 1] * 8))
    cur = struct.pack("=4Q", 1400, 10, 1700000000, 0)
    stats = struct.pack("=III", 0, 1, 2)
    tail = struct.pack("=IIHBBBB2x", 1, 7, fam, 1, 128, 0, 0)
    info = sel + xid + saddr + lft + cur + stats + tail
    info = info + b"\0" * (224 - len(info))
    attrs = b""
    if encap:
        attrs += nla(XFRMA_ENCAP, struct.pack("=H2xHH", 2, 4500 << 0, 4500) + b"\0" * 16)
    attrs += nla(XFRMA_LASTUSED, struct.pack("=Q", 1700000001))
    return nlmsg(XFRM_MSG_NEWSA, 0, info + attrs)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    req = struct.pack("=IHHII", 20, FAM, 5, 1, 0) + b"\3\1\0\0"
    seeds = {
        "sa-get-v4": genl("SA_GET", sa(2, V4A, V4B, 1)) + ack(0, req),
        "sa-get-v6-tcp": genl("SA_GET", sa(10, V6A, V6B, 2)) + ack(0, req),
        "sa-dump": b"".join(genl("SA_GET", sa(2, V4A, V4B, i), NLM_F_MULTI) for i in range(3))
        + nlmsg(3, NLM_F_MULTI, struct.pack("=i", 0)),
        "policy-dump": genl("POLICY_GET", policy(2, V4A, V4B), NLM_F_MULTI)
        + genl("POLICY_GET", policy(10, V6A, V6B), NLM_F_MULTI)
        + nlmsg(3, NLM_F_MULTI, struct.pack("=i", 0)),
        "stats": genl("STATS_GET", [u32("STATS_SAS", 2), raw("PAD", b""),
                                    u64("STATS_SA_CREATED", 5), u64("STATS_SA_DELETED", 3),
                                    u32("STATS_POLICIES", 4), u64("STATS_EVENTS_SENT", 9),
                                    u64("STATS_EVENTS_DROPPED", 0), u64("STATS_STEERS", 1),
                                    u32("STATS_KEEPALIVES", 1), u64("STATS_KEEPALIVES_SENT", 30),
                                    u32("STATS_REACHES", 1)]) + ack(0, req),
        "ev-expire": genl("EVENT_EXPIRE", [u16("FAMILY", 2), be32("SPI", 1), raw("DST", V4B),
                                           u8("EVENT_HARD", 1)]),
        "ev-acquire": genl("EVENT_ACQUIRE", [u16("FAMILY", 10), raw("SEL_SRC", V6A),
                                             raw("SEL_DST", V6B), u8("SEL_SRC_PLEN", 128),
                                             u8("SEL_DST_PLEN", 128), u8("SEL_PROTO", 6),
                                             u32("REQID", 3), raw("SRC", V6A), raw("DST", V6B)]),
        "ev-mapping": genl("EVENT_MAPPING", [u16("FAMILY", 2), be32("SPI", 2), raw("DST", V4B),
                                             raw("SRC", V4A), be16("ENCAP_SPORT", 4500),
                                             raw("MAPPING_ADDR", V4A), be16("MAPPING_PORT", 40000)]),
        "ev-reach": genl("EVENT_REACH", [u16("FAMILY", 2), be32("SPI", 3), raw("DST", V4B),
                                         be32("PAIR_SPI", 4), u32("REACH_TIMEOUT", 30),
                                         u8("REACH_UP", 0)]),
        "err-extack": ack(-22, req, "tcpike: SA with this SPI exists"),
        "err-extack-uncapped": ack(-2, req, "no such SA", capped=False),
        "xfrm-getsa": usersa(2, V4A, V4B) + ack(0, req),
        "xfrm-getsa-v6-noencap": usersa(10, V6A, V6B, encap=False),
        "xfrm-err": ack(-17, struct.pack("=IHHII", 16, XFRM_MSG_NEWSA, 5, 1, 0),
                        "Invalid encap type"),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
