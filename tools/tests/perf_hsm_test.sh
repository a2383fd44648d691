#!/usr/bin/env bash
# perf-server with its private key in a SoftHSM2 token (--key-device, by id
# and by label) serves perf-client's handshakes, every signature on the
# token.
#
#   perf_hsm_test.sh TOOL CERT_DIR VERSION
#
# Exits 77 (skipped, with the reason) where SoftHSM2 is missing or wolfSSL
# has no crypto callbacks; with ASYNCCRYPT_REQUIRE_SOFTHSM=1 a missing
# SoftHSM2 is a failure. The token lives in a temporary directory with its
# own SOFTHSM2_CONF: the system's tokens are never touched.
set -euo pipefail
tool="$1" certs="$2" version="$3"
conns=40

# skip REASON [config]: a missing SoftHSM2 fails under
# ASYNCCRYPT_REQUIRE_SOFTHSM=1; a wolfSSL configuration without crypto
# callbacks ("config") always just skips.
skip() {
  echo "SKIP: $1"
  if [ "${ASYNCCRYPT_REQUIRE_SOFTHSM:-}" = 1 ] && [ "${2:-}" != config ]; then exit 1; fi
  exit 77
}
module="${ASYNCCRYPT_SOFTHSM_MODULE:-}"
if [ -z "$module" ]; then
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -r "$m" ] && { module="$m"; break; }
  done
fi
[ -n "$module" ] || skip "libsofthsm2.so not found (apt-get install softhsm2)"
command -v softhsm2-util >/dev/null || skip "softhsm2-util not found (apt-get install softhsm2)"

dir="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
mkdir "$dir/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\n' "$dir" >"$dir/softhsm2.conf"
export SOFTHSM2_CONF="$dir/softhsm2.conf"
softhsm2-util --init-token --free --label perf-test --pin 246810 --so-pin 13579111 >/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$certs/server-rsa-key.pem" -out "$dir/key.pk8"
softhsm2-util --import "$dir/key.pk8" --token perf-test --label perf-rsa --id 0a \
  --pin 246810 >/dev/null
printf '246810\n' >"$dir/pin"
spec="pkcs11:module=$module,token=perf-test,pin-file=$dir/pin,workers=2"

# run KEY_OPTION...: one server and one client run; the server must have
# made every signature on the token.
run() {
  : >"$dir/server.out"
  "$tool" perf-server -p 0 -n "$conns" -v "$version" -d threads:workers=1 --no-client-cert \
    -c "$certs/server-rsa-cert.pem" --key-device "$spec" "$@" \
    >"$dir/server.out" 2>"$dir/server.err" &
  server_pid=$!
  local port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$dir/server.out")"
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    wait "$server_pid" || true
    server_pid=""
    grep -q -- "--enable-cryptocb" "$dir/server.err" &&
      skip "this wolfSSL has no crypto callbacks (the hsm configuration has)" config
    cat "$dir/server.err" >&2
    echo "FAIL: perf-server did not start" >&2
    exit 1
  fi
  "$tool" perf-client -p "$port" -n "$conns" -N 8 -v "$version" -d none --no-client-cert \
    -A "$certs/ca-cert.pem" >"$dir/client.out" 2>&1 || {
    cat "$dir/client.out" >&2
    echo "FAIL: perf-client ($*)" >&2
    exit 1
  }
  wait "$server_pid" || { cat "$dir/server.err" >&2; echo "FAIL: perf-server ($*)" >&2; exit 1; }
  server_pid=""
  grep -q "key device pkcs11: $conns operations" "$dir/server.err" || {
    cat "$dir/server.err" >&2
    echo "FAIL: not every signature was made on the token ($*)" >&2
    exit 1
  }
  echo "ok: $conns handshakes, key on the token ($*)"
}

run --key-id 0a
run --key-label perf-rsa
