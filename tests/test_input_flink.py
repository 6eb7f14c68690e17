"""Damaged input on a real Flink MiniCluster: the same bytes give the embedded engine's outputs, bad lines, bad
files and out-of-order count (Flink's own text format reads the clean files, staging the rest)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml
import zstandard

from feature_ops.config import parse_config
from jobs.embedded import bootstrap_embedded
from jobs.flink.bootstrap import bootstrap_flink
from jobs.flink.host import FLUSH_MARKER
from jobs.generate import generate

pytestmark = pytest.mark.flink
EXAMPLE = yaml.safe_load(Path("examples/ranklens/config.yml").read_text())


def config_for(events: Path, workdir: Path):
    raw = {**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(workdir),
                                    "source": {"type": "file", "path": str(events)},
                                    "timestamps": {"max": "2030-01-01T00:00:00Z"}}}  # fmt: skip
    return parse_config(raw, env={})


def outputs(workdir: Path) -> tuple[bytes, bytes]:
    dataset = (workdir / "dataset" / "xgboost.parquet").read_bytes()
    values = gzip.decompress((workdir / "values" / "values.jsonl.gz").read_bytes())
    return dataset, values


def test_damaged_input_gives_the_same_results_on_flink_and_embedded(tmp_path):
    generate(tmp_path / "data", items=80, users=30, rankings=250, ranking_size=10)
    lines = gzip.decompress((tmp_path / "data" / "events" / "events.jsonl.gz").read_bytes()).splitlines()
    q = len(lines) // 4
    events = tmp_path / "events"
    events.mkdir()
    late = json.dumps({**json.loads(lines[10]), "id": "late", "timestamp": "9999-12-31T23:59:59Z"}).encode()
    (events / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines[:20]) + b"\n" + b"\n".join([
        b'{"event":"item","id":"bad\xff"}', FLUSH_MARKER.encode(), lines[20] + b"\r" + lines[21], late,
        lines[5]]) + b"\n" + b"\n".join(lines[22:q]) + b"\n")  # fmt: skip
    cut = gzip.compress(b"\n".join(lines[q:2 * q]) + b"\n", mtime=0)
    (events / "b.jsonl.gz").write_bytes(cut[: len(cut) * 3 // 4])
    clean = b"\xef\xbb\xbf" + b"\r\n".join(lines[2 * q:3 * q]) + b"\r\n"  # read by Flink itself: BOM, CRLF
    (events / "c.jsonl.gz").write_bytes(gzip.compress(clean, mtime=0))
    (events / "d.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(b"\n".join(lines[3 * q:]))[:-20])
    embedded = bootstrap_embedded(config_for(events, tmp_path / "embedded"))
    flink = bootstrap_flink(config_for(events, tmp_path / "flink"), batch_size=64)
    assert outputs(tmp_path / "flink") == outputs(tmp_path / "embedded")
    assert flink.rejects == embedded.rejects
    assert (embedded.rejects.count, embedded.rejects.files, embedded.rejects.out_of_order) == (4, 2, 1)
    assert embedded.rejects.messages[:4] == [
        f"{events}/a.jsonl:21: line is not valid UTF-8 (byte 0xff at column 26)",
        f"{events}/a.jsonl:22: invalid JSON: unexpected character, expected a JSON value: line 1 column 1 (char 0)",
        f"{events}/a.jsonl:23: invalid JSON: unexpected content after document: line 1 column "
        f"{len(lines[20]) + 2} (char {len(lines[20]) + 1})",
        f"{events}/a.jsonl:24: field 'timestamp' 253402300799000 (9999-12-31T23:59:59Z) is after the allowed "
        "maximum 2030-01-01T00:00:00Z (bootstrap.timestamps.max); raise bootstrap.timestamps.max to accept it",
    ]
    assert embedded.rejects.messages[4].startswith(f"{events}/b.jsonl.gz:")
    assert embedded.rejects.messages[5].startswith(f"{events}/d.jsonl.zst:")
    assert flink.stats == embedded.stats and flink.events == embedded.events > 500 and flink.engine == "flink"
