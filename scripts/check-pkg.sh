#!/bin/bash
# scripts/check --layer pkg: installing tcpike like any Debian daemon.
#
#   scripts/check-pkg.sh [--host-only]
#   scripts/check-pkg.sh --print-expected UNITDIR    (the list of files)
#
# On the host: make install DESTDIR=... installs exactly the listed files
# with their modes, never overwrites a configuration, and make uninstall
# leaves only it; the unit passes systemd-analyze verify and its offline
# security exposure stays at or under 2.5; the man pages lint clean (mandoc
# and man --warnings) and tcpiked.conf(5) names every key config.c accepts;
# stderr lines carry their priority when $JOURNAL_STREAM says it is the
# journal; every system call tcpiked makes (strace) is in the unit's
# SystemCallFilter.
# In a Debian 12 root (scripts/debian-root.sh, cached): dpkg-buildpackage
# -us -uc -b, lintian without errors, the packages installed (DKMS builds
# the module against Debian's 6.1 headers), the unit verified there, the
# service run as a minimal init would run it (the unit's own ExecStart and
# ExecReload, its capability bounding set and no_new_privs, $NOTIFY_SOCKET
# and RuntimeDirectory, in a network namespace of its own): READY=1,
# tcpikectl status, reload (RELOADING=1, READY=1), stop (STOPPING=1, exit
# 0); then remove (only configuration left) and purge (nothing left).
# TAP lines on stdout.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
host_only=0
[ "${1:-}" = --host-only ] && host_only=1

ok() { echo "ok - pkg/$1"; }
nok() { echo "not ok - pkg/$1"; }
# check NAME COMMAND...: ok when COMMAND succeeds, else not ok with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		nok "$name"
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/# /'
	fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/tcpike-pkg.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT	# never into a mount left behind

