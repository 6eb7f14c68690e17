"""What was wrong with the input of a run: bad lines and bad files (``path:line: why``), and events that came
older than an event before them. The policy decides whether the first bad line or file stops the run
(``fail``) or is counted and skipped (``skip``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Literal

log = logging.getLogger(__name__)

ErrorPolicy = Literal["fail", "skip"]
SORT_HINT = "replayed in file order; `rankstream sort` writes a copy in time order"


class InputError(ValueError):
    """Input that cannot be read: a missing path, an unsupported file, or a bad line under policy 'fail'."""


@dataclass
class Rejects:
    """Counts rejected lines and files and keeps the first few messages for the summary."""

    policy: ErrorPolicy = "skip"
    keep: int = 20
    count: int = 0
    messages: list[str] = field(default_factory=list)
    files: int = 0
    out_of_order: int = 0
    """Events older than one decoded before them (``sort`` reports it; the engine counts a replay's own)."""

    def reject(self, location: str, reason: str) -> None:
        """A bad line: stops the run under ``fail``, else counted and skipped."""
        self._report(f"{location}: {reason}")
        self.count += 1

    def reject_file(self, location: str, reason: str) -> None:
        """A file (or directory) that cannot be read to its end: what was read before it stays. Its message is
        always kept: a flipped byte in a .gz garbles lines before the checksum names the cause."""
        self._report(f"{location}: {reason}", always=True)
        self.files += 1

    def _report(self, message: str, always: bool = False) -> None:
        if self.policy == "fail":
            raise InputError(message)
        if always or len(self.messages) < self.keep:
            self.messages.append(message)
        log.warning("skipped %s", message)

    def summary(self) -> str:
        """``0 bad lines`` or the counts of bad lines and files and the first messages."""
        parts = [f"{self.count} bad lines skipped" if self.count else "0 bad lines"]
        if self.files:
            parts = parts[1:] if not self.count else parts
            parts.append(f"{self.files} bad file{'s' if self.files > 1 else ''}")
        head = ", ".join(parts)
        if len(self.messages) < self.count + self.files:
            head += f" (first {len(self.messages)} shown)"
        return f"{head}:\n  " + "\n  ".join(self.messages) if self.messages else head

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Rejects:
        return cls(**data)
