#!/usr/bin/env bash
# Placeholder for the team's real script (payer-infrastructure), so the example plan validates and rehearses.
# RunChangesV1 runs it from the repository root with bash, streams its output and stops it at its timeout.
set -euo pipefail
echo "payer-infrastructure: window ${1:-unspecified}; nothing to change in this example script."
