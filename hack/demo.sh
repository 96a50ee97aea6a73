#!/usr/bin/env bash
# `make demo`: Saqr's main job on a real single-node cluster (root), step by step, nothing played.
#   hack/demo.sh up     node up with Saqr's images, Saqr installed by its Helm chart, then the
#                       walk-through (hack/demo-node.sh); leaves it running to explore
#   hack/demo.sh down   stop everything `up` started; check that the host is as it was
# A failure during `up` tears everything down (the EXIT trap of tests/e2e/lib.sh). The node's
# state lives in $SAQR_CLUSTER_DIR (default /tmp/saqr-demo-<hash of the checkout>); the host's
# state before `up` is kept next to it (<dir>.host) for `down` to compare.
# Without root, `make demo-apiserver` (hack/demo-apiserver.sh) walks through the same story on
# an API server alone and plays the missing controllers.
set -euo pipefail

e2e_name=demo
# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/lib.sh"
root=$e2e_root
demo_dir="$dir/demo"
host_state="$dir.host"
# shellcheck source=hack/demo-node.sh
. "$root/hack/demo-node.sh"

demo_exit() { # the EXIT trap while `up` runs: on failure, show why before tearing down
	local rc=$?
	# A signal may land inside a redirected builtin (until_ok's eval): print to the real outputs.
	[ ! -e /proc/$$/fd/8 ] || exec 1>&8 2>&9
	[ "$rc" = 0 ] || demo_dump >&2
	(exit "$rc")
	e2e_finish
}

cmd_up() {
	local t
	[ -x "$root/bin/saqr-operator" ] && [ -x "$root/build/rel/tools/saqr-demo-server" ] ||
		{ echo "demo: run 'make demo' (it builds first)" >&2; exit 1; }
	cmd_down >/dev/null 2>&1 || true
	e2e_fails=0
	step "A real node: etcd, kube-apiserver, controller-manager, scheduler, containerd and a kubelet on a CNI bridge"
	e2e_node_up
	exec 8>&1 9>&2 # after the node's daemons started: they must not hold them
	trap demo_exit EXIT
	trap 'exec 1>&8 2>&9; log interrupted; exit 130' INT TERM HUP
	{ echo "e2e_before='$e2e_before'"; echo "e2e_paths_before='$e2e_paths_before'"; } >"$host_state"
	mkdir -p "$demo_dir"
	show kubectl get nodes -o wide
	demo_install
	t=$(now)
	demo_modeldeployment
	timing "1. ModelDeployment pods Ready" "$(since "$t")"
	demo_refusals
	t=$(now)
	demo_training
	timing "3. training, promotion, rollout" "$(since "$t")"
	t=$(now)
	demo_drift
	timing "4. drift, incident, retrain, rollback" "$(since "$t")"
	rm -f "$demo_dir/traffic.mode" # the traffic stops; the ITSM webhook keeps listening
	t=$(now)
	demo_compliance
	timing "5. policy reports, evidence" "$(since "$t")"
	e2e_rss
	trap - EXIT INT TERM HUP
	step "Done in $(since "$e2e_t0")s. Saqr keeps running on the node; explore with:"
	echo "  export KUBECONFIG=$KUBECONFIG PATH=$bindir:\$PATH"
	echo "  kubectl -n $ns get md,tj,dp,deploy,rs,pods; kubectl -n $ns describe dp fraud-detector-drift"
	echo "  kubectl -n saqr-system logs deploy/saqr-operator; the ITSM webhook's log: $demo_dir/sink.jsonl"
	echo "  kubectl get reports -A; the evidence for an auditor: $demo_dir/compliance-report.html"
	echo "  stop everything with: make demo-down"
}

cmd_down() {
	[ -d "$dir" ] || [ -f "$host_state" ] || { echo "demo: nothing runs"; return 0; }
	demo_stop_bg
	if [ -f "$host_state" ]; then
		# shellcheck disable=SC1090
		. "$host_state"
	else
		e2e_before=$(e2e_sysctl_state)
		e2e_paths_before=$(e2e_host_paths)
	fi
	# shellcheck disable=SC1091
	[ -f "$dir/node.env" ] && . "$dir/node.env"
	e2e_down
	rm -f "$host_state"
	if [ "$e2e_fails" -ne 0 ]; then
		log "stopped, but the host is not as it was ($e2e_fails problem(s) above)"
		return 1
	fi
	log "stopped; no process, mount, bridge, cgroup, host path or sysctl change left"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
*) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
