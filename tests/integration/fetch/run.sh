#!/usr/bin/env bash
# saqr-fetch against real object stores on 127.0.0.1: Azurite (Azure Blob, Shared Key; an npm
# package installed once into ~/.cache/saqr/npm) and VersityGW (S3, Signature V4 checked on every
# request; built once by hack/s3gw.sh). Uploads a model signed with `saqrctl model sign`, fetches
# and verifies it, then tampers with it: an altered object, an extra object, a wrong digest, wrong
# credentials.
#   tests/integration/fetch/run.sh BIN_DIR
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${1:-$root/bin}
npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/saqr/npm"
work=$(mktemp -d "${TMPDIR:-/tmp}/saqr-fetch-it.XXXXXX")
keys=$root/tests/data/oms
azkey='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
azep=http://127.0.0.1:${SAQR_AZURITE_PORT:-10000}/devstoreaccount1
s3ep=http://127.0.0.1:${SAQR_S3GW_PORT:-4568}
s3region=me-central-1
s3key=AKIDSAQRTEST s3secret=saqr-fetch-store-test-secret-0123456789
passed=0 failed=0 pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

install_servers() {
	s3gw=$("$root/hack/s3gw.sh" bin) || return 1
	[ -x "$npm_dir/node_modules/.bin/azurite-blob" ] && return 0
	command -v npm >/dev/null || { echo "fetch-it: npm is needed (apt-get install npm)" >&2; return 1; }
	mkdir -p "$npm_dir"
	npm install --silent --no-audit --no-fund --prefix "$npm_dir" azurite@3.37.0 >&2
}

wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "fetch-it: nothing listens on port $1" >&2
	return 1
}

