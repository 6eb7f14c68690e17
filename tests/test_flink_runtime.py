"""The generic PyFlink runtime: ordered source, batcher, engine host, state stores, savepoints, errors."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import cloudpickle
import pytest
from pyflink.datastream import MapFunction

from feature_ops.store import MemoryStore
from jobs.flink.errors import FlinkJobError
from jobs.flink.host import FLUSH_MARKER, Batcher
from jobs.flink.pipeline import engine_stream
from jobs.flink.runtime import create_env, flink_configuration, run_to_savepoint
from jobs.flink.store import MapStateStore

# Engines below are defined in this test module: ship them to the workers by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def salted(name: str, config: str) -> str:
    return f"{name}-{hashlib.sha256(config.encode()).hexdigest()[:8]}"


COUNTS = salted("counts", "toy-v1")
COUNTS_RENAMED = salted("counts", "toy-v2")


# ---------------------------------------------------------------- toy engines


class EchoEngine:
    """Emits ``ordinal<TAB>line`` for every line, then ``<finish>``."""

    def __init__(self, store):
        self.store = store

    def process_batch(self, first_ordinal, lines):
        return [f"{first_ordinal + i}\t{line}" for i, line in enumerate(lines)]

    def finish(self):
        return ["<finish>"]


class CountEngine:
    """Counts lines per user id (text before the first comma) in every namespace; emits counts at finish."""

    def __init__(self, store, namespaces, fail_on=None):
        self.store, self.namespaces, self.fail_on = store, namespaces, fail_on

    def process_batch(self, first_ordinal, lines):
        for line in lines:
            if self.fail_on is not None and self.fail_on in line:
                raise ValueError(f"toy engine cannot digest {line!r}")
            user = line.split(",")[0]
            for ns in self.namespaces:
                self.store.put(ns, user, (self.store.get(ns, user) or 0) + 1)
        return []

    def finish(self):
        return [f"{ns}\t{user}\t{n}" for ns in self.namespaces for user, n in self.store.items(ns)]


def count_engine(namespaces, fail_on=None):
    return functools.partial(CountEngine, namespaces=namespaces, fail_on=fail_on)


# ---------------------------------------------------------------- store unit tests


class FakeMapState:
    """In-memory stand-in for pyflink's MapState that counts calls."""

    def __init__(self):
        self.data, self.calls = {}, []

    def get(self, key):
        self.calls.append("get")
        return self.data.get(key)

    def put_all(self, values):
        self.calls.append("put_all")
        self.data.update(values)

    def is_empty(self):
        self.calls.append("is_empty")
        return not self.data

    def remove(self, key):
        self.calls.append("remove")
        self.data.pop(key, None)

    def items(self):
        self.calls.append("items")
        return list(self.data.items())


def memory_store():
    return MemoryStore()


def map_store():
    return MapStateStore({"a": FakeMapState(), "b": FakeMapState()})


@pytest.mark.parametrize("make", [memory_store, map_store], ids=["memory", "mapstate"])
def test_store_contract(make):
    store = make()
    assert store.get("a", "k") is None
    store.put("a", "k", {"n": 1})
    store.put("a", "j", (1, 2.5))
    store.put("b", "k", "other namespace")
    store.delete("a", "j")
    store.delete("a", "never-there")
    assert store.get("a", "k") == {"n": 1} and store.get("a", "j") is None
    assert dict(store.items("a")) == {"k": {"n": 1}}
    store.flush()
    assert dict(store.items("b")) == {"k": "other namespace"}


def test_mapstate_store_rejects_undeclared_namespaces():
    with pytest.raises(KeyError, match="unknown state namespace 'zz'"):
        map_store().get("zz", "k")


def test_mapstate_store_writes_through_only_on_flush():
    a = FakeMapState()
    store = MapStateStore({"a": a})
    store.put("a", "k", 1)
    store.put("a", "j", 2)
    assert a.data == {}
    store.flush()
    assert a.data == {"k": 1, "j": 2} and a.calls.count("put_all") == 1
    store.delete("a", "j")
    store.flush()
    assert a.data == {"k": 1} and a.calls.count("remove") == 1
    store.flush()
    assert a.calls.count("put_all") == 1


