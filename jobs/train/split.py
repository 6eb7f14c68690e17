"""Train/test splits of ranking groups: ``time=N%``, ``random=N%`` and ``hold_last=N%``.

* ``time=80%``: the oldest 80% of rankings train, the newest 20% test (ties by dataset order).
* ``random=80%``: a seeded 80% of rankings train.
* ``hold_last=20%``: each user's last 20% of rankings (rounded to the nearest count) test.

Every strategy is deterministic for a given seed and puts each ranking on exactly one side.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from jobs.train.errors import TrainError

SPLIT = re.compile(r"(time|random|hold_last)=([0-9]{1,2})%")


class SplitError(TrainError):
    """The split spec is not one of time=N%, random=N%, hold_last=N%."""


def parse_split(spec: str) -> tuple[str, float]:
    match = SPLIT.fullmatch(spec)
    if not match:
        raise SplitError(f"split must be time=N%, random=N% or hold_last=N%, got '{spec}'")
    return match.group(1), int(match.group(2)) / 100


def split_groups(spec: str, time: np.ndarray, user: np.ndarray, seed: int) -> np.ndarray:
    """A boolean test mask over groups (``time`` and ``user`` give one value per group)."""
    kind, share = parse_split(spec)
    return STRATEGIES[kind](share, time, user, seed)


def _time(share: float, time: np.ndarray, user: np.ndarray, seed: int) -> np.ndarray:
    order = np.argsort(time, kind="stable")
    test = np.zeros(len(time), dtype=bool)
    test[order[_count(len(time), share) :]] = True
    return test


def _random(share: float, time: np.ndarray, user: np.ndarray, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(len(time))
    test = np.zeros(len(time), dtype=bool)
    test[order[_count(len(time), share) :]] = True
    return test


def _hold_last(share: float, time: np.ndarray, user: np.ndarray, seed: int) -> np.ndarray:
    order = np.lexsort((np.arange(len(time)), time, user))
    sorted_user = user[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_user[1:] != sorted_user[:-1]]))
    counts = np.diff(np.append(starts, len(order)))
    rank_in_user = np.arange(len(order)) - np.repeat(starts, counts)
    held = np.floor(counts * share + 0.5).astype(np.int64)
    test = np.zeros(len(time), dtype=bool)
    test[order] = rank_in_user >= np.repeat(counts - held, counts)
    return test


def _count(n: int, share: float) -> int:
    return int(np.floor(n * share + 0.5))


STRATEGIES: dict[str, Callable[[float, np.ndarray, np.ndarray, int], np.ndarray]] = {
    "time": _time,
    "random": _random,
    "hold_last": _hold_last,
}
