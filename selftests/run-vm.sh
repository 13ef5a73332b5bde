#!/bin/bash
# Entry point inside the test VM: every selftests/vm test in one boot.
#   scripts/vm-run -- selftests/run-vm.sh [NAME-PREFIX...]
# Each test's budget: 600 s (run-suite's 300 s is for the host).  Under
# emulation, with the second VM of make check beside this one and other
# work on the host, vm/31's five tunnels took 330 s once and were cut off
# while passing; the whole run stays bounded by vm-run's own timeout.
export TCPIKE_TEST_TIMEOUT=${TCPIKE_TEST_TIMEOUT:-600}
# The clients from the plain build (lib.sh TOOL_BIN); tcpiked and the
# backend tests stay under ASan.
export TCPIKE_PLAIN_TOOLS=1
exec "$(dirname "$0")/run-suite.sh" selftests/vm "$@"
