#!/bin/bash
# Entry point inside the test VM: every selftests/vm test in one boot.
#   scripts/vm-run -- selftests/run-vm.sh [NAME-PREFIX...]
exec "$(dirname "$0")/run-suite.sh" selftests/vm "$@"
