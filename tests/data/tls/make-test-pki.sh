#!/bin/sh
# make-test-pki.sh DIR: a throw-away PKI for TLS tests, generated at test time
# (no private key is ever committed). Writes into DIR:
#   ca.crt ca.key            the test CA
#   server.crt server.key    signed by it, for localhost and 127.0.0.1
#   other-ca.crt             an unrelated CA: verifying against it must fail
set -eu
dir=${1:?usage: make-test-pki.sh DIR}
cd "$dir"
umask 077

ossl() { openssl "$@" >/dev/null 2>&1 || { echo "openssl $1 failed" >&2; exit 1; }; }
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

ossl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj "/CN=ecoflow-power test CA"
ossl req $ec -keyout server.key -out server.csr -subj "/CN=localhost"
cat > server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
  -days 2 -extfile server.ext
ossl req -x509 $ec -keyout other-ca.key -out other-ca.crt -days 2 -subj "/CN=unrelated test CA"
rm -f server.csr server.ext ca.srl other-ca.key
chmod 644 ca.crt server.crt other-ca.crt
chmod 600 ca.key server.key
