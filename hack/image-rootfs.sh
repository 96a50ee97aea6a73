#!/usr/bin/env bash
# Assembles the file tree of a distroless image for each Saqr program: the binary, every shared
# library ldd resolves (copied as files, at the paths the loader looks for them), /etc/passwd
# and /etc/group with the non-root user 65532, CA certificates, /tmp. Then proves the tree is
# complete without chroot: the tree's own loader lists the binary's libraries with the tree as
# the only search path (each must resolve inside it) and runs `<bin> --help`.
#   hack/image-rootfs.sh OUTDIR BINARY...
# Builds what exists; names the binaries that are missing and exits 1 if any is.
# IMAGE_ROOTFS_PROBE_ARGS (default --help) are the arguments of the proving run.
set -uo pipefail

out=$(realpath -m "${1:?usage: $0 OUTDIR BINARY...}")
shift
probe=${IMAGE_ROOTFS_PROBE_ARGS:---help}
ca_bundle=/etc/ssl/certs/ca-certificates.crt
missing=() broken=()

log() { echo "image-rootfs: $*" >&2; }

# Copy one file (symlinks resolved) to the same path under the tree.
place() { # root path
	mkdir -p "$1$(dirname "$2")"
	cp -L "$2" "$1$2"
}

# The shared objects of a binary (the loader included), or an error if any is not found.
libraries() { # binary
	local listing
	listing=$(ldd "$1" 2>&1) || { log "ldd $1: $listing"; return 1; }
	if grep -q "not found" <<<"$listing"; then
		log "$1: $(grep "not found" <<<"$listing" | tr -s ' \t' ' ')"
		return 1
	fi
	awk '/=> \// {print $3; next} /^[[:space:]]*\/[^ ]+ \(/ {print $1}' <<<"$listing"
}

assemble() { # binary root
	local bin=$1 root=$2 lib name
	name=$(basename "$bin")
	rm -rf "$root"
	mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot"
	chmod 1777 "$root/tmp"
	cp "$bin" "$root/usr/local/bin/$name"
	libs=$(libraries "$bin") || return 1
	for lib in $libs; do place "$root" "$lib"; done
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
	printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
	if [ -f "$ca_bundle" ]; then
		cp -L "$ca_bundle" "$root$ca_bundle"
	else
		log "no $ca_bundle on this machine (install ca-certificates)"
		return 1
	fi
	chown -R 65532:65532 "$root/home/nonroot" 2>/dev/null || true
}

# The tree's loader and library directories; every library must resolve inside the tree.
prove() { # root name
	local root=$1 name=$2 loader dirs listing outside
	loader=$(find "$root" -name 'ld-linux*.so*' -type f | head -1)
	[ -n "$loader" ] || { log "$name: no dynamic loader in the tree"; return 1; }
	dirs=$(find "$root" -name '*.so*' -type f -printf '%h\n' | sort -u | paste -sd:)
	listing=$("$loader" --inhibit-cache --library-path "$dirs" --list "$root/usr/local/bin/$name" 2>&1) ||
		{ log "$name: the tree's loader cannot list it: $listing"; return 1; }
	outside=$(awk -v r="$root" '/=> / && $3 !~ "^"r {print $1" => "$3}' <<<"$listing")
	if grep -q "not found" <<<"$listing" || [ -n "$outside" ]; then
		log "$name: libraries missing from the tree: $(grep "not found" <<<"$listing") $outside"
		return 1
	fi
	# shellcheck disable=SC2086
	"$loader" --inhibit-cache --library-path "$dirs" "$root/usr/local/bin/$name" $probe >/dev/null 2>&1 ||
		{ log "$name: \`$name $probe\` failed when run from the tree"; return 1; }
}

for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		missing+=("$bin")
		continue
	fi
	root="$out/$name"
	if assemble "$bin" "$root" && prove "$root" "$name"; then
		files=$(find "$root" -type f | wc -l)
		size=$(du -sk "$root" | cut -f1)
		echo "image-rootfs: $name: $root ($files files, $((size / 1024)).$(((size % 1024) * 10 / 1024)) MiB), runs \`$name $probe\` from the tree"
	else
		broken+=("$name")
	fi
done
[ ${#missing[@]} -gt 0 ] && log "missing (run \`make build\`): ${missing[*]}"
[ ${#broken[@]} -gt 0 ] && log "incomplete trees: ${broken[*]}"
[ ${#missing[@]} -eq 0 ] && [ ${#broken[@]} -eq 0 ]
