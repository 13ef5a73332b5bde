#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Crafted RFC 9329 TCP streams against a live IKE responder.

    ikestream.py [--src ADDR] HOST PORT ACTION...
    ikestream.py [--src ADDR] HOST PORT hold:N[:HEX[:S]]
    ikestream.py [--src ADDR] HOST PORT garbage:N:SEED
    ikestream.py [--src ADDR] HOST PORT slow:N:S
    ikestream.py [--src ADDR] HOST PORT inits:N:SEED
    ikestream.py [--src ADDR] HOST PORT fill:N:A:SEND:S

One connection runs the ACTIONs in order:

    prefix            send "IKETCP" (RFC 9329 §4)
    prefix-slow       send "IKETCP" one byte per segment, 50 ms apart
    raw:HEX           send these bytes as they are
    init:SEED         send one framed IKE_SA_INIT request (Length | 00000000 |
                      message); the same SEED gives the same bytes, so a
                      second connection can retransmit it exactly
    init-notify:SEED:TYPE  the same with one more payload, N(TYPE) with
                      protocol 0, no SPI and 4 bytes of data "junk"
    big:N             send an IKE frame (marker included) of N message bytes
    msg:HEX           send one IKE message (hex) as a frame
    reconnect         close, then a new connection (send prefix again)
    expect-cookie:S   a frame within S s: an IKE_SA_INIT response with N(COOKIE)
    init-cookie:SEED[:PSHEX]  init:SEED again with that cookie (and an
                      RFC 8019 Puzzle Solution payload)
    expect-frame:S    any frame arrives within S s
    sleep:S           wait S seconds
    shut              shutdown(SHUT_WR): our side of the stream ends
    expect-close:S    the peer closes (EOF or reset) within S s, sending nothing
    expect-open:S     the peer neither closes nor sends anything for S s
    expect-init-resp:S  one frame arrives within S s: an IKE_SA_INIT response
                      to our last init (R flag, our SPIi, a SPIr, message ID 0,
                      first payload SA); prints "spi_r HEX"
    expect-notify:TYPE[:LEN]  that response carries N(TYPE) encoded with protocol
                      0, SPI size 0 and no data (LEN bytes in all, 8 by default)
    expect-no-notify:TYPE  that response carries no N(TYPE)

Each expectation prints one line; the exit status is 1 at the first one
that does not hold (the line says why), 0 when all held.

hold:N[:HEX[:S]] opens N connections, sends the prefix (and HEX) on each,
waits S seconds (1), and prints "open" or
"closed" per connection then (the per-address limit check).

slow:N:S opens N connections that send "IKE" (half the prefix) and stall,
and waits up to S s for the peer to close each; prints "closed C of N,
refused R, last close after T s" (refused: closed before the stall began).

inits:N:SEED opens N connections, each sending the prefix and an
IKE_SA_INIT (seeds SEED-0 .. SEED-N-1) it never follows up (a TCP
half-open flood); prints "answered A cookies K closed C of N" after 2 s.

fill:N:A:SEND:S opens N connections from A consecutive addresses (--src
and the A - 1 after it, round robin), each sending the prefix and SEND
bytes of an IKE frame announcing the largest message (65000 bytes, marker
included: a partial frame the responder buffers); prints "opened O of N"
once all are opened (a refused one is closed), holds them S seconds and
prints "open O of N" (those the peer did not close).  For tcp_max: raise
RLIMIT_NOFILE first (prlimit).

