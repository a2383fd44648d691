# shellcheck shell=bash
# SoftHSM2 tokens for the scripts that keep a test key in one; sourced, not
# run. The token's user PIN is softhsm_pin; each token lives in a directory
# of its own with its own SOFTHSM2_CONF, so the system's tokens are never
# read or touched.

softhsm_pin=246810
softhsm_so_pin=13579111

# softhsm_module: prints the SoftHSM2 PKCS#11 module to load:
# ASYNCCRYPT_SOFTHSM_MODULE, else the first of Debian's places that exists;
# nothing where there is none.
softhsm_module() {
  if [[ -n ${ASYNCCRYPT_SOFTHSM_MODULE:-} ]]; then
    printf '%s\n' "$ASYNCCRYPT_SOFTHSM_MODULE"
    return
  fi
  local m
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
    [[ -r $m ]] && { printf '%s\n' "$m"; return; }
  done
}

# softhsm_missing: prints why SoftHSM2 cannot be used here (the package to
# install); nothing when it can.
softhsm_missing() {
  if [[ -z $(softhsm_module) ]]; then
    echo "libsofthsm2.so not found (apt-get install softhsm2)"
  elif ! command -v softhsm2-util >/dev/null; then
    echo "softhsm2-util not found (apt-get install softhsm2)"
  fi
}

# softhsm_token DIR LABEL: makes a token labelled LABEL in DIR (DIR/tokens,
# configuration DIR/softhsm2.conf, exported as SOFTHSM2_CONF for this shell
# and what it starts) and writes its user PIN to DIR/pin.
softhsm_token() {
  local dir=$1 label=$2
  mkdir -p "$dir/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\n' "$dir" \
    >"$dir/softhsm2.conf"
  export SOFTHSM2_CONF="$dir/softhsm2.conf"
  softhsm2-util --init-token --free --label "$label" --pin "$softhsm_pin" \
    --so-pin "$softhsm_so_pin" >/dev/null
  printf '%s\n' "$softhsm_pin" >"$dir/pin"
}

# softhsm_import DIR TOKEN KEY_PEM KEY_LABEL ID: puts the private key of
# KEY_PEM (RSA or EC, PEM) into the token TOKEN made by softhsm_token DIR,
# with label KEY_LABEL and id ID (hex). softhsm2-util wants PKCS#8, so the
# key is converted first (into DIR, which the caller removes).
softhsm_import() {
  local dir=$1 token=$2 pem=$3 label=$4 id=$5
  openssl pkcs8 -topk8 -nocrypt -in "$pem" -out "$dir/$label.pk8"
  softhsm2-util --import "$dir/$label.pk8" --token "$token" --label "$label" --id "$id" \
    --pin "$softhsm_pin" >/dev/null
}
