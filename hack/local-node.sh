# shellcheck shell=bash
# The node mode of hack/local-cluster.sh (sourced by it; uses its $dir, $pki, helpers): a real
# single-node cluster as root on this machine.
#   etcd + kube-apiserver (Node,RBAC; ServiceAccount admission) + kube-controller-manager +
#   kube-scheduler + containerd (own config, root, state and socket under $dir) + kubelet on a
#   CNI bridge whose gateway is the node IP.
# kube-apiserver listens on the node IP (in its certificate, and its advertise address) so that
# pods reach it directly (no kube-proxy: the `kubernetes` ClusterIP leads nowhere; a pod sets
# KUBERNETES_SERVICE_HOST/PORT to node.env's node_gw and apiserver.port), and resolves Service
# webhooks to endpoint pod IPs (--enable-aggregator-routing), which the host reaches over the bridge.
# Everything an instance touches is named by $dir: its ports are free ports, its bridge subnet
# 10.244.N.0/24 and cgroup root /saqr-node-N come from a hash of $dir (the next free N when
# taken), so a second instance (other $SAQR_CLUSTER_DIR) does not collide with it.
# node_down stops every process, unmounts what containerd and the kubelet mounted under $dir,
# removes the bridge, the cgroups, the CNI results and the kubelet's host files, and restores
# the host sysctls the kubelet and the bridge plugin change. It also works after a crash
# (kill -9 of anything): node_up runs it first when an earlier instance left state behind.

node_sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
	kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward)
node_name=saqr-node

nlog() { echo "local-node: $*" >&2; }

node_load() { # the instance's names, from node.env
	# shellcheck disable=SC1091
	[ -f "$dir/node.env" ] && . "$dir/node.env" && api_host=$node_gw
}

# Pick N so that 10.244.N.0/24 is on no interface and no route of this host.
node_pick() {
	local n tries
	n=$(($(printf '%s' "$(realpath -m "$dir")" | cksum | cut -d' ' -f1) % 250 + 2))
	for tries in $(seq 1 250); do
		if ! ip -4 -o addr show | grep -q " 10\.244\.$n\." && ! ip -4 route show | grep -q "^10\.244\.$n\." &&
			! [ -e "/sys/fs/cgroup/memory/saqr-node-$n" ] && ! ip link show "saqr$n" >/dev/null 2>&1; then
			echo "$n"
			return 0
		fi
		n=$((n % 250 + 2))
		: "$tries"
	done
	nlog "no free 10.244.N.0/24 subnet"
	return 1
}

node_write_env() {
	local n=$1
	cat >"$dir/node.env" <<ENV
node_n=$n
node_bridge=saqr$n
node_gw=10.244.$n.1
node_subnet=10.244.$n.0/24
node_cgroup=saqr-node-$n
node_net=saqr-$n
node_sock=$dir/containerd/containerd.sock
ENV
}

