#!/bin/bash
# RFC 7296 §2.21.3 over TCP with tcpiked the TCP originator: the IKE SA
# that answered a request INVALID_SYNTAX ends, and its end closes the
# connection tcpiked opened (TCP-22: one connection per IKE SA, its
# originator closes it).  The answer must still reach the peer, even when
# the socket had no room for it and it waits in tcpiked's own output
# queue at that moment (74 has the peer originate the connection, which
# tcpiked then keeps).
#
# tcpiked a initiates with transport = separate to selftests/ikepeer.py
# (the Python responder at b's address, which echoes SEPARATE_TRANSPORTS):
# a opens TCP 4500 to it for IKE_AUTH and the exchanges after.  The peer,
# its TCP receive buffer small (--tcp-rcvbuf), sends a liveness check,
# reads its answer, then 4,000 copies of that request (each answered
# again from a's cache, §2.1) and an INFORMATIONAL with a Delete of ESP
# with a 3-byte SPI (§3.11), reading nothing for 0.25 s: a's answers fill
# the connection and its socket, the INVALID_SYNTAX one last, in a's
# queue when the SA ends.  The peer must then read that answer, nothing
# after it (no Delete), and the connection's close; a holds no IKE SA and
# its log says why.
# Bounded: about 5 s alone on this host.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
require_py_crypto
topo_pair "ikz$$" || tap_skip_all "cannot build the namespace pair"
. "$TOP/selftests/ikepeer.sh"
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:py.test)

a_run stalled --timeout 5 --tcp-rcvbuf 4096 resp stalled-bad-delete:4000 -- \
	"conn_extra=transport = separate"
peer_wait 20
peer_ok $? "the peer sent the bad Delete behind 4,000 answers it did not read, and read on"
saw "... established with a, IKE over the TCP connection a opened (separate transports)" \
	'^established transport=tcp separate=yes '
saw "... all 4,000 answers to the copies reached it" \
	'^stalled-bad-delete read 4000 answers to the copies$'
saw "... a's INVALID_SYNTAX answer reached it over the connection a closed" \
	'^stalled-bad-delete answered notify=7$'
saw "... nothing after it, no Delete, and a closed the connection (RFC 7296 2.21.3, TCP-22)" \
	'^stalled-bad-delete then the connection closed by the peer$'
tap_check "... a keeps no IKE SA (RFC 7296 2.21.3)" ike_gone_soon a
tap_check "... a's log says why, citing RFC 7296 2.21.3" grep -qF \
	"INFORMATIONAL request answered INVALID_SYNTAX: the IKE SA ends without a Delete (RFC 7296 2.21.3)" \
	"$IKE_DIR/a.log"
ike_stop a
tap_done
