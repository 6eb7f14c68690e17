"""A throwaway Apache Kafka broker for tests, benchmarks and the streaming demo.

One JVM in KRaft combined mode (broker + controller) on 127.0.0.1 and two free ports, its log directory under
``directory``, from the jars ``make jars`` fetches into ``.jars/kafka-broker/`` (org.apache.kafka:kafka_2.13,
pinned in ``flink-conf/kafka-broker/pom.xml``). ``start`` formats fresh storage, launches the broker and waits
for "Kafka Server started"; ``stop`` ends it by its pid.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from pathlib import Path

from serving.testing import free_port, started

JARS = Path(__file__).resolve().parents[1] / ".jars" / "kafka-broker"
CONF = Path(__file__).resolve().parents[1] / "flink-conf" / "kafka-broker"
MISSING = f"Kafka broker jars not found in {JARS}: run `make jars`"

PROPERTIES = """process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
"""


class KafkaBroker:
    """``with KafkaBroker(dir) as broker:`` ... ``broker.bootstrap`` is ``127.0.0.1:<port>``."""

    def __init__(self, directory: Path) -> None:
        if not any(JARS.glob("kafka_2.13-*.jar")):
            raise RuntimeError(MISSING)
        self.dir = Path(directory)
        self.port, self.controller = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def _java(self, *args: str, heap: str = "-Xmx256m") -> list[str]:
        return ["java", heap, f"-Dlog4j2.configurationFile={CONF / 'log4j2.properties'}", "-cp", f"{JARS}/*", *args]

    def start(self, timeout: float = 120.0) -> KafkaBroker:
        shutil.rmtree(self.dir / "data", ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        props = self.dir / "server.properties"
        props.write_text(PROPERTIES.format(port=self.port, controller=self.controller, data=self.dir / "data"))
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        subprocess.run(self._java("kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(props)),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)  # fmt: skip
        log = open(self.dir / "kafka.log", "wb")  # noqa: SIM115 - the broker writes it until stop()
        self.process = subprocess.Popen(self._java("kafka.Kafka", str(props), heap="-Xmx512m"), stdout=log,
                                        stderr=subprocess.STDOUT)  # fmt: skip
        log.close()
        if not started(self.process, lambda: b"Kafka Server started" in (self.dir / "kafka.log").read_bytes(),
                       timeout, 0.2):  # fmt: skip
            self.stop()
            raise RuntimeError(f"Kafka broker did not start on port {self.port}: see {self.dir / 'kafka.log'}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