def test_mapstate_store_caches_reads_and_absence():
    a = FakeMapState()
    a.data = {"k": 5}
    store = MapStateStore({"a": a})
    assert [store.get("a", "k"), store.get("a", "k"), store.get("a", "x"), store.get("a", "x")] == [
        5,
        5,
        None,
        None,
    ]
    assert a.calls.count("get") == 2


def test_mapstate_store_answers_misses_of_a_namespace_empty_at_first_read_without_mapstate():
    a = FakeMapState()
    store = MapStateStore({"a": a}, max_cached=2)
    assert [store.get("a", "x"), store.getter("a")("y")] == [None, None]
    store.put("a", "k", 1)
    store.flush()
    assert store.get("a", "k") == 1 and store.get("a", "z") is None
    assert a.calls == ["is_empty", "put_all"]
    for key in "uvw":  # the cache outgrows max_cached and is dropped: misses ask MapState again
        store.put("a", key, key)
    store.flush()
    assert store.get("a", "k") == 1 and store.getter("a")("nothing") is None
    assert a.calls[-2:] == ["get", "get"]


def test_mapstate_store_asks_mapstate_for_misses_of_a_restored_namespace():
    a = FakeMapState()
    a.data = {"k": 5}
    store = MapStateStore({"a": a})
    assert [store.getter("a")("k"), store.get("a", "x"), store.get("a", "x")] == [5, None, None]
    assert a.calls == ["is_empty", "get", "get"]


def test_mapstate_store_items_merge_cache_over_state():
    a = FakeMapState()
    a.data = {"old": 1, "gone": 2, "changed": 3}
    store = MapStateStore({"a": a})
    store.put("a", "changed", 30)
    store.put("a", "new", 4)
    store.delete("a", "gone")
    assert dict(store.items("a")) == {"old": 1, "changed": 30, "new": 4}


def test_mapstate_store_restore_reads_back_from_state():
    a = FakeMapState()
    MapStateStore({"a": a}).put("a", "k", [1])
    first = MapStateStore({"a": a})
    first.put("a", "k", [1, 2])
    first.flush()
    assert MapStateStore({"a": a}).get("a", "k") == [1, 2]


def test_mapstate_store_drops_large_cache_at_flush():
    a = FakeMapState()
    store = MapStateStore({"a": a}, max_cached=2)
    for key in "xyz":
        store.put("a", key, key)
    store.flush()
    assert store.get("a", "x") == "x" and a.calls.count("get") == 1


def test_batcher_groups_lines_and_flushes_on_marker():
    batcher = Batcher(batch_size=2)
    batcher.open(None)
    out = [rec for line in ["a", "b", "c", FLUSH_MARKER] for rec in batcher.flat_map(line)]
    assert out == [(0, 0, ["a", "b"]), (0, 2, ["c"]), (0, 3, None)]


# ---------------------------------------------------------------- Flink jobs


def write_lines(path: Path, lines: list[str]) -> str:
    text = "".join(line + "\n" for line in lines)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return str(path)


def run_job(tmp: Path, name: str, files, factory, namespaces, restore_from=None, batch_size=256):
    """Run the engine pipeline to a savepoint; return (RunResult, output lines)."""
    env = create_env(flink_configuration(restore_from=restore_from))
    out = tmp / f"{name}.out"
    engine_stream(env, files, str(tmp / f"{name}-control"), factory, namespaces, batch_size=batch_size).map(
        AppendLine(str(out))
    )
    result = run_to_savepoint(
        env, name, str(tmp / f"{name}-control"), str(tmp / "savepoints"), timeout=90, stall_timeout=45
    )
    return result, out.read_text().splitlines() if out.exists() else []


