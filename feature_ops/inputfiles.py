"""Event files: which ones a path holds (in replay order) and their raw lines, with every failure located.

A file or directory that cannot be read, or compressed data that breaks off, raises ``DamagedFile`` at the
line where it broke: the lines before it were yielded, the rest of that file is lost. gzip verifies its
checksum only at the end of the data, so a flipped byte may first garble lines (reported as bad lines when
they no longer parse). Nothing is skipped silently: unreadable directories and dangling links are listed.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import orjson
import zstandard

from feature_ops.rejects import InputError

EVENT_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst", ".gz", ".zst")
CHUNK = 1 << 20
_SPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


class DamagedFile(Exception):
    """A file that could not be read to its end; ``location`` is ``path`` or ``path:line``."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location, self.reason = location, reason


def event_files(path: str | Path) -> list[Path]:
    """The event files under a file or directory, in sorted path order (the replay order), plus the
    directories that could not be listed and links that lead nowhere (reading them reports why)."""
    root = Path(path)
    if not root.exists():
        raise InputError(f"input path {root} does not exist")
    if not root.is_dir():
        if not is_event_file(root):
            raise InputError(f"{root}: unsupported file type, expected one of {', '.join(EVENT_SUFFIXES)}")
        return [root]
    found: list[Path] = []
    for parent, _, names in os.walk(root, onerror=lambda e: found.append(Path(e.filename))):
        found.extend(p for p in map(Path(parent).joinpath, names) if is_event_file(p) and _file_or_link(p))
    if not found:
        raise InputError(f"input directory {root} holds no event files ({', '.join(EVENT_SUFFIXES)})")
    return sorted(found)


def is_event_file(path: Path) -> bool:
    return not path.name.startswith((".", "_")) and path.name.endswith(EVENT_SUFFIXES)


def _file_or_link(path: Path) -> bool:
    return path.is_symlink() or path.is_file()


def open_binary(path: Path) -> BinaryIO:
    """The decompressed bytes of a plain, ``.gz`` or ``.zst`` file (every zstd frame, truncation detected)."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.name.endswith(".zst"):
        return io.BufferedReader(ZstdFrames(path.open("rb")), CHUNK)  # type: ignore[return-value]
    return path.open("rb")


class ZstdFrames(io.RawIOBase):
    """Every frame of a zstd stream, one after another; data that ends inside a frame raises EOFError."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.frame = zstandard.ZstdDecompressor().decompressobj()
        self.in_frame = False
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self.pending:
            chunk = self.source.read(CHUNK)
            if not chunk:
                if self.in_frame:
                    raise EOFError("compressed data ended inside a frame")
                return 0
            self.pending = memoryview(self._feed(chunk))
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def _feed(self, chunk: bytes) -> bytes:
        out = self.frame.decompress(chunk)
        self.in_frame = not self.frame.eof
        if self.frame.eof:
            rest = self.frame.unused_data
            self.frame = zstandard.ZstdDecompressor().decompressobj()
            if rest:
                out += self._feed(rest)
        return out

    def close(self) -> None:
        self.source.close()
        super().close()


def raw_lines(path: Path, name: str | None = None) -> Iterator[tuple[str, bytes]]:
    """(location, raw line with its terminator), or per element of a top-level JSON array (``path:[i]``);
    locations and reports say ``name`` (default: the path) for the file."""
    name = name or str(path)
    number = 0
    try:
        if path.is_dir():
            os.listdir(path)
            raise OSError(0, "it could not be listed while the input was scanned")
        if is_array_file(path):
            yield from _array_elements(path, name)
            return
        with open_binary(path) as stream:
            for number, line in enumerate(stream, start=1):
                yield f"{name}:{number}", line
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise damaged(path, number + 1, e, name) from None


def is_array_file(path: Path) -> bool:
    """True when the first byte after an optional byte order mark and JSON whitespace is ``[``."""
    with open_binary(path) as stream:
        head = stream.read(len(_BOM)).removeprefix(_BOM).lstrip(_SPACE)
        while not head:
            chunk = stream.read(CHUNK)
            if not chunk:
                return False
            head = chunk.lstrip(_SPACE)
    return head.startswith(b"[")


def _array_elements(path: Path, name: str) -> Iterator[tuple[str, bytes]]:
    with open_binary(path) as stream:
        data = stream.read()
    try:
        elements = orjson.loads(data.removeprefix(_BOM))
    except orjson.JSONDecodeError as e:
        raise DamagedFile(name, f"invalid JSON array: {e}; the whole file is lost") from None
    for index, element in enumerate(elements):
        yield f"{name}:[{index}]", orjson.dumps(element)


def damaged(path: Path, line: int, error: BaseException, name: str | None = None) -> DamagedFile:
    """The report of a read that broke at ``line`` (1-based): what broke, and what is lost."""
    name = name or str(path)
    if path.is_dir():
        return DamagedFile(name, f"cannot list directory: {_strerror(error)}; the files in it are lost")
    kind = "gzip" if path.name.endswith(".gz") else "zstd" if path.name.endswith(".zst") else ""
    if isinstance(error, OSError) and not isinstance(error, gzip.BadGzipFile) and line == 1:
        return DamagedFile(name, f"cannot read file: {_strerror(error)}")
    what = f"damaged {kind} data ({error})" if kind else f"read failed ({_strerror(error)})"
    lost = "nothing of the file could be read" if line == 1 else "reading stopped here, the rest of the file is lost"
    return DamagedFile(f"{name}:{line}", f"{what}; {lost}")


def _strerror(error: BaseException) -> str:
    return (error.strerror if isinstance(error, OSError) and error.strerror else str(error)) or type(error).__name__
