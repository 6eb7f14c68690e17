"""``rankstream generate``: a deterministic, RankLens-like movie dataset in Metarank's event format, or with
``scenario="news"`` a feed of short-lived articles shown in shuffled order (``jobs.generate_news``).

Writes ``out_dir/events/events.jsonl.gz`` (item, user, ranking and interaction events, time-ordered) and
``out_dir/truth.jsonl.gz`` (the hidden graded relevance of every ranked movie, one line per ranking), so a
trained ranker can be scored against an oracle. The same seed and sizes give byte-identical files.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from jobs.generate_catalog import Catalog, make_catalog
from jobs.generate_events import (
    KIND_ORDER,
    interaction_events,
    item_events,
    ranking_events,
    truth_line,
    user_events,
)
from jobs.generate_news import news_events
from jobs.generate_sessions import Ranking, simulate_user
from jobs.generate_users import User, make_user

Progress = Callable[[int, int], None]
CATALOG_STREAM = 0
SCENARIOS = ("ranklens", "news")


@dataclass(frozen=True)
class GenerateSummary:
    """What ``generate`` wrote: event counts by kind and by interaction type, and the two file paths."""

    events_path: Path
    truth_path: Path
    counts: dict[str, int] = field(default_factory=dict)
    interactions: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        """The summary the CLI prints: totals, counts by kind and interaction type, where the files went."""
        kinds = ", ".join(f"{kind} {n:,}" for kind, n in self.counts.items())
        types = ", ".join(f"{kind} {n:,}" for kind, n in self.interactions.items())
        return (
            f"generate: {self.total:,} events -> {self.events_path}\n"
            f"  {kinds}" + (f" (interactions: {types})" if types else "") + "\n"
            f"  true relevance per ranking -> {self.truth_path}"
        )


def generate(
    out_dir: Path,
    *,
    seed: int = 42,
    items: int = 1000,
    users: int = 1000,
    rankings: int = 8000,
    ranking_size: int = 24,
    progress: Progress | None = None,
    scenario: str = "ranklens",
) -> GenerateSummary:
    """Simulate the scenario (``SCENARIOS``: its items, users and their sessions), then write the events and
    truth files."""
    _check_sizes(items, users, rankings, ranking_size)
    if scenario not in SCENARIOS:
        raise ValueError(f"generate: scenario '{scenario}' is not one of {', '.join(SCENARIOS)}")
    if scenario == "news":
        events, truth = news_events(seed, items, users, rankings, ranking_size)
    else:
        events, truth = _ranklens(seed, items, users, rankings, ranking_size, progress)
    events.sort(key=lambda e: (e["timestamp"], KIND_ORDER[e["event"]]))
    out_dir = Path(out_dir)
    events_path, truth_path = out_dir / "events" / "events.jsonl.gz", out_dir / "truth.jsonl.gz"
    _write_jsonl(events_path, events)
    _write_jsonl(truth_path, truth)
    kinds = Counter(e["event"] for e in events)
    types = Counter(e["type"] for e in events if e["event"] == "interaction")
    return GenerateSummary(events_path, truth_path, dict(sorted(kinds.items())), dict(sorted(types.items())))


def _ranklens(seed: int, items: int, users: int, rankings: int, size: int,
              progress: Progress | None) -> tuple[list[dict], list[dict]]:  # fmt: skip
    rng = np.random.default_rng([seed, CATALOG_STREAM])
    catalog = make_catalog(rng, items)
    people = [make_user(seed, u, items) for u in range(users)]
    per_user = rng.multinomial(rankings, _activity(rng, users))
    ranked = _simulate(seed, catalog, people, per_user, size, progress)
    events = item_events(rng, catalog) + user_events(people) + ranking_events(ranked) + interaction_events(ranked)
    return events, [truth_line(i, r) for i, r in enumerate(ranked)]


def load_truth(path: str | Path) -> dict[str, dict[str, float]]:
    """Read a truth file back: ranking id -> {movie id -> relevance grade}."""
    with gzip.open(path, "rb") as f:
        rows = [orjson.loads(line) for line in f if line.strip()]
    return {row["ranking"]: {k: float(v) for k, v in row["relevance"].items()} for row in rows}


def _check_sizes(items: int, users: int, rankings: int, ranking_size: int) -> None:
    if min(items, users, ranking_size) < 1 or rankings < 0:
        raise ValueError("generate: items, users and ranking_size must be >= 1 and rankings >= 0")
    if ranking_size > items:
        raise ValueError(f"generate: ranking_size {ranking_size} must not exceed items {items}")


def _activity(rng: np.random.Generator, users: int) -> np.ndarray:
    """Long-tailed share of rankings per user: a few heavy users, many light ones."""
    weights = rng.lognormal(0.0, 0.9, users)
    return weights / weights.sum()


def _simulate(
    seed: int,
    catalog: Catalog,
    people: list[User],
    per_user: np.ndarray,
    size: int,
    progress: Progress | None,
) -> list[Ranking]:
    """All rankings in time order (ties by user); reports progress in rankings simulated."""
    total, done, reported, ranked = int(per_user.sum()), 0, 0, []
    for user, count in zip(people, per_user, strict=True):
        ranked += simulate_user(seed, user, catalog, int(count), size)
        done += int(count)
        if progress and (done - reported >= 500 or done == total):
            progress(done, total)
            reported = done
    ranked.sort(key=lambda r: (r.timestamp, r.user))
    return ranked


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    """Gzip JSON lines with a zero mtime and no file name in the header, so the bytes are reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as f,
    ):
        f.write(payload)
