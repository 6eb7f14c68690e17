#!/usr/bin/env bash
# `make image`'s smoke test: runs the built image with `buildah run --isolation chroot` (its user, its files,
# the host's network; no container engine is needed). Usage: docker/smoke-image.sh CACHE [TAG]
#   1. the entrypoint runs rankstream (`validate --help`) and hands anything else to Flink's entrypoint (`help`)
#   2. Flink's configuration says thread mode and the venv's interpreter, as jobs.k8s.entry reads it
#   3. generate a small sample, a Flink bootstrap (the image's JRE, /opt/flink's jars, the venv's PyFlink) and
#      train, in the image, on a host folder mounted at /work
#   4. docker/smoke-cluster.sh: the bootstrap CR's job.args through `flink run` on the image's own session cluster
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$(realpath -m "${1:?usage: smoke-image.sh CACHE [TAG]}")
TAG=${2:-localhost/rankstream:0.1.0}
B=(buildah --root "$CACHE/storage" --runroot "$CACHE/runroot" --storage-driver vfs)
WORK="$CACHE/smoke"
rm -rf "$WORK" && mkdir -p "$WORK/data" && chmod 777 "$WORK" "$WORK/data"

# Like a pod, the container's host name resolves (Flink's MiniCluster looks its own up).
ctr=$("${B[@]}" from -q --add-host rankstream-smoke:127.0.0.1 "$TAG")
trap '"${B[@]}" rm "$ctr" >/dev/null' EXIT
run() {
  "${B[@]}" run --isolation chroot --hostname rankstream-smoke --workingdir /work \
    -v "$WORK:/work" -v "$REPO/examples:/work/examples:ro" -v "$WORK/data:/data" -v "$REPO/docker:/smoke:ro" \
    -v "$REPO/k8s/base/config.yml:/etc/rankstream/config.yml:ro" "$ctr" -- "$@"
}
expect() {  # expect TEXT COMMAND...: COMMAND's output holds TEXT
  local out
  out=$(run "${@:2}" 2>&1) || { echo "$out"; echo "smoke: '${*:2}' failed" >&2; exit 1; }
  grep -qF -- "$1" <<<"$out" || { echo "$out"; echo "smoke: '${*:2}' did not print '$1'" >&2; exit 1; }
  echo "ok: ${*:2}"
}

expect "usage: rankstream validate" /rankstream-entrypoint.sh validate --help
expect "usage: /docker-entrypoint.sh" /rankstream-entrypoint.sh help
expect "thread /opt/venv/bin/python 9999" /opt/venv/bin/python -c \
  'import os; from jobs.k8s.entry import cluster_settings as c; s = c(); print(s["python.execution-mode"], s["python.executable"], os.getuid())'
expect "events" /rankstream-entrypoint.sh generate --out out/ranklens --users 100 --items 120 --rankings 600
expect "savepoint" /rankstream-entrypoint.sh bootstrap examples/ranklens/config.yml --engine flink
expect "" /rankstream-entrypoint.sh train examples/ranklens/config.yml
grep -q '"engine": "flink"' "$WORK/out/ranklens/workdir/manifest.json"
test -f "$WORK/out/ranklens/models/xgboost.model"
expect "flink-s3-fs-presto" ls /opt/flink/plugins/s3-fs-presto
ports=$(python3 -c 'import socket
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect "bootstrap: " /smoke/smoke-cluster.sh $ports
grep -q '"savepoint": "file:/data/workdir/savepoint/' "$WORK/data/workdir/manifest.json"
echo "image smoke test passed: $TAG"