class AppendLine(MapFunction):
    """Test sink: appends every output to a local file."""

    def __init__(self, path: str):
        self.path = path

    def open(self, runtime_context):
        self.f = open(self.path, "a")  # noqa: SIM115 - closed in close()

    def map(self, value):
        self.f.write(f"{value}\n")
        self.f.flush()
        return value

    def close(self):
        self.f.close()


def user_lines(prefix: str, n: int, users: int) -> list[str]:
    return [f"u{(i * 7) % users},{prefix}{i}" for i in range(n)]


def counts_of(lines: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        user = line.split(",")[0]
        counts[user] = counts.get(user, 0) + 1
    return counts


def finished_counts(outputs: list[str], namespace: str) -> dict[str, int]:
    rows = [line.split("\t") for line in outputs]
    return {user: int(n) for ns, user, n in rows if ns == namespace}


@pytest.mark.flink
def test_lines_come_out_in_file_then_line_order(tmp_path):
    parts = [[f"f{f}-l{i}" for i in range(n)] for f, n in enumerate([50, 31, 40])]
    names = ["b-second.txt", "a-first.txt.gz", "c-third.txt"]
    files = [write_lines(tmp_path / name, lines) for name, lines in zip(names, parts, strict=True)]
    _, outputs = run_job(tmp_path, "order", files, EchoEngine, [], batch_size=7)
    expected = [f"{i}\t{line}" for i, line in enumerate(line for part in parts for line in part)]
    assert outputs == expected + ["<finish>"]


@pytest.mark.flink
def test_restored_job_continues_counters_and_renamed_namespace_starts_empty(tmp_path):
    batch1 = user_lines("a", 3000, 40)
    batch2 = user_lines("b", 1100, 50)
    files1 = [
        write_lines(tmp_path / "b1-0.txt", batch1[:1700]),
        write_lines(tmp_path / "b1-1.txt.gz", batch1[1700:]),
    ]
    boot, out1 = run_job(tmp_path, "bootstrap", files1, count_engine([COUNTS]), [COUNTS])
    assert finished_counts(out1, COUNTS) == counts_of(batch1)

    namespaces = [COUNTS, COUNTS_RENAMED]
    files2 = [write_lines(tmp_path / "b2-0.txt", batch2)]
    _, out2 = run_job(
        tmp_path, "update", files2, count_engine(namespaces), namespaces, restore_from=boot.savepoint_path
    )
    assert finished_counts(out2, COUNTS) == counts_of(batch1 + batch2)
    assert finished_counts(out2, COUNTS_RENAMED) == counts_of(batch2)


@pytest.mark.flink
def test_python_exception_in_engine_surfaces_in_flink_job_error(tmp_path):
    files = [write_lines(tmp_path / "in.txt", user_lines("a", 600, 5) + ["boom,1"])]
    with pytest.raises(FlinkJobError) as caught:
        run_job(tmp_path, "failing", files, count_engine([COUNTS], fail_on="boom"), [COUNTS])
    text = str(caught.value)
    assert "ValueError: toy engine cannot digest 'boom,1'" in text
    assert "process_batch at input line ordinal 512" in text
    assert "Traceback (most recent call last)" in text and "in process_batch" in text


def _process_tree(pid: int) -> set[int]:
    pids, todo = set(), [pid]
    while todo:
        p = todo.pop()
        pids.add(p)
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except FileNotFoundError:  # a process that ended while we looked
            continue
        for task in tasks:
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except FileNotFoundError:  # a thread that ended while we looked
                continue
    return pids


@pytest.mark.flink
def test_after_a_job_this_process_and_its_jvm_listen_on_loopback_only(tmp_path):
    files = [write_lines(tmp_path / "a.txt", ["x", "y"])]
    run_job(tmp_path, "ports", files, EchoEngine, [])
    pids = _process_tree(os.getpid())
    listeners = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line for line in listeners if any(f"pid={p}," in line for p in pids)]
    assert ours, "the MiniCluster JVM listens on some port"
    wildcard = [line for line in ours if line.split()[3].rsplit(":", 1)[0] in ("0.0.0.0", "*", "[::]")]
    assert wildcard == []
