#!/bin/bash
# The Debian 12 part of scripts/check-pkg.sh; runs in a private mount
# namespace (unshare -m) on an overlay of the cached root, which it never
# writes.  TAP lines on stdout.
#
#   unshare -m --propagation private scripts/check-pkg-root.sh ROOT
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
lower=$1

ok() { echo "ok - pkg/$1"; }
nok() { echo "not ok - pkg/$1"; }
show() { tail -n "${2:-30}" "$1" | sed 's/^/# /'; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tcpike-pkgroot.XXXXXX")
# The root holds an rbind of the host's /dev: if it cannot be unmounted
# (a process still in it, e.g. after a kill), it is detached lazily and
# rm never crosses a mount point, or it would delete the host's devices.
trap 'umount -R "$work/root" 2>/dev/null || umount -R -l "$work/root" 2>/dev/null; rm -rf --one-file-system "$work"' EXIT
mkdir -p "$work/upper" "$work/wk" "$work/root"
if ! mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/upper,workdir=$work/wk" "$work/root"; then
	nok "Debian 12 root: overlay mount of $lower"
	exit 0
fi
root=$work/root
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"
mount -t tmpfs tmpfs "$root/run"
in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# The tree as committed plus what is changed but not ignored (no build/).
version=$(head -n 1 debian/changelog | cut -d' ' -f2 | tr -d '()')
src=$root/build/tcpike-${version%-*}
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z -c -o --exclude-standard | grep -zv '^build/' |
		xargs -0 -I{} sh -c '[ -e "{}" ] || [ -L "{}" ] && printf "%s\0" "{}"' |
		tar -c --null -T - -f - | tar -x -C "$src" -f -
else
	tar -c --exclude=./build -f - . | tar -x -C "$src" -f -
fi

# --- dpkg-buildpackage -----------------------------------------------------
start=$SECONDS
if in_root sh -c "cd /build/${src##*/} && dpkg-buildpackage -us -uc -b" >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b in Debian 12: $(cd "$root/build" && ls *.deb | tr '\n' ' ')($((SECONDS - start)) s)"
else
	nok "dpkg-buildpackage -us -uc -b in Debian 12"
	show "$work/build.log" 40
	exit 0
fi
deb=$(cd "$root/build" && ls tcpike_*.deb)
dkmsdeb=$(cd "$root/build" && ls tcpike-dkms_*.deb)

# --- lintian ---------------------------------------------------------------
in_root sh -c "cd /build && lintian --no-cfg --display-info --fail-on error *.changes" >"$work/lintian.log" 2>&1
rc=$?
if [ $rc = 0 ] && ! grep -q '^E:' "$work/lintian.log"; then
	ok "lintian: no errors ($(grep -c '^W:' "$work/lintian.log") warnings, $(grep -c '^I:' "$work/lintian.log") notes)"
	sed 's/^/# /' "$work/lintian.log"
else
	nok "lintian reports errors"
	show "$work/lintian.log" 40
fi

# --- install ---------------------------------------------------------------
# A listing of the root before, to compare after remove and purge.
snapshot() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./run \
		-o -path ./build -o -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache \
		-o -path ./var/lib/apt \) -prune -o -print | sort)
}
snapshot >"$work/before"
if in_root dpkg -i "/build/$deb" "/build/$dkmsdeb" >"$work/install.log" 2>&1; then
	ok "dpkg -i $deb $dkmsdeb"
else
	nok "dpkg -i $deb $dkmsdeb"
	show "$work/install.log" 40
	exit 0
fi

# DKMS built the module against the root's 6.1 headers when tcpike-dkms was
# configured; the module's vermagic is that kernel's.
kver=$(ls "$root/lib/modules" | grep -- '-amd64$' | sort -V | tail -n 1)
ko=$root/lib/modules/$kver/updates/dkms/tcpike.ko
if [ -n "$kver" ] && [ -f "$ko" ] && in_root dkms status tcpike | grep -q "$kver.*installed" &&
   modinfo -F vermagic "$ko" | grep -q "^$kver "; then
	ok "dkms built and installed tcpike.ko for $kver (Debian's headers): $(in_root dkms status tcpike)"
