"""Timestamps: exact ISO-8601 millis, the 64-bit range, and the ``bootstrap.timestamps`` window (issue 8 #1,
issue 9 #6) in the reader, the bootstrap and ``/feedback``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from feature_ops.config import ConfigError, parse_config
from feature_ops.events import EventError, parse_event, timestamp_millis
from feature_ops.timestamps import TimestampPolicy, iso
from serving.app import create_app

NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
ITEM = {"event": "item", "id": "e1", "timestamp": 1599391467000, "item": "p1"}
AFTER = "is after the allowed maximum 2027-01-16T08:00:00Z (now + 1d)"
RAISE = "raise bootstrap.timestamps.maxAhead or set bootstrap.timestamps.max to accept it"
BEFORE = "is before the allowed minimum 2000-01-01T00:00:00Z (bootstrap.timestamps.min)"
LOWER = "lower bootstrap.timestamps.min to accept it"


def test_iso_milliseconds_are_exact():
    assert parse_event({**ITEM, "timestamp": "2004-10-28T23:41:18.916Z"}).timestamp == 1099006878916


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_iso_millis_are_integer_arithmetic(moment):
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    expected = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    text = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert timestamp_millis(text) == expected
    assert iso(expected) == text.replace(".000Z", "Z")


@pytest.mark.parametrize(("value", "message"), [
    (2**63, "field 'timestamp' 9223372036854775808 is outside the 64-bit range of epoch millis"),
    ("99999999999999999999", "field 'timestamp' \"99999999999999999999\" is outside the 64-bit range of epoch millis"),
    (1e30, "field 'timestamp' 1e+30 is outside the 64-bit range of epoch millis"),
])  # fmt: skip
def test_timestamps_beyond_int64_are_rejected(value, message):
    with pytest.raises(EventError) as e:
        parse_event({**ITEM, "timestamp": value})
    assert str(e.value) == message


@pytest.mark.parametrize(("millis", "message"), [
    (253402300799000, f"field 'timestamp' 253402300799000 (9999-12-31T23:59:59Z) {AFTER}; {RAISE}"),
    (1_655_896_899_000_000, f"field 'timestamp' 1655896899000000 (after year 9999) {AFTER}; it looks like "
                            f"microseconds (timestamps are epoch millis); {RAISE}"),
    (1_800_086_400_001, f"field 'timestamp' 1800086400001 (2027-01-16T08:00:00.001Z) {AFTER}; {RAISE}"),
    (1_655_896_899, f"field 'timestamp' 1655896899 (1970-01-20T03:58:16.899Z) {BEFORE}; it looks like seconds "
                    f"(timestamps are epoch millis); {LOWER}"),
    (946_684_799_999, f"field 'timestamp' 946684799999 (1999-12-31T23:59:59.999Z) {BEFORE}; {LOWER}"),
    (-(2**63), f"field 'timestamp' {-(2**63)} (before year 1) {BEFORE}; {LOWER}"),
    (946_684_800_000, None),
    (1_800_086_400_000, None),
])  # fmt: skip
def test_the_default_window_is_2000_to_now_plus_a_day(millis, message):
    window = TimestampPolicy().window(now=NOW)
    if message is None:
        window.check(millis)
        return
    with pytest.raises(EventError) as e:
        window.check(millis)
    assert str(e.value) == message


def test_a_fixed_maximum_does_not_depend_on_the_clock():
    window = TimestampPolicy(min=0, max="2030-01-01T00:00:00Z").window()
    window.check(5)
    with pytest.raises(EventError) as e:
        window.check(253402300799000)
    assert str(e.value) == ("field 'timestamp' 253402300799000 (9999-12-31T23:59:59Z) is after the allowed maximum "
                            "2030-01-01T00:00:00Z (bootstrap.timestamps.max); raise bootstrap.timestamps.max to accept it")


BASE = {
    "features": [{"name": "clicks", "type": "interaction_count", "interaction": "click", "scope": "item"}],
    "models": {"noop": {"type": "noop"}},
    "bootstrap": {"workdir": "/tmp/unused", "source": {"type": "file", "path": "/tmp/unused"}},
    "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
}


def config_with(timestamps: dict):
    return parse_config({**BASE, "bootstrap": {**BASE["bootstrap"], "timestamps": timestamps}}, env={})


@pytest.mark.parametrize(("timestamps", "message"), [
    ({"min": "yesterday"}, "bootstrap.timestamps.min: expected an ISO-8601 datetime with a zone or epoch millis, "
                           "got 'yesterday'"),
    ({"maxAhead": "soon"}, "bootstrap.timestamps.maxAhead: duration is in wrong format: 'soon', expected e.g. 30s, "
                           "30m, 1h, 90d"),
    ({"min": "2030-01-01T00:00:00Z", "max": "2020-01-01T00:00:00Z"},
     "bootstrap.timestamps: max 2020-01-01T00:00:00Z must be after min 2030-01-01T00:00:00Z"),
    ({"mx": 1}, "bootstrap.timestamps.mx: unknown key"),
])  # fmt: skip
def test_bad_timestamp_config_names_the_key(timestamps, message):
    with pytest.raises(ConfigError) as e:
        config_with(timestamps)
    assert str(e.value) == f"config: {message}"


def test_timestamp_config_round_trips_as_text():
    policy = config_with({"min": 0, "max": "2030-01-01T00:00:00.5Z", "maxAhead": "2h"}).bootstrap.timestamps
    dumped = policy.model_dump(mode="json")
    assert dumped == {"min": "1970-01-01T00:00:00Z", "maxAhead": "2h", "max": "2030-01-01T00:00:00.500Z"}
    assert TimestampPolicy.model_validate(dumped) == policy


def _click(ts, eid="k1"):
    return {"event": "interaction", "id": eid, "timestamp": ts, "item": "a", "type": "click"}


def _clicks(client, ts) -> float:
    body = client.post("/rank/noop?explain=true", json={"id": "r", "timestamp": ts, "items": [{"id": "a"}]}).json()
    return body["items"][0]["features"]["clicks"]


def test_feedback_rejects_a_year_9999_event_and_keeps_learning():
    config = config_with({"max": "2030-01-01T00:00:00Z"})
    with TestClient(create_app(config)) as client:
        response = client.post("/feedback", json=_click(253402300799000))
        assert (response.status_code, response.json()) == (400, {"accepted": 0, "rejected": 1, "errors": [
            "event 1: field 'timestamp' 253402300799000 (9999-12-31T23:59:59Z) is after the allowed maximum "
            "2030-01-01T00:00:00Z (bootstrap.timestamps.max); raise bootstrap.timestamps.max to accept it"]})
        assert client.post("/feedback", json=_click(1_700_000_000_000, "k2")).json()["accepted"] == 1
        assert _clicks(client, 1_700_000_001_000) == 1.0  # the clock did not jump: the later click counts


def test_feedback_window_follows_the_wall_clock():
    config = parse_config(yaml.safe_load(yaml.safe_dump(BASE)), env={})
    now = int(datetime.now(UTC).timestamp() * 1000)
    with TestClient(create_app(config)) as client:
        ahead = client.post("/feedback", json=_click(now + 2 * 86_400_000)).json()
        assert ahead["errors"][0].endswith(f"(now + 1d); {RAISE}")
        assert client.post("/feedback", json=_click(now + 3_600_000)).json()["accepted"] == 1
        old = client.post("/feedback", json=_click(5)).json()
        assert old["errors"] == [f"event 1: field 'timestamp' 5 (1970-01-01T00:00:00.005Z) {BEFORE}; {LOWER}"]
