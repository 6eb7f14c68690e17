"""Issue 8 #1-#3 on the reader and the embedded bootstrap: implausible timestamps, damaged bytes, compressed
files that break off, unreadable directories, non-finite numbers; every one a reported bad line or bad file."""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard

from feature_ops.config import parse_config
from feature_ops.reader import InputError, Rejects, read_events
from feature_ops.timestamps import TimestampPolicy
from jobs.cli import main
from jobs.embedded import bootstrap_embedded
from jobs.generate import generate
from tests.conftest import SAMPLE_SIZES, config_dict, example_config

WINDOW = TimestampPolicy(max="2030-01-01T00:00:00Z").window()
LINE = '{"event":"item","id":"%s","timestamp":1600000000000,"item":"p"}'


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> list[bytes]:
    """The generated sample's event lines (with their newlines)."""
    out = tmp_path_factory.mktemp("hardening")
    generate(out, seed=11, **SAMPLE_SIZES)
    return gzip.decompress((out / "events" / "events.jsonl.gz").read_bytes()).splitlines(keepends=True)


def bootstrap(tmp: Path, name: str, data: bytes, **timestamps):
    """Embedded bootstrap of one events file; (result, dataset bytes, values bytes)."""
    (tmp / name).mkdir()
    (tmp / name / "events.jsonl").write_bytes(data)
    raw = config_dict(example_config(tmp / name / "wd", tmp / name / "events.jsonl"))
    raw["bootstrap"]["timestamps"] = timestamps
    result = bootstrap_embedded(parse_config(raw, env={}))
    dataset = (tmp / name / "wd" / "dataset" / "xgboost.parquet").read_bytes()
    values = gzip.decompress((tmp / name / "wd" / "values" / "values.jsonl.gz").read_bytes())
    return result, dataset, values


def nth(lines: list[bytes], kind: bytes, n: int) -> int:
    return [i for i, line in enumerate(lines) if line.startswith(b'{"event":"' + kind)][n]


# --- finding 1: one implausible timestamp is one bad line, not a wiped output ---------------------------------


def test_a_timestamp_in_microseconds_is_one_bad_line_and_changes_nothing_else(lines, tmp_path):
    i = nth(lines, b"interaction", 40)
    event = json.loads(lines[i])
    changed = lines[:i] + [json.dumps({**event, "timestamp": event["timestamp"] * 1000}).encode() + b"\n"] + lines[i + 1:]
    reference = bootstrap(tmp_path, "without", b"".join(lines[:i] + lines[i + 1:]))
    result = bootstrap(tmp_path, "micro", b"".join(changed))
    assert result[1:] == reference[1:]
    assert result[0].rows == reference[0].rows and result[0].rows["xgboost"] > 4000
    [message] = result[0].rejects.messages
    assert message.startswith(f"{tmp_path}/micro/events.jsonl:{i + 1}: field 'timestamp' {event['timestamp'] * 1000} "
                              "(after year 9999) is after the allowed maximum ")
    assert message.endswith("(now + 1d); it looks like microseconds (timestamps are epoch millis); raise "
                            "bootstrap.timestamps.maxAhead or set bootstrap.timestamps.max to accept it")


def test_an_item_event_at_year_9999_is_a_bad_line_and_the_clock_does_not_jump(lines, tmp_path):
    late = b'{"event":"item","id":"late","timestamp":"9999-12-31T23:59:59Z","item":"m1"}\n'
    half = len(lines) // 2
    reference = bootstrap(tmp_path, "clean", b"".join(lines), max="2030-01-01T00:00:00Z")
    result = bootstrap(tmp_path, "late", b"".join(lines[:half] + [late] + lines[half:]), max="2030-01-01T00:00:00Z")
    assert result[1:] == reference[1:]
    assert result[0].rejects.messages == [
        f"{tmp_path}/late/events.jsonl:{half + 1}: field 'timestamp' 253402300799000 (9999-12-31T23:59:59Z) is after "
        "the allowed maximum 2030-01-01T00:00:00Z (bootstrap.timestamps.max); raise bootstrap.timestamps.max to "
        "accept it"]


