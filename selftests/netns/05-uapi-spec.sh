#!/bin/bash
# uapi/tcpike.yaml is the source of truth: the header must define every
# attribute and command it lists, in the same order (values are positional).
. "$(dirname "$0")/../lib.sh"
Y=$TOP/uapi/tcpike.yaml
H=$TOP/uapi/linux/tcpike.h
norm() { tr 'a-z-' 'A-Z_'; }

want=$(python3 - "$Y" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
attrs = re.findall(r'- \{ name: ([a-z0-9-]+), type:', t)
ops = re.findall(r'^      name: ([a-z0-9-]+)$', t, re.M)
print(" ".join(attrs)); print(" ".join(ops))
PY
)
yattrs=$(echo "$want" | sed -n 1p | norm)
yops=$(echo "$want" | sed -n 2p | norm)
hattrs=$(sed -n '/^enum tcpike_a {/,/^};/p' "$H" | grep -o 'TCPIKE_A_[A-Z0-9_]*' |
	grep -v -E 'UNSPEC|MAX' | sed 's/^TCPIKE_A_//' | tr '\n' ' ' | sed 's/ $//')
hops=$(sed -n '/^enum tcpike_cmd {/,/^};/p' "$H" | grep -o 'TCPIKE_CMD_[A-Z0-9_]*' |
	grep -v -E 'UNSPEC|MAX' | sed 's/^TCPIKE_CMD_//' | tr '\n' ' ' | sed 's/ $//')
tap_expect_eq "header attributes follow the spec, in order" "$yattrs" "$hattrs"
tap_expect_eq "header commands follow the spec, in order" "$yops" "$hops"
tap_check "every attribute is documented in the header" sh -c \
	"for a in $hattrs; do grep -q \"@TCPIKE_A_\$a:\" '$H' || { echo \"undocumented: \$a\"; exit 1; }; done"
tap_check "every command is documented in the header" sh -c \
	"for c in $hops; do grep -q \"@TCPIKE_CMD_\$c:\" '$H' || { echo \"undocumented: \$c\"; exit 1; }; done"
tap_done
