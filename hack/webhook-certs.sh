#!/usr/bin/env bash
# Makes a CA and a serving certificate for saqr-webhook, and prints the CA as the base64
# caBundle that a ValidatingWebhookConfiguration needs (stdout: the caBundle only).
#
#   hack/webhook-certs.sh [--service NAME] [--namespace NS] [--out DIR] [--days N] [--ip IP]...
#                         [--client] [--ca-from DIR]
#
# The serving certificate names <svc>.<ns>.svc and <svc>.<ns>.svc.cluster.local (what the
# kube-apiserver checks for a `service:` webhook) and the IPs given (default 127.0.0.1, for a
# `url:` webhook in tests). The apiserver refuses certificates that carry the name only in the CN.
# --client also issues client.crt/client.key (CN kube-apiserver) for --client-ca-file setups.
# --ca-from signs with DIR/ca.crt and DIR/ca.key instead of a new CA (a rotation that keeps the
# caBundle). Files: ca.crt ca.key tls.crt tls.key [client.crt client.key], keys mode 0600.
set -euo pipefail

svc=saqr-webhook
ns=saqr-system
out=build/webhook-certs
days=365
client=0
ca_from=
ips=()

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--service) svc=$2; shift 2 ;;
	--namespace) ns=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--ip) ips+=("$2"); shift 2 ;;
	--client) client=1; shift ;;
	--ca-from) ca_from=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "webhook-certs: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[ ${#ips[@]} -eq 0 ] && ips=(127.0.0.1)
command -v openssl >/dev/null || { echo "webhook-certs: openssl is needed" >&2; exit 1; }

mkdir -p "$out"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

san="DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local,DNS:$svc.$ns,DNS:$svc"
for ip in "${ips[@]}"; do san="$san,IP:$ip"; done

if [ -n "$ca_from" ]; then
	[ "$(cd "$ca_from" && pwd)" = "$(cd "$out" && pwd)" ] || cp "$ca_from/ca.crt" "$ca_from/ca.key" "$out/"
else
	openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$out/ca.key" -subj "/CN=$svc.$ns webhook CA" -days "$days" -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$out/ca.crt" 2>/dev/null
fi

issue() { # name subject extendedKeyUsage [subjectAltName]
	local name=$1 subj=$2 eku=$3 alt=${4:-}
	openssl ecparam -name prime256v1 -genkey -noout -out "$out/$name.key" 2>/dev/null
	openssl req -new -key "$out/$name.key" -subj "$subj" -out "$work/$name.csr" 2>/dev/null
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[ -n "$alt" ] && echo "subjectAltName=$alt"
	} >"$work/$name.ext"
	openssl x509 -req -in "$work/$name.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
		-CAcreateserial -CAserial "$work/ca.srl" -days "$days" -sha256 -extfile "$work/$name.ext" \
		-out "$out/$name.crt" 2>/dev/null
}

issue tls "/CN=$svc.$ns.svc" serverAuth "$san"
[ "$client" = 1 ] && issue client "/CN=kube-apiserver" clientAuth
chmod 644 "$out/ca.crt" "$out/tls.crt"
[ "$client" = 1 ] && chmod 644 "$out/client.crt"

echo "webhook-certs: wrote $out/{ca.crt,tls.crt,tls.key} for $san" >&2
base64 -w0 <"$out/ca.crt"
echo
