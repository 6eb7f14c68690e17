"""Workdir errors say what to do: an incomplete, inconsistent or damaged workdir is named, not crashed on."""

import json
import shutil

import pytest
import yaml

from feature_ops.featureset import FeatureSet
from jobs.cli import main
from jobs.manifest import file_entry
from jobs.workdir import (
    WorkdirError,
    completed_workdir,
    local_workdir,
    read_dataset,
    read_item_fields,
    read_values,
)
from tests.conftest import config_dict

AGAIN = "run `rankstream bootstrap` again"


def test_other_remote_workdirs_are_refused_clearly():
    with pytest.raises(WorkdirError) as e:
        local_workdir("gs://bucket/workdir")
    assert str(e.value) == "workdir gs://bucket/workdir: only local paths and s3://bucket/prefix are supported"


def test_missing_outputs_point_to_bootstrap(tmp_path):
    with pytest.raises(WorkdirError) as e:
        list(read_values(tmp_path, FeatureSet([])))
    assert str(e.value) == f"{tmp_path}/values/values.jsonl.gz does not exist: run `rankstream bootstrap` first"
    with pytest.raises(WorkdirError) as e:
        read_dataset(tmp_path, "main")
    assert str(e.value) == f"workdir {tmp_path}: no completed bootstrap (manifest.json missing); run `rankstream bootstrap`"


def test_unwritable_workdir(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(WorkdirError, match=rf"^workdir {tmp_path}/file/wd is not writable: "):
        local_workdir(str(tmp_path / "file" / "wd"))


@pytest.fixture
def workdir(sample, tmp_path):
    """A copy of the bootstrapped sample's workdir, free to damage."""
    return shutil.copytree(sample.workdir, tmp_path / "workdir")


def test_the_manifest_lists_every_output_with_size_and_checksum(workdir):
    manifest = json.loads((workdir / "manifest.json").read_text())
    names = ["dataset/xgboost.parquet", "values/item-fields.jsonl.gz", "values/sessions.jsonl.gz", "values/values.jsonl.gz"]
    assert sorted(manifest["outputs"]) == names
    assert all(manifest["outputs"][name] == file_entry(workdir / name) for name in names)
    assert completed_workdir(str(workdir), *names) == workdir


def _manifest(workdir, change):
    manifest = json.loads((workdir / "manifest.json").read_text())
    change(manifest)
    (workdir / "manifest.json").write_text(json.dumps(manifest))


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return len(data), int(len(data) * keep)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda w: (w / "manifest.json").unlink(),
         "no completed bootstrap (manifest.json missing); run `rankstream bootstrap`"),
        (lambda w: (w / "manifest.json").write_text('{"engine": "emb'),
         f"manifest.json is damaged (Unterminated string starting at: line 1 column 12 (char 11)); {AGAIN}"),
        (lambda w: _manifest(w, lambda m: m.pop("outputs")),
         f"manifest.json lists no outputs (written by an older rankstream); {AGAIN}"),
        (lambda w: (w / "values" / "values.jsonl.gz").unlink(),
         f"values/values.jsonl.gz is missing but listed in manifest.json (interrupted run?); {AGAIN}"),
        (lambda w: _manifest(w, lambda m: m["outputs"].pop("dataset/xgboost.parquet")),
         f"the last bootstrap wrote no dataset/xgboost.parquet (config changed since?); {AGAIN}"),
    ],
)
def test_incomplete_workdirs_are_named(workdir, damage, message):
    damage(workdir)
    with pytest.raises(WorkdirError) as e:
        completed_workdir(str(workdir), "dataset/xgboost.parquet")
    assert str(e.value) == f"workdir {workdir}: {message}"


def test_an_output_not_matching_the_manifest_is_an_interrupted_run(workdir):
    size, kept = _truncate(workdir / "dataset" / "xgboost.parquet")
    with pytest.raises(WorkdirError) as e:
        read_dataset(workdir, "xgboost")
    assert str(e.value) == (
        f"workdir {workdir}: dataset/xgboost.parquet does not match manifest.json (interrupted run?): "
        f"{kept:,} bytes, expected {size:,}; {AGAIN}"
    )


def _reseal(workdir, name):
    """The damaged file recorded in the manifest, as if it had been written that way."""
    _manifest(workdir, lambda m: m["outputs"].update({name: file_entry(workdir / name)}))


def _flip(path, at):
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("name", "damage", "read", "reason"),
    [
        ("values/values.jsonl.gz", _truncate, lambda w, s: list(read_values(w, FeatureSet(s.config.features))),
         "Compressed file ended before the end-of-stream marker was reached"),
        ("values/item-fields.jsonl.gz", lambda p: _flip(p, -5), lambda w, s: list(read_item_fields(w)),
         "CRC check failed"),
        ("dataset/xgboost.parquet", _truncate, lambda w, s: read_dataset(w, "xgboost"),
         "Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file."),
    ],
)
def test_damaged_outputs_give_a_clear_message(workdir, sample, name, damage, read, reason):
    damage(workdir / name)
    _reseal(workdir, name)
    with pytest.raises(WorkdirError) as e:
        read(workdir, sample)
    assert str(e.value).startswith(f"{workdir / name} is damaged or truncated ({reason}")
    assert str(e.value).endswith(f"): {AGAIN}")


def _config_file(sample, workdir, tmp_path, **inference):
    raw = config_dict(sample.config)
    raw["bootstrap"]["workdir"] = str(workdir)
    raw["inference"].update(inference)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.mark.parametrize(
    ("command", "inference"),
    [
        (["train"], {}),
        (["api"], {}),
        (["upload"], {"state": {"type": "redis", "host": "127.0.0.1", "port": 1}}),
    ],
)
def test_train_upload_and_api_refuse_an_interrupted_workdir(workdir, sample, tmp_path, capsys, command, inference):
    config = _config_file(sample, workdir, tmp_path, **inference)
    (workdir / "manifest.json").unlink()
    assert main([*command, config]) == 2
    err = capsys.readouterr().err
    assert err == f"error: workdir {workdir}: no completed bootstrap (manifest.json missing); run `rankstream bootstrap`\n"

