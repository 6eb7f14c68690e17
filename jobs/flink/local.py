"""Records between Python operators that share an interpreter, passed by reference (``Exchange``).

In thread mode each TaskManager JVM embeds one CPython interpreter that runs all the Python operators of its
slots (``../shared/reference/verified``). A record from one of them to another in the same JVM would still be
pickled, copied into the JVM, copied out and unpickled. Instead the sender parks the record in the receiver's
inbox here and sends only a marker ``("@", n)`` through Flink: the marker keeps Flink's routing, its order per
channel and its back-pressure, and the receiver takes the record back by its number. The keyed graph's records
are immutable data (``feature_ops.state``), so a reference is as good as a copy.

A receiver registers its inbox in ``open`` under the graph's token (new per graph build) and its subtask index;
a sender uses it only when that receiver has registered in its own interpreter, and sends the record by value
otherwise (another TaskManager, or the receiver not open yet). Like the batches between the router and the
sink, a parked record lives in Python memory only while its marker is in flight: the bootstrap's savepoint is
taken when nothing is, and aligned checkpoints (the update job's) never store records in flight.
"""

from __future__ import annotations

import itertools
import sys
import uuid
from typing import Any

from jobs.embedded import relax_gc

MARK = "@"
"""The tag of a marker record: ``(MARK, number)``."""

SWITCH_INTERVAL = 0.05
"""Seconds a thread holds the shared GIL before it must offer it to a waiting one (CPython's default: 0.005)."""


def share_interpreter() -> None:
    """Settings for an interpreter all the Python operator threads of a TaskManager share (an operator's
    ``open``): ``relax_gc``, and a GIL switch interval of 50 ms rather than 5, so a thread mostly runs a record
    to its end or to its next call into the JVM instead of being made to hand the GIL over mid-record (the
    keyed graph at P = 1 on four times the sample: 11-19% more events/s in four alternated pairs of runs)."""
    relax_gc()
    sys.setswitchinterval(SWITCH_INTERVAL)


_INBOXES: dict[tuple[str, str, int], dict[int, Any]] = {}
_NUMBERS = itertools.count()


class Exchange:
    """One graph's inboxes (picklable: shipped to its operators); ``enabled=False`` sends everything by value."""

    def __init__(self, enabled: bool = True) -> None:
        self.token, self.enabled = uuid.uuid4().hex, enabled
        self.inbox: dict[int, Any] | None = None
        self.key: tuple[str, str, int] | None = None

    def open(self, role: str, subtask: int) -> None:
        """Register this operator's inbox (a receiver's ``open``)."""
        self.key, self.inbox = (self.token, role, subtask), {}
        if self.enabled:
            _INBOXES[self.key] = self.inbox

    def close(self) -> None:
        """Unregister this operator's inbox, unless a newer attempt of the same subtask registered its own."""
        if self.key is not None and _INBOXES.get(self.key) is self.inbox:
            del _INBOXES[self.key]

    def local(self, role: str, subtask: int) -> bool:
        """Whether ``send(role, subtask, ...)`` passes records by reference now."""
        return (self.token, role, subtask) in _INBOXES

    def send(self, role: str, subtask: int, record: tuple) -> tuple:
        """What to emit for ``record`` to subtask ``subtask`` of the operator ``role``: a marker, or the record."""
        inbox = _INBOXES.get((self.token, role, subtask))
        if inbox is None:
            return record
        number = next(_NUMBERS)
        inbox[number] = record
        return MARK, number

    def receive(self, record: tuple) -> tuple:
        """The record an emitted ``send`` result stands for (a receiver's ``process``)."""
        if record[0] == MARK:
            return self.inbox.pop(record[1])  # type: ignore[union-attr]
        return record
