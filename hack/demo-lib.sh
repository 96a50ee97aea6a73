# shellcheck shell=bash
# What the demos print and how they wait (sourced by hack/demo-apiserver.sh and
# hack/demo-node.sh). The caller defines kubectl and sets $ns.

bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
[ -t 1 ] || { bold=""; dim=""; off=""; }

step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
note() { printf '%s# %s%s\n' "$dim" "$*" "$off"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/  /'; }

# Wait until a shell condition holds (up to $1 seconds); the condition is evaluated afresh
# each time.
until_ok() {
	local t=$1
	shift
	for _ in $(seq 1 $((t * 4))); do
		eval "$*" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	echo "demo: timed out after ${t}s waiting for: $*" >&2
	return 1
}

jsonpath() { kubectl get "$1" -n "$ns" "$2" -o "jsonpath=$3" 2>/dev/null; }
cond_is() { [ "$(jsonpath "$1" "$2" "{.status.conditions[?(@.type==\"$3\")].status}")" = "$4" ]; }

features_fmt="{range .status.features[*]}{.name} {.method} score={.score} threshold={.threshold} drifted={.drifted}{'\n'}{end}"
incidents_fmt="{range .status.incidents[*]}incident {.id}: {.reason}, opened {.openedAt}, trainingJob={.trainingJob}, rolledBackTo={.rolledBackTo}{'\n'}{end}"
