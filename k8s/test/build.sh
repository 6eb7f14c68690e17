#!/usr/bin/env bash
# Builds the test control plane from the Go module proxy: kube-apiserver v1.37.2 and etcd 3.6.16.
# Usage: k8s/test/build.sh CACHE [kube-apiserver] [etcd]   (default: both)
# Writes CACHE/bin/<name>; the Go build and module caches live in CACHE/go, so the build is the project's own
# and a cold one is a cold one. A binary appears only once its build succeeded (built aside, then renamed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=$(realpath -m "${1:?usage: build.sh CACHE [kube-apiserver] [etcd]}")
shift
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || { echo "build.sh: no Go toolchain at '$GO' (Go 1.26 from https://go.dev/dl, or GO=/path/to/go)" >&2; exit 2; }
export GOCACHE="$CACHE/go/build" GOMODCACHE="$CACHE/go/mod" GOFLAGS="-modcacherw -buildvcs=false" GOTOOLCHAIN=local
mkdir -p "$CACHE/bin"
# Without the version stamp the server calls itself v0.0.0-master and kubectl refuses its version.
VERSION="-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1"
VERSION="$VERSION -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(kube-apiserver etcd)
for name in "${names[@]}"; do
  start=$(date +%s)
  case "$name" in
    kube-apiserver) (cd "$HERE/kube-apiserver" && "$GO" build -ldflags "$VERSION" -o "$CACHE/bin/.$name" k8s.io/kubernetes/cmd/kube-apiserver) ;;
    etcd) (cd "$HERE/etcd" && "$GO" build -o "$CACHE/bin/.$name" go.etcd.io/etcd/server/v3) ;;
    *) echo "build.sh: unknown binary '$name' (kube-apiserver, etcd)" >&2; exit 2 ;;
  esac
  mv "$CACHE/bin/.$name" "$CACHE/bin/$name"
  echo "built $CACHE/bin/$name in $(($(date +%s) - start)) s"
done