else
	nok "dkms: no tcpike.ko installed for '$kver'"
	show "$work/install.log" 40
	in_root dkms status 2>&1 | sed 's/^/# /'
fi

# The package holds what make install installs (man pages compressed), and
# its changelog and copyright.
expected=$( (scripts/check-pkg.sh --print-expected /lib/systemd/system 2>/dev/null ||
	true) | awk '{ print $2 }' | sed 's|^\(usr/share/man/.*\)$|\1.gz|'
	echo usr/share/doc/tcpike/changelog.gz
	echo usr/share/doc/tcpike/copyright
	echo usr/share/lintian/overrides/tcpike)
if diff -u <(printf '%s\n' "$expected" | sort) \
	<(in_root dpkg -L tcpike | while read -r f; do [ -d "$root$f" ] || echo "${f#/}"; done | sort) \
	>"$work/files.diff" && [ "$(stat -c %a "$root/etc/tcpiked.conf")" = 600 ]; then
	ok "the tcpike package installs the listed files, /etc/tcpiked.conf mode 600"
else
	nok "the tcpike package's files"
	show "$work/files.diff"
	stat -c '# %a %n' "$root/etc/tcpiked.conf"
fi

if in_root systemd-analyze verify --man=no /lib/systemd/system/tcpiked.service >"$work/verify.log" 2>&1; then
	ok "systemd-analyze verify of the installed unit in Debian 12"
else
	nok "systemd-analyze verify of the installed unit in Debian 12"
	show "$work/verify.log"
fi

