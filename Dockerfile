# One image for every rankstream pod: the jobs' JobManager and TaskManagers (Flink's entrypoint), the API and
# the batch commands (bootstrap, train, upload, update, validate, sort: docker/entrypoint.sh runs rankstream).
# Build after `make jars` (the Kafka connector jars in .jars/flink/, the S3 plugin in .jars/plugins/):
#   buildah bud --build-arg FLINK_IMAGE=flink:2.2.1-java17 -t rankstream:0.1.0 .
# `make image` builds it on a local stand-in for the base instead (docker/build-image.sh, docker/flink-base/).
# The base must offer Python 3.11 from apt (python3.11, python3.11-venv, libpython3.11).
ARG FLINK_IMAGE=flink:2.2.1-java17
FROM ${FLINK_IMAGE}

ARG PYTHON=python3.11
USER 0
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends "${PYTHON}" "${PYTHON}-venv" "lib${PYTHON}" \
    && rm -rf /var/lib/apt/lists/* \
    && "${PYTHON}" -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /opt/rankstream
COPY pyproject.toml README.md ./
COPY feature_ops feature_ops
COPY jobs jobs
COPY serving serving
COPY flink-conf flink-conf
COPY .jars/flink .jars/flink
# Flink's S3 file system (s3:// savepoints and checkpoints) as a plugin, fetched by `make jars`.
COPY .jars/plugins/s3-fs-presto /opt/flink/plugins/s3-fs-presto
# The project stays at /opt/rankstream (editable): its jobs read flink-conf/ and .jars/flink/ next to it.
# flink-python goes into lib/ too: a TaskManager's second thread-mode job needs it there.
RUN pip install --no-cache-dir -e . \
    && cp /opt/flink/opt/flink-python-*.jar /opt/flink/lib/ \
    && printf '%s\n' 'python.execution-mode: thread' 'python.executable: /opt/venv/bin/python' \
       'python.client.executable: /opt/venv/bin/python' >> /opt/flink/conf/config.yaml \
    && chown -R 9999:9999 /opt/rankstream /opt/flink/conf

COPY --chmod=755 docker/entrypoint.sh /rankstream-entrypoint.sh
USER 9999
ENTRYPOINT ["/rankstream-entrypoint.sh"]
CMD ["help"]
