#!/usr/bin/env bash
# perf-server with its private key in a SoftHSM2 token (--key-device, by id
# and by label; then through wolfSSL's own PKCS#11 code, --key-pkcs11-sync,
# where wolfSSL has it) serves perf-client's handshakes, then curl's and
# openssl s_client's with its RSA key and with an ECDSA P-256 key, every
# signature made on the token.
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
# shellcheck source=scripts/lib/softhsm.sh
. "$(dirname "$0")/../../scripts/lib/softhsm.sh"
missing=$(softhsm_missing)
[ -z "$missing" ] || skip "$missing"
module=$(softhsm_module)

dir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
softhsm_token "$dir" perf-test
softhsm_import "$dir" perf-test "$certs/server-rsa-key.pem" perf-rsa 0a
softhsm_import "$dir" perf-test "$certs/server-ecc-key.pem" perf-ecdsa 0b
spec="pkcs11:module=$module,token=perf-test,pin-file=$dir/pin,workers=2"

# start_server OPTION...: perf-server with the key on the token (the RSA
# certificate unless $cert names another); sets port.
start_server() {
  : >"$dir/server.out"
  "$tool" perf-server -p 0 -v "$version" -d threads:workers=1 --no-client-cert \
    -c "$certs/${cert:-server-rsa-cert.pem}" --key-device "$spec" "$@" \
    >"$dir/server.out" 2>"$dir/server.err" &
  server_pid=$!
  port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$dir/server.out")"
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    wait "$server_pid" || true
    server_pid=""
    # The synchronous baseline needs wolfSSL's own PKCS#11 code.
    if [ -n "${optional_sync:-}" ] && grep -q -- "--enable-pkcs11" "$dir/server.err"; then
      return 1
    fi
    grep -q -- "--enable-cryptocb" "$dir/server.err" &&
      skip "this wolfSSL has no crypto callbacks (the hsm configuration has)" config
    cat "$dir/server.err" >&2
    echo "FAIL: perf-server did not start" >&2
    exit 1
  fi
}

# finish_server N WHAT: the server exits cleanly and the token made N signatures.
finish_server() {
  wait "$server_pid" || { cat "$dir/server.err" >&2; echo "FAIL: perf-server ($2)" >&2; exit 1; }
  server_pid=""
  grep -Eq "key (device pkcs11|pkcs11-sync): $1 operations" "$dir/server.err" || {
    cat "$dir/server.err" >&2
    echo "FAIL: not every signature was made on the token ($2)" >&2
    exit 1
  }
}

# perf-client's handshakes, the key by id and by label.
for key in "--key-id 0a" "--key-label perf-rsa"; do
  # shellcheck disable=SC2086 # two words on purpose
  start_server -n "$conns" $key
  "$tool" perf-client -p "$port" -n "$conns" -N 8 -v "$version" -d none --no-client-cert \
    -A "$certs/ca-cert.pem" >"$dir/client.out" 2>&1 || {
    cat "$dir/client.out" >&2
    echo "FAIL: perf-client ($key)" >&2
    exit 1
  }
  finish_server "$conns" "$key"
  echo "ok: $conns handshakes by perf-client, key on the token ($key)"
done

# wolfSSL's own synchronous PKCS#11 code signs instead of the device
# (--key-pkcs11-sync, the baseline of scripts/hsm-bench.sh), where this
# wolfSSL has it (--enable-pkcs11, as the hsm configuration has).
if optional_sync=1 start_server -n "$conns" --key-id 0a --key-pkcs11-sync; then
  "$tool" perf-client -p "$port" -n "$conns" -N 8 -v "$version" -d none --no-client-cert \
    -A "$certs/ca-cert.pem" >"$dir/client.out" 2>&1 || {
    cat "$dir/client.out" >&2
    echo "FAIL: perf-client (--key-pkcs11-sync)" >&2
    exit 1
  }
  finish_server "$conns" "--key-pkcs11-sync"
  echo "ok: $conns handshakes by perf-client, signed by wolfSSL's PKCS#11 code (--key-pkcs11-sync)"
else
  echo "note: --key-pkcs11-sync not checked: this wolfSSL has no --enable-pkcs11"
fi

# Other TLS stacks against the token's keys: curl and openssl s_client.
if [ "$version" = 4 ]; then curl_v=(--tlsv1.3) sc_v=-tls1_3; else
  curl_v=(--tlsv1.2 --tls-max 1.2) sc_v=-tls1_2; fi
# http_clients CERT KEY_ID WHAT: one request each from curl and s_client to
# a server with CERT and the token's key KEY_ID.
http_clients() {
  cert="$1" start_server -n 2 --http -W 3000 --key-id "$2"
  got=$(curl -sS --max-time 20 --cacert "$certs/ca-cert.pem" "${curl_v[@]}" -o "$dir/body" \
    --resolve "localhost:$port:127.0.0.1" -w '%{http_code} %{size_download}' \
    "https://localhost:$port/" 2>"$dir/curl.err") ||
    { cat "$dir/curl.err" >&2; echo "FAIL: curl ($3)" >&2; exit 1; }
  [ "$got" = "200 3000" ] || { echo "FAIL: curl got '$got', want '200 3000' ($3)" >&2; exit 1; }
  printf 'GET / HTTP/1.0\r\n\r\n' |
    timeout 20 openssl s_client -connect "127.0.0.1:$port" "$sc_v" -servername localhost \
      -CAfile "$certs/ca-cert.pem" -verify_return_error -quiet >"$dir/s_client.body" \
      2>"$dir/s_client.err" ||
    { cat "$dir/s_client.err" >&2; echo "FAIL: openssl s_client ($3)" >&2; exit 1; }
  grep -q '^HTTP/1.1 200 OK' "$dir/s_client.body" ||
    { echo "FAIL: s_client: no HTTP status ($3)" >&2; exit 1; }
  finish_server 2 "curl and s_client, $3"
  echo "ok: curl and openssl s_client ($sc_v), $3 key on the token"
}
http_clients server-rsa-cert.pem 0a RSA-2048
http_clients server-ecc-cert.pem 0b "ECDSA P-256"
