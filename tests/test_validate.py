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
