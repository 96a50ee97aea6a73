# shellcheck shell=bash
# Shared by the end-to-end scripts on the local node (tests/e2e/install.sh,
# hack/bench-admission.sh): bring a private node up with Saqr's images, install Saqr with its
# Helm chart, time the steps, and on exit (success, failure or a signal) tear the node down and
# check that the host is as it was. The caller sets e2e_name and sources this file.
# Expects the image archives in $SAQR_IMAGES (default build/images; the make targets build them).

e2e_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Outside the tree (mounts live under it while the node runs), one per checkout and script.
export SAQR_CLUSTER_DIR="${SAQR_CLUSTER_DIR:-${TMPDIR:-/tmp}/saqr-$e2e_name-$(printf %s "$e2e_root" | cksum | cut -d' ' -f1)}"
export SAQR_IMAGES="${SAQR_IMAGES:-$e2e_root/build/images}"
dir=$SAQR_CLUSTER_DIR
lc="$e2e_root/hack/local-cluster.sh"
e2e_sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
	kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward)
e2e_fails=0
e2e_t0=$(date +%s.%N)
declare -a e2e_timings=()

log() { echo "$e2e_name: $*" >&2; }
fail() {
	log "FAIL: $*"
	e2e_fails=$((e2e_fails + 1))
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
timing() { # label seconds
	e2e_timings+=("$(printf '%-34s %7ss' "$1" "$2")")
	log "$1: ${2}s"
}

[ "$(id -u)" = 0 ] || { echo "$e2e_name: needs root (a real node)" >&2; exit 1; }
bindir=$("$e2e_root/hack/tools.sh" bindir node)
kubectl() { "$bindir/kubectl" "$@"; }
helm() { "$bindir/helm" "$@"; }

e2e_sysctl_state() { for k in "${e2e_sysctls[@]}"; do echo "$k=$(sysctl -n "$k")"; done; }
# Host paths the kubelet, libcni and containerd hard-code (another instance may hold some).
e2e_host_paths() { ls -d /var/lib/kubelet /var/log/containers /run/containerd /var/lib/cni/results/* 2>/dev/null || true; }

# The background processes a script started (e2e_bg_pids): TERM, up to 3 s, then KILL.
e2e_kill_bg() {
	local pid
	[ -n "${e2e_bg_pids:-}" ] || return 0
	# shellcheck disable=SC2086 # a list of pids
	kill $e2e_bg_pids 2>/dev/null || true
	for pid in $e2e_bg_pids; do
		for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	e2e_bg_pids=
}

# Tear down (idempotent) and check that nothing of the node is left.
e2e_down() {
	local t left
	trap - EXIT INT TERM HUP
	e2e_kill_bg
	t=$(now)
	"$lc" down >/dev/null 2>&1 || "$lc" down >/dev/null 2>&1 || true
	timing "teardown" "$(since "$t")"
	left=$(for p in /proc/[0-9]*; do tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$dir/" && echo "${p#/proc/} $(cat "$p/comm" 2>/dev/null)"; done || true)
	[ -z "$left" ] || fail "processes left: $left"
	grep -qF " $dir" /proc/self/mountinfo && fail "mounts left: $(grep -cF " $dir" /proc/self/mountinfo)"
	[ -n "${node_bridge:-}" ] && ip link show "$node_bridge" >/dev/null 2>&1 && fail "bridge $node_bridge left"
	[ -n "${node_cgroup:-}" ] && ls -d /sys/fs/cgroup/*/"$node_cgroup" >/dev/null 2>&1 && fail "cgroups left"
	local paths_after after
	paths_after=$(e2e_host_paths)
	[ "$e2e_paths_before" = "$paths_after" ] ||
		fail "host paths left: $(diff <(echo "$e2e_paths_before") <(echo "$paths_after") | grep '^>' | tr '\n' ' ')"
	[ -d "$dir" ] && fail "$dir left"
	after=$(e2e_sysctl_state)
	[ "$e2e_before" = "$after" ] || fail "sysctls differ: $(diff <(echo "$e2e_before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
}

# The summary and the exit status; the EXIT trap (also on INT/TERM/HUP: the exit runs it).
e2e_finish() {
	local rc=$?
	e2e_down
	timing "total" "$(since "$e2e_t0")"
	printf '%s\n' "${e2e_timings[@]}" >&2
	if [ "$rc" -ne 0 ] || [ "$e2e_fails" -ne 0 ]; then
		log "FAILED ($e2e_fails failure(s), exit $rc)"
		exit 1
	fi
	log "PASS"
	exit 0
}

# Start the node (clearing what an earlier run left), with the images imported; node.env's
# names become variables; the node is labelled as a UAE region so that pinned pods run.
e2e_node_up() {
	local t
	"$lc" down >/dev/null 2>&1 || true
	e2e_before=$(e2e_sysctl_state)
	e2e_paths_before=$(e2e_host_paths)
	trap e2e_finish EXIT
	trap 'log "interrupted"; exit 130' INT TERM HUP
	t=$(now)
	local env
	env=$("$lc" node-up) || { fail "the node did not start"; return 1; }
	eval "$env"
	timing "node up (images imported)" "$(since "$t")"
	# shellcheck disable=SC1091
	. "$dir/node.env"
	api_port=$(cat "$dir/apiserver.port")
	kubectl label node saqr-node topology.kubernetes.io/region=uaenorth \
		topology.kubernetes.io/zone=uaenorth-1 >/dev/null
}

# The image reference pinned by the digest containerd knows: NAME@sha256:...
e2e_pinned() { # saqr.local/NAME:TAG
	local d
	d=$(ctr -a "$node_sock" -n k8s.io images ls "name==$1" | awk 'NR == 2 {print $3}')
	echo "${1%:*}@$d"
}

# helm install saqr into saqr-system from charts/saqr with the node's values; the operator gets
# the API server's node address. Extra arguments go to helm.
e2e_helm_install() {
	local t
	t=$(now)
	helm --kubeconfig "$KUBECONFIG" install saqr "$e2e_root/charts/saqr" -n saqr-system --create-namespace \
		-f "$e2e_root/charts/saqr/ci/local-node-values.yaml" \
		--set "operator.extraEnv[0].name=KUBERNETES_SERVICE_HOST,operator.extraEnv[0].value=$node_gw" \
		--set "operator.extraEnv[1].name=KUBERNETES_SERVICE_PORT" --set-string "operator.extraEnv[1].value=$api_port" \
		"$@" >/dev/null
	e2e_wait_saqr || return 1
	timing "helm install to pods Ready" "$(since "$t")"
}

e2e_wait_saqr() {
	local d
	for d in saqr-operator saqr-webhook; do
		if ! kubectl -n saqr-system rollout status "deployment/$d" --timeout=180s >/dev/null; then
			fail "deployment $d not Ready"
			kubectl -n saqr-system get pods -o wide >&2
			kubectl -n saqr-system describe pods -l "app.kubernetes.io/component=${d#saqr-}" | tail -25 >&2
			kubectl -n saqr-system logs -l "app.kubernetes.io/component=${d#saqr-}" --tail 20 >&2 || true
			return 1
		fi
	done
}

# RSS of the whole node: its processes and everything in its cgroup.
e2e_rss() {
	local pids rss=0 p kb
	pids=$( (find /sys/fs/cgroup/*/"$node_cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
		for p in /proc/[0-9]*; do tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$dir/" && echo "${p#/proc/}"; done) | sort -u || true)
	for p in $pids; do
		kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
		rss=$((rss + ${kb:-0}))
	done
	log "RSS of the node with Saqr: $((rss / 1024)) MiB in $(wc -w <<<"$pids") processes"
	for p in $pids; do printf '%s %s\n' "$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)" "$(cat "/proc/$p/comm" 2>/dev/null)"; done |
		awk '{s[$2] += $1} END {for (c in s) printf "  %-16s %6.1f MiB\n", c, s[c] / 1024}' | sort -k2 -rn >&2
}
