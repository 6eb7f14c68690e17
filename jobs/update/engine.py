"""The update job on the keyed graph (``jobs.flink.keyed``): its router turns source lines into events for the
shared ``RouterEngine``; its state listener (``jobs.update.sink``) writes the records each bucket changed.

A source line carries where it came from, so a bad message is reported with it:
``topic<US>partition<US>offset<US>value`` from Kafka (``jobs/flink/java/KafkaLineDeserializer.java``),
``<RS>stream id<US>value`` from the feedback stream (``jobs.update.feedback``). A value starting with NUL is
the reason the source could not decode the message (not UTF-8, no value). Rejected messages are appended to
``<workdir>/update/bad-messages.log`` for the driver to print; under ``update.errors: fail`` the first one stops
the job. The update job writes no datasets: its sink drops the clickthroughs the graph still assembles.
"""

from __future__ import annotations

from pathlib import Path

from feature_ops.config import Config
from feature_ops.decoder import LineDecoder
from feature_ops.rejects import Rejects
from feature_ops.routing import RouterEngine
from jobs.flink.keyed import KeyedFactory, KeyedRouter, KeyedSink
from jobs.update.sink import StateWriter

US, RS = "\x1f", "\x1e"
BAD_MESSAGES = "bad-messages.log"


def split_line(line: str, stream: str = "feedback") -> tuple[str, str]:
    """(where the message came from, its text)."""
    if line.startswith(RS):
        stream_id, _, text = line[1:].partition(US)
        return f"stream {stream}, id {stream_id}", text
    topic, partition, offset, text = line.split(US, 3)
    return f"topic {topic}, partition {partition}, offset {offset}", text


class UpdateRouter(KeyedRouter):
    """Decodes each batch's lines (keeping where they came from) into the router's engine."""

    def __init__(self, config: Config, store, update_dir: str, restored: str | None = None) -> None:
        self.config, self.restored = config, restored
        self.engine = RouterEngine(config, store)
        self.stream = f"{getattr(config.inference.state, 'prefix', 'rs')}@feedback"
        self.rejects = Rejects(config.update.errors, keep=1_000_000)
        self.decode = LineDecoder(self.rejects)
        self.bad_log = Path(update_dir) / BAD_MESSAGES

    def process_batch(self, first: int, lines: list[str]) -> None:
        if self.restored is not None:
            self._check_restored()
        self.decode.window = self.config.bootstrap.timestamps.window()
        try:
            for line in lines:
                location, text = split_line(line, self.stream)
                if text.startswith("\x00"):
                    self.rejects.reject(location, text[1:])
                    continue
                event = self.decode(text, location)
                if event is not None:
                    self.engine.process(event)
        finally:
            self._log_rejects()

    def finish(self) -> None:
        return None

    def _check_restored(self) -> None:
        """A savepoint of another graph restores "successfully" into empty state (Flink drops unclaimed state):
        refuse to continue from nothing instead of overwriting Redis with counts that start at zero."""
        if self.engine.clock == 0:
            raise RuntimeError(f"restored no feature state from {self.restored}: it was written by another job graph "
                               "(or another execution mode); run the bootstrap again with this version")
        self.restored = None

    def _log_rejects(self) -> None:
        messages, self.rejects.messages = self.rejects.messages, []
        if messages:
            with open(self.bad_log, "a", encoding="utf-8") as f:
                f.write("".join(m.replace("\n", " ") + "\n" for m in messages))


class NoDatasets(KeyedSink):
    def add(self, clickthrough) -> None:
        return None

    def finish(self, latest, subtasks) -> None:
        return None


class UpdateFactory(KeyedFactory):
    """Picklable: the update job's router, sink and state listener for ``engine_graph``. ``restored``: the
    savepoint or checkpoint of a run that processed events (its state must not be empty)."""

    def __init__(self, config: Config, update_dir: str, restored: str | None = None) -> None:
        self.config, self.update_dir, self.restored = config, update_dir, restored

    def router(self, store) -> UpdateRouter:
        return UpdateRouter(self.config, store, self.update_dir, self.restored)

    def sink(self) -> NoDatasets:
        return NoDatasets()

    def state_listener(self) -> StateWriter:
        return StateWriter(self.config)
