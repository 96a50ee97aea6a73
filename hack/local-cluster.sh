#!/usr/bin/env bash
# A real control plane for tests and the demo: etcd and kube-apiserver on 127.0.0.1, built from
# their Go modules (hack/tools.sh), with a generated CA, an admin client certificate
# (system:masters), service-account keys and RBAC. No kubelet, no controller-manager.
# With --node (root only): a real single-node cluster, the control plane plus
# kube-controller-manager, kube-scheduler, containerd and a kubelet on a CNI bridge.
#
#   hack/local-cluster.sh up [--node]        start (or find running) and print `export KUBECONFIG=...`
#   hack/local-cluster.sh down               stop what `up` started (either mode) and remove its data
#   hack/local-cluster.sh status             say whether it runs
#   hack/local-cluster.sh restart-apiserver  stop and start kube-apiserver on the same port
#   hack/local-cluster.sh user NAME [GROUP]  write a kubeconfig for a client-certificate user; print its path
#   hack/local-cluster.sh node-up|node-down  the same as up --node | down
#   hack/local-cluster.sh node-import [DIR]  import image archives (default $SAQR_IMAGES) into the node
#   hack/local-cluster.sh node-status        say whether the node runs; print containerd's socket
#
# State lives in $SAQR_CLUSTER_DIR (default ${TMPDIR:-/tmp}/saqr-cluster-$UID).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir="${SAQR_CLUSTER_DIR:-${TMPDIR:-/tmp}/saqr-cluster-$(id -u)}"
pki="$dir/pki"

log() { echo "local-cluster: $*" >&2; }

# Where kube-apiserver listens and what kubeconfigs name: 127.0.0.1, or in node mode the node IP
# (the bridge gateway) so that pods reach it (node_load sets it from node.env).
api_host=127.0.0.1

alive() { # a process that runs (a zombie does not: killed daemons may wait a moment for their reaper)
	local pid
	[ -f "$dir/$1.pid" ] && pid=$(cat "$dir/$1.pid") && kill -0 "$pid" 2>/dev/null &&
		! awk '{sub(/^.*\) /, ""); exit ($1 == "Z" ? 0 : 1)}' "/proc/$pid/stat" 2>/dev/null
}

# A port nothing listens on, below the kernel's ephemeral range (ip_local_port_range): a port in
# that range may be the local end of some outgoing connection, which no connect test sees but
# which makes the bind fail ("address already in use") on a busy machine.
free_port() {
	local p lo span
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	span=$((lo - 20000))
	[ "$span" -ge 1000 ] || span=40000
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % span))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

gen_cert() { # name subject san(optional) extendedKeyUsage
	local name=$1 subj=$2 san=$3 eku=$4 ext="$pki/$1.ext"
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
	openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[ -n "$san" ] && echo "subjectAltName=$san"
	} >"$ext"
	openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 365 -sha256 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
	rm -f "$pki/$name.csr" "$ext"
	chmod 600 "$pki/$name.key"
}

make_pki() {
	[ -f "$pki/admin.crt" ] && return 0
	mkdir -p "$pki"
	chmod 700 "$pki"
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=saqr-local-ca" -days 365 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$pki/ca.crt" 2>/dev/null
	gen_cert apiserver "/CN=kube-apiserver" \
		"IP:127.0.0.1${node_gw:+,IP:$node_gw},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" serverAuth
	gen_cert admin "/O=system:masters/CN=saqr-admin" "" clientAuth
	openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
	chmod 600 "$pki/ca.key" "$pki/sa.key"
}

write_kubeconfig() { # path user cert key
	local path=$1 user=$2 cert=$3 key=$4 port
	port=$(cat "$dir/apiserver.port")
	cat >"$path" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: saqr-local
  cluster:
    server: https://$api_host:$port
    certificate-authority: $pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $cert
    client-key: $key
contexts:
- name: $user@saqr-local
  context:
    cluster: saqr-local
    user: $user
    namespace: default
current-context: $user@saqr-local
KCFG
	chmod 600 "$path"
}

