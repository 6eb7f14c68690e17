"""One decoder for both engines: the Flink bootstrap's pre-scan and staging (``jobs.flink.inputs``) plus the
host's ``StagedDecoder`` give the reader's events and messages for the same bytes, line for line. Flink's
text format is emulated here (UTF-8 with replacement, lines end at LF, CR or CRLF); ``test_input_flink``
checks the same bytes on a real MiniCluster."""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

import orjson
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feature_ops.decoder import LineDecoder
from feature_ops.inputfiles import event_files
from feature_ops.reader import Rejects, read_events
from feature_ops.timestamps import TimestampPolicy
from jobs.flink.host import FLUSH_MARKER
from jobs.flink.inputs import StagedDecoder, flink_lines, plan_inputs

WINDOW = TimestampPolicy(max="2030-01-01T00:00:00Z").window()
EVENT = b'{"event":"item","id":"e%d","timestamp":%d,"item":"p","fields":[{"name":"t","value":"caf\xc3\xa9"}]}'


def java_lines(path: Path) -> list[str]:
    """What Flink's ``TextLineInputFormat`` reads (``BufferedReader.readLine`` over UTF-8)."""
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8", "replace")
    lines = re.split("\r\n|\r|\n", text)
    return lines[:-1] if lines[-1] == "" else lines


def both(root: Path, staging: Path):
    """(reader's view, Flink's view): events, messages and counts."""
    reader = Rejects("skip")
    embedded = list(read_events(root, reader, WINDOW))
    plan = plan_inputs(event_files(root), staging)
    host = Rejects("skip")
    decode = StagedDecoder(plan, host, WINDOW)
    lines = [line for f in plan.files for line in java_lines(Path(f.path))]
    assert len(lines) == plan.total
    flink = [e for e in (decode(line, n) for n, line in enumerate(lines)) if e is not None]
    return (embedded, reader), (flink, host)


def assert_same(root: Path, staging: Path) -> Rejects:
    (embedded, reader), (flink, host) = both(root, staging)
    assert flink == embedded
    assert host == reader
    return reader


def test_damaged_inputs_give_the_same_events_and_messages_through_staging(tmp_path):
    root = tmp_path / "events"
    root.mkdir()
    good = [EVENT % (i, 1600000000000 + i) for i in range(3000)]
    (root / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join([good[0], b'{"id":"\xff"}', good[1] + b"\r", good[2],
                                                                  FLUSH_MARKER.encode(), b"\x00x", b" \t", b""]))
    (root / "b.jsonl").write_bytes(b"\r\n".join(good[3:6]) + b"\r\n")  # CRLF: read by Flink directly
    truncated = gzip.compress(b"\n".join(good[6:]), mtime=0)
    (root / "c.jsonl.gz").write_bytes(truncated[: len(truncated) // 2])
    (root / "d.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(b"\n".join(good[:50]))[:-10])
    (root / "e.json").write_bytes(b"[" + good[0] + b", 1, {]")
    (root / "f.json").write_bytes(b"\xef\xbb\xbf\n [" + good[1] + b"," + good[2] + b"]")
    (root / "g.jsonl").symlink_to(root / "missing")
    (root / "h.jsonl").write_bytes(b'{"event":"item","id":"x","timestamp":"9999-01-01T00:00:00Z","item":"p"}\n')
    rejects = assert_same(root, tmp_path / "staging")
    assert (rejects.count, rejects.files) == (4, 4)  # a: 3 lines (UTF-8, two NUL-led), h: the window
    assert sorted(p.name for p in (tmp_path / "staging").iterdir()) == [
        "00000-a.jsonl.jsonl", "00002-c.jsonl.jsonl", "00003-d.jsonl.jsonl", "00004-e.json.jsonl",
        "00005-f.json.jsonl", "00006-g.jsonl.jsonl"]  # b and h are read by Flink as they are


@pytest.mark.parametrize(("data", "lines"), [
    (b"", 0), (b"a\n", 1), (b"a", 1), (b"a\r\nb", 2), (b"\n\n", 2), (b"\xef\xbb\xbfa\n", 1),
    (b"a\rb\n", None), (b"a\r", None), (b"a\n\x00b", None), (b"\x00", None), (b"a\xff\n", None), (b"a\xc3", None),
])  # fmt: skip
def test_the_pre_scan_reads_only_files_flink_reads_the_same(tmp_path, data, lines):
    (tmp_path / "a.jsonl").write_bytes(data)
    assert flink_lines(tmp_path / "a.jsonl") == lines


def test_a_line_like_the_flush_marker_cannot_end_the_input_early(tmp_path):
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "a.jsonl").write_bytes(FLUSH_MARKER.encode() + b"\n" + EVENT % (1, 1600000000000))
    plan = plan_inputs(event_files(tmp_path / "events"), tmp_path / "staging")
    assert FLUSH_MARKER not in java_lines(Path(plan.files[0].path))
    assert assert_same(tmp_path / "events", tmp_path / "staging2").count == 1


# --- fuzz: raw bytes never raise, and both views agree -----------------------------------------------------------

VALID = st.builds(lambda i, ts: EVENT % (i, ts), st.integers(0, 99),
                  st.sampled_from([1600000000000, 1500000000000, 5, 2**70, 253402300799000]))
MUTATED = st.builds(lambda line, at, junk: line[:at] + junk + line[at:], VALID, st.integers(0, 120),
                    st.sampled_from([b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\r", b"\x00", b"\xed\xa0\x80", b"\"", b" "]))
LINES = st.one_of(st.lists(VALID, max_size=6), st.lists(st.one_of(VALID, MUTATED, st.binary(max_size=30)), max_size=12))
ENDS = st.lists(st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"]), min_size=12, max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=LINES, ends=ENDS, compression=st.sampled_from(["plain", "gz", "gz-cut", "zst", "zst-cut"]))
def test_fuzz_both_engines_agree_line_for_line_on_raw_bytes(lines, ends, compression):
    data = b"".join(line + end for line, end in zip(lines, ends, strict=False))
    name, packed = "a.jsonl", data
    if compression.startswith("gz"):
        name, packed = "a.jsonl.gz", gzip.compress(data, mtime=0)
    elif compression.startswith("zst"):
        name, packed = "a.jsonl.zst", zstandard.ZstdCompressor().compress(data)
    if compression.endswith("cut"):
        packed = packed[: max(1, len(packed) * 2 // 3)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "events"
        root.mkdir()
        (root / name).write_bytes(packed)
        (root / "z.jsonl").write_bytes(EVENT % (0, 1600000000000))
        assert_same(root, Path(tmp) / "staging")


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=200))
def test_fuzz_no_exception_escapes_the_decoder(raw):
    for policy_window in (None, WINDOW):
        decode = LineDecoder(Rejects("skip"), policy_window)
        decode(raw, "x:1")
        decode(raw.decode("utf-8", "replace"), "x:1")
        decode(orjson.dumps({"event": "item", "id": "i", "timestamp": raw.hex() or "0", "item": "p"}), "x:1")
