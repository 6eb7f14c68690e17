"""Data checks behind ``rankstream validate`` (Metarank 0.7's checks): event order, interactions without
rankings, interaction types no model or feature knows, and fields a feature needs but never sees.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from feature_ops.config import Config, LambdaMARTModel
from feature_ops.events import Event
from feature_ops.rejects import SORT_HINT
from feature_ops.timestamps import iso
from feature_ops.types import FieldRef

INTERACTION_KEYS = ("interaction", "top", "bottom")
DAY = 86_400_000
JUMP = 30 * DAY


@dataclass
class DataReport:
    """Counts and findings; ``errors`` fail validation, ``warnings`` do not."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k}={v:,}" for k, v in sorted(self.counts.items()))
        return [f"events: {kinds}", *(f"error: {e}" for e in self.errors), *(f"warning: {w}" for w in self.warnings)]


def needed_fields(config: Config) -> dict[FieldRef, list[str]]:
    """Source fields referenced by features -> the features that read them."""
    out: dict[FieldRef, list[str]] = {}
    for feature in config.features:
        for value in vars(feature).values():
            refs = value if isinstance(value, list) else [value]
            for ref in refs:
                if isinstance(ref, FieldRef):
                    out.setdefault(ref, []).append(feature.name)
    return out


def known_interactions(config: Config) -> set[str]:
    types = {config.bootstrap.syntheticImpression.eventName}
    for model in config.models.values():
        if isinstance(model, LambdaMARTModel):
            types |= set(model.weights)
    for feature in config.features:
        types |= {getattr(feature, k) for k in INTERACTION_KEYS if isinstance(getattr(feature, k, None), str)}
    return types


def check_events(config: Config, events: Iterable[Event]) -> DataReport:
    report = DataReport()
    needed = needed_fields(config)
    seen_fields: set[tuple[str, str]] = set()
    rankings: set[str] = set()
    unknown: Counter[str] = Counter()
    orphans = 0
    clock = EventTime()
    known = known_interactions(config)
    for event in events:
        report.counts[event.kind] += 1
        clock.observe(event.timestamp)
        _record_fields(event, seen_fields)
        if event.kind == "ranking":
            rankings.add(event.id)
        elif event.kind == "interaction":
            orphans += event.ranking is not None and event.ranking not in rankings  # type: ignore[union-attr]
            if event.type not in known:  # type: ignore[union-attr]
                unknown[event.type] += 1  # type: ignore[union-attr]
    _findings(report, needed, seen_fields, unknown, orphans, clock.out_of_order)
    clock.findings(report)
    return report


@dataclass
class EventTime:
    """Event-time order in replay order: what one wrong timestamp does to the bootstrap's clock.

    An event more than a day older than one before it means the clock had already passed it: either the
    input is out of order, or an earlier timestamp is wrong (e.g. today's date in last year's log), and
    then sessions and TTLs expire early for everything after it. Forward jumps over 30 days are named too.
    """

    last: int = 0
    out_of_order: int = 0
    far_behind: int = 0
    far_ahead_of: int = 0
    jumps: list[tuple[int, int]] = field(default_factory=list)

    def observe(self, ts: int) -> None:
        if ts < self.last:
            self.out_of_order += 1
            if self.last - ts > DAY:
                self.far_behind += 1
                self.far_ahead_of = max(self.far_ahead_of, self.last)
            return
        if self.last and ts - self.last > JUMP and len(self.jumps) < 5:
            self.jumps.append((self.last, ts))
        self.last = ts

    def findings(self, report: DataReport) -> None:
        if self.far_behind:
            report.errors.append(
                f"{self.far_behind:,} events are more than a day older than an event before them (up to "
                f"{iso(self.far_ahead_of)}): if that timestamp is wrong, the bootstrap's clock passes every "
                "later event and their sessions and TTLs expire; fix it, set bootstrap.timestamps.max below it, "
                "or sort the input"
            )
        for before, after in self.jumps:
            report.warnings.append(
                f"event time jumps {(after - before) // DAY:,} days forward, from {iso(before)} to {iso(after)}: "
                "check that timestamp (bootstrap.timestamps.max bounds what is accepted)"
            )


def _record_fields(event: Event, seen: set[tuple[str, str]]) -> None:
    kind = event.kind if event.kind != "interaction" else f"interaction:{event.type}"  # type: ignore[union-attr]
    for name in event.fields:
        seen.add((kind, name))
        if event.kind == "interaction":
            seen.add(("interaction", name))
    if event.kind == "ranking":
        for item in event.items:  # type: ignore[union-attr]
            seen.update(("item", name) for name in item.fields)
            seen.update(("ranking", name) for name in item.fields)


def _findings(report, needed, seen, unknown, orphans, out_of_order) -> None:
    for ref, features in needed.items():
        kind = f"interaction:{ref.interaction}" if ref.interaction else ref.event
        if (kind, ref.field) not in seen:
            report.errors.append(f"field '{ref}' is used by {', '.join(features)} but never appears in the events")
    if report.counts["ranking"] == 0:
        report.errors.append("no ranking events: training needs rankings")
    if report.counts["interaction"] == 0:
        report.errors.append("no interaction events: training needs interactions")
    for kind, n in sorted(unknown.items()):
        report.warnings.append(f"interaction type '{kind}' ({n:,} events) is not in any model's weights or feature: weight 0")
    if orphans:
        report.warnings.append(f"{orphans:,} interactions name a ranking that did not come before them")
    if out_of_order:
        report.warnings.append(f"{out_of_order:,} events are older than an event before them ({SORT_HINT})")
