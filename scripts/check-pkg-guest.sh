#!/bin/bash
# The tcpike package under a real systemd: run inside the Debian 12 root
# booted as a VM (systemd as PID 1; scripts/check-pkg-root.sh starts it) by
# a oneshot unit once the system is up.  TAP lines on stdout.
set -uo pipefail
ok() { echo "ok - pkg/systemd: $1"; }
nok() { echo "not ok - pkg/systemd: $1"; }
prop() { systemctl show -P "$1" tcpiked.service; }
# The journal's lines of tcpiked, "PRIORITY MESSAGE".
jlines() {
	journalctl -q -u tcpiked.service -o json --no-pager |
		sed -n 's/.*"PRIORITY":"\([0-9]\)".*"MESSAGE":"\([^"]*\)".*/\1 \2/p;
			s/.*"MESSAGE":"\([^"]*\)".*"PRIORITY":"\([0-9]\)".*/\2 \1/p'
}
wait_for() {	# wait_for SECONDS COMMAND...  (by the clock: commands are slow under TCG)
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do "${@:2}" && return 0; sleep 0.2; done
	"${@:2}"
}
is_active() { [ "$(prop ActiveState)" = active ] && [ "$(prop SubState)" = running ]; }

echo "# $(systemctl --version | head -n 1), kernel $(uname -r)"
if wait_for 30 is_active; then
	ok "tcpiked.service enabled by the package and started: Type=$(prop Type), active (running), MainPID $(prop MainPID)"
else
	nok "tcpiked.service not running: $(prop ActiveState)/$(prop SubState) result $(prop Result)"
	systemctl status --no-pager tcpiked 2>&1 | sed 's/^/# /'
	journalctl -u tcpiked --no-pager | head -n 40 | sed 's/^/# /'
	exit 1
fi
pid=$(prop MainPID)
out=$(tcpikectl status 2>&1) && ok "tcpikectl status: $(echo "$out" | head -n 1)" ||
	{ nok "tcpikectl status"; echo "$out" | sed 's/^/# /'; }
[ "$(stat -c %a /run/tcpiked)" = 700 ] && [ -S /run/tcpiked/tcpiked.sock ] &&
	ok "RuntimeDirectory /run/tcpiked (700) holds the control socket" ||
	nok "/run/tcpiked: $(ls -ld /run/tcpiked /run/tcpiked/* 2>&1 | tr '\n' ' ')"
st=/proc/$pid/status
if grep -q '^CapBnd:[[:space:]]*0*1400$' "$st" && grep -q '^NoNewPrivs:[[:space:]]*1' "$st" &&
   grep -q '^Seccomp:[[:space:]]*2' "$st"; then
	ok "sandbox in force: bounding set CAP_NET_ADMIN+CAP_NET_BIND_SERVICE, no_new_privs, seccomp filter"
else
	nok "sandbox"; grep -E '^(Cap|NoNew|Seccomp)' "$st" | sed 's/^/# /'
fi
if jlines | grep -q '^6 tcpiked started' && jlines | grep -q '^6 capabilities reduced'; then
	ok "journal: tcpiked's lines with their priority (6 = info: 'tcpiked started ...')"
else
	nok "journal priorities"; jlines | tail -n 10 | sed 's/^/# /'
fi
if systemctl reload tcpiked && wait_for 10 is_active &&
   wait_for 10 sh -c 'journalctl -q -u tcpiked --no-pager | grep -q "SIGHUP: reloading"' &&
   [ "$(prop MainPID)" = "$pid" ]; then
	ok "systemctl reload: SIGHUP, configuration re-read, same process, active again"
else
	nok "systemctl reload: $(prop ActiveState)/$(prop SubState)"
	jlines | tail -n 10 | sed 's/^/# /'
fi
# Restart=on-failure: killed, it comes back after RestartSec (5 s).
kill -KILL "$pid"
if wait_for 20 sh -c '[ "$(systemctl show -P NRestarts tcpiked)" = 1 ]' && wait_for 20 is_active &&
   [ "$(prop MainPID)" != "$pid" ]; then
	ok "Restart=on-failure: killed with SIGKILL, started again ($(prop NRestarts) restart)"
else
	nok "restart on failure: $(prop ActiveState)/$(prop SubState) NRestarts $(prop NRestarts)"
fi
if systemctl stop tcpiked && [ "$(prop ActiveState)" = inactive ] && [ "$(prop ExecMainStatus)" = 0 ] &&
   jlines | grep -q '^6 tcpiked stopped'; then
	ok "systemctl stop: inactive, exit status 0, 'tcpiked stopped' in the journal"
else
	nok "systemctl stop: $(prop ActiveState) status $(prop ExecMainStatus) result $(prop Result)"
fi
