#!/usr/bin/env bash
# The stand-in base's entrypoint, doing what the official flink image's does for rankstream's pods:
# FLINK_PROPERTIES appended to the configuration, jobmanager/taskmanager/standalone-job in the foreground,
# `help`, anything else executed as given (the operator's native mode runs `bash -c kubernetes-*.sh ...`).
set -euo pipefail

if [ -n "${FLINK_PROPERTIES:-}" ]; then
  printf '%s\n' "$FLINK_PROPERTIES" >> "$FLINK_HOME/conf/config.yaml"
fi
case "${1:-help}" in
  jobmanager | taskmanager | standalone-job)
    script="$1.sh"
    shift
    exec "$FLINK_HOME/bin/$script" start-foreground "$@"
    ;;
  help)
    echo "usage: /docker-entrypoint.sh jobmanager|taskmanager|standalone-job [ARGS...] | help | COMMAND [ARGS...]"
    ;;
  *)
    exec "$@"
    ;;
esac
