#!/usr/bin/env python3
"""Every XFRM state and policy of the current network namespace, field by
field, as the kernel reports them in its netlink dump (XFRM_MSG_GETSA and
XFRM_MSG_GETPOLICY with NLM_F_DUMP): one line per field of struct
xfrm_usersa_info / xfrm_userpolicy_info and one per attribute (its bytes
in hex; templates split into their fields).  For comparing what two key
managers installed: run it in two namespaces and diff.

    xfrm_dump.py [--counters]

What changes by itself is left out unless --counters is given: the
current lifetime (add time, bytes, packets), the statistics, the last-use
time and a policy's index.  States are ordered by (destination, SPI),
policies by (direction, selector).
"""
import socket
import struct
import sys

from xfrm_ae import parse_attrs

NETLINK_XFRM = 6
XFRM_MSG_GETSA = 0x12
XFRM_MSG_GETPOLICY = 0x15
NLM_F_REQUEST = 1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3

ATTR_NAMES = {
    1: 'XFRMA_ALG_AUTH', 2: 'XFRMA_ALG_CRYPT', 3: 'XFRMA_ALG_COMP',
    4: 'XFRMA_ENCAP', 5: 'XFRMA_TMPL', 6: 'XFRMA_SA', 7: 'XFRMA_POLICY',
    8: 'XFRMA_SEC_CTX', 9: 'XFRMA_LTIME_VAL', 10: 'XFRMA_REPLAY_VAL',
    11: 'XFRMA_REPLAY_THRESH', 12: 'XFRMA_ETIMER_THRESH', 13: 'XFRMA_SRCADDR',
    14: 'XFRMA_COADDR', 15: 'XFRMA_LASTUSED', 16: 'XFRMA_POLICY_TYPE',
    17: 'XFRMA_MIGRATE', 18: 'XFRMA_ALG_AEAD', 19: 'XFRMA_KMADDRESS',
    20: 'XFRMA_ALG_AUTH_TRUNC', 21: 'XFRMA_MARK', 22: 'XFRMA_TFCPAD',
    23: 'XFRMA_REPLAY_ESN_VAL', 24: 'XFRMA_SA_EXTRA_FLAGS', 25: 'XFRMA_PROTO',
    26: 'XFRMA_ADDRESS_FILTER', 27: 'XFRMA_PAD', 28: 'XFRMA_OFFLOAD_DEV',
    29: 'XFRMA_SET_MARK', 30: 'XFRMA_SET_MARK_MASK', 31: 'XFRMA_IF_ID',
    32: 'XFRMA_MTIMER_THRESH', 33: 'XFRMA_SA_DIR', 34: 'XFRMA_NAT_KEEPALIVE_INTERVAL',
    35: 'XFRMA_SA_PCPU',
}
# Attributes that change by themselves (left out without --counters).
MOVING = {15}

SEL = '=16s16sHHHHHBBBxxxiI'			# struct xfrm_selector, 56 bytes
SEL_NAMES = ('daddr', 'saddr', 'dport', 'dport_mask', 'sport', 'sport_mask',
             'family', 'prefixlen_d', 'prefixlen_s', 'proto', 'ifindex', 'user')
LFT_CFG = '=8Q'					# struct xfrm_lifetime_cfg
LFT_CFG_NAMES = ('soft_byte_limit', 'hard_byte_limit', 'soft_packet_limit',
                 'hard_packet_limit', 'soft_add_expires_seconds',
                 'hard_add_expires_seconds', 'soft_use_expires_seconds',
                 'hard_use_expires_seconds')
TMPL = '=16sIBxxxHxx16sIBBBxIII'		# struct xfrm_user_tmpl, 64 bytes
TMPL_NAMES = ('id.daddr', 'id.spi', 'id.proto', 'family', 'saddr', 'reqid',
              'mode', 'share', 'optional', 'aalgos', 'ealgos', 'calgos')


def hexs(b):
    return b.hex() if isinstance(b, bytes) else b


def fields(prefix, fmt, names, raw):
    vals = struct.unpack(fmt, raw[:struct.calcsize(fmt)])
    return [f'{prefix}{n} {hexs(v)}' for n, v in zip(names, vals)]


def attrs(buf, counters):
    out = []
    for kind, data in parse_attrs(buf).items():
        if kind in MOVING and not counters:
            continue
        name = ATTR_NAMES.get(kind, f'attr{kind}')
        if kind == 5:
            size = struct.calcsize(TMPL)
            for i in range(0, len(data) - size + 1, size):
                out += fields(f'{name}[{i // size}].', TMPL, TMPL_NAMES, data[i:i + size])
        else:
            out.append(f'{name} {data.hex()}')
    return out


def state_lines(body, counters):
    sel = body[0:56]
    (daddr, spi, proto) = struct.unpack('=16sIB', body[56:77])
    (saddr,) = struct.unpack('=16s', body[80:96])
    seq, reqid, family, mode, replay_window, flags = struct.unpack('=IIHBBB', body[204:217])
    key = (daddr, socket.ntohl(spi))
    lines = fields('sel.', SEL, SEL_NAMES, sel)
    lines += [f'id.daddr {daddr.hex()}', f'id.spi {socket.ntohl(spi):#x}',
              f'id.proto {proto}', f'saddr {saddr.hex()}']
    lines += fields('lft.', LFT_CFG, LFT_CFG_NAMES, body[96:160])
    if counters:
        lines += [f'curlft {body[160:192].hex()}', f'stats {body[192:204].hex()}']
    lines += [f'seq {seq}', f'reqid {reqid}', f'family {family}', f'mode {mode}',
              f'replay_window {replay_window}', f'flags {flags:#x}']
    lines += attrs(body[224:], counters)
    return key, lines


def policy_lines(body, counters):
    sel = body[0:56]
    priority, index, pdir, action, flags, share = struct.unpack('=IIBBBB', body[152:164])
    key = (pdir, sel)
    lines = fields('sel.', SEL, SEL_NAMES, sel)
    lines += fields('lft.', LFT_CFG, LFT_CFG_NAMES, body[56:120])
    if counters:
        lines += [f'curlft {body[120:152].hex()}', f'index {index}']
    lines += [f'priority {priority}', f'dir {pdir}', f'action {action}',
              f'flags {flags:#x}', f'share {share}']
    lines += attrs(body[168:], counters)
    return key, lines


def dump(msg_type):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    s.bind((0, 0))
    # The dump request needs a body: xfrm_usersa_info or xfrm_userpolicy_id
    # sized zeros are accepted by both dumps.
    body = bytes(224)
    s.send(struct.pack('=IHHII', 16 + len(body), msg_type,
                       NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    msgs = []
    while True:
        data = s.recv(1 << 20)
        off = 0
        while off + 16 <= len(data):
            ln, typ = struct.unpack('=IH', data[off:off + 6])
            if typ == NLMSG_DONE:
                s.close()
                return msgs
            if typ == NLMSG_ERROR:
                err = struct.unpack('=i', data[off + 16:off + 20])[0]
                raise SystemExit(f'xfrm_dump: dump refused: error {-err}')
            msgs.append(data[off + 16:off + ln])
            off += (ln + 3) & ~3


def main():
    counters = '--counters' in sys.argv[1:]
    for kind, msg_type, fn in (('state', XFRM_MSG_GETSA, state_lines),
                               ('policy', XFRM_MSG_GETPOLICY, policy_lines)):
        for key, lines in sorted((fn(m, counters) for m in dump(msg_type)),
                                 key=lambda kl: kl[0]):
            print(f'{kind}:')
            for ln in lines:
                print(f'  {ln}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