# Completion for tcpikectl works with Debian's bash-completion.
comp=$(in_root bash -c 'source /usr/share/bash-completion/bash_completion
	source /usr/share/bash-completion/completions/tcpikectl
	COMP_WORDS=(tcpikectl re); COMP_CWORD=1; COMP_LINE="tcpikectl re"; COMP_POINT=12
	_tcpikectl; echo "${COMPREPLY[*]}"' 2>&1)
[ "$comp" = "rekey reload" ] && ok "bash completion: tcpikectl re<TAB> -> rekey reload" ||
	{ nok "bash completion: tcpikectl re<TAB> gave '$comp'"; }

# --- the service, as a minimal init runs the unit ------------------------------
# The unit's own ExecStart and ExecReload; RuntimeDirectory; its
# CapabilityBoundingSet and NoNewPrivileges through setpriv; $NOTIFY_SOCKET
# read by a listener here; $JOURNAL_STREAM pointing at the log file, as
# systemd sets it; a network namespace of its own (ports 500 and 4500).
unit=$root/lib/systemd/system/tcpiked.service
unit_get() { sed -n "s/^$1=//p" "$unit" | head -n 1; }
exec_start=$(unit_get ExecStart)
exec_reload=$(unit_get ExecReload)
caps=$(unit_get CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
mkdir -m "$(unit_get RuntimeDirectoryMode)" "$root/run/$(unit_get RuntimeDirectory)"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    m = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f:
        f.write(m.replace("\n", " ") + "\n")
' "$root/run/notify" "$work/notify" >"$work/listener.out" 2>&1 &
lpid=$!
for _ in $(seq 50); do [ -S "$root/run/notify" ] && break; sleep 0.1; done
touch "$work/notify" "$work/daemon.log"
wait_notify() {	# wait_notify LINE_NUMBER PATTERN SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		sed -n "$1p" "$work/notify" | grep -q "$2" && return 0
		sleep 0.1
	done
	return 1
}
journal=$(stat -c '%d:%i' "$work/daemon.log")
# backend = auto refuses to run without a kernel that holds ESP states
# (this empty namespace's may lack the algorithms): the unit's command with
# -b none, written out as an administrator would for a control-plane test.
exec_start="$exec_start -b none"
unshare -n chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	NOTIFY_SOCKET=/run/notify JOURNAL_STREAM="$journal" \
	sh -c "ip link set lo up 2>/dev/null || true; exec setpriv --bounding-set=-all,$caps --no-new-privs $exec_start" \
	>>"$work/daemon.log" 2>>"$work/daemon.log" &
dpid=$!
mainpid() { pgrep -P "$dpid" -x tcpiked || { [ "$(cat /proc/$dpid/comm 2>/dev/null)" = tcpiked ] && echo "$dpid"; }; }
if wait_notify 1 '^READY=1' 20; then
	ok "the unit's ExecStart: tcpiked notifies READY=1 (sockets bound, backend open)"
else
	nok "no READY=1 from tcpiked within 20 s"
	show "$work/daemon.log"
fi
# tcpikectl, in the daemon's network namespace is not needed: a unix socket.
if in_root tcpikectl status >"$work/status.out" 2>&1; then
	ok "tcpikectl status answers: $(head -n 1 "$work/status.out")"
else
	nok "tcpikectl status"
	show "$work/status.out"
fi
pid=$(mainpid)
if grep -q '^<6>tcpiked started' "$work/daemon.log"; then
	ok "its log lines carry their priority for the journal (<6>tcpiked started ...)"
else
	nok "no '<6>tcpiked started' line in its log"
	show "$work/daemon.log"
fi
if [ -n "$pid" ] && grep -q '^CapBnd:[[:space:]]*0*1400$' "/proc/$pid/status" &&
   grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status"; then
	ok "it runs with the unit's bounding set (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE) and no_new_privs"
else
	nok "capabilities of the running tcpiked"
	grep -E '^(Cap|NoNew)' "/proc/${pid:-0}/status" 2>&1 | sed 's/^/# /'
fi
# systemctl reload: the unit's ExecReload with $MAINPID.
chroot "$root" /bin/sh -c "MAINPID=$pid; ${exec_reload//\$MAINPID/\$MAINPID}"
if wait_notify 2 '^RELOADING=1' 10 && wait_notify 3 '^READY=1' 10 &&
   grep -q 'SIGHUP: reloading' "$work/daemon.log"; then
	ok "ExecReload (SIGHUP): RELOADING=1 then READY=1, configuration re-read"
else
	nok "ExecReload"
	sed 's/^/# notify: /' "$work/notify"
	show "$work/daemon.log"
fi
if in_root tcpikectl reload >"$work/reload.out" 2>&1 && wait_notify 5 '^READY=1' 10; then
	ok "tcpikectl reload does the same"
else
	nok "tcpikectl reload"
	show "$work/reload.out"
fi
# systemctl stop: SIGTERM to the main process.
kill -TERM "$pid" 2>/dev/null
wait "$dpid"
rc=$?
if [ $rc = 0 ] && grep -q '^STOPPING=1' "$work/notify"; then
	ok "SIGTERM: STOPPING=1, exit 0"
else
	nok "stop: exit $rc"
	sed 's/^/# notify: /' "$work/notify"
	show "$work/daemon.log"
fi
kill "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null
rm -f "$root/run/notify"

# --- under systemd -------------------------------------------------------------
# The root, packages installed, booted with Debian's 6.1 kernel and systemd
# as PID 1 (scripts/vm-run --root); a oneshot unit runs
# scripts/check-pkg-guest.sh once the system is up and writes its TAP to
# the results share, then powers off.
guest_unit=$root/etc/systemd/system/tcpike-pkg-guest.service
if [ "${TCPIKE_PKG_SYSTEMD:-1}" != 1 ]; then
	ok "the package under systemd # SKIP TCPIKE_PKG_SYSTEMD=0"
elif [ -z "$(ls /boot/vmlinuz-6.1.*-amd64 2>/dev/null)" ] || ! command -v qemu-system-x86_64 >/dev/null; then
	ok "the package under systemd # SKIP no Debian 6.1 kernel image or QEMU (scripts/deps.sh installs them)"
else
	cat >"$guest_unit" <<EOF
[Unit]
Description=tcpike packaging test (scripts/check-pkg-guest.sh)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p /run/vmout && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmout /run/vmout && { /build/${src##*/}/scripts/check-pkg-guest.sh >/run/vmout/output 2>&1; echo \$? >/run/vmout/rc; sync; }'
ExecStartPost=/bin/systemctl poweroff --no-block

[Install]
WantedBy=default.target
EOF
	mkdir -p "$root/etc/systemd/system/default.target.wants"
	ln -sf ../tcpike-pkg-guest.service "$root/etc/systemd/system/default.target.wants/"
	umount "$root/proc" "$root/tmp" "$root/run"
	umount -R "$root/dev"
	# The guest writes (its root rw, as on a real machine: PrivateDevices=
	# and the other sandboxing need that) into an overlay of its own that
	# is thrown away, so the remove and purge checks below see only dpkg.
	mkdir -p "$work/vmupper" "$work/vmwk" "$work/vmroot"
	mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/vmupper,workdir=$work/vmwk" "$work/vmroot"
	echo '/dev/root / 9p rw,trans=virtio,version=9p2000.L,msize=512000 0 0' >"$work/vmroot/etc/fstab"
	# The root has no modules for the kernel it boots (no linux-image in
	# it), so neither tcpike.ko nor xfrm_user loads and backend = auto
	# refuses to start: a drop-in runs the unit's command with -b none, as
	# an administrator would for the control plane alone (above).
	mkdir -p "$work/vmroot/etc/systemd/system/tcpiked.service.d"
	printf '[Service]\nExecStart=\nExecStart=%s\n' "$exec_start" \
		>"$work/vmroot/etc/systemd/system/tcpiked.service.d/backend-none.conf"
	start=$SECONDS
	scripts/vm-run --kernel debian --root "$work/vmroot" --init /lib/systemd/systemd --timeout 400 \
		-- true >"$work/guest.out" 2>"$work/guest.err"
	umount "$work/vmroot"
	rc=$?
	grep -E '^(ok|not ok) ' "$work/guest.out"
	grep -vE '^(ok|not ok) ' "$work/guest.out" | sed 's/^/# /'
	if [ $rc != 0 ] || ! grep -q '^ok ' "$work/guest.out"; then
		nok "the package under systemd: the VM run failed (vm-run exit $rc)"
		tail -n 30 "$work/guest.err" | sed 's/^/# /'
	else
		echo "# the systemd VM run took $((SECONDS - start)) s"
	fi
	rm -f "$guest_unit" "$root/etc/systemd/system/default.target.wants/tcpike-pkg-guest.service"
	rmdir "$root/etc/systemd/system/default.target.wants" 2>/dev/null
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/tmp"
	mount -t tmpfs tmpfs "$root/run"
fi

# --- remove, purge ------------------------------------------------------------
# On remove, dpkg keeps the conffile and deb-systemd-helper its record of the
# unit's enablement (the multi-user.target.wants link and its state under
# /var/lib/systemd): configuration; purge removes all of it.  Not ours, and
# so not counted: depmod's index files for the kernel (a root with only
# its headers has none before DKMS runs depmod; linux-image makes them) and
# the key DKMS makes once to sign modules (/var/lib/dkms/mok.*).
not_ours() { grep -v -e '^./usr/lib/modules/[^/]*/modules\.' -e '^./var/lib/dkms/mok\.'; }
in_root dpkg -r tcpike tcpike-dkms >"$work/remove.log" 2>&1 || show "$work/remove.log"
diff <(cat "$work/before") <(snapshot) | sed -n 's/^> //p' | not_ours >"$work/left"
if [ "$(grep -v -e '^./etc/tcpiked.conf$' -e '^./etc/systemd/system/multi-user.target.wants' \
	-e '^./var/lib/systemd/deb-systemd-helper' "$work/left")" = "" ] &&
   grep -qx './etc/tcpiked.conf' "$work/left" && [ ! -e "$ko" ] && [ ! -e "$root/var/lib/dkms/tcpike" ]; then
	ok "dpkg -r leaves the configuration only: $(tr '\n' ' ' <"$work/left")"
else
	nok "dpkg -r left more than the configuration"
	sed 's/^/# left: /' "$work/left"
	show "$work/remove.log"
fi
in_root dpkg -P tcpike tcpike-dkms >"$work/purge.log" 2>&1 || show "$work/purge.log"
if diff "$work/before" <(snapshot | not_ours) >"$work/purge.diff"; then
	ok "dpkg -P leaves nothing behind"
else
	nok "dpkg -P left files"
	show "$work/purge.diff"
fi
