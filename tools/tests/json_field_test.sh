#!/usr/bin/env bash
# Test of scripts/lib/json.sh's json_field, which every script uses to read
# the tools' --json object: noise lines around it, the last object wins,
# negative numbers and exponents come back whole (the sed extractor it
# replaced returned "" and "1.2"), a missing name is empty.
set -euo pipefail
# shellcheck source=scripts/lib/json.sh
. "$(dirname "$0")/../../scripts/lib/json.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/out" <<'JSON'
perf-server: listening on port 1 (1 thread, device sim)
{"tool": "old", "errors": 5}
SSL cipher suite is TLS13-AES128-GCM-SHA256
{"tool": "perf-client", "errors": 0, "delta": -3, "tiny": 1.2e-05, "rate": 21.233, "device": "chaos:seed=1"}
JSON
check() {
  local got
  got=$(json_field "$work/out" "$1")
  [[ $got == "$2" ]] || { echo "FAIL: json_field $1 gave '$got', want '$2'" >&2; exit 1; }
}
check errors 0
check delta -3
check tiny 1.2e-05
check rate 21.233
check device chaos:seed=1
check tool perf-client
check missing ''
[[ -z $(json_field "$work/none" errors) ]] || { echo "FAIL: a missing file gave a value" >&2; exit 1; }
echo "json_field: ok"