garbage:N:SEED opens N connections (at most 100 at a time) that send
random bytes (some after a valid prefix, some half-closed afterwards) and
waits for the peer to close each; prints "closed C of N" and the number
still open after the wait (exit 1 when any).
"""
import errno
import ipaddress
import os
import random
import select
import socket
import struct
import sys
import time

IKETCP = b"IKETCP"
MARKER = b"\0\0\0\0"

# aes256gcm16-prfsha256-x25519 (RFC 7296 §3.3, RFC 8031)
ENCR_AES_GCM_16, PRF_HMAC_SHA2_256, KE_X25519 = 20, 5, 31
PL_SA, PL_KE, PL_NONCE, PL_NOTIFY, PL_PS = 33, 34, 40, 41, 54
N_COOKIE, N_PUZZLE = 16390, 16434
EXCH_IKE_SA_INIT = 34


def transform(ttype, tid, attrs=b"", last=False):
    body = struct.pack("!BBH", ttype, 0, tid) + attrs
    return struct.pack("!BBH", 0 if last else 3, 0, 4 + len(body)) + body


def payload(nxt, body):
    return struct.pack("!BBH", nxt, 0, 4 + len(body)) + body


def sa_init(seed, notify=None, cookie=None, ps=None):
    """A well-formed IKE_SA_INIT request; deterministic for a seed.  With
    notify, one more payload: N(notify) with 4 bytes of data.  With cookie,
    N(COOKIE) first (RFC 7296 §2.6), and ps (RFC 8019) right after it."""
    rnd = random.Random(seed)
    spi_i = bytes(rnd.getrandbits(8) for _ in range(8))
    ke = bytes(rnd.getrandbits(8) for _ in range(32))
    nonce = bytes(rnd.getrandbits(8) for _ in range(32))
    trans = (transform(1, ENCR_AES_GCM_16, struct.pack("!HH", 0x800E, 256)) +
             transform(2, PRF_HMAC_SHA2_256) +
             transform(4, KE_X25519, last=True))
    prop = struct.pack("!BBHBBBB", 0, 0, 8 + len(trans), 1, 1, 0, 3) + trans
    body = (payload(PL_KE, prop) +
            payload(PL_NONCE, struct.pack("!HH", KE_X25519, 0) + ke) +
            payload(PL_NOTIFY if notify else 0, nonce))
    if notify:
        body += payload(0, struct.pack("!BBH", 0, 0, notify) + b"junk")
    first = PL_SA
    if ps is not None:
        body = payload(PL_SA, ps) + body
        first = PL_PS
    if cookie is not None:
        body = payload(first, struct.pack("!BBH", 0, 0, N_COOKIE) + cookie) + body
        first = PL_NOTIFY
    hdr = spi_i + b"\0" * 8 + struct.pack("!BBBBII", first, 0x20,
                                          EXCH_IKE_SA_INIT, 0x08, 0,
                                          28 + len(body))
    return spi_i, hdr + body


def frame(msg):
    return struct.pack("!H", 2 + 4 + len(msg)) + MARKER + msg


class Fail(Exception):
    pass


def connect(host, port, src):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if src:
        s.bind((src, 0))
    s.settimeout(5)
    s.connect((host, port))
    return s


def wait_event(s, timeout):
    """('data', bytes) / ('closed', None) / ('timeout', None)."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return "timeout", None
        p = select.poll()	# select() stops at descriptor 1024 (hold:2000)
        p.register(s, select.POLLIN)
        if not p.poll(left * 1000):
            continue
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return "closed", None
        return ("data", d) if d else ("closed", None)


def read_frame(s, timeout):
    buf = b""
    end = time.monotonic() + timeout
    while True:
        if len(buf) >= 2:
            n = struct.unpack("!H", buf[:2])[0]
            if n < 2:
                raise Fail("response frame with Length %d" % n)
            if len(buf) >= n:
                return buf[2:n]
        ev, d = wait_event(s, max(0.0, end - time.monotonic()))
        if ev != "data":
            raise Fail("no complete frame: %s after %d bytes" % (ev, len(buf)))
        buf += d


