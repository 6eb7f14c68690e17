#!/usr/bin/env bash
# Runs inside the image (docker/smoke-image.sh mounts it): the bootstrap FlinkDeployment's exact entry class,
# jar and job.args, as `rankstream k8s-manifest` prints them, submitted by Flink's own client to a session
# cluster that the image's Flink scripts start (one JobManager, one TaskManager), with the config and the
# workdir where the pods have them (/etc/rankstream/config.yml, /data). Usage: smoke-cluster.sh REST_PORT RPC_PORT
set -euo pipefail
conf="$FLINK_HOME/conf/config.yaml"
sed -i "s/port: 6123/port: $2/" "$conf"
printf 'rest.port: %s\n' "$1" >> "$conf"
trap '"$FLINK_HOME/bin/stop-cluster.sh" >/dev/null 2>&1 || true' EXIT
"$FLINK_HOME/bin/start-cluster.sh"
rankstream generate --out /data --users 100 --items 120 --rankings 600 >/dev/null
mapfile -t job < <(rankstream k8s-manifest /etc/rankstream/config.yml bootstrap --parallelism 1 | python -c '
import sys, yaml
job = yaml.safe_load(sys.stdin)["spec"]["job"]
print(job["entryClass"], job["jarURI"].removeprefix("local://"), *job["args"], sep="\n")')
flink run -c "${job[0]}" "${job[1]}" "${job[@]:2}"
