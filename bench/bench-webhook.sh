#!/usr/bin/env bash
# `make bench-webhook`: bin/saqr-webhook (release build, the built-in policy, decision logs on)
# serves HTTPS on 127.0.0.1; build/bench/bench_webhook, a second process, sends it a ~4 KiB
# Deployment AdmissionReview over keep-alive TLS connections: first as fast as it answers, then
# at half that rate. Prints requests/s, p50/p99 latency, the server's CPU per review and its peak
# RSS (VmHWM), against the targets. Then large reviews: the same Deployment grown with env
# entries to 1 MiB and to just under the 3 MiB body limit, over LARGE_CONNECTIONS connections:
# reviews/s and p99 (the cost per review must grow linearly with its size). Both processes share
# this machine's cores, and whatever else runs on it: run on a quiet machine, and more than once.
#   CONNECTIONS (32) DURATION (10 s) THREADS (2) BODY (tests/data/webhook/deployment-review.json)
#   LARGE_CONNECTIONS (4) LARGE_DURATION (5 s); LARGE=0 skips the large reviews
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/bench
conns=${CONNECTIONS:-32}
duration=${DURATION:-10}
threads=${THREADS:-2}
body=${BODY:-tests/data/webhook/deployment-review.json}
mkdir -p "$out"

hack/webhook-certs.sh --out "$out/certs" >/dev/null 2>&1
# Decision logs go to a pipe that is drained, as a container runtime does; the first lines are
# kept for the port (a file would measure this disk's writeback rather than the server).
rm -f "$out/webhook.log"
bin/saqr-webhook --cert-file "$out/certs/tls.crt" --key-file "$out/certs/tls.key" --address 127.0.0.1 \
	--port 0 --threads "$threads" 2> >(for _ in 1 2 3 4 5; do IFS= read -r l && echo "$l" >>"$out/webhook.log"; done
	cat >/dev/null) &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=
for _ in $(seq 1 100); do
	port=$(sed -n 's/.*"msg":"serving","port":"\([0-9]*\)".*/\1/p' "$out/webhook.log" 2>/dev/null | head -1 || true)
	[ -n "$port" ] && break
	kill -0 $pid 2>/dev/null || { echo "bench-webhook: saqr-webhook did not start:" >&2; cat "$out/webhook.log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { echo "bench-webhook: no port in $out/webhook.log" >&2; exit 1; }

run() { build/bench/bench_webhook --port "$port" --ca "$out/certs/ca.crt" --body "$body" \
	--connections "$conns" --duration "$duration" --server-pid "$pid" "$@"; }
field() { echo "$1" | grep -o "$2=[0-9.]*" | cut -d= -f2; }

full=$(run)
rps=$(field "$full" requests/s)
half=$((${rps%.*} / 2))
[ "$half" -gt 0 ] || { echo "bench-webhook: no requests completed: $full" >&2; exit 1; }
slow=$(run --rate "$half")
hwm_small_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

# Large reviews: env entries of ~52 bytes each until the body reaches the size asked for.
large_body() { # SIZE_BYTES OUT
	local base n
	base=$(wc -c <"$body")
	n=$((($1 - base) / 52))
	jq -c --argjson n "$n" '.request.object.spec.template.spec.containers[0].env +=
		[range($n) | {name: ("FEATURE_FLAG_" + (. | tostring | ("000000000" + .)[-9:])), value: "enabled"}]' \
		"$body" >"$2"
}
large_results=()
if [ "${LARGE:-1}" != 0 ]; then
	for size in 1048576 3080192; do
		large_body "$size" "$out/review-$size.json"
		lr=$(build/bench/bench_webhook --port "$port" --ca "$out/certs/ca.crt" --body "$out/review-$size.json" \
			--connections "${LARGE_CONNECTIONS:-4}" --duration "${LARGE_DURATION:-5}" --server-pid "$pid")
		large_results+=("$(printf '  %-10s: %s reviews/s  p50 %s ms  p99 %s ms  server CPU %s us/review  errors %s' \
			"$((size / 1024)) KiB" "$(field "$lr" requests/s)" "$(field "$lr" p50_ms)" "$(field "$lr" p99_ms)" \
			"$(field "$lr" server_cpu_us_per_request)" "$(field "$lr" errors)")")
	done
fi
hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

kill -TERM $pid
wait $pid || true
trap - EXIT

p99_half=$(field "$slow" p99_ms)
verdict() { if awk "BEGIN {exit !($1)}"; then echo "met"; else echo "MISSED"; fi; }
printf 'saqr-webhook benchmark: %s, %d keep-alive TLS connections, %d service threads, %ss per run, %s cores\n' \
	"$(basename "$body") ($(wc -c <"$body") bytes)" "$conns" "$threads" "$duration" "$(nproc)"
printf '  full load : %s reviews/s  p50 %s ms  p99 %s ms  server CPU %s us/review  errors %s\n' \
	"$rps" "$(field "$full" p50_ms)" "$(field "$full" p99_ms)" "$(field "$full" server_cpu_us_per_request)" \
	"$(field "$full" errors)"
printf '  half rate : %s reviews/s offered, %s served  p50 %s ms  p99 %s ms  errors %s\n' \
	"$half" "$(field "$slow" requests/s)" "$(field "$slow" p50_ms)" "$p99_half" "$(field "$slow" errors)"
printf '  peak RSS  : %s MiB (VmHWM)\n' "$(awk "BEGIN {printf \"%.1f\", $hwm_small_kb / 1024}")"
printf '  targets   : >= 15000 reviews/s %s; p99 <= 2 ms at half rate %s; RSS <= 20 MiB %s\n' \
	"$(verdict "$rps >= 15000")" "$(verdict "$p99_half <= 2")" "$(verdict "$hwm_small_kb <= 20480")"
if [ ${#large_results[@]} -gt 0 ]; then
	printf 'large reviews, %s keep-alive TLS connections, %ss per size:\n' "${LARGE_CONNECTIONS:-4}" "${LARGE_DURATION:-5}"
	printf '%s\n' "${large_results[@]}"
	printf '  peak RSS  : %s MiB (VmHWM, large reviews included)\n' "$(awk "BEGIN {printf \"%.1f\", $hwm_kb / 1024}")"
fi