# --- finding 2: damaged bytes, compression and directories -----------------------------------------------------


def read(path: Path, policy: str = "skip") -> tuple[list[str], Rejects]:
    rejects = Rejects(policy)
    return [e.id for e in read_events(path, rejects, WINDOW)], rejects


def test_a_non_utf8_line_is_a_bad_line_with_its_byte_and_column(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"\n".join([(LINE % "1").encode(), b'{"event":"item","id":"\xff2"}',
                                                   (LINE % "3").encode()]))
    ids, rejects = read(tmp_path)
    assert ids == ["1", "3"]
    message = f"{tmp_path}/a.jsonl:2: line is not valid UTF-8 (byte 0xff at column 23)"
    assert rejects.messages == [message]
    with pytest.raises(InputError) as e:
        read(tmp_path, "fail")
    assert str(e.value) == message


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_byte_order_mark_starts_the_first_event(tmp_path, ending):
    (tmp_path / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + (LINE % "1").encode() + ending + (LINE % "2").encode())
    assert read(tmp_path) == (["1", "2"], Rejects())


def _gzip_lines(n: int) -> bytes:
    return gzip.compress(b"".join((LINE % i).encode() + b"\n" for i in range(n)), mtime=0)


def test_a_truncated_gzip_keeps_its_first_lines_and_the_next_file(tmp_path):
    data = _gzip_lines(5000)
    (tmp_path / "a.jsonl.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "b.jsonl").write_text(LINE % "next")
    ids, rejects = read(tmp_path)
    assert ids[-1] == "next" and ids[:-1] == [str(i) for i in range(len(ids) - 1)] and len(ids) > 1000
    assert (rejects.count, rejects.files) == (0, 1)
    assert rejects.messages == [
        f"{tmp_path}/a.jsonl.gz:{len(ids)}: damaged gzip data (Compressed file ended before the end-of-stream marker "
        "was reached); reading stopped here, the rest of the file is lost"]
    assert rejects.summary() == f"1 bad file:\n  {rejects.messages[0]}"


@pytest.mark.parametrize("where", ["magic", "data", "late data", "checksum"])
def test_a_flipped_byte_in_a_gzip_is_a_bad_file_not_a_crash(tmp_path, where):
    data = bytearray(_gzip_lines(5000))
    at = {"magic": 0, "data": len(data) // 2, "late data": len(data) * 9 // 10, "checksum": len(data) - 6}[where]
    data[at] ^= 0x10
    (tmp_path / "a.jsonl.gz").write_bytes(bytes(data))
    ids, rejects = read(tmp_path)
    assert rejects.files == 1
    assert f"{tmp_path}/a.jsonl.gz:" in rejects.messages[-1] and "damaged gzip data (" in rejects.messages[-1]
    with pytest.raises(InputError, match=r"^\S+a\.jsonl\.gz:\d+: (damaged gzip data|line is not|invalid JSON)"):
        read(tmp_path, "fail")


def test_the_summary_names_a_bad_file_after_the_first_bad_lines():
    # a flipped byte in a .gz garbled 697 lines of the sample before the checksum failed: the summary showed 20
    # "invalid JSON" lines and not the damaged file that caused them
    rejects = Rejects("skip")
    for i in range(30):
        rejects.reject(f"a.jsonl.gz:{i + 1}", "invalid JSON")
    rejects.reject_file("a.jsonl.gz:31", "damaged gzip data (CRC check failed)")
    assert rejects.summary().splitlines()[0] == "30 bad lines skipped, 1 bad file (first 21 shown):"
    assert rejects.summary().splitlines()[-1] == "  a.jsonl.gz:31: damaged gzip data (CRC check failed)"


def test_a_truncated_zstd_is_a_bad_file_at_the_line_where_it_broke(tmp_path):
    data = zstandard.ZstdCompressor().compress(b"".join((LINE % i).encode() + b"\n" for i in range(5000)))
    (tmp_path / "a.jsonl.zst").write_bytes(data[: len(data) // 2])
    ids, rejects = read(tmp_path)
    assert ids == [str(i) for i in range(len(ids))] and len(ids) > 1000
    assert rejects.messages == [f"{tmp_path}/a.jsonl.zst:{len(ids) + 1}: damaged zstd data (compressed data ended "
                                "inside a frame); reading stopped here, the rest of the file is lost"]


def test_corrupt_and_multi_frame_zstd(tmp_path):
    frames = [zstandard.ZstdCompressor(write_checksum=True).compress((LINE % i).encode() + b"\n") for i in range(3)]
    (tmp_path / "a.jsonl.zst").write_bytes(b"".join(frames))
    (tmp_path / "b.jsonl.zst").write_bytes(frames[0][:-4] + b"\x00\x00\x00\x00")
    ids, rejects = read(tmp_path)
    assert ids == ["0", "1", "2"]
    assert rejects.messages == [f"{tmp_path}/b.jsonl.zst:1: damaged zstd data (zstd decompressor error: Restored "
                                "data doesn't match checksum); nothing of the file could be read"]


def test_a_broken_json_array_is_a_bad_file_and_the_run_goes_on(tmp_path):
    (tmp_path / "a.json").write_text("[" + LINE % "1" + ",")
    (tmp_path / "b.json").write_text("\ufeff [" + LINE % "2" + "]")
    ids, rejects = read(tmp_path)
    assert ids == ["2"]
    assert rejects.messages == [f"{tmp_path}/a.json: invalid JSON array: unexpected end of data: line 1 column 65 "
                                "(char 64); the whole file is lost"]


def test_a_dangling_link_is_reported_not_skipped(tmp_path):
    (tmp_path / "a.jsonl").write_text(LINE % "1")
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    ids, rejects = read(tmp_path)
    assert ids == ["1"]
    assert rejects.messages == [f"{tmp_path}/gone.jsonl: cannot read file: No such file or directory"]


@pytest.mark.parametrize("workdir", ["wd", "."])
def test_a_workdir_inside_the_source_directory_is_refused(lines, tmp_path, workdir, capsys):
    """The second bootstrap read the first one's manifest.json and values/*.jsonl.gz as events (1,301 bad lines)."""
    (tmp_path / "events.jsonl").write_bytes(b"".join(lines))
    raw = config_dict(example_config(tmp_path / workdir, tmp_path))
    (tmp_path / "c.yml").write_text(json.dumps(raw))
    for command in ("bootstrap", "validate"):
        assert main([command, str(tmp_path / "c.yml"), *(["--engine", "embedded"] if command == "bootstrap" else [])]) == 2
        assert capsys.readouterr().err == (f"error: bootstrap.workdir {tmp_path / workdir} is inside bootstrap.source.path "
                                           f"{tmp_path}: the next bootstrap would read its outputs (manifest.json, "
                                           "values/*.jsonl.gz) as events; move one\n")
    assert not (tmp_path / workdir / "manifest.json").exists()


READER = """
import json, sys
from feature_ops.reader import Rejects, read_events
rejects = Rejects("skip")
ids = [e.id for e in read_events(sys.argv[1], rejects)]
print(json.dumps({"ids": ids, "messages": rejects.messages, "files": rejects.files}))
"""
NO_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


def _as_unprivileged(path: Path) -> dict:
    """The reader run without the right to ignore permissions (root drops it with setpriv)."""
    prefix = NO_DAC if os.geteuid() == 0 else []
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: root reads unreadable directories")
    out = subprocess.run([*prefix, sys.executable, "-c", READER, str(path)], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    return json.loads(out.stdout)


def test_unreadable_directories_and_files_are_reported_in_replay_order(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "events.jsonl").write_text(LINE % name)
    (tmp_path / "c" / "secret.jsonl").write_text(LINE % "secret")
    os.chmod(tmp_path / "b", 0)
    os.chmod(tmp_path / "c" / "secret.jsonl", 0)
    try:
        seen = _as_unprivileged(tmp_path)
    finally:
        os.chmod(tmp_path / "b", 0o755)
    assert seen == {"ids": ["a", "c"], "files": 2, "messages": [
        f"{tmp_path}/b: cannot list directory: Permission denied; the files in it are lost",
        f"{tmp_path}/c/secret.jsonl: cannot read file: Permission denied"]}


# --- finding 3: non-finite numbers ----------------------------------------------------------------------------


def test_json_numbers_that_overflow_are_bad_lines(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"event":"item","id":"1","timestamp":1600000000000,"item":"p",'
                                      '"fields":[{"name":"x","value":1e400}]}\n' + LINE % "2")
    ids, rejects = read(tmp_path)
    assert ids == ["2"]
    assert rejects.messages == [f"{tmp_path}/a.jsonl:1: invalid JSON: number is infinity when parsed as double: "
                                "line 1 column 93 (char 92)"]


def test_non_finite_strings_and_overflowing_sums_are_missing_and_train_never_sees_inf(lines, tmp_path):
    i = nth(lines, b"item", 3)
    item = json.loads(lines[i])
    fields = [{**f, "value": "1e400"} if f["name"] == "release_date" else f for f in item["fields"]]
    changed = lines[:i] + [json.dumps({**item, "fields": fields}).encode() + b"\n"] + lines[i + 1:]
    result, dataset, _ = bootstrap(tmp_path, "inf", b"".join(changed))
    assert result.rejects.count == 0
    table = pq.ParquetFile(tmp_path / "inf" / "wd" / "dataset" / "xgboost.parquet").read()
    columns = list(zip(table.column_names, (c.to_pylist() for c in table.columns), strict=True))
    items, ages = dict(columns)["item"], dict(columns)["release_date"]
    assert math.isnan(next(a for a, it in zip(ages, items, strict=True) if it == item["item"]))
    assert not any(isinstance(v, float) and math.isinf(v) for _, vs in columns for v in vs)


def test_vector_sums_beyond_the_float_range_are_missing():
    from feature_ops.engine import Engine
    from feature_ops.events import parse_event, parse_ranking_request
    from feature_ops.store import MemoryStore

    raw = {"features": [{"name": "v", "type": "vector", "source": "item.v", "reduce": ["sum", "avg", "max",
                                                                                       "euclidean_distance"]}],
           "models": {"noop": {"type": "noop"}},
           "bootstrap": {"workdir": "/tmp/unused", "source": {"type": "file", "path": "/tmp/unused"}},
           "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}}}  # fmt: skip
    engine = Engine(parse_config(raw, env={}), MemoryStore())
    engine.process(parse_event({"event": "item", "id": "e", "timestamp": 1, "item": "a",
                                "fields": [{"name": "v", "value": [1e308, 1e308]}]}))
    values = engine.values(parse_ranking_request({"id": "r", "timestamp": 2, "items": [{"id": "a"}]}), online=True)
    sums, avgs, maxes, norms = (column[0] for column in values["v"])
    assert math.isnan(sums) and math.isnan(avgs) and math.isnan(norms) and maxes == 1e308


# --- out-of-order events are counted and the summary says how to sort them ------------------------------------


def test_events_out_of_order_are_counted_and_the_summary_says_so_once(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(LINE.replace("1600000000000", str(ts)) % n
                                for n, ts in enumerate([1600000000005, 1600000000001, 1600000000007,
                                                        1600000000006, 1600000000007])))
    ids, rejects = read(events)
    assert rejects.out_of_order == 2
    raw = config_dict(example_config(tmp_path / "wd", events))
    (tmp_path / "config.yml").write_text(json.dumps(raw))
    assert main(["bootstrap", str(tmp_path / "config.yml"), "--engine", "embedded"]) == 0
    out = capsys.readouterr().out
    assert "; 0 bad lines\n" in out and out.count("out of order") == 1
    assert "  2 events arrived out of order (timestamp before an earlier event's)" in out
