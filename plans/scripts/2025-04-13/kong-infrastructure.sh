#!/usr/bin/env bash
# Placeholder for the team's real script (kong-infrastructure), so the example plan validates and rehearses.
# RunChangesV1 runs it from the repository root with bash, streams its output and stops it at its timeout.
set -euo pipefail
echo "kong-infrastructure: window ${1:-unspecified}; nothing to change in this example script."