def check_init_resp(f, spi_i):
    if len(f) < 4 + 28 or f[:4] != MARKER:
        raise Fail("response frame is not an IKE message (%d bytes)" % len(f))
    m = f[4:]
    spi_r = m[8:16]
    nxt, ver, exch, flags, msgid, length = struct.unpack("!BBBBII", m[16:28])
    if length != len(m):
        raise Fail("IKE length %d in a %d byte frame" % (length, len(m)))
    if m[:8] != spi_i or exch != EXCH_IKE_SA_INIT or not flags & 0x20 or msgid:
        raise Fail("not our IKE_SA_INIT response: exch %d flags %#x msgid %d"
                   % (exch, flags, msgid))
    if nxt != PL_SA or spi_r == b"\0" * 8:
        raise Fail("IKE_SA_INIT response without SA (first payload %d)" % nxt)
    return spi_r.hex(), m


def payloads(m):
    """(type, offset, length) of each payload of an IKE message in turn."""
    nxt, off = m[16], 28
    while nxt and off + 4 <= len(m):
        this = nxt
        nxt, _, plen = struct.unpack("!BBH", m[off:off + 4])
        if plen < 4 or off + plen > len(m):
            raise Fail("malformed payload chain at offset %d" % off)
        yield this, off, plen
        off += plen


def cookie_of(f, spi_i):
    """The COOKIE data of an IKE_SA_INIT response that asks for one."""
    if len(f) < 4 + 28 or f[:4] != MARKER or f[4:12] != spi_i:
        raise Fail("not an IKE_SA_INIT response to us (%d bytes)" % len(f))
    m = f[4:]
    for this, off, plen in payloads(m):
        if this == PL_NOTIFY and plen >= 8 and \
                struct.unpack("!H", m[off + 6:off + 8])[0] == N_COOKIE:
            return m[off + 8:off + plen], m
    raise Fail("IKE_SA_INIT response without N(COOKIE)")


def notifies(m):
    """{type: [(protocol, spi size, payload length)]} of an IKE message."""
    out = {}
    for this, off, plen in payloads(m):
        if this == PL_NOTIFY and plen >= 8:
            proto, spis, ntype = struct.unpack("!BBH", m[off + 4:off + 8])
            out.setdefault(ntype, []).append((proto, spis, plen))
    return out


def run_actions(host, port, src, actions):
    s = connect(host, port, src)
    spi_i = None
    resp = None
    cookie = None
    t0 = time.monotonic()
    for a in actions:
        verb, _, arg = a.partition(":")
        if verb == "prefix":
            s.sendall(IKETCP)
        elif verb == "prefix-slow":
            for b in IKETCP:
                s.sendall(bytes([b]))
                time.sleep(0.05)
        elif verb == "raw":
            s.sendall(bytes.fromhex(arg))
        elif verb == "init":
            spi_i, msg = sa_init(arg)
            s.sendall(frame(msg))
        elif verb == "init-notify":
            seed, _, ntype = arg.partition(":")
            spi_i, msg = sa_init(seed, int(ntype))
            s.sendall(frame(msg))
        elif verb == "reconnect":
            s.close()
            s = connect(host, port, src)
        elif verb == "init-cookie":
            # init-cookie:SEED[:PSHEX] the same request again with the
            # cookie of the last expect-cookie (and a puzzle solution)
            seed, _, pshex = arg.partition(":")
            spi_i, msg = sa_init(seed, cookie=cookie,
                                 ps=bytes.fromhex(pshex) if pshex else None)
            s.sendall(frame(msg))
        elif verb == "expect-cookie":
            if spi_i is None:
                raise Fail("expect-cookie without init")
            cookie, resp = cookie_of(read_frame(s, float(arg)), spi_i)
            print("cookie of %d bytes" % len(cookie))
        elif verb == "msg":
            s.sendall(frame(bytes.fromhex(arg)))
        elif verb == "expect-frame":
            f = read_frame(s, float(arg))
            print("frame of %d bytes" % len(f))
        elif verb == "big":
            s.sendall(frame(os.urandom(int(arg))))
        elif verb == "sleep":
            time.sleep(float(arg))
        elif verb == "shut":
            s.shutdown(socket.SHUT_WR)
        elif verb == "expect-close":
            ev, d = wait_event(s, float(arg))
            if ev != "closed":
                raise Fail("%s: expected the peer to close, got %s%s" %
                           (a, ev, " (%d bytes)" % len(d) if d else ""))
            print("closed %.1f s after connecting" % (time.monotonic() - t0))
        elif verb == "expect-open":
            ev, d = wait_event(s, float(arg))
            if ev != "timeout":
                raise Fail("%s: expected an open, quiet connection, got %s" %
                           (a, ev))
            print("open")
        elif verb == "expect-init-resp":
            if spi_i is None:
                raise Fail("expect-init-resp without init")
            spi_r, resp = check_init_resp(read_frame(s, float(arg)), spi_i)
            print("spi_r", spi_r)
        elif verb in ("expect-notify", "expect-no-notify"):
            if resp is None:
                raise Fail(verb + " without a response")
            ntype, _, nlen = arg.partition(":")
            nlen = int(nlen) if nlen else 8
            got = notifies(resp).get(int(ntype), [])
            if verb == "expect-no-notify":
                if got:
                    raise Fail("response carries N(%s)" % arg)
            elif got != [(0, 0, nlen)]:
                raise Fail("N(%s) in the response: %s, expected one with "
                           "protocol 0, SPI size 0, length %d" % (ntype, got, nlen))
            print(verb, arg)
        else:
            raise Fail("unknown action " + a)
    s.close()


