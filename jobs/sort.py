"""``rankstream sort INPUT --out FILE``: the events of INPUT in time order, one JSON-lines file.

The sort is stable (events with the same timestamp keep their input order: file order, then line order) and
external: runs of ``run_lines`` events are sorted in memory and spilled next to ``FILE``, then merged, so the
input may be larger than memory. Lines are written as they were read (without a byte order mark or CR);
``FILE`` is gzip-compressed when it ends in ``.gz`` and replaced only when the sort is complete. Bad lines and
files are reported as the bootstrap reports them, and left out; timestamps are not checked against
``bootstrap.timestamps`` (the bootstrap does that).
"""

from __future__ import annotations

import gzip
import heapq
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from feature_ops.decoder import LineDecoder
from feature_ops.inputfiles import DamagedFile, event_files, raw_lines
from feature_ops.rejects import InputError, Rejects

RUN_LINES = 200_000
OUT_SUFFIXES = (".jsonl", ".jsonl.gz")
Entry = tuple[int, int, bytes]


@dataclass(frozen=True)
class SortResult:
    events: int
    files: int
    rejects: Rejects
    out: Path


def sort_events(source: str | Path, out: str | Path, run_lines: int = RUN_LINES) -> SortResult:
    """Write every good event under ``source`` into ``out`` ordered by timestamp, ties in input order."""
    out, files = Path(out), event_files(source)
    _check_out(Path(source), out)
    rejects = Rejects("skip")
    with tempfile.TemporaryDirectory(prefix=".sort-", dir=out.parent) as spill:
        runs = _sorted_runs(_entries(files, LineDecoder(rejects)), Path(spill), run_lines)
        events = _write(out, heapq.merge(*runs))
    return SortResult(events, len(files), rejects, out)


def _check_out(source: Path, out: Path) -> None:
    if not out.name.endswith(OUT_SUFFIXES):
        raise InputError(f"--out {out}: expected a {' or '.join(OUT_SUFFIXES)} file")
    if source.is_dir() and out.resolve().is_relative_to(source.resolve()):
        raise InputError(f"--out {out} is inside the input directory {source}: the bootstrap would read its events "
                         "twice; write it elsewhere")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: directory {out.parent} does not exist")


def _entries(files: list[Path], decode: LineDecoder) -> Iterator[Entry]:
    """(timestamp, input position, line) of every good event, in input order."""
    seq = 0
    for file in files:
        try:
            for location, raw in raw_lines(file):
                event = decode(raw, location)
                if event is not None:
                    yield event.timestamp, seq, _clean(raw)
                    seq += 1
        except DamagedFile as e:
            decode.rejects.reject_file(e.location, e.reason)


def _clean(raw: bytes) -> bytes:
    body = raw.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
    return orjson.dumps(orjson.loads(body)) if b"\r" in body else body


def _sorted_runs(entries: Iterator[Entry], spill: Path, run_lines: int) -> list[Iterator[Entry]]:
    runs: list[Iterator[Entry]] = []
    run: list[Entry] = []
    for entry in entries:
        run.append(entry)
        if len(run) >= run_lines:
            runs.append(_spilled(sorted(run), spill / f"run-{len(runs)}"))
            run = []
    runs.append(iter(sorted(run)))
    return runs


def _spilled(run: list[Entry], path: Path) -> Iterator[Entry]:
    with path.open("wb") as f:
        f.writelines(b"%d %d %s\n" % entry for entry in run)
    return _read_run(path)


def _read_run(path: Path) -> Iterator[Entry]:
    with path.open("rb") as f:
        for line in f:
            ts, seq, body = line.rstrip(b"\n").split(b" ", 2)
            yield int(ts), int(seq), body


def _write(out: Path, entries: Iterator[Entry]) -> int:
    tmp = out.with_name(f".{out.name}.tmp")
    count = 0
    try:
        with _open_out(tmp, gzipped=out.name.endswith(".gz")) as f:
            for _, _, body in entries:
                f.write(body + b"\n")
                count += 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _open_out(path: Path, gzipped: bool) -> BinaryIO:
    return gzip.open(path, "wb", compresslevel=6) if gzipped else path.open("wb")  # type: ignore[return-value]


def run_sort(source: str, out: str) -> int:
    """The command: sort, then print what was written and what was left out."""
    result = sort_events(source, out)
    moved = result.rejects.out_of_order
    print(f"sort: {result.events:,} events from {result.files:,} files -> {result.out} "
          f"({moved:,} were older than an event before them); {result.rejects.summary()}")
    return 0
