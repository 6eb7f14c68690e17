#!/usr/bin/env bash
# The image's entrypoint: rankstream's commands run rankstream, anything else (JobManager and TaskManager
# pods, `help`, a shell) goes to Flink's own entrypoint. The two locations can be overridden for tests.
set -euo pipefail

RANKSTREAM_BIN="${RANKSTREAM_BIN:-rankstream}"
FLINK_ENTRYPOINT="${FLINK_ENTRYPOINT:-/docker-entrypoint.sh}"

case "${1:-}" in
  bootstrap | train | upload | update | api | validate | sort | generate | k8s-manifest)
    exec "$RANKSTREAM_BIN" "$@"
    ;;
  *)
    exec "$FLINK_ENTRYPOINT" "$@"
    ;;
esac
