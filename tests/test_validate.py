"""rankstream validate: passes on the sample, fails with clear messages on broken configs and events."""

import json
from pathlib import Path

import pytest
import yaml

from jobs.cli import main
from jobs.generate import generate

EXAMPLE = yaml.safe_load(Path("examples/ranklens/config.yml").read_text())


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("validate")
    generate(out, items=60, users=20, rankings=120, ranking_size=8)
    return out


def write_config(tmp_path, events, change=lambda raw: None):
    raw = json.loads(json.dumps(EXAMPLE))
    raw["bootstrap"]["source"]["path"] = str(events)
    change(raw)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_sample_passes_and_the_config_may_come_from_the_environment(sample, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANKSTREAM_CONFIG", str(write_config(tmp_path, sample / "events")))
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("config: ok (17 features, models: xgboost)\nevents: interaction=")
    assert out.endswith(f"data {sample / 'events'}: ok\n")


def test_broken_config_names_the_key(sample, tmp_path, capsys):
    path = write_config(tmp_path, sample / "events", lambda raw: raw["features"][0].update(ttl="soon"))
    assert main(["validate", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: features[0] (popularity).ttl: duration is in wrong format: 'soon', "
        "expected e.g. 30s, 30m, 1h, 90d\n"
    )


def test_broken_events_fail_with_each_problem(tmp_path, capsys):
    events = tmp_path / "events"
    events.mkdir()
    (events / "a.jsonl").write_text("\n".join([
        '{"event":"item","id":"1","timestamp":1600000000005,"item":"m1","fields":[{"name":"title","value":"a b"}]}',
        '{"event":"ranking","id":"r1","timestamp":1600000000004,"items":[{"id":"m1"}]}',
        '{"event":"interaction","id":"2","timestamp":1600000000006,"ranking":"r9","item":"m1","type":"share"}',
        '{"event":"interaction","id":"3","timestamp":"later","item":"m1","type":"click"}',
    ]) + "\n")
    assert main(["validate", "--config", str(write_config(tmp_path, events))]) == 1
    out = capsys.readouterr().out
    assert "error: field 'item.popularity' is used by popularity but never appears in the events" in out
    assert "warning: interaction type 'share' (1 events) is not in any model's weights or feature: weight 0" in out
    assert "warning: 1 interactions name a ranking that did not come before them" in out
    assert ("warning: 1 events are older than an event before them (replayed in file order; `rankstream sort` "
            "writes a copy in time order)") in out
    assert f"error: 1 bad lines skipped:\n  {events}/a.jsonl:4: field 'timestamp' must be epoch millis or ISO-8601, got \"later\"" in out
    assert out.endswith(f"data {events}: INVALID\n")



def _clock_events(tmp_path, stamps: list[int]):
    events = tmp_path / "clock"
    events.mkdir()
    lines = [f'{{"event":"ranking","id":"r{i}","timestamp":{ts},"items":[{{"id":"m1"}}]}}' for i, ts in enumerate(stamps)]
    (events / "a.jsonl").write_text("\n".join(lines) + "\n")
    return events


def _validate(tmp_path, capsys, stamps: list[int]) -> tuple[int, str]:
    code = main(["validate", "--config", str(write_config(tmp_path, _clock_events(tmp_path, stamps)))])
    return code, capsys.readouterr().out


START = 1_641_012_500_000  # 2022-01-01T04:48:20Z


def test_one_later_timestamp_inside_the_window_is_an_error_naming_it(tmp_path, capsys):
    """Issue 8: one event stamped today in a 2022 log moved the clock past everything after it (0 rows)."""
    code, out = _validate(tmp_path, capsys, [START, START + 1000, 1_764_547_200_000, START + 2000, START + 3000])
    assert code == 1
    assert (
        "error: 2 events are more than a day older than an event before them (up to 2025-12-01T00:00:00Z): if "
        "that timestamp is wrong, the bootstrap's clock passes every later event and their sessions and TTLs "
        "expire; fix it, set bootstrap.timestamps.max below it, or sort the input\n"
    ) in out
    assert (
        "warning: event time jumps 1,429 days forward, from 2022-01-01T04:48:21Z to 2025-12-01T00:00:00Z: check "
        "that timestamp (bootstrap.timestamps.max bounds what is accepted)\n"
    ) in out


def test_small_disorder_and_short_gaps_give_only_the_order_warning(tmp_path, capsys):
    _, out = _validate(tmp_path, capsys, [START, START + 60_000, START + 1000, START + 20 * 86_400_000])
    assert "more than a day" not in out and "jumps" not in out
    assert "warning: 1 events are older than an event before them" in out