wait_http() { # pidname url timeout-seconds [curl args...]: until the URL answers 2xx or the process dies
	local name=$1 url=$2 timeout=$3
	shift 3
	for _ in $(seq 1 $((timeout * 5))); do
		alive "$name" || return 1
		curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

start_etcd() {
	local cport pport
	cport=$(free_port)
	pport=$(free_port)
	echo "$cport" >"$dir/etcd.port"
	mkdir -p "$dir/etcd-data"
	"$bindir/etcd" --name saqr --data-dir "$dir/etcd-data" \
		--listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "saqr=http://127.0.0.1:$pport" --unsafe-no-fsync --log-level warn \
		>"$dir/etcd.log" 2>&1 &
	echo $! >"$dir/etcd.pid"
	wait_http etcd "http://127.0.0.1:$cport/health" 60 || { log "etcd did not become healthy; see $dir/etcd.log"; tail -20 "$dir/etcd.log" >&2; return 1; }
}

start_apiserver() {
	local port
	[ -f "$dir/apiserver.port" ] || free_port >"$dir/apiserver.port"
	port=$(cat "$dir/apiserver.port")
	mkdir -p "$dir/apiserver-certs"
	local mode_flags=(--authorization-mode RBAC --disable-admission-plugins ServiceAccount)
	if [ -f "$dir/node.env" ]; then
		# Node mode: no kube-proxy, so the API server resolves Service webhooks to their
		# endpoints' pod IPs (reachable over the bridge) instead of the ClusterIP.
		mode_flags=(--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction
			--enable-aggregator-routing=true
			--kubelet-client-certificate "$pki/apiserver-kubelet-client.crt"
			--kubelet-client-key "$pki/apiserver-kubelet-client.key"
			--kubelet-certificate-authority "$pki/ca.crt"
			--kubelet-preferred-address-types InternalIP)
	fi
	"$bindir/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$(cat "$dir/etcd.port")" \
		--cert-dir "$dir/apiserver-certs" \
		--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
		--client-ca-file "$pki/ca.crt" \
		--secure-port "$port" --bind-address "$api_host" --advertise-address "$api_host" \
		--service-cluster-ip-range 10.0.0.0/24 \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$pki/sa.pub" \
		--service-account-signing-key-file "$pki/sa.key" \
		"${mode_flags[@]}" \
		--endpoint-reconciler-type none \
		--allow-privileged=true \
		${SAQR_APISERVER_FLAGS:-} \
		>"$dir/apiserver.log" 2>&1 &
	echo $! >"$dir/apiserver.pid"
	local ca=(--cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key")
	wait_http apiserver "https://$api_host:$port/readyz" 120 "${ca[@]}" &&
		wait_http apiserver "https://$api_host:$port/api/v1/namespaces/default" 60 "${ca[@]}" ||
		{ log "kube-apiserver did not become ready; see $dir/apiserver.log"; tail -20 "$dir/apiserver.log" >&2; return 1; }
}

stop() { # name
	local pid
	[ -f "$dir/$1.pid" ] || return 0
	pid=$(cat "$dir/$1.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/$1.pid"
}

cmd_up() {
	if alive etcd && alive apiserver; then
		echo "export KUBECONFIG=$dir/kubeconfig"
		return 0
	fi
	[ -f "$dir/node.env" ] && node_down # a node ran here: clear it, then start API-server-only
	api_host=127.0.0.1
	bindir=$("$here/tools.sh" bindir)
	stop apiserver
	stop etcd
	mkdir -p "$dir"
	make_pki
	start_etcd
	start_apiserver
	write_kubeconfig "$dir/kubeconfig" saqr-admin "$pki/admin.crt" "$pki/admin.key"
	log "kube-apiserver $("$bindir/kube-apiserver" --version | awk '{print $2}') on https://127.0.0.1:$(cat "$dir/apiserver.port"), data in $dir"
	echo "export KUBECONFIG=$dir/kubeconfig"
}

cmd_down() {
	if [ -f "$dir/node.env" ]; then
		node_down
		return
	fi
	stop apiserver
	stop etcd
	[ -d "$dir" ] && rm -rf "$dir"
	log "stopped"
}

cmd_status() {
	if alive etcd && alive apiserver; then
		echo "running: https://$api_host:$(cat "$dir/apiserver.port") (KUBECONFIG=$dir/kubeconfig)"
	else
		echo "not running"
		return 1
	fi
}

cmd_restart_apiserver() {
	bindir=$("$here/tools.sh" bindir)
	stop apiserver
	start_apiserver
}

cmd_user() { # name [group]
	local name=$1 group=${2:-}
	local subj="/CN=$name"
	[ -n "$group" ] && subj="/O=$group/CN=$name"
	gen_cert "user-$name" "$subj" "" clientAuth
	write_kubeconfig "$dir/kubeconfig-$name" "$name" "$pki/user-$name.crt" "$pki/user-$name.key"
	echo "$dir/kubeconfig-$name"
}

# shellcheck source=hack/local-node.sh
. "$here/local-node.sh"

case "${1:-}" in
up)
	if [ "${2:-}" = --node ]; then node_up; else cmd_up; fi
	;;
node-up) node_up ;;
node-down) cmd_down ;;
node-import) shift; node_import "$@" ;;
node-status) node_status ;;
down) cmd_down ;;
status) cmd_status ;;
restart-apiserver) cmd_restart_apiserver ;;
user) shift; cmd_user "$@" ;;
*) sed -n '2,19p' "$0" >&2; exit 2 ;;
esac
