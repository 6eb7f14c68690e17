"""What the update job's engine host runs per batch: source lines -> events -> the shared ``Engine`` -> the
encoded Redis items of every state record the batch changed.

A source line carries where it came from, so a bad message is reported with it:
``topic<US>partition<US>offset<US>value`` from Kafka (``jobs/flink/java/KafkaLineDeserializer.java``),
``<RS>stream id<US>value`` from the feedback stream (``jobs.update.feedback``). A value starting with NUL is
the reason the source could not decode the message (not UTF-8, no value). Items follow ``serving.store``
exactly as ``rankstream upload`` writes them: same keys, fields, codec, and TTL remaining at the engine's
clock (its latest event time). Rejected messages are appended to ``<workdir>/update/bad-messages.log``
for the driver to print; under ``update.errors: fail`` the first one stops the job.
"""

from __future__ import annotations

from pathlib import Path

from feature_ops.config import Config
from feature_ops.decoder import LineDecoder
from feature_ops.engine import Engine
from feature_ops.rejects import Rejects
from serving.store import Item, KeyLayout, ttl_items

US, RS = "\x1f", "\x1e"
BAD_MESSAGES = "bad-messages.log"


def split_line(line: str, stream: str = "feedback") -> tuple[str, str]:
    """(where the message came from, its text)."""
    if line.startswith(RS):
        stream_id, _, text = line[1:].partition(US)
        return f"stream {stream}, id {stream_id}", text
    topic, partition, offset, text = line.split(US, 3)
    return f"topic {topic}, partition {partition}, offset {offset}", text


class UpdateEngine:
    """``process_batch`` returns ``[(items, events, bad messages)]`` for the batch; ``store`` is the host's
    ``MapStateStore``, whose ``changed()`` names the records the batch wrote."""

    def __init__(self, config: Config, store, update_dir: str, restored: str | None = None) -> None:
        self.store, self.config, self.restored = store, config, restored
        self.engine = Engine(config, store)
        self.features = self.engine.features
        self.states = {ns: state for state, ns in self.features.namespaces.items()}
        prefix = getattr(config.inference.state, "prefix", "rs")
        self.layout = KeyLayout(self.features, prefix)
        self.stream = self.layout.feedback
        self.rejects = Rejects(config.update.errors, keep=1_000_000)
        self.decode = LineDecoder(self.rejects)
        self.bad_log = Path(update_dir) / BAD_MESSAGES

    def process_batch(self, first: int, lines: list[str]) -> list:
        if self.restored is not None:
            self._check_restored()
        self.decode.window = self.config.bootstrap.timestamps.window()
        events = 0
        try:
            for line in lines:
                location, text = split_line(line, self.stream)
                if text.startswith("\x00"):
                    self.rejects.reject(location, text[1:])
                    continue
                event = self.decode(text, location)
                if event is not None:
                    self.engine.process(event)
                    events += 1
        finally:
            bad = self._log_rejects()
        return [(self.changes(), events, bad)]

    def finish(self) -> list:
        return []

    def changes(self) -> list[Item]:
        """Encoded (key, field, value, ttl) of every feature record written since the host's last flush."""
        changed = []
        for ns, keys in self.store.changed().items():
            state = self.states.get(ns)
            if state is None:
                continue
            for sid in sorted(keys):
                record = self.store.get(ns, sid)
                if record is not None:
                    changed.append((state, sid, record))
        return list(ttl_items(self.features, self.layout, changed, self.engine.clock))

    def _check_restored(self) -> None:
        """A savepoint of another graph restores "successfully" into empty state (Flink drops unclaimed state):
        refuse to continue from nothing instead of overwriting Redis with counts that start at zero."""
        if self.engine.clock == 0:
            raise RuntimeError(f"restored no feature state from {self.restored}: it was written by another job graph "
                               "(or another execution mode); run the bootstrap again with this version")
        self.restored = None

    def _log_rejects(self) -> int:
        messages, self.rejects.messages = self.rejects.messages, []
        if messages:
            with open(self.bad_log, "a", encoding="utf-8") as f:
                f.write("".join(m.replace("\n", " ") + "\n" for m in messages))
        return len(messages)


class UpdateFactory:
    """Picklable ``factory(store) -> UpdateEngine`` shipped to the engine host."""

    def __init__(self, config: Config, update_dir: str, restored: str | None = None) -> None:
        self.config, self.update_dir, self.restored = config, update_dir, restored
        """``restored``: the savepoint or checkpoint of a run that processed events (its state must not be empty)."""

    def __call__(self, store) -> UpdateEngine:
        return UpdateEngine(self.config, store, self.update_dir, self.restored)
