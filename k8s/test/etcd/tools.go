//go:build tools

// Package tools pins etcd 3.6.16; its server module has replace directives, so it is built, not installed.
package tools

import _ "go.etcd.io/etcd/server/v3"
