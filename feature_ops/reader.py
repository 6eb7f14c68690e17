"""Read events from JSON-lines files, JSON arrays and directory trees (.jsonl, .json, .gz, .zst).

Every rejected line is reported as ``path:line: what is wrong`` and every file that cannot be read to its end
as ``path[:line]: why``; the policy decides whether the first one stops the read (``fail``) or it is counted
and skipped (``skip``). Nothing else is lost. Lines are decoded by ``feature_ops.decoder.LineDecoder``, the
decoder the Flink bootstrap uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from feature_ops.decoder import LineDecoder
from feature_ops.events import Event
from feature_ops.inputfiles import EVENT_SUFFIXES, DamagedFile, event_files, is_event_file, raw_lines
from feature_ops.rejects import ErrorPolicy, InputError, Rejects
from feature_ops.timestamps import TimeWindow


def decode_file(file: Path, decode: LineDecoder, name: str | None = None) -> Iterator[tuple[str, Event]]:
    """(location, event) for every good line of one file (called ``name`` in locations, default its path); bad
    lines and a damaged file go to the rejects."""
    try:
        for location, raw in raw_lines(file, name):
            event = decode(raw, location)
            if event is not None:
                yield location, event
    except DamagedFile as e:
        decode.rejects.reject_file(e.location, e.reason)


def read_events(
    path: str | Path, rejects: Rejects, window: TimeWindow | None = None,
    on_file: Callable[[Path], None] | None = None, names: Callable[[Path], str] = str,
) -> Iterator[Event]:
    """All valid events under path in replay order (sorted files, then line order); ``names`` gives what
    messages call a file (a downloaded copy: its ``s3://`` URI)."""
    decode = LineDecoder(rejects, window)
    for file in event_files(path):
        if on_file:
            on_file(file)
        for _, event in decode_file(file, decode, names(file)):
            yield event


__all__ = ["EVENT_SUFFIXES", "ErrorPolicy", "InputError", "Rejects", "event_files", "is_event_file", "read_events"]