# Processes of this instance: every process in its cgroup root, and every etcd, kube-*,
# containerd and shim whose command line names $dir.
node_pids() {
	local p comm
	if [ -n "${node_cgroup:-}" ]; then
		find /sys/fs/cgroup/*/"$node_cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
	fi
	for p in /proc/[0-9]*; do
		read -r comm 2>/dev/null <"$p/comm" || continue
		case "$comm" in
		etcd | kube-apiserver | kube-controller | kube-scheduler | kubelet | containerd | containerd-shim*) ;;
		*) continue ;;
		esac
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$dir/" && echo "${p#/proc/}"
	done
	return 0
}

node_kill_all() {
	local pids i t sig
	# The kubelet first (else it restarts what is stopped), then the containers through
	# containerd while it lives, so that the shims exit and remove their sockets; then the rest.
	# The data is thrown away: nothing needs a graceful stop beyond a short TERM.
	[ -f "$dir/kubelet.pid" ] && kill -9 "$(cat "$dir/kubelet.pid")" 2>/dev/null || true
	if [ -S "${node_sock:-/nonexistent}" ] && ctr -a "$node_sock" version >/dev/null 2>&1; then
		for t in $(ctr -a "$node_sock" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$node_sock" -n k8s.io tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true
		done
		for t in $(ctr -a "$node_sock" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$node_sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
		done
	fi
	for sig in TERM KILL KILL; do
		pids=$(node_pids | sort -u | grep -vx "$$" || true)
		[ -z "$pids" ] && return 0
		# shellcheck disable=SC2086
		kill -s "$sig" $pids 2>/dev/null || true
		for i in $(seq 1 $([ "$sig" = TERM ] && echo 5 || echo 15)); do
			pids=$(node_pids | sort -u || true)
			[ -z "$pids" ] && return 0
			sleep 0.2
			: "$i"
		done
	done
	nlog "processes left: $(node_pids | sort -u | tr '\n' ' ')"
}

# Mount points under $dir, deepest first (mountinfo escapes spaces as \040).
node_mounts() {
	awk -v d="$dir" '{p=$5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print length(p) " " p}' \
		/proc/self/mountinfo | sort -rn | cut -d' ' -f2-
}

node_unmount_all() {
	local m round
	for round in 1 2 3; do
		[ -z "$(node_mounts)" ] && return 0
		while IFS= read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done < <(node_mounts)
		: "$round"
	done
	[ -z "$(node_mounts)" ] || nlog "mounts left: $(node_mounts | tr '\n' ' ')"
}

node_restore_sysctls() {
	local line key val
	[ -f "$dir/sysctl.saved" ] || return 0
	while IFS='=' read -r key val; do
		[ -n "$key" ] && sysctl -q -w "$key=$val" >/dev/null 2>&1 || true
	done <"$dir/sysctl.saved"
	: "${line:-}"
}

node_down() {
	node_load || true
	node_kill_all
	node_unmount_all
	if [ -n "${node_bridge:-}" ]; then
		ip link del "$node_bridge" 2>/dev/null || true
	fi
	if [ -n "${node_cgroup:-}" ]; then
		local c
		for c in /sys/fs/cgroup/*/"$node_cgroup"; do
			[ -d "$c" ] && { find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; }
		done
	fi
	# Host paths the kubelet and libcni hard-code: remove this instance's entries (CNI results:
	# its network's, and the loopback ones of its sandboxes), sockets nobody listens on, then
	# the directories if empty (another instance's entries keep them).
	if [ -d /var/lib/cni/results ]; then
		local id
		[ -n "${node_net:-}" ] && rm -f /var/lib/cni/results/"$node_net"-*
		for id in $(ls "$dir/containerd/root/io.containerd.grpc.v1.cri/sandboxes" 2>/dev/null); do
			rm -f "/var/lib/cni/results/cni-loopback-$id-lo"
		done
		rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
	fi
	local dp=/var/lib/kubelet/device-plugins
	if [ -S "$dp/kubelet.sock" ] && ! grep -qF "$dp/kubelet.sock" /proc/net/unix; then
		rm -f "$dp/kubelet.sock"
		[ "$(ls -A "$dp")" = DEPRECATION ] && rm -f "$dp/DEPRECATION"
	fi
	rmdir "$dp" /var/lib/kubelet 2>/dev/null || true
	if [ -d /var/log/containers ]; then
		find /var/log/containers -maxdepth 1 -type l -lname "$dir/*" -delete 2>/dev/null || true
		rmdir /var/log/containers 2>/dev/null || true
	fi
	# Shim sockets whose shim is gone (containerd names them by hash under /run/containerd/s).
	if [ -d /run/containerd/s ]; then
		local sk
		for sk in /run/containerd/s/*; do
			[ -S "$sk" ] && ! grep -qF "$sk" /proc/net/unix && rm -f "$sk"
		done
		rmdir /run/containerd/s /run/containerd 2>/dev/null || true
	fi
	node_restore_sysctls
	[ -z "$(node_mounts)" ] && rm -rf "$dir"
	nlog "stopped"
}

node_gen_certs() {
	[ -f "$pki/kubelet-serving.crt" ] && return 0
	gen_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "" clientAuth
	gen_cert controller-manager "/CN=system:kube-controller-manager" "" clientAuth
	gen_cert scheduler "/CN=system:kube-scheduler" "" clientAuth
	gen_cert kubelet "/O=system:nodes/CN=system:node:$node_name" "" clientAuth
	gen_cert kubelet-serving "/CN=$node_name" "IP:$node_gw,DNS:$node_name" serverAuth
}

node_bridge_up() {
	ip link show "$node_bridge" >/dev/null 2>&1 || ip link add "$node_bridge" type bridge
	ip -4 addr show dev "$node_bridge" | grep -q " $node_gw/" || ip addr add "$node_gw/24" dev "$node_bridge"
	ip link set "$node_bridge" up
}

node_start_containerd() {
	local c="$dir/containerd"
	mkdir -p "$c/root" "$c/state" "$c/runc" "$c/opt" "$dir/cni/net.d" "$dir/cni/ipam"
	cat >"$c/config.toml" <<TOML
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$node_sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "saqr.local/pause:dev"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$c/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
TOML
	cat >"$dir/cni/net.d/10-$node_net.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "$node_net", "plugins": [
  {"type": "bridge", "bridge": "$node_bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$dir/cni/ipam",
            "ranges": [[{"subnet": "$node_subnet", "gateway": "$node_gw"}]]}}
]}
JSON
	containerd --config "$c/config.toml" >"$dir/containerd.log" 2>&1 &
	echo $! >"$dir/containerd.pid"
	for _ in $(seq 1 150); do
		alive containerd || break
		ctr -a "$node_sock" version >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	nlog "containerd did not start; see $dir/containerd.log"
	tail -20 "$dir/containerd.log" >&2
	return 1
}

node_import() { # [dir of image archives]
	node_load || { nlog "no node in $dir"; return 1; }
	"$here/images.sh" import "$node_sock" "${1:-${SAQR_IMAGES:-$here/../build/images}}"
	node_tag_digests
}

# Name every imported image also by its digest (NAME@sha256:..., as a registry pull records it):
# the CRI finds a pod's digest-pinned image (Saqr's zeroTrust.imageDigest) only by such a name.
node_tag_digests() {
	local ref digest
	while read -r ref digest; do
		case "$ref" in *@*) continue ;; esac
		ctr -a "$node_sock" -n k8s.io images tag --force "$ref" "${ref%:*}@$digest" >/dev/null
	done < <(ctr -a "$node_sock" -n k8s.io images ls | awk 'NR > 1 {print $1, $3}')
}

node_start_controllers() {
	local port
	write_kubeconfig "$dir/controller-manager.kubeconfig" system:kube-controller-manager \
		"$pki/controller-manager.crt" "$pki/controller-manager.key"
	write_kubeconfig "$dir/scheduler.kubeconfig" system:kube-scheduler "$pki/scheduler.crt" "$pki/scheduler.key"
	port=$(free_port)
	"$bindir/kube-controller-manager" --kubeconfig "$dir/controller-manager.kubeconfig" \
		--authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
		--authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
		--secure-port "$port" --bind-address 127.0.0.1 --cert-dir "$dir/controller-manager-certs" \
		--use-service-account-credentials --service-account-private-key-file "$pki/sa.key" \
		--root-ca-file "$pki/ca.crt" --cluster-signing-cert-file "$pki/ca.crt" \
		--cluster-signing-key-file "$pki/ca.key" --leader-elect=false --allocate-node-cidrs=false \
		--cluster-name "saqr-$node_n" \
		>"$dir/controller-manager.log" 2>&1 &
	echo $! >"$dir/controller-manager.pid"
	port=$(free_port)
	"$bindir/kube-scheduler" --kubeconfig "$dir/scheduler.kubeconfig" \
		--authentication-kubeconfig "$dir/scheduler.kubeconfig" \
		--authorization-kubeconfig "$dir/scheduler.kubeconfig" \
		--secure-port "$port" --bind-address 127.0.0.1 --cert-dir "$dir/scheduler-certs" \
		--leader-elect=false >"$dir/scheduler.log" 2>&1 &
	echo $! >"$dir/scheduler.pid"
}

node_start_kubelet() {
	local port hport
	port=$(free_port)
	hport=$(free_port)
	mkdir -p "$dir/kubelet" "$dir/pod-logs"
	for ctl in /sys/fs/cgroup/*/; do
		case "$ctl" in */unified/) continue ;; esac
		mkdir -p "$ctl$node_cgroup"
	done
	write_kubeconfig "$dir/kubelet.kubeconfig" "system:node:$node_name" "$pki/kubelet.crt" "$pki/kubelet.key"
	cat >"$dir/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$node_cgroup
