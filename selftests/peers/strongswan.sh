#!/bin/bash
# strongSwan 5.9.8 (charon + swanctl, Debian 12 packages) as an interop
# peer.  Sourced by test scripts after selftests/lib.sh.
#
#   sw_conf NAME key=value...    write NAME's strongswan.conf and swanctl.conf
#   sw_start NS NAME             charon in NS, credentials and conns loaded
#   sw_ctl NAME args...          swanctl on NAME's vici socket
#   sw_initiate NAME / sw_terminate NAME
#   sw_rekey NAME ike|child      swanctl --rekey (charon starts the exchange)
#   sw_sas NAME                  parse --list-sas into SW_COUNT, SW_IKE, SW_CHILD
#   sw_child_spis NAME           "IN/OUT" SPIs (hex) of the installed Child SAs
#   sw_ike_count NAME            IKE SAs charon holds (any state)
#   sw_stop NAME                 SIGTERM, wait for exit
#   sw_kill NAME                 SIGKILL (a crash: no Delete sent), wait
#   sw_log NAME [LINES]          tail of charon's log as TAP diagnostics
#   sw_chroot ROOT               the charon sw_start runs is ROOT's, chrooted
#                                (a root of scripts/strongswan-pq-root.sh)
#
# Each instance lives in $SW_DIR/NAME: strongswan.conf (the only file
# charon and swanctl read, through STRONGSWAN_CONF), swanctl.conf with its
# x509/x509ca/private directories, the vici socket and the log.  charon
# 5.9.8 has its pid file compiled in (/var/run/charon.pid, no option), so
# every charon runs in a mount namespace of its own with a private tmpfs on
# /run; the vici socket lives outside it, in $SW_DIR, for swanctl.
#
# sw_conf keys (defaults in brackets):
#   local=ADDR [%any]  remote=ADDR [%any]  lts=CIDR  rts=CIDR
#   lid=ID  rid=ID  (strongSwan syntax: a.example, 10.0.0.1, ...)
#   auth=psk|ecdsa|rsa [psk]  psk=SECRET  proposals=...  esp=...
#     ecdsa: charon is ec384.tcpike.test (P-384), rsa: rsa.tcpike.test
#     (RSA 2048 under the test intermediate, which charon sends along)
#   lauth=METHOD rauth=METHOD  override the local/remote `auth =` (e.g.
#     rsa/pss-sha256: charon signs, or requires the peer's signature, with
#     RSASSA-PSS and SHA-256; pubkey with psk: the two methods differ)
#   cacert=FILE [ca.pem]  the CA (in userspace/tests/data) that charon
#     trusts for the peer's certificate
#   kernel=netlink|libipsec|loadtester [netlink]  (libipsec: userspace
#   ESP, always UDP-encapsulated in 5.9.8; for hosts whose kernel has no
#   ESP.  loadtester: the charon that scripts/charon-loadtester.sh built,
#   in SW_LT (its prefix), with the load-tester's fake kernel interface,
#   which installs no SA or policy anywhere, and no initiators of its own)
#   conn_extra="k = v;..."  child_extra="k = v;..."
#   children_extra="name {;k = v;...;}"  more children beside net
#   charon_extra="k = v;..."   strongswan.conf options in charon { }
#     (make_before_break = yes, ...)

SW_CHARON=${SW_CHARON:-/usr/lib/ipsec/charon}
SW_DIR=${SW_DIR:-$(mktemp -d /tmp/tcpike-sw.XXXXXX)}
chmod 700 "$SW_DIR"
declare -A SW_PID SW_NS SW_BIN

sw_available() {
	[ -x "$SW_CHARON" ] && command -v swanctl >/dev/null &&
		[ -e /usr/lib/ipsec/plugins/libstrongswan-vici.so ]
}

sw_cleanup() {
	local n
	for n in "${!SW_PID[@]}"; do
		kill -9 "${SW_PID[$n]}" 2>/dev/null
	done
	[ -n "${KEEP_SW_DIR:-}" ] || rm -rf "$SW_DIR"
}

