# shellcheck shell=bash
# Reading the tools' --json output in scripts (jq); sourced, not run.

# json_field FILE NAME: NAME's value in the last JSON object of FILE (the
# tools print their object on a line of its own, among other lines), as jq
# prints it: negative numbers and exponents (1.2e-05) included; empty when
# FILE has no object or the object has no NAME.
json_field() {
  { grep '^{' "$1" 2>/dev/null || true; } | tail -1 | jq -r --arg k "$2" '.[$k] // empty'
}