failSwapOn: false
makeIPTablesUtilChains: false
containerRuntimeEndpoint: unix://$node_sock
address: $node_gw
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $hport
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
evictionHard: {memory.available: "0%", nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
clusterDomain: cluster.local
podLogsDir: $dir/pod-logs
volumePluginDir: $dir/kubelet/volume-plugins
serializeImagePulls: false
maxPods: 50
YAML
	"$bindir/kubelet" --config "$dir/kubelet.yaml" --kubeconfig "$dir/kubelet.kubeconfig" \
		--root-dir "$dir/kubelet" --node-ip "$node_gw" --hostname-override "$node_name" \
		>"$dir/kubelet.log" 2>&1 &
	echo $! >"$dir/kubelet.pid"
}

node_wait_ready() {
	local kc=(--kubeconfig "$dir/kubeconfig") i ready
	for i in $(seq 1 600); do
		for p in controller-manager scheduler containerd kubelet; do
			alive "$p" || { nlog "$p exited; see $dir/$p.log"; tail -20 "$dir/$p.log" >&2; return 1; }
		done
		ready=$("$bindir/kubectl" "${kc[@]}" get node "$node_name" \
			-o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
		if [ "$ready" = True ] && "$bindir/kubectl" "${kc[@]}" -n default get serviceaccount default >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
		: "$i"
	done
	nlog "the node did not become Ready in 120 s; see $dir/kubelet.log"
	tail -20 "$dir/kubelet.log" >&2
	return 1
}

node_status() {
	node_load 2>/dev/null || { echo "no node"; return 1; }
	if alive etcd && alive apiserver && alive controller-manager && alive scheduler && alive kubelet &&
		alive containerd && ctr -a "$node_sock" version >/dev/null 2>&1; then
		echo "running: node $node_name at $node_gw, containerd $node_sock (KUBECONFIG=$dir/kubeconfig)"
	else
		echo "not running"
		return 1
	fi
}

node_up() {
	[ "$(id -u)" = 0 ] || { nlog "the node needs root"; return 1; }
	if [ -f "$dir/node.env" ] && node_status >/dev/null 2>&1; then
		echo "export KUBECONFIG=$dir/kubeconfig"
		return 0
	fi
	# An earlier instance (crashed, or the API-server-only mode) left state: clear it first.
	if [ -f "$dir/node.env" ]; then
		node_down
	elif [ -d "$dir" ]; then
		cmd_down >/dev/null 2>&1
	fi
	local start=$SECONDS n
	bindir=$("$here/tools.sh" bindir node)
	mkdir -p "$dir"
	n=$(node_pick)
	node_write_env "$n"
	node_load
	trap 'nlog "start failed; tearing down"; node_down' ERR
	set -E
	: >"$dir/sysctl.saved"
	for k in "${node_sysctls[@]}"; do
		echo "$k=$(sysctl -n "$k")" >>"$dir/sysctl.saved"
	done
	make_pki
	node_gen_certs
	node_bridge_up
	start_etcd
	start_apiserver
	write_kubeconfig "$dir/kubeconfig" saqr-admin "$pki/admin.crt" "$pki/admin.key"
	node_start_controllers
	node_start_containerd
	"$here/images.sh" import "$node_sock" "${SAQR_IMAGES:-$here/../build/images}"
	node_tag_digests
	node_start_kubelet
	node_wait_ready
	trap - ERR
	set +E
	nlog "node $node_name Ready at $node_gw ($node_subnet on $node_bridge) in $((SECONDS - start))s; kube-apiserver on https://$node_gw:$(cat "$dir/apiserver.port"), containerd at $node_sock, data in $dir"
	echo "export KUBECONFIG=$dir/kubeconfig"
}
