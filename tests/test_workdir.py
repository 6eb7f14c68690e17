"""Workdir errors say what to do."""

import pytest

from feature_ops.featureset import FeatureSet
from jobs.workdir import WorkdirError, local_workdir, read_dataset, read_values


def test_remote_workdirs_are_refused_clearly():
    with pytest.raises(WorkdirError) as e:
        local_workdir("s3://bucket/workdir")
    assert str(e.value) == "workdir s3://bucket/workdir: only local paths are supported so far (s3:// is on the roadmap)"


def test_missing_outputs_point_to_bootstrap(tmp_path):
    with pytest.raises(WorkdirError) as e:
        list(read_values(tmp_path, FeatureSet([])))
    assert str(e.value) == f"{tmp_path}/values/values.jsonl.gz does not exist: run `rankstream bootstrap` first"
    with pytest.raises(WorkdirError) as e:
        read_dataset(tmp_path, "main")
    assert str(e.value) == f"{tmp_path}/dataset/main.parquet does not exist: run `rankstream bootstrap` first"


def test_unwritable_workdir(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(WorkdirError, match=rf"^workdir {tmp_path}/file/wd is not writable: "):
        local_workdir(str(tmp_path / "file" / "wd"))