def hold(host, port, src, n, extra=b"", secs=1.0):
    socks = []
    for _ in range(n):
        s = connect(host, port, src)
        s.sendall(IKETCP + extra)
        socks.append(s)
    time.sleep(secs)
    out = []
    for s in socks:
        ev, _ = wait_event(s, 0.01)
        out.append("closed" if ev == "closed" else "open")
        s.close()
    print(" ".join(out))


def wait_closed(socks, limit, on_close=None, on_data=None):
    """Reads the non-blocking sockets until each is closed by the peer or
    limit seconds pass; the closed ones leave the list (on_close(s) for
    each, on_data(s, bytes) for what arrived).  Returns the open ones."""
    live = list(socks)
    end = time.monotonic() + limit
    p = select.poll()	# select() stops at descriptor 1024 (fill)
    byfd = {}
    for s in live:
        p.register(s, select.POLLIN)
        byfd[s.fileno()] = s
    while live and time.monotonic() < end:
        for fd, _ in p.poll(max(0, end - time.monotonic()) * 1000):
            s = byfd[fd]
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                d = b""
            except BlockingIOError:
                continue
            if d:
                if on_data:
                    on_data(s, d)
                continue
            live.remove(s)
            p.unregister(fd)
            if on_close:
                on_close(s)
    return live


def fill(host, port, src, n, nsrc, send, secs):
    base = ipaddress.ip_address(src)
    # not zeros: pages of zeros may cost the responder nothing
    body = bytes(random.Random(send).getrandbits(8) for _ in range(send))
    part = IKETCP + struct.pack("!H", 2 + 4 + 65000) + (MARKER + body)[:send]
    socks = []
    t0 = time.monotonic()
    # 100 handshakes at a time (the listener's backlog is 128): one by one
    # took 27 s on a loaded machine, near tcp_idle_timeout
    for b0 in range(0, n, 100):
        p = select.poll()
        pending = {}
        for i in range(b0, min(n, b0 + 100)):
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            s.bind((str(base + i % nsrc), 0))
            s.setblocking(False)
            s.connect_ex((host, port))
            p.register(s, select.POLLOUT)
            pending[s.fileno()] = s
        end = time.monotonic() + 10
        while pending and time.monotonic() < end:
            for fd, _ in p.poll(max(0, end - time.monotonic()) * 1000):
                s = pending.pop(fd)
                p.unregister(fd)
                try:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        raise OSError("connect failed")
                    s.settimeout(5)
                    s.sendall(part)
                    s.setblocking(False)
                    socks.append(s)
                except OSError:
                    s.close()
        for s in pending.values():
            s.close()
    print("opened %d of %d in %.1f s" % (len(socks), n, time.monotonic() - t0), flush=True)
    still = wait_closed(socks, secs, on_close=lambda s: s.close())
    print("open %d of %d" % (len(still), n))
    for s in still:
        s.close()
    return 0


