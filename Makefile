# rankstream: every target installs what it needs first, so each works on a fresh machine.
PY_VERSION ?= 3.11
VENV       ?= .venv
PY         := $(VENV)/bin/python
BIN        := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
SAMPLE     := out/ranklens
CONFIG     := examples/ranklens/config.yml
SCALING    := out/bench/scaling-sample

.PHONY: install system-deps test lint demo bootstrap-local bench clean jars demo-streaming
K8S_TEST   := .cache/k8s-test
K8S_BINS   := $(K8S_TEST)/bin/kube-apiserver $(K8S_TEST)/bin/etcd
GO         ?= $(firstword $(shell command -v go 2>/dev/null) $(wildcard /usr/local/go/bin/go))
.PHONY: test-k8s image k8s-bins
JARS       := .jars

$(PY):
	python$(PY_VERSION) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

system-deps:  ## Java 17 (JRE, javac, jar), Maven and redis-server from Debian, when missing
	@command -v java >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)
	@command -v redis-server >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq redis-server)
	@command -v mvn >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq maven)
	@command -v javac >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless)

install: system-deps $(VENV)/.installed jars  ## venv with the project and its dev tools

# Pinned jars from Maven Central into .jars/ (ignored): the Kafka connector for `rankstream update`, the
# Kafka broker the tests start, and the project's Kafka record deserializer compiled against them.
# Flink's S3 file system (savepoints and checkpoints of s3:// workdirs), as a plugin in its own folder. Maven
# Central has no 2.2.1 build of it; 2.2.0 works with the 2.2.1 wheel.
S3_PLUGIN  := $(JARS)/plugins/s3-fs-presto/flink-s3-fs-presto-2.2.0.jar
jars: $(JARS)/flink/rankstream-flink.jar $(S3_PLUGIN)

$(S3_PLUGIN):
	mvn -q -B dependency:copy -Dartifact=org.apache.flink:flink-s3-fs-presto:2.2.0 -DoutputDirectory=$(CURDIR)/$(@D)

$(JARS)/.fetched: flink-conf/connectors/pom.xml flink-conf/kafka-broker/pom.xml
	mvn -q -B -f flink-conf/connectors/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/$(JARS)/flink
	mvn -q -B -f flink-conf/kafka-broker/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/$(JARS)/kafka-broker
	touch $@

$(JARS)/flink/rankstream-flink.jar: jobs/flink/java/KafkaLineDeserializer.java $(JARS)/.fetched | $(VENV)/.installed
	rm -rf $(JARS)/classes && mkdir -p $(JARS)/classes
	javac --release 17 -nowarn -cp "$$($(PY) -c 'import pyflink,os;print(os.path.dirname(pyflink.__file__))')/lib/*:$(JARS)/flink/*" -d $(JARS)/classes $<
	jar cf $@ -C $(JARS)/classes .

test: install  ## the whole test suite (starts its own Redis, Flink clusters, kube-apiserver)
	@$(if $(GO),$(MAKE) --no-print-directory k8s-bins || echo "make test: building kube-apiserver and etcd failed (see above): tests/test_k8s_server.py skips; make test-k8s requires them")
	$(PY) -m pytest -q -p no:cacheprovider

k8s-bins: $(K8S_BINS)

# kube-apiserver v1.37.2 and etcd 3.6.16 built once from the Go module proxy into .cache/k8s-test/ (ignored; 6.5-8 min
# cold on 2 cores, README "Deploy on Kubernetes"). `make test` builds them when a Go toolchain is there (then its
# tests/test_k8s_server.py runs, else it skips); `make test-k8s` requires them and runs only those tests.
$(K8S_TEST)/bin/%: k8s/test/%/go.mod k8s/test/%/go.sum
	GO=$(GO) k8s/test/build.sh $(K8S_TEST) $*

test-k8s: install $(K8S_BINS)  ## kubectl apply --dry-run=server of every manifest on a real kube-apiserver
	RANKSTREAM_TEST_K8S=1 $(PY) -m pytest -q -p no:cacheprovider -m k8s_server tests/test_k8s_server.py

# Opt-in: the image with buildah (no daemon, --isolation chroot) on a local stand-in for flink:2.2.1-java17 (Debian + JRE 17
# by mmdebstrap + the apache-flink wheel's Flink distribution), all under .cache/image/, then a smoke test run inside it.
image: install jars  ## buildah image localhost/rankstream:0.1.0 from a local Flink base, smoke-tested
	@command -v buildah >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq buildah)
	@command -v mmdebstrap >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq mmdebstrap)
	docker/build-image.sh .cache/image
	docker/smoke-image.sh .cache/image

lint: install
	$(BIN)/ruff check feature_ops jobs serving tests bench

$(SAMPLE)/events/events.jsonl.gz: | $(VENV)/.installed
	$(BIN)/rankstream generate --out $(SAMPLE)

$(SCALING)/events/events.jsonl.gz: | $(VENV)/.installed
	$(BIN)/rankstream generate --out $(SCALING) --users 4000 --rankings 32000

bootstrap-local: install $(SAMPLE)/events/events.jsonl.gz  ## PyFlink bootstrap of the sample on a local MiniCluster
	$(BIN)/rankstream bootstrap $(CONFIG) --engine flink

demo: install $(SAMPLE)/events/events.jsonl.gz  ## generate -> validate -> bootstrap (Flink) -> train -> API -> one /rank call
	$(BIN)/rankstream validate --config $(CONFIG)
	$(BIN)/rankstream bootstrap $(CONFIG) --engine flink
	$(BIN)/rankstream train $(CONFIG)
	$(PY) examples/demo_rank.py --config $(CONFIG)

demo-streaming: install $(SAMPLE)/events/events.jsonl.gz  ## Kafka + Redis on loopback: bootstrap -> update -> /rank sees a new click
	$(PY) examples/demo_streaming.py --config $(CONFIG)

bench: install $(SAMPLE)/events/events.jsonl.gz $(SCALING)/events/events.jsonl.gz  ## every benchmark, one JSON line per figure
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/bench_bootstrap.py
	$(PY) bench/bench_scaling.py --events $(SCALING)/events
	$(PY) bench/bench_train.py
	$(PY) bench/bench_quality.py
	$(PY) bench/bench_api.py
	$(PY) bench/bench_fault.py
	$(PY) bench/bench_update.py

clean:
	rm -rf out .pytest_cache
