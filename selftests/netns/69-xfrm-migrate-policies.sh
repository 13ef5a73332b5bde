#!/bin/bash
# The xfrm backend's move of a Child SA to the peer's new address (RFC 7296
# §2.23, kb_child_move -> XFRM_MSG_MIGRATE), the part that needs no ESP in
# the kernel: the out, in and fwd policies' templates move to the new
# tunnel, one XFRM_MSG_MIGRATE each; a move whose SA is not where it
# should be puts every template back (the daemon's record of the Child SA
# stays true).  The SAs' part, with sequence numbers: selftests/vm/39.
. "$(dirname "$0")/../lib.sh"
require_netns
P=$BIN/selftests/kb_xfrm
[ -x "$P" ] || tap_skip_all "$P not built (make asan)"
NS=tcpike-kbmp-$$
ns_add $NS
ip -n $NS xfrm policy list >/dev/null 2>&1 || tap_skip_all "no xfrm_user in this kernel"
tmpls() { ip -n $NS xfrm policy | sed -n 's/^\t*tmpl \(src [0-9.]* dst [0-9.]*\).*/\1/p' | sort | tr '\n' ','; }

coproc KB { ip netns exec $NS "$P" move-policies 2>"/tmp/kbmp-$$.err"; }
read -r -t 10 line <&"${KB[0]}"
if [ "$line" = "move failed: moving SAs to another address: this kernel has no XFRM_MSG_MIGRATE (CONFIG_XFRM_MIGRATE)" ]; then
	echo >&"${KB[1]}"
	tap_skip_all "no CONFIG_XFRM_MIGRATE in this kernel"
fi
tap_expect_eq "the templates moved" moved "$line"
tap_expect_eq "out to the new address, in and fwd from it, none the old" \
	"src 10.0.0.1 dst 10.0.0.7,src 10.0.0.7 dst 10.0.0.1,src 10.0.0.7 dst 10.0.0.1," "$(tmpls)"
echo >&"${KB[1]}"
read -r -t 10 line <&"${KB[0]}"
tap_expect_eq "closed, the policies removed" "closed 0" \
	"$line $(ip -n $NS xfrm policy | grep -c '^src')"
wait

coproc KB { ip netns exec $NS "$P" move-policies 0x2002 2>>"/tmp/kbmp-$$.err"; }
read -r -t 10 line <&"${KB[0]}"
tap_expect_eq "a move whose outbound SA is not there is refused, saying which" \
	"move failed: outbound SA 0x00002002 is still on the old addresses (its reqid 7's policies moved without it)" \
	"$line"
tap_expect_eq "and every template is back on the old tunnel" \
	"src 10.0.0.1 dst 10.0.0.2,src 10.0.0.2 dst 10.0.0.1,src 10.0.0.2 dst 10.0.0.1," "$(tmpls)"
echo >&"${KB[1]}"
read -r -t 10 line <&"${KB[0]}"
tap_expect_eq "closed" closed "$line"
wait
[ -s "/tmp/kbmp-$$.err" ] && grep -v "info:" "/tmp/kbmp-$$.err" | sed 's/^/# /'
rm -f "/tmp/kbmp-$$.err"
tap_done
