#!/usr/bin/env bash
# Runs cmocka test binaries, prints each one's summary and a total line, and exits non-zero
# if any failed. Integration runs start a private local control plane first.
#   hack/run-tests.sh unit|integration BINARY...
set -uo pipefail

kind=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export SAQR_ROOT="$root"
export SAQR_SAN_BIN="$root/build/san/bin"

if [ "$kind" = integration ]; then
	SAQR_TOOLS_BIN=$("$here/tools.sh" bindir) || exit 1
	export SAQR_TOOLS_BIN PATH="$SAQR_TOOLS_BIN:$PATH"
	export SAQR_CLUSTER_DIR="${SAQR_CLUSTER_DIR:-$root/build/cluster}"
	trap '"$here/local-cluster.sh" down >/dev/null 2>&1' EXIT
	eval "$("$here/local-cluster.sh" up)" || { echo "integration: the local control plane did not start" >&2; exit 1; }
fi

passed=0 failed=0 broken=()
for t in "$@"; do
	echo "== $kind: $(basename "$t")"
	out=$(mktemp)
	"$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
	f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$out" | awk '{s+=$4} END {print s+0}')
	rm -f "$out"
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ]; then
		[ "$f" -eq 0 ] && failed=$((failed + 1))
		broken+=("$(basename "$t") (exit $rc)")
	fi
done
echo
echo "$kind: ${#} test programs"
[ ${#broken[@]} -gt 0 ] && printf '  failed: %s\n' "${broken[@]}"
echo "$kind: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
