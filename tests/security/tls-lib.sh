# tls-lib.sh: test certificates made at test time with openssl (sourced by
# the tests in tests/security/). Nothing here is ever checked in: every run
# makes a fresh CA, so no private key lives in the repository.

# make_ca DIR NAME: DIR/NAME.crt and DIR/NAME.key, a self-signed CA.
make_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
		-subj "/O=crdbfeed tests/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$1/$2.key" -out "$1/$2.crt" >/dev/null 2>&1 ||
		fail "openssl could not make the CA $2"
}

# make_cert DIR NAME CA CN [SAN]: DIR/NAME.crt and DIR/NAME.key signed by
# DIR/CA; with SAN (e.g. "DNS:localhost,IP:127.0.0.1") a server
# certificate, without it a client certificate for user CN.
make_cert() {
	_mc_dir=$1 _mc_name=$2 _mc_ca=$3 _mc_cn=$4 _mc_san=${5:-}
	openssl req -new -newkey rsa:2048 -nodes -subj "/O=crdbfeed tests/CN=$_mc_cn" \
		-keyout "$_mc_dir/$_mc_name.key" -out "$_mc_dir/$_mc_name.csr" >/dev/null 2>&1 ||
		fail "openssl could not make the request for $_mc_name"
	if [ -n "$_mc_san" ]; then
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$_mc_san" >"$_mc_dir/$_mc_name.ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$_mc_dir/$_mc_name.ext"
	fi
	openssl x509 -req -in "$_mc_dir/$_mc_name.csr" -CA "$_mc_dir/$_mc_ca.crt" \
		-CAkey "$_mc_dir/$_mc_ca.key" -CAcreateserial -days 2 -sha256 \
		-extfile "$_mc_dir/$_mc_name.ext" -out "$_mc_dir/$_mc_name.crt" >/dev/null 2>&1 ||
		fail "openssl could not sign $_mc_name"
	chmod 600 "$_mc_dir/$_mc_name.key"
}

# make_test_pki DIR: ca (the right CA), wrong-ca (another one), server
# (localhost and 127.0.0.1, signed by ca), client (CN root, signed by ca),
# client-wrong (CN root, signed by wrong-ca).
make_test_pki() {
	mkdir -p "$1"
	make_ca "$1" ca
	make_ca "$1" wrong-ca
	make_cert "$1" server ca localhost "DNS:localhost,IP:127.0.0.1"
	make_cert "$1" client ca root
	make_cert "$1" client-wrong wrong-ca root
}
