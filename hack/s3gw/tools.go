//go:build tools

// The S3-compatible server saqr-fetch's integration test and bench-fetch run against: VersityGW
// (posix backend), which checks every request's Signature V4. Built by hack/s3gw.sh.
package tools

import _ "github.com/versity/versitygw/cmd/versitygw"
