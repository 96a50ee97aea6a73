#!/usr/bin/env bash
# bench-fetch: generate a model of N MiB in build/, sign it, put it on VersityGW (S3 on 127.0.0.1,
# hack/s3gw.sh), then time
# saqr-fetch fetching it with its digest and OMS signature checked, and saqrctl model verify on
# the result (verification alone: one read of every byte).
#   bench/fetch/run.sh BIN_DIR WORK_DIR MIB
set -euo pipefail
bin=$1 work=$2 mib=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
port=${SAQR_S3GW_PORT:-4569}
keys=$root/tests/data/oms
s3key=AKIDSAQRBENCH s3secret=saqr-bench-fetch-secret-0123456789
gw=$("$root/hack/s3gw.sh" bin)
rm -rf "$work/s3" "$work/out" && mkdir -p "$work/model" "$work/s3/models"
[ "$(stat -c %s "$work/model/weights.bin" 2>/dev/null || echo 0)" -eq $((mib << 20)) ] ||
	head -c $((mib << 20)) /dev/urandom >"$work/model/weights.bin"
echo '{"format":"onnx"}' >"$work/model/config.json"
"$bin/saqrctl" model sign --key "$keys/p256.key" --output "$work/model.sig" "$work/model" >/dev/null
digest=$("$bin/saqrctl" model digest "$work/model")
"$gw" --access "$s3key" --secret "$s3secret" --port "127.0.0.1:$port" posix "$work/s3" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
for f in config.json weights.bin; do
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$s3key:$s3secret" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-T "$work/model/$f" "http://127.0.0.1:$port/models/m/$f" -o /dev/null
done
t0=$(date +%s.%N)
AWS_ACCESS_KEY_ID=$s3key AWS_SECRET_ACCESS_KEY=$s3secret "$bin/saqr-fetch" --uri s3://models/m/ --dest "$work/out" \
	--s3-endpoint "http://127.0.0.1:$port" --allow-insecure-http --digest "$digest" --signature "$work/model.sig" \
	--trusted-key "$keys/p256.pub" --termination-log "$work/term" --log-level warn
t1=$(date +%s.%N)
"$bin/saqrctl" model verify --key "$keys/p256.pub" --signature "$work/model.sig" "$work/out" >/dev/null
t2=$(date +%s.%N)
awk -v mib="$mib" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
	printf "bench-fetch: %d MiB from VersityGW: fetch+sha256+digest+signature %.2f s = %.1f MB/s\n", mib, b - a, mib * 1.048576 / (b - a);
	printf "bench-fetch: saqrctl model verify (re-read + verify) %.2f s = %.1f MB/s\n", c - b, mib * 1.048576 / (c - b) }'
cat "$work/term"; echo
