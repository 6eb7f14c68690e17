"""What the Flink file source reads, and how a line's ordinal maps back to ``path:line``.

Flink's text format reads plain and ``.gz`` JSON-lines files directly when a pre-scan (the same Python
reading the embedded engine does) finds nothing it would read differently: valid UTF-8 (Flink silently
replaces bad bytes), no carriage return outside a CRLF (Flink splits lines there), no line starting with
NUL (markers use it), compressed data intact to its end. Every other input is staged once as JSON lines
under the workdir, line for line: ``.zst`` decompressed, a JSON array one element per line, a line Flink
would misread replaced by its canonical JSON or by a marker carrying the reader's reject reason, and a file
that breaks off (or cannot be read) ending in a marker carrying the reader's report. ``StagedDecoder``
turns markers back into those reports, so both engines give the same events and messages for the same bytes.
"""

from __future__ import annotations

import bisect
import codecs
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import zstandard

from feature_ops.decoder import BLANK, LineDecoder, load_json
from feature_ops.events import Event
from feature_ops.inputfiles import CHUNK, DamagedFile, is_array_file, open_binary, raw_lines
from feature_ops.rejects import Rejects
from feature_ops.timestamps import TimeWindow

MARKER = "\u0000rankstream:"
_UNSAFE = re.compile(rb"\n\x00|\r(?=[^\n])")


@dataclass(frozen=True)
class InputFile:
    path: str  # what Flink reads
    display: str  # what errors name
    lines: int
    array: bool = False


@dataclass(frozen=True)
class InputPlan:
    files: tuple[InputFile, ...]
    starts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        starts, n = [], 0
        for f in self.files:
            starts.append(n)
            n += f.lines
        object.__setattr__(self, "starts", tuple(starts))

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    @property
    def total(self) -> int:
        return sum(f.lines for f in self.files)

    def locate(self, ordinal: int) -> str:
        """``path:line`` (or ``path:[index]`` for JSON arrays) of the ordinal-th line of the input."""
        starts = self.starts
        i = bisect.bisect_right(starts, ordinal) - 1
        f, offset = self.files[i], ordinal - starts[i]
        return f"{f.display}:[{offset}]" if f.array else f"{f.display}:{offset + 1}"


class StagedDecoder:
    """The host's decoder: the shared ``LineDecoder`` for lines, the reader's reports for staged markers."""

    def __init__(self, plan: InputPlan, rejects: Rejects, window: TimeWindow | None = None) -> None:
        self.plan = plan
        self.decode = LineDecoder(rejects, window)

    def __call__(self, line: str, ordinal: int) -> Event | None:
        if line.startswith(MARKER):
            report = orjson.loads(line[len(MARKER):])
            if "file" in report:
                self.decode.rejects.reject_file(report["file"], report["reason"])
            else:
                self.decode.rejects.reject(self.plan.locate(ordinal), report["reason"])
            return None
        return self.decode(line, self.plan.locate(ordinal))


def plan_inputs(files: list[Path], staging: Path, names: Callable[[Path], str] = str) -> InputPlan:
    """``names`` gives what messages call a file (a downloaded copy: its ``s3://`` URI)."""
    return InputPlan(tuple(_plan_one(f, staging, i, names(f)) for i, f in enumerate(files)))


def _plan_one(path: Path, staging: Path, index: int, name: str) -> InputFile:
    array = _array(path)
    lines = None if array or path.name.endswith(".zst") else flink_lines(path)
    if lines is not None:
        return InputFile(str(path), name, lines)
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / f"{index:05d}-{path.name.removesuffix('.zst').removesuffix('.gz')}.jsonl"
    return InputFile(str(target), name, stage(path, target, name), array=array)


def flink_lines(path: Path) -> int | None:
    """How many lines Flink's text format reads from a JSON-lines file, or None when it must be staged."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    count, last = 0, b"\n"
    try:
        with open_binary(path) as stream:
            while chunk := stream.read(CHUNK):
                decoder.decode(chunk)
                if (b"\r" in chunk or b"\x00" in chunk) and _UNSAFE.search(last + chunk):
                    return None
                count += chunk.count(b"\n")
                last = chunk[-1:]
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, OSError, EOFError, zlib.error):
        return None
    return None if last == b"\r" else count + (last != b"\n")


def _array(path: Path) -> bool:
    try:
        return is_array_file(path)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError):
        return False


def stage(path: Path, target: Path, name: str | None = None) -> int:
    """Write ``path`` as lines Flink reads exactly as the reader reads the original; returns their number."""
    count = 0
    with target.open("wb") as out:
        try:
            for _, raw in raw_lines(path, name):
                out.write(staged_line(raw))
                count += 1
        except DamagedFile as e:
            out.write(_marker({"file": e.location, "reason": e.reason}))
            count += 1
    return count


def staged_line(raw: bytes) -> bytes:
    """One raw line as Flink must see it: as is when it reads it right, else canonical JSON or a marker."""
    body = raw.removesuffix(b"\n")
    body = body.removesuffix(b"\r") if len(body) < len(raw) else body
    if b"\r" not in body and not body.startswith(b"\x00") and _utf8(body):
        return body + b"\n"
    value, reason = load_json(raw)
    if reason is not None:
        return _marker({"reason": reason})
    return b"\n" if value is BLANK else orjson.dumps(value) + b"\n"


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _marker(report: dict) -> bytes:
    return MARKER.encode() + orjson.dumps(report) + b"\n"
