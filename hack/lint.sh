#!/usr/bin/env bash
# Lint: no banned calls, formatting as .clang-format says (hack/format.sh --check), cppcheck,
# clang-tidy, then no circles between the .c files of one folder (make check-cycles).
set -uo pipefail
cd "$(dirname "$0")/.."
read -r -a comps <<<"${SAQR_COMPONENTS:-$(make -s --no-print-directory print-components)}"

rc=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncat|strtok|atoi|atol|atof|gets)[[:space:]]*\('
if hits=$(grep -rnE "$banned" "${comps[@]}" tests bench --include='*.c' --include='*.h'); then
	echo "lint: banned calls (use snprintf, buf_addf, strtol, strtok_r):"
	echo "$hits"
	rc=1
fi

hack/format.sh --check || rc=1

if command -v cppcheck >/dev/null; then
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -I. -Ilib -D__GNUC__ "${comps[@]}" || rc=1
fi
if command -v clang-tidy >/dev/null; then
	mapfile -t srcs < <(find "${comps[@]}" -name '*.c' | sort)
	# One file per clang-tidy run: clang-tidy 14 carries analyzer state from one file to the
	# next and then reports va_list false positives (valist.Uninitialized) in the later files.
	if [ ${#srcs[@]} -gt 0 ]; then
		printf '%s\0' "${srcs[@]}" | xargs -0 -n1 -P"$(nproc)" clang-tidy --quiet --warnings-as-errors='*' \
			--checks='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-assignment-in-if-condition,-bugprone-branch-clone,-bugprone-implicit-widening-of-multiplication-result' \
			--extra-arg=-std=c11 --extra-arg=-D_GNU_SOURCE --extra-arg=-I. --extra-arg=-Ilib 2>/dev/null || rc=1
	fi
fi
# No circles between the .c files of one folder (builds the release objects it reads).
make --no-print-directory check-cycles || rc=1
[ $rc -eq 0 ] && echo "lint: clean"
exit $rc
