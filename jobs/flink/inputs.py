"""What the Flink file source reads, and how a line's ordinal maps back to ``path:line``.

Flink's text format reads plain and ``.gz`` JSON-lines files directly. Other inputs are converted once
into JSON lines under the workdir (``.zst`` decompressed; a JSON array becomes one element per line),
keeping their original names in error locations.
"""

from __future__ import annotations

import bisect
import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path

from feature_ops.reader import open_text, read_lines


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


def plan_inputs(files: list[Path], staging: Path) -> InputPlan:
    return InputPlan(tuple(_plan_one(f, staging, i) for i, f in enumerate(files)))


def _plan_one(path: Path, staging: Path, index: int) -> InputFile:
    array = _is_array(path)
    if not array and not path.name.endswith(".zst"):
        return InputFile(str(path), str(path), _count_lines(path))
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / f"{index:05d}-{path.name.removesuffix('.zst')}.jsonl"
    with target.open("w", encoding="utf-8") as out:
        if array:
            for _, text in read_lines(path):
                out.write(text.rstrip("\n") + "\n")
        else:
            with open_text(path) as stream:
                shutil.copyfileobj(stream, out)
    return InputFile(str(target), str(path), _count_lines(target), array=array)


def _is_array(path: Path) -> bool:
    with open_text(path) as stream:
        head = stream.read(64).lstrip()
    return head.startswith("[")


def _count_lines(path: Path) -> int:
    """Lines as Flink's text format splits them: a final line without a newline still counts."""
    opener = gzip.open if path.name.endswith(".gz") else open
    count, last = 0, b"\n"
    with opener(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")