sw_conf() {
	local name=$1; shift
	local local=%any remote=%any lts= rts= lid= rid= auth=psk
	local psk=tcpike-test-psk-0123456789 proposals=aes256gcm16-prfsha256-x25519
	local esp=aes256gcm16 kernel=netlink conn_extra= child_extra= charon_extra=
	local children_extra=
	local lauth= rauth= cacert=ca.pem
	local d=$SW_DIR/$name kv knl encap=no auth_local auth_remote plugins_extra=
	local load="random nonce openssl curve25519 aes sha2 hmac gcm kdf pem pkcs1 pkcs8 x509 pubkey constraints"
	for kv in "$@"; do
		local k=${kv%%=*} v=${kv#*=}
		case $k in
		local|remote|lts|rts|lid|rid|auth|psk|proposals|esp|kernel| \
		conn_extra|child_extra|children_extra|charon_extra|lauth|rauth|cacert)
			printf -v "$k" '%s' "$v" ;;
		*) echo "sw_conf: unknown key $k" >&2; return 1 ;;
		esac
	done
	mkdir -p "$d/x509" "$d/x509ca" "$d/private"
	chmod 700 "$d/private"
	case $kernel in
	# The first plugin that registers a kernel-ipsec interface wins:
	# kernel-libipsec must come before kernel-netlink, which is still
	# needed for addresses and routes.
	libipsec) knl="kernel-libipsec kernel-netlink"; encap=yes ;;
	netlink) knl=kernel-netlink ;;
	# The fake kernel-ipsec first; kernel-netlink only for kernel-net
	# (libcharon needs one), which that build has beside it.
	loadtester)
		[ -x "${SW_LT:-}/libexec/ipsec/charon" ] ||
			{ echo "sw_conf: no load-tester charon in SW_LT='${SW_LT:-}'" >&2; return 1; }
		knl="load-tester kernel-netlink"
		load="random nonce openssl kdf pem pkcs1 x509 pubkey"
		# The plugin's own credential set holds a PSK for any pair
		# of identities ("default-psk", preshared_key), which charon may pick to
		# sign its AUTH: it is set to the same secret.
		plugins_extra="load-tester {
			enable = yes
			fake_kernel = yes
			initiators = 0
			preshared_key = $psk
		}"
		SW_BIN[$name]=$SW_LT/libexec/ipsec/charon ;;
	*) echo "sw_conf: kernel must be netlink, libipsec or loadtester" >&2; return 1 ;;
	esac
	[ "$kernel" = loadtester ] || unset "SW_BIN[$name]"
	rm -f "$d"/x509/* "$d"/x509ca/* "$d"/private/*
	case $auth in
	psk) auth_local="auth = ${lauth:-psk}"; auth_remote="auth = ${rauth:-psk}" ;;
	ecdsa|rsa)
		# The peer's certificate is checked against $cacert.
		local cert=ec384 ca
		[ "$auth" = rsa ] && cert=rsa
		cp "$TOP/userspace/tests/data/$cert.pem" "$d/x509/"
		cp "$TOP/userspace/tests/data/$cert.key" "$d/private/"
		chmod 600 "$d/private/$cert.key"
		for ca in "$cacert" inter.pem; do
			cp "$TOP/userspace/tests/data/$ca" "$d/x509ca/"
		done
		auth_local="auth = ${lauth:-pubkey}
			certs = $cert.pem"
		auth_remote="auth = ${rauth:-pubkey}
			cacerts = $cacert" ;;
	*) echo "sw_conf: auth must be psk, ecdsa or rsa" >&2; return 1 ;;
	esac
	# pubkey for one end of a PSK pair (an AUTH the peer must refuse)
	case $auth_local in *pubkey*|*rsa/*|*ecdsa*) [ "$auth" = psk ] && {
		cp "$TOP/userspace/tests/data/ec384.pem" "$d/x509/"
		cp "$TOP/userspace/tests/data/ec384.key" "$d/private/"
		chmod 600 "$d/private/ec384.key"
		auth_local="$auth_local
			certs = ec384.pem"; } ;;
	esac
	cat > "$d/strongswan.conf" <<EOF
# charon for tcpike's interop tests; nothing from /etc/strongswan.d is read.
charon {
	load = $load $knl socket-default vici
	# The tests add their own routes; the test kernel has no policy
	# routing (IP_MULTIPLE_TABLES) for charon's table 220 anyway.
	install_routes = no
	install_virtual_ip = no
	retransmit_timeout = 2.0
	retransmit_tries = 4
	$(printf '%s\n' "$charon_extra" | tr ';' '\n')
	plugins {
		vici {
			socket = unix://$d/charon.vici
		}
		$plugins_extra
	}
	filelog {
		main {
			path = $d/charon.log
			time_format = %H:%M:%S
			ike_name = yes
			append = no
			default = 1
			ike = 2
			cfg = 2
			flush_line = yes
		}
	}
	syslog {
		daemon {
			default = -1
		}
	}
}
swanctl {
	load = pem pkcs1 pkcs8 x509 openssl
}
EOF
	cat > "$d/swanctl.conf" <<EOF
connections {
	c {
		version = 2
		local_addrs = $local
		remote_addrs = $remote
		proposals = $proposals
		encap = $encap
		mobike = no
		$(printf '%s\n' "$conn_extra" | tr ';' '\n')
		local {
			$auth_local
			${lid:+id = $lid}
		}
		remote {
			$auth_remote
			${rid:+id = $rid}
		}
		children {
			net {
				mode = tunnel
				local_ts = $lts
				remote_ts = $rts
				esp_proposals = $esp
				start_action = none
				$(printf '%s\n' "$child_extra" | tr ';' '\n')
			}
			$(printf '%s\n' "$children_extra" | tr ';' '\n')
		}
	}
}
secrets {
	ike-c {
		id-l = $lid
		id-r = $rid
		secret = "$psk"
	}
}
EOF
}

sw_ctl() {
	local name=$1; shift
	STRONGSWAN_CONF=$SW_DIR/$name/strongswan.conf \
		swanctl "$@" --uri "unix://$SW_DIR/$name/charon.vici"
}

sw_start() {
	local ns=$1 name=$2 d=$SW_DIR/$2 out
	rm -f "$d/charon.vici"
	STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$ns" \
		unshare -m --propagation private sh -c \
		'mount -t tmpfs charon-run /run && exec "$0"' "${SW_BIN[$name]:-$SW_CHARON}" \
		>"$d/stdout" 2>&1 &
	SW_PID[$name]=$!
	SW_NS[$name]=$ns
	if ! wait_for 15 test -S "$d/charon.vici"; then
		echo "sw_start: charon in $ns did not open its vici socket" >&2
		cat "$d/stdout" >&2
		return 1
	fi
	# --file: swanctl.conf and its credential directories next to it
	if ! out=$(sw_ctl "$name" --load-all --noprompt --file "$d/swanctl.conf" 2>&1); then
		printf '%s\n' "$out" >&2
		return 1
	fi
}

# The SA operations run synchronously (swanctl waits for charon's result);
# a failure leaves the exchange's log lines on stdout for the caller.
sw_initiate() { sw_ctl "$1" --initiate --child net --timeout 30; }
sw_terminate() { sw_ctl "$1" --terminate --ike c --timeout 30; }
sw_rekey() {
	case $2 in
	ike) sw_ctl "$1" --rekey --ike c ;;
	child) sw_ctl "$1" --rekey --child net ;;
	*) echo "sw_rekey: ike or child" >&2; return 1 ;;
	esac
}

# sw_sas NAME: one `swanctl --list-sas`, parsed in bash (every process
# start is expensive under emulation).  It prints
#   c: #1, ESTABLISHED, IKEv2, b0acade51153b367_i 4b8ae22e930e9fef_r*
#     ...
#     net: #3, reqid 1, INSTALLED, TUNNEL, ESP:AES_GCM_16-256
#       ...
#       in  c6e2a1b0,    252 bytes,     3 packets,     0s ago
#       out ca11ab1e,    252 bytes,     3 packets,     0s ago
# and sets SW_COUNT (IKE SAs in any state), SW_IKE ("SPIi/SPIr" of the
# established ones) and SW_CHILD ("IN/OUT" hex SPIs of each INSTALLED
# Child SA), all space-separated lists.
sw_sas() {
	local line inst=0 in=
	local re_ike='^[^ ].*: #[0-9]+, ([A-Z_]+), IKEv2, ([0-9a-f]+)_i\*? ([0-9a-f]+)_r\*?$'
	local re_child='^  [^ ].*: #[0-9]+, reqid [0-9]+, ([A-Z_]+),'
	local re_in='^    in  ([0-9a-f]{8})' re_out='^    out ([0-9a-f]{8})'
	SW_COUNT=0 SW_IKE= SW_CHILD=
	while IFS= read -r line; do
		if [[ $line =~ $re_ike ]]; then
			SW_COUNT=$((SW_COUNT + 1))
			[ "${BASH_REMATCH[1]}" = ESTABLISHED ] &&
				SW_IKE+="${SW_IKE:+ }${BASH_REMATCH[2]}/${BASH_REMATCH[3]}"
		elif [[ $line =~ $re_child ]]; then
			[ "${BASH_REMATCH[1]}" = INSTALLED ] && inst=1 || inst=0
		elif [ $inst = 1 ] && [[ $line =~ $re_in ]]; then
			in=${BASH_REMATCH[1]}
		elif [ $inst = 1 ] && [[ $line =~ $re_out ]]; then
			SW_CHILD+="${SW_CHILD:+ }$in/${BASH_REMATCH[1]}"
			inst=0
		fi
	done <<<"$(sw_ctl "$1" --list-sas 2>/dev/null)"
}
sw_child_spis() { sw_sas "$1"; echo "$SW_CHILD"; }
sw_ike_count() { sw_sas "$1"; echo "$SW_COUNT"; }
sw_ike_spis() { sw_sas "$1"; echo "$SW_IKE"; }

# sw_chroot ROOT: SW_CHARON becomes a wrapper that runs ROOT's charon
# chrooted in ROOT (sw_start has made a mount namespace with /run its own),
# with /proc, /dev, a /run and a /tmp of its own and $SW_DIR at the same
# path (under the new /tmp); only mount points that exist in ROOT, which
# may be read-only (the VM's root).
sw_chroot() {
	cat >"$SW_DIR/charon-chroot" <<EOF
#!/bin/sh
r=$1
mount -t proc proc "\$r/proc" && mount --rbind /dev "\$r/dev" &&
	mount -t tmpfs tmpfs "\$r/run" && mount -t tmpfs tmpfs "\$r/tmp" &&
	mkdir -p "\$r$SW_DIR" && mount --bind "$SW_DIR" "\$r$SW_DIR" &&
	exec chroot "\$r" /usr/lib/ipsec/charon
EOF
	chmod +x "$SW_DIR/charon-chroot"
	SW_CHARON=$SW_DIR/charon-chroot
}

sw_stop() {
	local name=$1 pid=${SW_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "SW_PID[$name]"
}

sw_kill() {
	local pid=${SW_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "SW_PID[$1]"
}

sw_log() {
	tap_diag "--- charon $1 log (tail)"
	# without the vici chatter of the tests' polling
	grep -v '\[CFG\] vici client' "$SW_DIR/$1/charon.log" 2>/dev/null |
		tail -n "${2:-40}" | sed 's/^/# /'
}

# --- tcpiked "t" in $NS_A against charon "s" in $NS_B (topo_pair) ------------
# For netns scenario tests, after selftests/ike.sh:
#   swt_prereq PREFIX   skips the script unless charon with kernel-libipsec
#       can run here; builds the namespace pair (NS_A, NS_B)
#   swt_up [T-ARGS...] -- [S-ARGS...]   (re)write both configs and start
#       both daemons (the running ones are stopped first); t is
#       fqdn:t.tcpike.test at 10.0.0.1 with 192.168.1.0/24, s is
#       s.tcpike.test at 10.0.0.2 with 192.168.2.0/24, charon on
#       kernel-libipsec; later ARGS override these
#   swt_agreed [N]   one established IKE SA each with the same SPIs and N
#       [1] installed Child SAs, each side's inbound SPI the other's outbound
#   swt_t_sas / swt_t_ike / swt_t_children   tcpiked's state (T_COUNT,
#       T_IKE, T_CHILD) / its established IKE SPIs / installed Child SPIs
#   swt_none         neither side holds an IKE SA
#   swt_wait SECONDS COMMAND...   wait_for by the clock
#   swt_state        both sides in one line (for diagnostics)
#   swt_logs         both logs' tails as diagnostics
#   swt_expect SECONDS DESC COMMAND...   one TAP line: ok when COMMAND
#       succeeds within SECONDS, else both sides' state and logs
#   swt_t_log_has DESC REGEX / swt_s_log_has DESC REGEX   one TAP line: a
#       line of tcpiked's / charon's log matches (grep -E)
# swt_third_ns NAME: namespace NS_C (10.0.1.2) on a second link to NS_A's
# (10.0.1.1), for a second road warrior; skips all when it cannot
swt_third_ns() {
	NS_C=$1
	ns_add "$NS_C" || tap_skip_all "cannot add a third namespace"
	ip link add va2 netns "$NS_A" type veth peer name vc netns "$NS_C"
	ip -n "$NS_A" addr add 10.0.1.1/24 dev va2
	ip -n "$NS_C" addr add 10.0.1.2/24 dev vc
	ip -n "$NS_A" link set va2 up
	ip -n "$NS_C" link set vc up
}

swt_prereq() {
	require_tcpiked
	sw_available || tap_skip_all "strongSwan (strongswan-charon, strongswan-swanctl) not installed"
	[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
		tap_skip_all "charon's kernel-libipsec plugin (libcharon-extra-plugins) not installed"
	[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun for kernel-libipsec"
	topo_pair "$1$$" || tap_skip_all "cannot build the namespace pair"
}

swt_up() {
	local t=() s=() x side=t
	for x in "$@"; do
		[ "$x" = -- ] && { side=s; continue; }
		[ $side = t ] && t+=("$x") || s+=("$x")
	done
	[ -n "${IKE_PID[t]:-}" ] && ike_stop t
	sw_stop s
	ike_conf t local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:t.tcpike.test rid=fqdn:s.tcpike.test "${t[@]}" &&
	sw_conf s local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=s.tcpike.test rid=t.tcpike.test kernel=libipsec "${s[@]}" &&
	sw_start "$NS_B" s && ike_start "$NS_A" t
}

# swt_t_sas: one status of tcpiked into T_COUNT (IKE SAs, any state), T_IKE
# ("SPIi/SPIr" of the established ones) and T_CHILD ("IN OUT" of each
# installed Child SA), the way sw_sas does for charon.
swt_t_sas() {
	local r
	r=$(ike_jq t "'%d|%s|%s' % (len(s['ike_sas']), ' '.join(i['spi_i']+'/'+i['spi_r'] for i in s['ike_sas'] if i['state']=='ESTABLISHED'), ' '.join(c['spi_in']+' '+c['spi_out'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED'))")
	IFS='|' read -r T_COUNT T_IKE T_CHILD <<<"$r"
	[ -n "$T_COUNT" ] || T_COUNT=-
}
swt_t_children() { swt_t_sas; echo "$T_CHILD"; }
swt_t_ike() { swt_t_sas; echo "$T_IKE"; }

swt_agreed() {
	local n=${1:-1} c i want=
	swt_t_sas
	sw_sas s
	c=($T_CHILD)
	[ ${#c[@]} = $((2 * n)) ] && [ "$T_COUNT" = 1 ] && [ "$SW_COUNT" = 1 ] &&
		[ "$T_IKE" = "$SW_IKE" ] || return 1
	for ((i = 0; i < ${#c[@]}; i += 2)); do
		want+="${c[i+1]}/${c[i]}"$'\n'
	done
	[ "$(sort <<<"${want%$'\n'}")" = "$(tr ' ' '\n' <<<"$SW_CHILD" | sort)" ]
}

# neither side holds an IKE SA
swt_none() { swt_t_sas; sw_sas s; [ "$T_COUNT" = 0 ] && [ "$SW_COUNT" = 0 ]; }

# swt_wait SECONDS COMMAND...: wait_for with a deadline in seconds, however
# long each try takes (status checks of two daemons are slow on a loaded
# machine)
swt_wait() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

swt_state() {
	swt_t_sas
	sw_sas s
	echo "tcpiked: $T_COUNT IKE SA(s) '$T_IKE', children '$T_CHILD'; charon: $SW_COUNT IKE SA(s) '$SW_IKE', children '$SW_CHILD'"
}
swt_logs() { ike_log t 25; sw_log s 25; }

swt_expect() {
	local secs=$1 desc=$2
	shift 2
	if swt_wait "$secs" "$@"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "$(swt_state)"
		swt_logs
	fi
}

swt_t_log_has() {
	if grep -v 'debug: control: status' "$IKE_DIR/t.log" | grep -qE "$2"; then
		tap_ok "$1"
	else
		tap_fail "$1" "no line of tcpiked's log matches: $2"
		ike_log t 15
	fi
}

swt_s_log_has() {
	if grep -qE "$2" "$SW_DIR/s/charon.log"; then
		tap_ok "$1"
	else
		tap_fail "$1" "no line of charon's log matches: $2"
		sw_log s 15
	fi
}