def garbage(host, port, src, n, seed):
    rnd = random.Random(seed)
    done = 0
    left_open = 0
    todo = n
    while todo:
        batch = []
        for _ in range(min(100, todo)):
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 3000)))
            if rnd.random() < 0.5:
                data = IKETCP + data
            s = connect(host, port, src)
            try:
                s.sendall(data)
                if rnd.random() < 0.3:
                    s.shutdown(socket.SHUT_WR)
            except OSError as e:
                if e.errno not in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                    raise
            s.setblocking(False)
            batch.append(s)
        todo -= len(batch)
        still = wait_closed(batch, 8, on_close=lambda s: s.close())
        done += len(batch) - len(still)
        left_open += len(still)
        for s in still:
            s.close()
    print("closed %d of %d, %d still open" % (done, n, left_open))
    return 0 if left_open == 0 and done == n else 1


def slow(host, port, src, n, limit):
    socks, refused = [], 0
    for _ in range(n):
        s = connect(host, port, src)
        try:
            s.sendall(IKETCP[:3])
        except OSError:
            refused += 1
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    start = time.monotonic()
    last = [0.0]

    def closed(s):
        last[0] = time.monotonic() - start
        s.close()

    still = wait_closed(socks, limit, on_close=closed)
    done, last = len(socks) - len(still), last[0]
    for s in still:
        s.close()
    print("closed %d of %d, refused %d, last close after %.1f s" % (done, n, refused, last))
    return 0


def inits(host, port, src, n, seed):
    socks = []
    answered = cookies = closed = 0
    for i in range(n):
        s = connect(host, port, src)
        try:
            s.sendall(IKETCP + frame(sa_init("%s-%d" % (seed, i))[1]))
        except OSError:
            closed += 1
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    bufs = {s: b"" for s in socks}

    def got(s, d):
        bufs[s] += d

    closed += len(socks) - len(wait_closed(socks, 2, on_data=got))
    for s in socks:
        b = bufs[s]
        if len(b) >= 2 + 4 + 28:
            answered += 1
            # N(COOKIE) first: notify type in the first payload
            if b[6 + 16] == PL_NOTIFY and struct.unpack("!H", b[6 + 28 + 6:6 + 28 + 8])[0] == N_COOKIE:
                cookies += 1
        s.close()
    print("answered %d cookies %d closed %d of %d" % (answered, cookies, closed, n))
    return 0


def main(argv):
    src = None
    if len(argv) > 2 and argv[1] == "--src":
        src = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    host, port, acts = argv[1], int(argv[2]), argv[3:]
    try:
        if acts[0].startswith("hold:"):
            f = acts[0].split(":")
            hold(host, port, src, int(f[1]), bytes.fromhex(f[2]) if len(f) > 2 else b"",
                 float(f[3]) if len(f) > 3 else 1.0)
            return 0
        if acts[0].startswith("slow:"):
            _, n, lim = acts[0].split(":")
            return slow(host, port, src, int(n), float(lim))
        if acts[0].startswith("inits:"):
            _, n, seed = acts[0].split(":")
            return inits(host, port, src, int(n), seed)
        if acts[0].startswith("fill:"):
            _, n, nsrc, send, secs = acts[0].split(":")
            return fill(host, port, src, int(n), int(nsrc), int(send), float(secs))
        if acts[0].startswith("garbage:"):
            _, n, seed = acts[0].split(":")
            return garbage(host, port, src, int(n), seed)
        run_actions(host, port, src, acts)
    except Fail as e:
        print("FAIL:", e)
        return 1
    except OSError as e:
        print("FAIL: socket error:", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