# What make install puts where (mode path), for PREFIX=/usr; the package
# holds the same (man pages compressed) plus its changelog and copyright.
expected_files() {
	local unitdir=$1
	cat <<EOF
600 etc/tcpiked.conf
644 ${unitdir#/}/tcpiked.service
755 usr/sbin/tcpike-nl
755 usr/sbin/tcpikectl
755 usr/sbin/tcpiked
644 usr/share/bash-completion/completions/tcpike-nl
644 usr/share/bash-completion/completions/tcpikectl
644 usr/share/bash-completion/completions/tcpiked
644 usr/share/doc/tcpike/examples/tcpiked.conf
644 usr/share/man/man5/tcpiked.conf.5
644 usr/share/man/man8/tcpike-nl.8
644 usr/share/man/man8/tcpikectl.8
644 usr/share/man/man8/tcpiked.8
EOF
}
if [ "${1:-}" = --print-expected ]; then
	expected_files "$2"
	exit 0
fi
list_files() { (cd "$1" && find . \( -type f -o -type l \) -printf '%m %P\n' | sort -k2); }

# --- host: make install / uninstall ---------------------------------------
t_install() {
	local d=$work/destdir unitdir
	unitdir=$(make -s --no-print-directory -p -q PREFIX=/usr 2>/dev/null |
		sed -n 's/^systemdunitdir := //p;s/^systemdunitdir = //p' | head -n 1)
	make -s PREFIX=/usr systemdunitdir=/lib/systemd/system DESTDIR="$d" install >/dev/null || return 1
	diff -u <(expected_files /lib/systemd/system) <(list_files "$d") || return 1
	# A configuration that is there stays as it is.
	echo '# mine' >"$d/etc/tcpiked.conf"
	chmod 640 "$d/etc/tcpiked.conf"
	make -s PREFIX=/usr systemdunitdir=/lib/systemd/system DESTDIR="$d" install >/dev/null || return 1
	[ "$(cat "$d/etc/tcpiked.conf")" = '# mine' ] || { echo "install overwrote etc/tcpiked.conf"; return 1; }
	[ "$(stat -c %a "$d/etc/tcpiked.conf")" = 640 ] || { echo "install changed the mode of etc/tcpiked.conf"; return 1; }
	make -s PREFIX=/usr systemdunitdir=/lib/systemd/system DESTDIR="$d" uninstall >/dev/null || return 1
	diff -u <(echo "640 etc/tcpiked.conf") <(list_files "$d") || return 1
}
check "make install DESTDIR=... installs exactly the listed files and modes; an existing configuration is kept; uninstall leaves only it" t_install

# The installed configuration loads, and has no live secret.
t_conf() {
	[ -x build/tcpiked ] || make -s programs >/dev/null || return 1
	build/tcpiked -t -f build/tcpiked.conf || return 1
	if grep -nE '^[[:space:]]*(secret|connections|secrets)[[:space:]={]' build/tcpiked.conf; then
		echo "build/tcpiked.conf: the lines above are not commented out"
		return 1
	fi
}
check "the installed configuration (example without its connections and secrets) passes tcpiked -t" t_conf

# --- host: the unit -------------------------------------------------------
# Installed under a real prefix, so verify finds its programs.
t_unit() {
	local p=$work/prefix score
	make -s PREFIX="$p" sysconfdir="$p/etc" install >/dev/null || return 1
	(cd "$work" && systemd-analyze verify --man=no "$p/lib/systemd/system/tcpiked.service") || return 1
	score=$(cd "$work" && systemd-analyze security --offline=true --man=no \
		"$p/lib/systemd/system/tcpiked.service" 2>&1 |
		sed -n 's/.*Overall exposure level for tcpiked.service: \([0-9.]*\).*/\1/p')
	echo "systemd-analyze security: exposure $score"
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'
}
if command -v systemd-analyze >/dev/null; then
	if out=$(t_unit 2>&1); then
		ok "tcpiked.service passes systemd-analyze verify; $(printf '%s\n' "$out" | tail -n 1) (at most 2.5)"
	else
		nok "tcpiked.service: systemd-analyze verify / security"
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
	fi
else
	ok "tcpiked.service # SKIP systemd-analyze not installed"
fi

# Every system call tcpiked makes while it starts, answers status, reloads
# (SIGHUP and tcpikectl) and stops is in the unit's SystemCallFilter= (an
# allow list: the sets it names, expanded by systemd-analyze).
t_syscalls() {
	local conf=$work/sc.conf sock=$work/sc.sock allowed used i
	# xfrm: the netlink socket a real start opens, without its ESP probe
	# (auto refuses to start on a host whose kernel cannot hold ESP states)
	printf 'daemon {\n\tbackend = xfrm\n}\n' >"$conf"
	chmod 600 "$conf"
	allowed=$(systemd-analyze syscall-filter 2>/dev/null | awk -v want="$(sed -n \
		's/^SystemCallFilter=//p' systemd/tcpiked.service.in | tr '\n' ' ')" '
		/^@/ { g = $1 } /^    [a-z@_0-9]/ { m[g] = m[g] " " $1 }
		function add(x,   n, a, k) { if (x !~ /^@/) { ok[x] = 1; return }
			n = split(m[x], a, " "); for (k = 1; k <= n; k++) add(a[k]) }
		END { n = split(want, w, " "); for (i = 1; i <= n; i++) add(w[i])
			for (x in ok) print x }' | sort -u)
	[ -n "$allowed" ] || { echo "no SystemCallFilter sets found"; return 1; }
	unshare -n sh -c "ip link set lo up; exec strace -f -qq -o '$work/strace' build/tcpiked -f '$conf' -S '$sock'" \
		>"$work/sc.log" 2>&1 &
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	build/tcpikectl -s "$sock" status >/dev/null || { cat "$work/sc.log"; return 1; }
	build/tcpikectl -s "$sock" reload >/dev/null || return 1
	pkill -HUP -f "tcpiked -f $conf" && sleep 0.3
	pkill -TERM -f "tcpiked -f $conf"
	wait
	used=$(sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$work/strace" | sort -u)
	[ -n "$used" ] || { echo "strace recorded nothing"; return 1; }
	echo "$(echo "$used" | wc -l) system calls, all allowed"
	! comm -23 <(echo "$used") <(echo "$allowed") | sed 's/$/: not in SystemCallFilter/' | grep .
}
if [ "$(id -u)" != 0 ] || ! command -v strace >/dev/null || ! command -v systemd-analyze >/dev/null; then
	ok "tcpiked's system calls within the unit's SystemCallFilter # SKIP needs root, strace and systemd-analyze"
elif out=$(t_syscalls 2>&1); then
	ok "tcpiked's system calls (start, status, reload, stop) are within the unit's SystemCallFilter: $(printf '%s\n' "$out" | tail -n 1)"
else
	nok "tcpiked makes system calls the unit's SystemCallFilter does not allow"
	printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
fi

# --- host: man pages -------------------------------------------------------
t_man() {
	local f rc=0 w
	make -s build/man/tcpiked.conf.5 >/dev/null || return 1
	for f in man/*.[0-9] build/man/tcpiked.conf.5; do
		mandoc -Tlint -Wwarning "$f" || rc=1
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=all -l "$f" 2>&1 >/dev/null)
		[ -z "$w" ] || { echo "$f: $w"; rc=1; }
	done
	return $rc
}
if command -v mandoc >/dev/null; then
	check "man pages: mandoc -Tlint and man --warnings clean" t_man
else
	ok "man pages lint # SKIP mandoc not installed (scripts/deps.sh installs it)"
fi

# Every key of config.c's key table (tcpiked --config-reference=mdoc
# generates its items) is an item of the built tcpiked.conf(5), and the page
# names no other: the generated reference really went into the page.
t_man_keys() {
	local code page keys='s/^\.It Cm \([a-z_0-9-]*\) .*= .*/\1/p'
	code=$(build/tcpiked --config-reference=mdoc | sed -n "$keys" |
		grep -vE '^id[0-9]+$' | sort -u)
	make -s build/man/tcpiked.conf.5 >/dev/null || return 1
	page=$(sed -n "$keys" build/man/tcpiked.conf.5 | grep -vE '^id[0-9]+$' | sort -u)
	[ -n "$code" ] || { echo "tcpiked --config-reference=mdoc lists no key"; return 1; }
	diff <(printf '%s\n' "$code") <(printf '%s\n' "$page") |
		sed -n 's/^< \(.*\)/\1: accepted by config.c, not in tcpiked.conf(5)/p; s/^> \(.*\)/\1: in tcpiked.conf(5), not accepted by config.c/p'
	[ "$code" = "$page" ]
}
check "tcpiked.conf(5) documents exactly the keys config.c accepts" t_man_keys

# --- host: journal priorities -----------------------------------------------
t_journal() {
	local f=$work/stderr bad=$work/bad.conf
	printf 'daemon {\n\tbogus = 1\n}\n' >"$bad"
	: >"$f"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$f") build/tcpiked -t -f "$bad" 2>>"$f" && return 1
	cat "$f"
	grep -q "^<3>$bad:2: unknown key 'bogus'" "$f" || return 1
	# Not the journal: ISO 8601 UTC timestamps with milliseconds, no prefix.
	build/tcpiked -t -f "$bad" 2>"$f" && return 1
	grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z error: $bad:2:" "$f"
}
check "stderr to the journal (\$JOURNAL_STREAM): each line starts with its priority (<3> for an error)" t_journal

[ $host_only = 1 ] && exit 0

# --- the Debian 12 root -------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	ok "Debian 12 root: package build, lintian, install, service # SKIP needs root"
	exit 0
fi
if ! root=$(scripts/debian-root.sh 2>"$work/root.log"); then
	nok "Debian 12 root (scripts/debian-root.sh)"
	tail -n 20 "$work/root.log" | sed 's/^/# /'
	exit 0
fi
# Everything below in a private mount namespace: the overlay and the mounts
# inside it go away with it, and the cached root is never written.
unshare -m --propagation private "$top/scripts/check-pkg-root.sh" "$root"
