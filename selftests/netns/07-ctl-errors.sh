#!/bin/bash
# tcpikectl's messages when it cannot talk to the daemon: no socket (exit
# 3, "cannot connect ... is tcpiked running?"), a socket of a daemon it may
# not use as non-root (exit 3, "permission denied"), and the daemon
# refusing a non-root peer that got through the file mode.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "ctl$$" || tap_skip_all "cannot build the namespace pair"

out=$("$BIN/tcpikectl" -s "$IKE_DIR/none.sock" status 2>&1); rc=$?
tap_check "no daemon: exit 3 ($rc)" test "$rc" = 3
tap_check "no daemon: says it cannot connect and asks whether tcpiked runs ($out)" \
	grep -q "cannot connect to $IKE_DIR/none.sock: No such file or directory (is tcpiked running?)" <<<"$out"

ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
tap_check "root: tcpikectl status works" ike_ctl b status
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	chmod 755 "$IKE_DIR"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BIN/tcpikectl" -s "$IKE_DIR/b.sock" status 2>&1); rc=$?
	tap_check "non-root: exit 3 ($rc)" test "$rc" = 3
	tap_check "non-root: a clear message ($out)" \
		grep -q "permission denied: tcpikectl must run as root" <<<"$out"
	chmod 700 "$IKE_DIR"
else
	tap_skip "non-root checks" "no nobody user or setpriv"
fi
ike_stop b
tap_done
