"""Where the update job writes: every state subtask writes the records its buckets changed into
``inference.state`` (Redis), right after applying a record's writes and before passing the record on.

The items are ``rankstream upload``'s: same keys, fields, codec (``serving.store``), and the TTL remaining at the
latest event time of the writes (``ttl_items``); one pipelined round trip per record
(``RedisValueStore.put_many``: HSET + PEXPIRE NX/GT). So everything before a checkpoint barrier is in Redis when
the checkpoint completes, and a restore replays exactly the events whose writes may be missing; writing a value
again is harmless (the same record). While Redis is unreachable the writer retries with backoff (the job holds
still, backpressure stops the source) and fails the job only after ``give_up_s``.
"""

from __future__ import annotations

import logging
import time

from feature_ops.config import Config
from feature_ops.featureset import FeatureSet
from serving.errors import StoreUnavailable
from serving.store import Item, KeyLayout, open_store, ttl_items

log = logging.getLogger(__name__)


def changed_items(features: FeatureSet, layout: KeyLayout, store, ops) -> list[Item]:
    """Encoded (key, field, value, ttl) of every feature record ``store`` changed since its last flush."""
    now = max((op[-1] for op in ops if len(op) > 2), default=None)  # a write's (last) timestamp
    if now is None:
        return []
    states = {ns: state for state, ns in features.namespaces.items()}
    changed = []
    for ns, keys in store.changed().items():
        state = states.get(ns)
        for sid in sorted(keys) if state is not None else ():
            record = store.get(ns, sid)
            if record is not None:
                changed.append((state, sid, record))
    return list(ttl_items(features, layout, changed, now))


class StateWriter:
    """The keyed graph's state listener for the update job (``KeyedFactory.state_listener``)."""

    def __init__(self, config: Config, give_up_s: float = 120.0) -> None:
        self.state, self.give_up_s = config.inference.state, give_up_s
        self.prefix = getattr(self.state, "prefix", "rs")

    def open(self) -> None:
        self.store = open_store(self.state)
        self.layout: KeyLayout | None = None

    def __call__(self, features: FeatureSet, store, ops) -> None:
        if self.layout is None:
            self.layout = KeyLayout(features, self.prefix)
        items = changed_items(features, self.layout, store, ops)
        if items:
            self._write(items)

    def _write(self, items: list[Item]) -> None:
        deadline, pause = time.monotonic() + self.give_up_s, 0.05
        while True:
            try:
                self.store.put_many(items)
                return
            except StoreUnavailable as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{e.message}; the update job gave up after {self.give_up_s:.0f} s") from None
                log.warning("redis unavailable, retrying in %.2f s: %s", pause, e.message)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
