#!/usr/bin/env bash
# Cycles between the .c files of one folder: file A depends on file B when A's object uses a
# symbol B's object defines (nm on build/rel), or when A includes "dir/B.h". Prints each group
# of files that depend on each other in a circle and exits 1 when there is one.
# Usage: hack/include-cycles.sh [build-dir]   (the objects must be built: make check-cycles)
set -euo pipefail
cd "$(dirname "$0")/.."

obj_dir="${1:-build}/rel"
read -r -a components <<<"${SAQR_COMPONENTS:-$(make -s --no-print-directory print-components)}"
mapfile -t srcs < <(find "${components[@]}" -name '*.c' ! -name main.c | sort)

edges() {
	local src obj
	for src in "${srcs[@]}"; do
		obj="$obj_dir/${src%.c}.o"
		[ -f "$obj" ] || { echo "include-cycles: $obj missing (run make check-cycles)" >&2; exit 2; }
		echo "F $src"
		nm "$obj" | awk -v f="$src" '$1 == "U" { print "U", f, $2; next }
			NF == 3 && $2 ~ /^[TDBRCGSVW]$/ { print "D", f, $3 }'
		# "dir/name.h" includes, named after the .c file that implements them.
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$src" |
			while read -r h; do if [ -f "$h.c" ]; then echo "I $src $h.c"; fi; done
	done
}

# Group the same-folder edges into strongly connected components (mutual reachability).
edges | awk '
	function dir(f) { sub(/\/[^\/]*$/, "", f); return f }
	function add(a, b) { if (a != b && dir(a) == dir(b) && !((a, b) in e)) { e[a, b] = 1; out[a] = out[a] " " b } }
	$1 == "F" { fl[++n] = $2; next }
	$1 == "D" { def[$3] = $2; next }
	$1 == "U" { use[++nu] = $2 SUBSEP $3; next }
	$1 == "I" { add($2, $3) }
	function reach(a, b,   stack, seen, n, i, x, k, nx) {
		n = 1; stack[1] = a; seen[a] = 1
		while (n > 0) {
			x = stack[n--]
			if (x == b) return 1
			k = split(out[x], nx, " ")
			for (i = 1; i <= k; i++) if (!(nx[i] in seen)) { seen[nx[i]] = 1; stack[++n] = nx[i] }
		}
		return 0
	}
	END {
		for (i = 1; i <= nu; i++) { split(use[i], u, SUBSEP); if (u[2] in def) add(u[1], def[u[2]]) }
		for (i = 1; i <= n; i++) {
			a = fl[i]
			if (a in grouped) continue
			grp = a
			for (j = i + 1; j <= n; j++) {
				b = fl[j]
				if (!(b in grouped) && dir(a) == dir(b) && reach(a, b) && reach(b, a)) { grp = grp " " b; grouped[b] = 1 }
			}
			if (grp != a) { cycles++; print "cycle: " grp }
		}
		printf "include-cycles: %d cycle%s between files of one folder\n", cycles, cycles == 1 ? "" : "s"
		exit (cycles > 0)
	}'
