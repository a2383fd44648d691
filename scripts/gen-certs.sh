#!/usr/bin/env bash
# Generates a fresh test PKI (CA, RSA and ECDSA server certs, a client cert).
#
# Usage: scripts/gen-certs.sh OUT_DIR
#
# Writes into OUT_DIR:
#   ca-cert.pem ca-key.pem                   self-signed RSA-2048 CA
#   server-rsa-cert.pem server-rsa-key.pem   RSA-2048 server, CN/SAN localhost, 127.0.0.1
#   server-ecc-cert.pem server-ecc-key.pem   ECDSA P-256 server, same names
#   client-cert.pem client-key.pem           RSA-2048 client (clientAuth)
# Certificates are valid from yesterday (so clock skew does not matter) for
# ten years. The run is idempotent: when every file exists, each certificate
# chains to the CA, matches its key and stays valid for at least another day,
# nothing is done.
# Concurrent runs on the same directory are serialised with flock.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)

readonly files=(ca-cert.pem ca-key.pem server-rsa-cert.pem server-rsa-key.pem
                server-ecc-cert.pem server-ecc-key.pem client-cert.pem client-key.pem)
readonly leaves=(server-rsa-cert.pem server-ecc-cert.pem client-cert.pem)

# still_good succeeds when the existing set is complete and usable.
still_good() {
  local f
  for f in "${files[@]}"; do
    [[ -s "$out/$f" ]] || return 1
  done
  openssl x509 -in "$out/ca-cert.pem" -noout -checkend 86400 >/dev/null || return 1
  for f in "${leaves[@]}"; do
    openssl x509 -in "$out/$f" -noout -checkend 86400 >/dev/null || return 1
    openssl verify -CAfile "$out/ca-cert.pem" "$out/$f" >/dev/null 2>&1 || return 1
  done
  local name cert_pub key_pub
  for name in ca server-rsa server-ecc client; do
    cert_pub=$(openssl x509 -in "$out/$name-cert.pem" -noout -pubkey 2>/dev/null) || return 1
    key_pub=$(openssl pkey -in "$out/$name-key.pem" -pubout 2>/dev/null) || return 1
    [[ "$cert_pub" == "$key_pub" ]] || return 1
  done
}

exec 9>"$out/.gen-certs.lock"
flock 9

if still_good; then
  echo "gen-certs: certificates in $out are present and valid"
  exit 0
fi

work=$(mktemp -d "$out/.gen-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# `openssl ca` is used (not `x509 -req`) because OpenSSL 3.0 can only
# backdate a certificate's start through -startdate.
start=$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)
end=$(date -u -d '1 day ago + 10 years' +%Y%m%d%H%M%SZ)

touch "$work/index.txt"
openssl rand -hex 16 >"$work/serial"
cat >"$work/openssl.cnf" <<EOF
[ ca ]
default_ca = test_ca

[ test_ca ]
dir              = $work
database         = \$dir/index.txt
serial           = \$dir/serial
new_certs_dir    = \$dir
default_md       = sha256
policy           = any_policy
unique_subject   = no
copy_extensions  = none
email_in_dn      = no

[ any_policy ]
countryName            = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied

[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
CN = unused

[ ext_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer

[ ext_client ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
EOF

quiet() {
  local log="$work/openssl.log"
  if ! "$@" >"$log" 2>&1; then
    echo "gen-certs: failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

# sign NAME EXT SUBJECT [-selfsign]: turns $work/NAME.csr into $work/NAME-cert.pem.
sign() {
  local name=$1 ext=$2 subj=$3
  shift 3
  local keyopt=(-cert "$work/ca-cert.pem" -keyfile "$work/ca-key.pem")
  if [[ ${1:-} == -selfsign ]]; then
    keyopt=(-selfsign -keyfile "$work/ca-key.pem")
  fi
  quiet openssl ca -batch -notext -config "$work/openssl.cnf" "${keyopt[@]}" \
    -in "$work/$name.csr" -out "$work/$name-cert.pem" -extensions "$ext" \
    -subj "$subj" -startdate "$start" -enddate "$end"
}

rsa_key() { quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }
ecc_key() { quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
csr() { quiet openssl req -new -config "$work/openssl.cnf" -key "$1" -out "$2"; }

rsa_key "$work/ca-key.pem"
csr "$work/ca-key.pem" "$work/ca.csr"
sign ca ext_ca "/O=asynccrypt test/CN=asynccrypt test CA" -selfsign

rsa_key "$work/server-rsa-key.pem"
csr "$work/server-rsa-key.pem" "$work/server-rsa.csr"
sign server-rsa ext_server "/O=asynccrypt test/CN=localhost"

ecc_key "$work/server-ecc-key.pem"
csr "$work/server-ecc-key.pem" "$work/server-ecc.csr"
sign server-ecc ext_server "/O=asynccrypt test/CN=localhost"

rsa_key "$work/client-key.pem"
csr "$work/client-key.pem" "$work/client.csr"
sign client ext_client "/O=asynccrypt test/CN=asynccrypt test client"

# Publish keys before certificates so a reader that sees a certificate also
# finds its key; each rename is atomic.
for f in ca-key.pem server-rsa-key.pem server-ecc-key.pem client-key.pem; do
  chmod 600 "$work/$f"
  mv -f "$work/$f" "$out/$f"
done
for f in ca-cert.pem server-rsa-cert.pem server-ecc-cert.pem client-cert.pem; do
  mv -f "$work/$f" "$out/$f"
done

if ! still_good; then
  echo "gen-certs: generated certificates in $out do not verify" >&2
  exit 1
fi
echo "gen-certs: wrote a new CA, server (RSA, ECDSA) and client certificates to $out"
