//go:build tools

// Package tools pins kube-apiserver v1.37.2 (its staging modules replaced by the v0.37.2 releases in go.mod).
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
