"""Read events from JSON-lines files, JSON arrays and directory trees (.jsonl, .json, .gz, .zst).

Every rejected line is reported as ``path:line: what is wrong``; the policy decides whether the first bad
line stops the read (``fail``) or is counted and skipped (``skip``). Nothing else is lost.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import orjson

from feature_ops.events import Event, EventError, parse_event

log = logging.getLogger(__name__)

ErrorPolicy = Literal["fail", "skip"]
EVENT_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst", ".gz", ".zst")


class InputError(ValueError):
    """Input that cannot be read: a missing path, an unsupported file, or a bad line under policy 'fail'."""


@dataclass
class Rejects:
    """Counts rejected lines and keeps the first few messages for the summary."""

    policy: ErrorPolicy = "skip"
    keep: int = 20
    count: int = 0
    messages: list[str] = field(default_factory=list)

    def reject(self, location: str, reason: str) -> None:
        message = f"{location}: {reason}"
        if self.policy == "fail":
            raise InputError(message)
        self.count += 1
        if len(self.messages) < self.keep:
            self.messages.append(message)
        log.warning("skipped %s", message)

    def summary(self) -> str:
        if not self.count:
            return "0 bad lines"
        more = f" (first {len(self.messages)} shown)" if self.count > len(self.messages) else ""
        return f"{self.count} bad lines skipped{more}:\n  " + "\n  ".join(self.messages)


def decode_line(text: str | bytes, location: str, rejects: Rejects) -> Event | None:
    """One event from one JSON line, or None (reported to rejects) if it is malformed."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        rejects.reject(location, f"invalid JSON: {e}")
        return None
    try:
        return parse_event(obj)
    except EventError as e:
        rejects.reject(location, str(e))
        return None


def event_files(path: str | Path) -> list[Path]:
    """The event files under a file or directory, in sorted path order (the replay order)."""
    root = Path(path)
    if not root.exists():
        raise InputError(f"input path {root} does not exist")
    if root.is_file():
        if not is_event_file(root):
            raise InputError(f"{root}: unsupported file type, expected one of {', '.join(EVENT_SUFFIXES)}")
        return [root]
    files = sorted(p for p in root.rglob("*") if p.is_file() and is_event_file(p))
    if not files:
        raise InputError(f"input directory {root} holds no event files ({', '.join(EVENT_SUFFIXES)})")
    return files


def is_event_file(path: Path) -> bool:
    return not path.name.startswith((".", "_")) and path.name.endswith(EVENT_SUFFIXES)


def open_text(path: Path) -> io.TextIOBase:
    """A text stream over a possibly compressed file."""
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    if path.name.endswith(".zst"):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(path.open("rb"))
        return io.TextIOWrapper(reader, encoding="utf-8")
    return path.open("r", encoding="utf-8")


def read_lines(path: Path) -> Iterator[tuple[str, str]]:
    """(location, json text) pairs: one per line, or one per element of a top-level JSON array."""
    with open_text(path) as stream:
        head = stream.read(1)
        skipped = 0
        while head and head.isspace():
            skipped += head == "\n"
            head = stream.read(1)
        if head == "[":
            yield from _array_elements(path, head + stream.read())
            return
        first = True
        for number, line in enumerate(stream, start=skipped + 1):
            if first:
                line, first = head + line, False
            if line.strip():
                yield f"{path}:{number}", line


def _array_elements(path: Path, text: str) -> Iterator[tuple[str, str]]:
    try:
        elements = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON array: {e}") from e
    for index, element in enumerate(elements):
        yield f"{path}:[{index}]", orjson.dumps(element).decode()


def read_events(
    path: str | Path, rejects: Rejects, on_file: Callable[[Path], None] | None = None
) -> Iterator[Event]:
    """All valid events under path in replay order (sorted files, then line order)."""
    for file in event_files(path):
        if on_file:
            on_file(file)
        for location, text in read_lines(file):
            event = decode_line(text, location, rejects)
            if event is not None:
                yield event
