#!/usr/bin/env bash
# `make image`: the project's image, built by buildah without a daemon (vfs storage, --isolation chroot),
# everything under CACHE (images, rootfs tarball, build contexts). Usage: docker/build-image.sh CACHE [TAG]
#   1. localhost/rankstream-jre:bookworm: Debian bookworm + OpenJDK 17, made by mmdebstrap from the host's apt sources
#   2. localhost/flink:<apache-flink version>-java17: the stand-in for the official base (docker/flink-base/),
#      holding the Flink distribution bundled in the venv's apache-flink wheel. FLINK_IMAGE=flink:2.2.1-java17
#      skips 1 and 2 and lets buildah pull the real base where a registry is reachable.
#   3. TAG (default localhost/rankstream:0.1.0) from the top-level Dockerfile. The RUN steps reach apt and PyPI
#      through the host's network; the host's CA bundle and /etc/pip.conf are mounted for them when present (a
#      proxy that re-signs TLS needs them) and are not part of the image.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$(realpath -m "${1:?usage: build-image.sh CACHE [TAG]}")
TAG=${2:-localhost/rankstream:0.1.0}
FLINK_VERSION=$("$REPO/.venv/bin/python" -c 'from importlib.metadata import version; print(version("apache-flink"))')
STAND_IN="localhost/flink:$FLINK_VERSION-java17"
FLINK_IMAGE=${FLINK_IMAGE:-$STAND_IN}
JRE_IMAGE=localhost/rankstream-jre:bookworm
B=(buildah --root "$CACHE/storage" --runroot "$CACHE/runroot" --storage-driver vfs)
mkdir -p "$CACHE"

has_image() { "${B[@]}" inspect --type image "$1" >/dev/null 2>&1; }
step() { echo "== $* ($(date +%T))"; }

jre_image() {
  if [ ! -f "$CACHE/jre.tar" ]; then
    step "mmdebstrap: Debian bookworm + OpenJDK 17"
    mmdebstrap --variant=minbase --include=ca-certificates,openjdk-17-jre-headless,procps bookworm "$CACHE/jre.partial.tar"
    mv "$CACHE/jre.partial.tar" "$CACHE/jre.tar"
  fi
  step "import $JRE_IMAGE"
  local ctr
  ctr=$("${B[@]}" from scratch)
  "${B[@]}" add "$ctr" "$CACHE/jre.tar" /
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$ctr"
  "${B[@]}" commit -q "$ctr" "$JRE_IMAGE" >/dev/null
  "${B[@]}" rm "$ctr" >/dev/null
}

flink_image() {
  step "$FLINK_IMAGE from the apache-flink wheel's distribution"
  local ctx="$CACHE/flink-base" pyflink
  pyflink=$("$REPO/.venv/bin/python" -c 'import os, pyflink; print(os.path.dirname(pyflink.__file__))')
  rm -rf "$ctx" && mkdir -p "$ctx/flink/log"
  cp -r "$pyflink"/{bin,lib,opt,conf,plugins} "$ctx/flink/"
  cp "$REPO/docker/flink-base/docker-entrypoint.sh" "$ctx/"
  "${B[@]}" bud -q --isolation chroot --build-arg JRE_IMAGE="$JRE_IMAGE" \
    -f "$REPO/docker/flink-base/Dockerfile" -t "$FLINK_IMAGE" "$ctx" >/dev/null
}

if [ "$FLINK_IMAGE" = "$STAND_IN" ] && ! has_image "$FLINK_IMAGE"; then
  has_image "$JRE_IMAGE" || jre_image
  flink_image
fi

step "$TAG from the Dockerfile on $FLINK_IMAGE"
mounts=()
for f in /etc/ssl/certs/ca-certificates.crt /etc/pip.conf; do
  [ -f "$f" ] && mounts+=(-v "$f:$f:ro")
done
"${B[@]}" bud --isolation chroot --build-arg FLINK_IMAGE="$FLINK_IMAGE" "${mounts[@]}" -t "$TAG" "$REPO"
"${B[@]}" rmi --prune >/dev/null  # the previous build's image, untagged now (vfs keeps full copies)
"${B[@]}" images
