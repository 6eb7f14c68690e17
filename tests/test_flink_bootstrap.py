"""The Flink bootstrap agrees exactly with the embedded engine, and its savepoint continues every feature."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
import zstandard

from feature_ops.config import parse_config
from feature_ops.reader import InputError
from jobs.cli import main
from jobs.embedded import bootstrap_embedded
from jobs.flink.bootstrap import bootstrap_flink
from jobs.generate import generate
from jobs.workdir import completed_workdir
from tests.hand_cases import CASES, one_log

pytestmark = pytest.mark.flink
EXAMPLE = yaml.safe_load(Path("examples/ranklens/config.yml").read_text())
MIN = 60_000


def config_for(events: Path, workdir: Path, errors: str = "skip", parallelism: int = 1):
    raw = {**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(workdir), "errors": errors,
                                    "parallelism": parallelism, "source": {"type": "file", "path": str(events)},
                                    "timestamps": {"min": 0}}}  # hand cases use toy timestamps
    return parse_config(raw, env={})


def outputs(workdir: Path) -> tuple[bytes, bytes]:
    dataset = (workdir / "dataset" / "xgboost.parquet").read_bytes()
    values = gzip.decompress((workdir / "values" / "values.jsonl.gz").read_bytes())
    return dataset, values


def both_engines(events: Path, tmp: Path, parallelism: int = 1, batch_size: int = 64):
    """Small batches: many records, so state is written through and read back across many of them."""
    embedded = bootstrap_embedded(config_for(events, tmp / "embedded"))
    flink = bootstrap_flink(config_for(events, tmp / "flink", parallelism=parallelism), batch_size=batch_size)
    return embedded, flink


@pytest.mark.parametrize("parallelism", [1, 2, 4])
def test_flink_equals_embedded_on_the_generated_sample(tmp_path, parallelism):
    """The keyed graph at P = 1, 2, 4 writes the embedded bytes, and every feature-state subtask works."""
    generate(tmp_path / "data", items=120, users=50, rankings=400, ranking_size=12)
    embedded, flink = both_engines(tmp_path / "data" / "events", tmp_path, parallelism=parallelism)
    assert flink.events == embedded.events > 1500
    assert sorted(flink.subtasks) == list(range(parallelism)) and min(flink.subtasks.values()) > 1000
    assert flink.rows == embedded.rows and flink.values == embedded.values
    assert outputs(tmp_path / "flink") == outputs(tmp_path / "embedded")
    manifest = json.loads((tmp_path / "flink" / "manifest.json").read_text())
    assert manifest["engine"] == "flink" and Path(manifest["savepoint"].removeprefix("file:")).is_dir()


def event(kind, eid, ts, **fields):
    return json.dumps({"event": kind, "id": eid, "timestamp": ts, **fields})


def item(i, ts, genre):
    return event("item", f"{i}-{ts}", ts, item=i, fields=[
        {"name": "genres", "value": [genre]}, {"name": "title", "value": f"the {genre} movie"},
        {"name": "popularity", "value": ts / 1000}])


def ranking(rid, ts, items, user="u1"):
    return event("ranking", rid, ts, user=user, session=f"{user}-s", items=[{"id": i} for i in items],
                 fields=[{"name": "query", "value": "drama"}])


def click(rid, ts, i, user="u1", kind="click"):
    return event("interaction", f"{rid}-{i}-{ts}", ts, ranking=rid, item=i, type=kind, user=user, session=f"{user}-s")


def test_hand_cases_across_file_formats_match_including_bad_line_locations(tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    (events / "a.jsonl").write_text("\n\n" + "\n".join([  # leading blank lines keep their numbers
        item("m1", 0, "drama"), item("m2", 1, "comedy"), item("m3", 2, "drama"),
        click("r1", 5, "m2"),  # before its ranking: counts in features, not joined (r1 gets no row)
        ranking("r1", 5, ["m1", "m2", "m3"]),
        "not json",
    ]) + "\n")
    (events / "b.jsonl.gz").write_bytes(gzip.compress("\n".join([
        ranking("r2", 10 * MIN, ["m3", "m1", "m2"]),
        click("r2", 11 * MIN, "m1"),
        click("r2", 9 * MIN, "m3"),  # out of order
        '{"event":"item","id":"x","timestamp":1}',  # no item id
    ]).encode()))
    (events / "c.json").write_text("[" + ",\n".join([
        ranking("r3", 60 * MIN, ["m1", "m2", "m3"], user="u2"), click("r3", 61 * MIN, "m3", user="u2"),
    ]) + "]")
    (events / "d.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress("\n".join([
        click("r2", 100 * MIN, "m2"),  # after r2's session ended: lost
        ranking("r4", 101 * MIN, ["m2", "m3"]), click("r4", 102 * MIN, "m2", kind="like"),
    ]).encode()))
    embedded, flink = both_engines(events, tmp_path, parallelism=2)  # the job at parallelism 2: same rows
    assert outputs(tmp_path / "flink") == outputs(tmp_path / "embedded")
    assert flink.rejects.messages == embedded.rejects.messages == [
        f"{events}/a.jsonl:8: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
        f"{events}/b.jsonl.gz:4: required field 'item' is missing",
    ]
    assert flink.stats == embedded.stats
    assert embedded.stats["clickthroughs"] == 3 and embedded.stats["interactions without ranking"] == 1
    assert embedded.stats["interactions before their ranking"] == 1 and embedded.stats["events out of order"] == 1


@pytest.mark.parametrize(("first_p", "second_p"), [(1, 1), (2, 1), (2, 4)])
def test_a_job_restored_from_the_savepoint_continues_every_feature(tmp_path, first_p, second_p):
    """Also at another parallelism: buckets of scope ids are Flink keys (maxParallelism 128), so a savepoint
    taken at P = 2 restores at P = 1 and P = 4 and the continued job ends with the embedded values."""
    generate(tmp_path / "data", items=100, users=40, rankings=300, ranking_size=10)
    lines = gzip.decompress((tmp_path / "data" / "events" / "events.jsonl.gz").read_bytes()).decode().splitlines()
    half = len(lines) // 2
    for name, part in (("1", lines[:half]), ("2", lines[half:])):
        (tmp_path / f"batch{name}").mkdir()
        (tmp_path / f"batch{name}" / f"part-{name}.jsonl").write_text("\n".join(part) + "\n")
        (tmp_path / "all").mkdir(exist_ok=True)
        shutil.copy(tmp_path / f"batch{name}" / f"part-{name}.jsonl", tmp_path / "all")
    first = bootstrap_flink(config_for(tmp_path / "batch1", tmp_path / "first", parallelism=first_p), batch_size=100)
    second = bootstrap_flink(config_for(tmp_path / "batch2", tmp_path / "second", parallelism=second_p),
                             restore_from=first.savepoint, batch_size=100)
    bootstrap_embedded(config_for(tmp_path / "all", tmp_path / "reference"))
    assert second.events == len(lines) - half
    assert outputs(tmp_path / "second")[1] == outputs(tmp_path / "reference")[1]
    assert outputs(tmp_path / "first")[1] != outputs(tmp_path / "reference")[1]
    assert sorted(second.subtasks) == list(range(second_p))


def _cli(tmp_path, events, workdir, errors="skip"):
    raw = {**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(workdir), "errors": errors,
                                    "source": {"type": "file", "path": str(events)}, "timestamps": {"min": 0}}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    return main(["bootstrap", str(path), "--engine", "flink"])


def test_missing_input_and_unwritable_workdir_fail_before_the_job(tmp_path, capsys):
    assert _cli(tmp_path, tmp_path / "nope", tmp_path / "wd") == 2
    assert capsys.readouterr().err == f"error: input path {tmp_path / 'nope'} does not exist\n"
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "a.jsonl").write_text(item("m1", 0, "drama") + "\n")
    (tmp_path / "file").write_text("")
    assert _cli(tmp_path, tmp_path / "events", tmp_path / "file" / "wd") == 2
    assert capsys.readouterr().err.startswith(f"error: workdir {tmp_path / 'file' / 'wd'} is not writable")


def test_bad_line_under_policy_fail_stops_the_job_with_its_location_first(tmp_path, capsys):
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "a.jsonl").write_text(item("m1", 0, "drama") + "\n{oops\n")
    assert _cli(tmp_path, tmp_path / "events", tmp_path / "wd", errors="fail") == 1
    err = capsys.readouterr().err
    assert err.startswith("  starting Flink MiniCluster...\n") and " 0 events" not in err
    reason, job, hint = err[err.index("error: "):].splitlines()
    with pytest.raises(InputError) as embedded:
        bootstrap_embedded(config_for(tmp_path / "events", tmp_path / "embedded", errors="fail"))
    assert reason == f"error: {embedded.value}" and reason.startswith(f"error: {tmp_path}/events/a.jsonl:")
    assert job.startswith("  in Flink job 'rankstream-bootstrap' (") and job.endswith(") failed")
    assert hint == "  (--verbose shows the task's traceback)"
    assert not (tmp_path / "wd" / "manifest.json").exists() and not list((tmp_path / "wd").glob(".staging-*"))


def test_a_killed_flink_bootstrap_keeps_the_previous_outputs_and_savepoint(tmp_path):
    generate(tmp_path / "small", items=60, users=20, rankings=100, ranking_size=8)
    generate(tmp_path / "data", items=120, users=50, rankings=3000, ranking_size=12)  # ~20,000 events
    first = bootstrap_flink(config_for(tmp_path / "small" / "events", tmp_path / "wd"), batch_size=256)
    before = {p: p.read_bytes() for p in (tmp_path / "wd").rglob("*") if p.is_file() and ".staging-" not in str(p)
              and p.name != ".bootstrap.lock"}  # fmt: skip
    raw = {**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(tmp_path / "wd"),
                                    "source": {"type": "file", "path": str(tmp_path / "data" / "events")}}}
    (tmp_path / "config.yml").write_text(yaml.safe_dump(raw))
    command = [sys.executable, "-m", "jobs.cli", "bootstrap", "--config", str(tmp_path / "config.yml"), "--engine", "flink"]
    run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        said = next((line for line in iter(run.stderr.readline, "") if " events, " in line), None)  # mid-run
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the driver and its JVM
        run.wait()
    assert said is not None and run.returncode == -signal.SIGKILL
    after = {p: p.read_bytes() for p in before}
    assert after == before and json.loads(after[tmp_path / "wd" / "manifest.json"])["savepoint"] == first.savepoint
    assert [p.name for p in (tmp_path / "wd" / "savepoint").iterdir()] == [Path(first.savepoint).name]
    assert len(list((tmp_path / "wd").glob(".staging-*"))) == 1
    assert completed_workdir(str(tmp_path / "wd"), "dataset/xgboost.parquet")


@pytest.mark.parametrize("parallelism", [1, 2, 4])
def test_issue_9_hand_cases_in_one_log_match_and_give_each_case_its_row(tmp_path, parallelism):
    """Every hand case of tests/hand_cases.py in one log (renamed, shifted in time): the Flink job writes what
    the embedded engine writes, open sessions included, and each case's ranking r1 has the row it expects."""
    features, events, where = one_log(CASES)
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "cases.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")

    def config(workdir: Path):
        return parse_config({
            "features": features,
            "models": {"xgboost": {"type": "lambdamart", "path": str(workdir / "m"), "backend": {"type": "xgboost"},
                                   "weights": {"click": 1}, "features": [f["name"] for f in features]}},
            "bootstrap": {"workdir": str(workdir), "source": {"type": "file", "path": str(tmp_path / "events")},
                          "parallelism": parallelism},
            "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
        }, env={})  # fmt: skip

    embedded = bootstrap_embedded(config(tmp_path / "embedded"))
    flink = bootstrap_flink(config(tmp_path / "flink"), batch_size=4)
    sessions = [(tmp_path / engine / "values" / "sessions.jsonl.gz").read_bytes() for engine in ("embedded", "flink")]
    assert outputs(tmp_path / "flink") == outputs(tmp_path / "embedded") and sessions[0] == sessions[1]
    assert flink.stats == embedded.stats
    assert embedded.stats["interactions before their ranking"] == 1 and embedded.stats["events out of order"] == 2
    rows = pq.read_table(tmp_path / "flink" / "dataset" / "xgboost.parquet").to_pylist()
    for case in CASES:
        rid, columns = where[case.id]
        row = [r for r in rows if r["ranking"] == rid]
        values = {column: [r[columns[column]] for r in row] for column in case.values}
        assert repr(values) == repr(case.values), case.id  # repr: NaN-safe
        assert case.labels is None or [r["label"] for r in row] == case.labels, case.id