start_servers() {
	"$npm_dir/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "${azep##*:}" --location "$work/az" \
		--skipApiVersionCheck --silent >"$work/azurite.log" 2>&1 &
	pids+=($!)
	mkdir -p "$work/az" "$work/s3/models" # a posix bucket is a directory
	"$s3gw" --access "$s3key" --secret "$s3secret" --port "127.0.0.1:${s3ep##*:}" --region "$s3region" \
		posix "$work/s3" >"$work/s3gw.log" 2>&1 &
	pids+=($!)
	azp=${azep#http://127.0.0.1:}
	wait_port "${azp%%/*}" && wait_port "${s3ep##*:}"
}

s3put() { # KEY FILE
	curl -sf --aws-sigv4 "aws:amz:$s3region:s3" --user "$s3key:$s3secret" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-T "$2" "$s3ep/models/$1" -o /dev/null
}
azput() { python3 "$here/azput.py" "$azep" devstoreaccount1 "$azkey" models "$@"; }

# expect NAME EXIT REASON saqr-fetch-args...
expect() {
	local name=$1 want=$2 reason=$3 got term
	shift 3
	rm -rf "$work/out" "$work/term"
	"$bin/saqr-fetch" --dest "$work/out" --termination-log "$work/term" --retries 1 --backoff-ms 50 \
		--allow-insecure-http "$@" >"$work/fetch.log" 2>&1
	got=$?
	term=$(cat "$work/term" 2>/dev/null)
	if [ "$got" -eq "$want" ] && [[ $term == *"\"reason\":\"$reason\""* ]]; then
		echo "ok   $name (exit $got, $reason)"
		passed=$((passed + 1))
	else
		echo "FAIL $name: exit $got (want $want), termination message: $term"
		tail -3 "$work/fetch.log"
		failed=$((failed + 1))
	fi
}

# expect_message NAME TEXT: the last termination message holds TEXT (the store's error, decoded).
expect_message() {
	if grep -qF -- "$2" "$work/term" 2>/dev/null; then
		echo "ok   $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1: termination message: $(cat "$work/term" 2>/dev/null)"
		failed=$((failed + 1))
	fi
}

make_model() {
	mkdir -p "$work/model/sub"
	echo '{"format":"onnx"}' >"$work/model/config.json"
	head -c 2000000 /dev/urandom >"$work/model/sub/weights.bin"
	"$bin/saqrctl" model sign --key "$keys/p256.key" --output "$work/model.sig" "$work/model" >/dev/null &&
		digest=$("$bin/saqrctl" model digest "$work/model") &&
		filedigest=$("$bin/saqrctl" model digest "$work/model/config.json")
}

upload() { # PUT-FUNCTION PREFIX
	"$1" "$2/config.json" "$work/model/config.json" && "$1" "$2/sub/weights.bin" "$work/model/sub/weights.bin" &&
		"$1" "$2/model.sig" "$work/model.sig"
}

run_store() { # NAME PUT URI-PREFIX ARGS...
	local name=$1 put=$2 base=$3
	shift 3
	local common=(--signature "$base/m/model.sig" --trusted-key "$keys/p256.pub" "$@")
	upload "$put" m || { echo "FAIL $name: upload"; failed=$((failed + 1)); return; }
	expect "$name: signed directory" 0 ModelVerified --uri "$base/m/" --digest "$digest" "${common[@]}"
	expect "$name: single file, digest" 0 ModelVerified --uri "$base/m/config.json" --digest "$filedigest" "$@"
	expect "$name: wrong digest" 3 DigestMismatch --uri "$base/m/" --digest "$filedigest" "$@"
	expect "$name: wrong trusted key" 4 SignatureInvalid --uri "$base/m/" --signature "$base/m/model.sig" \
		--trusted-key "$keys/other.pub" "$@"
	echo tampered >"$work/tampered"
	"$put" m/config.json "$work/tampered"
	expect "$name: altered object" 4 SignatureInvalid --uri "$base/m/" "${common[@]}"
	"$put" m/config.json "$work/model/config.json"
	"$put" m/extra.bin "$work/tampered"
	expect "$name: extra object" 4 SignatureInvalid --uri "$base/m/" "${common[@]}"
	expect "$name: missing object" 1 FetchFailed --uri "$base/m/absent.bin" "$@"
	expect "$name: size cap" 1 FetchFailed --uri "$base/m/" --max-bytes 1000 "$@"
}

main() {
	install_servers || exit 1
	start_servers || { cat "$work"/*.log >&2; exit 1; }
	make_model || { echo "fetch-it: saqrctl model failed" >&2; exit 1; }
	azput >/dev/null || { echo "fetch-it: cannot create the Azurite container" >&2; exit 1; }
	AWS_ACCESS_KEY_ID=$s3key AWS_SECRET_ACCESS_KEY=$s3secret \
		run_store s3 s3put s3://models --s3-endpoint "$s3ep" --s3-region "$s3region"
	AWS_ACCESS_KEY_ID=$s3key AWS_SECRET_ACCESS_KEY=${s3secret}x expect "s3: wrong secret" 1 FetchFailed \
		--uri s3://models/m/ --s3-endpoint "$s3ep" --s3-region "$s3region"
	expect_message "s3: wrong secret, the store's reason" "HTTP 403: SignatureDoesNotMatch: "
	AWS_ACCESS_KEY_ID=$s3key AWS_SECRET_ACCESS_KEY=$s3secret expect "s3: wrong region" 1 FetchFailed \
		--uri s3://models/m/ --s3-endpoint "$s3ep" --s3-region us-east-1
	expect_message "s3: wrong region, the store's reason" 'the region \"us-east-1\" is wrong'
	# VersityGW's posix backend reports no server-side encryption: --require-encrypted fails closed
	AWS_ACCESS_KEY_ID=$s3key AWS_SECRET_ACCESS_KEY=$s3secret expect "s3: encryption not reported" 1 FetchFailed \
		--uri s3://models/m/ --s3-endpoint "$s3ep" --s3-region "$s3region" --require-encrypted
	expect_message "s3: encryption not reported, named" "did not report encryption at rest (x-amz-server-side-encryption)"
	AZURE_STORAGE_KEY=$azkey run_store azure azput azureblob://devstoreaccount1/models --azure-endpoint "$azep" \
		--require-encrypted
	AZURE_STORAGE_KEY=${azkey/E/F} expect "azure: wrong key" 1 FetchFailed \
		--uri azureblob://devstoreaccount1/models/m/ --azure-endpoint "$azep"
	expect "plain http refused" 1 FetchFailed --uri http://127.0.0.1:1/x --allow-insecure-http=false
	echo
	echo "fetch-stores: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main
