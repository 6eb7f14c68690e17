"""``s3://`` workdirs and inputs on a real S3 endpoint (moto_server): the embedded bootstrap, the readers' checks
and the CLI's one-line errors. The Flink bootstrap, train, upload, the API and update: ``test_s3_flink.py``."""

from __future__ import annotations

import gzip
import json

import pytest

from feature_ops.featureset import FeatureSet
from feature_ops.reader import InputError
from jobs.cli import main
from jobs.embedded import bootstrap_embedded
from jobs.manifest import MANIFEST
from jobs.workdir import WorkdirError, completed_workdir, read_values
from serving import s3
from tests.conftest import config_dict, new_bucket, s3_config


@pytest.fixture(scope="module")
def s3_run(sample, s3_server):
    """The session sample's events in a bucket, bootstrapped (embedded) from there into an S3 workdir."""
    bucket = new_bucket()
    s3.upload(sample.events, f"{bucket}/events/{sample.events.name}")
    config = s3_config(sample.config, f"{bucket}/wd", f"{bucket}/events")
    return config, bootstrap_embedded(config)


def test_embedded_bootstrap_to_s3_equals_local(s3_run, sample, tmp_path):
    config, result = s3_run
    workdir = config.bootstrap.workdir
    manifest = json.loads(s3.read_bytes(s3.join(workdir, MANIFEST)))
    local = json.loads((sample.workdir / MANIFEST).read_text())
    assert manifest["outputs"] == local["outputs"]
    assert sorted(manifest["outputs"]) == ["dataset/xgboost.parquet", "values/item-fields.jsonl.gz",
                                           "values/sessions.jsonl.gz", "values/values.jsonl.gz"]  # fmt: skip
    for name in manifest["outputs"]:
        s3.download(s3.join(workdir, name), tmp_path / name)
        assert (tmp_path / name).read_bytes() == (sample.workdir / name).read_bytes(), name
    assert (manifest["events"], manifest["savepoint"]) == (local["events"], None)
    assert result.leftovers == []


def test_readers_fetch_a_checked_copy(s3_run, sample):
    config, _ = s3_run
    root = completed_workdir(config.bootstrap.workdir, "values/values.jsonl.gz")
    assert (root / "values/values.jsonl.gz").read_bytes() == (
        sample.workdir / "values/values.jsonl.gz"
    ).read_bytes()
    assert not (root / "dataset").exists()
    assert json.loads((root / MANIFEST).read_text())["workdir"] == config.bootstrap.workdir
    assert len(list(read_values(root, FeatureSet(config.all_features)))) == json.loads(
        (sample.workdir / MANIFEST).read_text())["values"]  # fmt: skip


def test_interrupted_publish_and_missing_manifest_are_refused(s3_run, sample, s3_server):
    config, _ = s3_run
    bucket = new_bucket()
    with pytest.raises(WorkdirError) as e:
        completed_workdir(f"{bucket}/wd", "values/values.jsonl.gz")
    assert (
        str(e.value)
        == f"workdir {bucket}/wd: no completed bootstrap (manifest.json missing); run `rankstream bootstrap`"
    )
    for name in ("manifest.json", "values/values.jsonl.gz"):
        s3.write_bytes(f"{bucket}/wd/{name}", s3.read_bytes(s3.join(config.bootstrap.workdir, name)))
    s3.write_bytes(f"{bucket}/wd/values/values.jsonl.gz", b"partial")
    with pytest.raises(WorkdirError) as e:
        completed_workdir(f"{bucket}/wd", "values/values.jsonl.gz")
    assert str(e.value).startswith(
        f"workdir {bucket}/wd: dataset/xgboost.parquet is missing but listed in manifest.json"
    )


def test_bad_lines_name_the_object(sample, s3_server, tmp_path):
    bucket = new_bucket()
    lines = gzip.decompress(sample.events.read_bytes()).splitlines(keepends=True)
    s3.write_bytes(f"{bucket}/in/a/part-1.jsonl", b"".join(lines[:50]) + b"{not json\n")
    s3.write_bytes(f"{bucket}/in/b.jsonl", b"".join(lines[50:60]))
    s3.write_bytes(f"{bucket}/in/_SUCCESS", b"")
    config = s3_config(sample.config, f"{bucket}/wd", f"{bucket}/in")
    result = bootstrap_embedded(config)
    assert result.events == 60
    bad = f"{bucket}/in/a/part-1.jsonl:51: invalid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)"
    assert result.rejects.messages == [bad]
    failing = s3_config(sample.config, f"{bucket}/wd2", f"{bucket}/in", errors="fail")
    with pytest.raises(InputError) as e:
        bootstrap_embedded(failing)
    assert str(e.value) == bad


@pytest.mark.parametrize(
    ("workdir", "events", "message"),
    [
        ("{bucket}/wd", "{bucket}/nothing", "error: input path {bucket}/nothing does not exist (no object at or under it)"),
        ("s3://no-such-bucket-rs/wd", "{bucket}/in/b.jsonl",
         "error: s3://no-such-bucket-rs/wd/.write-test: bucket no-such-bucket-rs does not exist"),
    ],
)  # fmt: skip
def test_cli_errors_are_one_line(sample, s3_server, tmp_path, capsys, workdir, events, message):
    bucket = new_bucket()
    s3.write_bytes(
        f"{bucket}/in/b.jsonl", gzip.decompress(sample.events.read_bytes())[:2000].rsplit(b"\n", 1)[0]
    )
    config = s3_config(sample.config, workdir.format(bucket=bucket), events.format(bucket=bucket))
    path = tmp_path / "config.yml"
    path.write_text(json.dumps(config_dict(config)))
    assert main(["bootstrap", str(path), "--engine", "embedded"]) == 2
    assert capsys.readouterr().err.strip() == message.format(bucket=bucket)
