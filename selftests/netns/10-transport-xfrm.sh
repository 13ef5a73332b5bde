#!/bin/bash
# The xfrm kernel backend in a namespace: policies (which need no ESP) are
# added and seen by `ip xfrm policy`, one's priority updated in place, then
# removed when the backend closes;
# an ESP SA either installs (kernel with ESP) or fails with the kernel's
# own sentence, never silently.
. "$(dirname "$0")/../lib.sh"
require_netns
P=$BIN/selftests/kb_xfrm
[ -x "$P" ] || tap_skip_all "$P not built (make asan)"
NS=tcpike-kbx-$$
ns_add $NS
ip -n $NS xfrm policy list >/dev/null 2>&1 || tap_skip_all "no xfrm_user in this kernel"

# What a tcpiked killed with SIGKILL leaves behind: its out policy, with
# the reqid it had.  The backend replaces it (as strongSwan does) rather
# than failing every Child SA with EEXIST after a restart.
ip -n $NS xfrm policy add src 192.168.1.0/24 dst 192.168.2.0/24 dir out priority 2000 \
	tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel reqid 99
coproc KB { ip netns exec $NS "$P" policy 2>"/tmp/kbx-$$.err"; }
read -r -t 10 line <&"${KB[0]}"
tap_expect_eq "two policies added (the stale out policy and a repeated add replaced)" "added" "$line"
tap_check "the stale out policy was replaced: one out policy, reqid 7, not 99" sh -c \
	"[ \$(ip -n $NS xfrm policy list dir out | grep -c '^src ') = 1 ] &&
	 ip -n $NS xfrm policy list dir out | grep -q 'reqid 7 ' &&
	 ! ip -n $NS xfrm policy list dir out | grep -q 'reqid 99'"
tap_check "the replacement was logged" grep -q "already in the kernel.*replacing it" "/tmp/kbx-$$.err"
tap_check "ip xfrm policy shows the out policy with its template" sh -c \
	"ip -n $NS xfrm policy list dir out | grep -q 'src 192.168.1.0/24 dst 192.168.2.0/24' &&
	 ip -n $NS xfrm policy list dir out | grep -q 'tmpl src 10.0.0.1 dst 10.0.0.2'"
tap_check "ip xfrm policy shows the in policy" sh -c \
	"ip -n $NS xfrm policy list dir in | grep -q 'src 192.168.2.0/24 dst 192.168.1.0/24'"
tap_check "the in policy's priority was updated in place (XFRM_MSG_UPDPOLICY): 3000" sh -c \
	"ip -n $NS xfrm policy list dir in | grep -q 'dir in priority 3000 '"
echo go >&"${KB[1]}"
read -r -t 10 line <&"${KB[0]}"
tap_expect_eq "backend closed" "closed" "$line"
tap_expect_eq "policies removed on close" "" "$(ip -n $NS xfrm policy list)"

out=$(ip netns exec $NS "$P" sa 2>/dev/null)
case $out in
"sa ok")
	tap_ok "ESP SA installed (kernel has ESP)"
	tap_expect_eq "SA removed on close" "" "$(ip -n $NS xfrm state list)" ;;
"sa failed: adding the ESP SA: "?*)
	tap_ok "ESP SA failure reported with the kernel's reason: ${out#sa failed: }" ;;
*)
	tap_fail "ESP SA add outcome" "unexpected output: $out" ;;
esac
rm -f "/tmp/kbx-$$.err"
tap_done
