import math

import pytest

from feature_ops.state import StateSpec, apply_write, list_values, periodic_sums, reduce, visible

HOUR = 3_600_000


@pytest.mark.parametrize(
    ("spec", "writes", "expected"),
    [
        (StateSpec("scalar"), [("a", 1), ("b", 2)], "b"),
        (StateSpec("counter"), [(1, 1), (2, 2), (3, 3)], 6),
        (StateSpec("map"), [(("search", True), 1), (("social", True), 2)], {"search": True, "social": True}),
        (StateSpec("periodic", bucket=HOUR, keep=2), [(1, 0), (1, HOUR), (1, HOUR + 5), (1, 3 * HOUR)],
         {HOUR: 2, 3 * HOUR: 1}),
        (StateSpec("list", count=2, duration=10), [("a", 1), ("b", 2), ("c", 3)], ((3, "c"), (2, "b"))),
        (StateSpec("list", count=5, duration=10), [("a", 1), ("b", 5), ("c", 12)], ((12, "c"), (5, "b"))),
    ],
)
def test_reducers(spec, writes, expected):
    state = None
    for value, ts in writes:
        state = reduce(spec, state, value, ts)
    assert state == expected


def test_ttl_expires_reads_and_restarts_writes():
    spec = StateSpec("counter", ttl=100)
    record = apply_write(spec, None, 5, ts=0)
    assert visible(spec, record, now=100) == 5
    assert visible(spec, record, now=101) is None
    assert apply_write(spec, record, 1, ts=500)[0] == 1


def test_refresh_publishes_at_most_once_per_interval():
    spec = StateSpec("counter", refresh=10)
    record = apply_write(spec, None, 1, ts=0)
    assert visible(spec, record, 0) == 1
    record = apply_write(spec, record, 1, ts=5)
    assert (record[0], visible(spec, record, 5)) == (2, 1)
    record = apply_write(spec, record, 1, ts=10)
    assert visible(spec, record, 10) == 3


@pytest.mark.parametrize(
    ("now", "expected"),
    [(3 * HOUR + 1, [1.0, 3.0]), (4 * HOUR, [0.0, 1.0]), (10 * HOUR, [0.0, 0.0])],
)
def test_periodic_sums_count_p_plus_one_buckets_back_from_now(now, expected):
    buckets = {HOUR: 2, 3 * HOUR: 1}
    assert periodic_sums(buckets, HOUR, (0, 2), now) == expected


def test_list_values_drop_old_entries_at_read_time():
    assert list_values(((12, "c"), (5, "b")), duration=10, now=16) == ["c"]
    assert list_values(None, 10, 0) == [] and not math.isnan(0.0)
