#!/bin/bash
# Host network-namespace tests (root, no module, backend none).
#   selftests/run-netns.sh [NAME-PREFIX...]
exec "$(dirname "$0")/run-suite.sh" selftests/netns "$@"
