#!/usr/bin/env bash
# `make bench-drift`: saqrctl drift against the pandas/SciPy script (bench/drift/scipy_drift.py)
# on the same two CSV files, per method, with wall time and peak RSS from /usr/bin/time;
# then the 100-feature evaluation micro-benchmark.
#   bench/drift/run.sh BUILD_DIR [ROWS]    (SAQR_BENCH_RUNS=3: best of N runs of each side)
set -euo pipefail

dir=$1
rows=${2:-1000000}
runs=${SAQR_BENCH_RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
base=$dir/baseline-$rows.csv
cur=$dir/current-$rows.csv

[ -s "$base" ] || "$dir/gencsv" "$rows" 10 1 "$base"
[ -s "$cur" ] || "$dir/gencsv" "$rows" 10 2 "$cur" --drift

# best (lowest wall) of $runs runs: prints "wall rss_kb user sys"; stdout of the command goes to $1
measure() {
	local out=$1 best="" line
	shift
	for _ in $(seq "$runs"); do
		/usr/bin/time -f "%e %M %U %S" -o "$dir/time.txt" "$@" >"$out" || true # exit 1 = drift
		line=$(tail -1 "$dir/time.txt")
		if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
			best=$line
		fi
	done
	echo "$best"
}

drifted() { /usr/bin/python3 -c 'import json,sys; print(",".join(c["name"] for c in json.load(open(sys.argv[1]))["columns"] if c["drifted"]) or "-")' "$1"; }

echo "drift: $rows rows x 10 numeric columns per file ($(du -h "$base" | cut -f1) + $(du -h "$cur" | cut -f1)), best of $runs runs, $(nproc) CPUs"
printf '%-12s %10s %9s %10s %10s %9s %10s %8s  %s\n' method saqrctl_s cpu_s rss_MiB scipy_s cpu_s rss_MiB speedup "drifted columns (saqrctl | scipy)"
fail=0
for m in psi ks wasserstein; do
	read -r cw crss cu cs <<<"$(measure "$dir/saqrctl-$m.json" "$root/bin/saqrctl" drift --baseline "$base" --current "$cur" --method "$m" -o json)"
	read -r pw prss pu ps <<<"$(measure "$dir/scipy-$m.json" /usr/bin/python3 "$here/scipy_drift.py" "$base" "$cur" --method "$m")"
	speed=$(awk -v a="$pw" -v b="$cw" 'BEGIN { printf "%.1fx", a / b }')
	printf '%-12s %10s %9s %10.1f %10s %9s %10.1f %8s  %s | %s\n' "$m" "$cw" "$(awk -v u="$cu" -v s="$cs" 'BEGIN{printf "%.2f", u+s}')" \
		"$(awk -v k="$crss" 'BEGIN { print k / 1024 }')" "$pw" "$(awk -v u="$pu" -v s="$ps" 'BEGIN{printf "%.2f", u+s}')" \
		"$(awk -v k="$prss" 'BEGIN { print k / 1024 }')" "$speed" "$(drifted "$dir/saqrctl-$m.json")" "$(drifted "$dir/scipy-$m.json")"
	awk -v a="$pw" -v b="$cw" -v r="$crss" 'BEGIN { exit !(a / b >= 10 && r <= 32 * 1024) }' || fail=1
done
echo
"$dir/bench_eval" 2000
echo
[ $fail -eq 0 ] && echo "targets (>= 10x faster than SciPy end to end, RSS <= 32 MiB): met" ||
	echo "targets (>= 10x faster than SciPy end to end, RSS <= 32 MiB): NOT met on this run"
