"""``rankstream sort``: a stable, external sort by timestamp into one JSON-lines file (issue 8 #8, issue 9 #2)."""

from __future__ import annotations

import gzip
import json

import pytest

from feature_ops.reader import InputError, Rejects, read_events
from jobs.cli import main
from jobs.sort import sort_events


def event(eid: str, ts: int) -> str:
    return json.dumps({"event": "item", "id": eid, "timestamp": ts, "item": "p"}, separators=(",", ":"))


@pytest.fixture
def events(tmp_path):
    root = tmp_path / "events"
    (root / "b").mkdir(parents=True)
    (root / "1-interactions.jsonl").write_bytes(("\n".join([event("k4", 1600000004000), event("t1", 1600000001000),
                                                            "{oops", event("t2", 1600000001000)]) + "\n").encode())
    (root / "b" / "2-rankings.jsonl.gz").write_bytes(gzip.compress(b"\xef\xbb\xbf" + "\r\n".join([
        event("r1", 1600000001000), event("r0", 1600000000000), event("t3", 1600000001000)]).encode()))
    return root


ORDER = ["r0", "t1", "t2", "r1", "t3", "k4"]  # ties keep file, then line order


@pytest.mark.parametrize("run_lines", [1, 2, 100])  # every event its own spilled run .. all in memory
def test_sorted_by_time_ties_in_input_order_whatever_the_run_size(events, tmp_path, run_lines):
    result = sort_events(events, tmp_path / "sorted.jsonl.gz", run_lines=run_lines)
    assert (result.events, result.files, result.rejects.out_of_order) == (6, 2, 5)
    assert result.rejects.messages == [f"{events}/1-interactions.jsonl:3: invalid JSON: unexpected character, "
                                       "expected a string key: line 1 column 2 (char 1)"]
    text = gzip.decompress((tmp_path / "sorted.jsonl.gz").read_bytes()).decode()
    assert [json.loads(line)["id"] for line in text.splitlines()] == ORDER
    assert text.splitlines()[0] == event("r0", 1600000000000)  # lines as they were, without BOM or CR
    rejects = Rejects()
    assert [e.id for e in read_events(tmp_path / "sorted.jsonl.gz", rejects)] == ORDER
    assert rejects.out_of_order == 0
    assert [p.name for p in tmp_path.iterdir()] == ["events", "sorted.jsonl.gz"]  # no spill or temp file left


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_the_command_prints_what_it_wrote(events, tmp_path, capsys, verbose):
    assert main(["sort", str(events), "--out", str(tmp_path / "sorted.jsonl"), *verbose]) == 0
    assert capsys.readouterr().out == (
        f"sort: 6 events from 2 files -> {tmp_path / 'sorted.jsonl'} (5 were older than an event before them); "
        f"1 bad lines skipped:\n  {events}/1-interactions.jsonl:3: invalid JSON: unexpected character, expected a "
        "string key: line 1 column 2 (char 1)\n")
    assert [json.loads(line)["id"] for line in (tmp_path / "sorted.jsonl").read_text().splitlines()] == ORDER


@pytest.mark.parametrize(("out", "message"), [
    ("events/sorted.jsonl.gz", "--out {tmp}/events/sorted.jsonl.gz is inside the input directory {tmp}/events: the "
                               "bootstrap would read its events twice; write it elsewhere"),
    ("sorted.csv", "--out {tmp}/sorted.csv: expected a .jsonl or .jsonl.gz file"),
    ("nope/sorted.jsonl", "--out {tmp}/nope/sorted.jsonl: directory {tmp}/nope does not exist"),
])  # fmt: skip
def test_bad_outputs_are_refused_before_reading(events, tmp_path, out, message):
    with pytest.raises(InputError) as e:
        sort_events(events, tmp_path / out)
    assert str(e.value) == message.format(tmp=tmp_path)
