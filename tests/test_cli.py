"""The CLI's usability: CONFIG or --config everywhere, readable summaries, failures reported reason first,
``rankstream api`` saying where it listens."""

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from jobs.cli import build_parser, flink_failure, main, resolve_config
from jobs.flink.errors import FlinkJobError
from jobs.flink.failure import failure_reason
from jobs.flink.watch import PhaseReport, Progress
from jobs.generate import GenerateSummary
from tests.conftest import config_dict

COMMANDS = ["validate", "bootstrap", "upload", "api", "train"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("form", [["nope.yml"], ["--config", "nope.yml"], ["nope.yml", "--config", "nope.yml"]])
def test_every_command_takes_the_config_both_ways(command, form, capsys):
    assert main([command, *form]) == 2
    assert capsys.readouterr().err == "error: config file nope.yml does not exist\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_two_different_configs_are_refused(command, capsys):
    extra = ["xgboost"] if command == "train" else []
    assert main([command, "a.yml", *extra, "--config", "b.yml"]) == 2
    assert capsys.readouterr().err == "error: config given twice: a.yml and --config b.yml; pass one of them\n"


@pytest.mark.parametrize(
    ("argv", "config", "model"),
    [
        (["train", "c.yml", "main"], "c.yml", "main"),
        (["train", "--config", "c.yml", "main"], "c.yml", "main"),
        (["train", "main", "--config", "c.yml"], "c.yml", "main"),
        (["train", "--config", "c.yml"], "c.yml", None),
        (["train"], None, None),
    ],
)
def test_train_takes_the_model_after_either_config_form(argv, config, model):
    args = build_parser().parse_args(argv)
    assert (resolve_config(args), args.model) == (config, model)


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [(["bootstrap", "c.yml"], False), (["-v", "bootstrap", "c.yml"], True), (["bootstrap", "c.yml", "-v"], True),
     (["train", "c.yml", "--verbose"], True)],
)
def test_verbose_goes_before_or_after_the_command(argv, verbose):
    assert build_parser().parse_args(argv).verbose is verbose


def test_api_port_must_be_a_tcp_port(capsys):
    with pytest.raises(SystemExit):
        main(["api", "c.yml", "--port", "70000"])
    assert "argument --port: must be a TCP port in 1..65535, got 70000" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["bootstrap", "update", "k8s-manifest"])
@pytest.mark.parametrize("value", ["0", "-2"])
def test_parallelism_override_must_be_positive(command, value, capsys):
    # --parallelism 0 was dropped silently (bootstrap) and a negative one reached Flink unchecked
    extra = ["all"] if command == "k8s-manifest" else []
    with pytest.raises(SystemExit):
        main([command, "c.yml", *extra, "--parallelism", value])
    assert f"argument --parallelism: must be at least 1, got {value}" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "reason"), [(["--users", "-3"], "must be >= 1"),
                                              (["--items", "5"], "ranking_size 24 must not exceed items 5")])
def test_generate_sizes_it_cannot_use_are_one_line_errors(argv, reason, tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: generate: ") and reason in err and "Traceback" not in err


def test_generate_prints_a_readable_summary(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path), "--items", "50", "--users", "20", "--rankings", "60"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"generate: {out.split()[1]} events -> {tmp_path}/events/events.jsonl.gz\n  interaction ")
    assert out.endswith(f"\n  true relevance per ranking -> {tmp_path}/truth.jsonl.gz\n")
    assert "GenerateSummary(" not in out


def test_generate_summary_text():
    summary = GenerateSummary(Path("out/events.jsonl.gz"), Path("out/truth.jsonl.gz"),
                              {"interaction": 1200, "item": 50, "ranking": 600}, {"click": 1100, "like": 100})
    assert summary.describe() == (
        "generate: 1,850 events -> out/events.jsonl.gz\n"
        "  interaction 1,200, item 50, ranking 600 (interactions: click 1,100, like 100)\n"
        "  true relevance per ranking -> out/truth.jsonl.gz"
    )


TASK_DETAIL = """java.util.concurrent.ExecutionException: org.apache.flink.runtime.client.JobExecutionException: Job execution failed.
pemja.core.PythonException: <class 'jobs.flink.errors.EngineError'>: feature engine failed in process_batch at input line ordinal 0: InputError: /data/a.jsonl:2: invalid JSON: unexpected character
Traceback (most recent call last):
  File "/work/main/feature_ops/reader.py", line 61, in decode_line
feature_ops.rejects.InputError: /data/a.jsonl:2: invalid JSON: unexpected character
  File /work/main/jobs/flink/host._call (host.py:110)"""
ENGINE_DETAIL = """pemja.core.PythonException: <class 'jobs.flink.errors.EngineError'>: feature engine failed in finish(): OSError: [Errno 28] No space left on device
Traceback (most recent call last):"""


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        (TASK_DETAIL, "/data/a.jsonl:2: invalid JSON: unexpected character"),
        (ENGINE_DETAIL, "OSError: [Errno 28] No space left on device"),
        ("org.apache.flink.runtime.JobException: Recovery is suppressed", None),
        ("", None),
    ],
)
def test_failure_reason_is_one_line(detail, reason):
    assert failure_reason(detail) == reason


HEADLINE = "Flink job 'rankstream-bootstrap' (abc) failed"


@pytest.mark.parametrize(
    ("error", "verbose", "text"),
    [
        (FlinkJobError(HEADLINE, "abc", TASK_DETAIL, failure_reason(TASK_DETAIL)), False,
         f"error: /data/a.jsonl:2: invalid JSON: unexpected character\n  in {HEADLINE}\n"
         "  (--verbose shows the task's traceback)"),
        (FlinkJobError(HEADLINE, "abc", TASK_DETAIL, failure_reason(TASK_DETAIL)), True,
         f"error: /data/a.jsonl:2: invalid JSON: unexpected character\n  in {HEADLINE}\n{TASK_DETAIL}"),
        (FlinkJobError(HEADLINE, "abc", "java trace"), False, f"error: {HEADLINE}\n  (--verbose shows the task's traceback)"),
        (FlinkJobError("job 'x' (abc) made no progress for 120 s", "abc"), False,
         "error: job 'x' (abc) made no progress for 120 s"),
    ],
)
def test_flink_failures_show_the_reason_first(error, verbose, text):
    assert flink_failure(error, verbose) == text


def test_flink_progress_says_what_the_job_does_before_its_first_events():
    said, counts = [], []
    report = PhaseReport(counts.append, said.append)
    report.status("starting Flink MiniCluster...")
    for lines, state in [(0, None), (0, "CREATED"), (0, "INITIALIZING"), (0, "RUNNING"), (0, "RUNNING"),
                         (2048, None), (4096, None)]:  # fmt: skip
        report(Progress(lines, 10_000, 0.0, 1.0, state))
    assert said == [
        "starting Flink MiniCluster...",
        "job submitted, deploying tasks...",
        "job created, deploying tasks...",
        "job initializing, deploying tasks...",
        "job running, waiting for first events",
    ]
    assert counts == [2048, 4096]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api_config(sample, tmp_path) -> str:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config_dict(sample.config)))
    return str(path)


def test_api_prints_its_address_once_it_answers(sample, tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", "jobs.cli", "api", "--config", _api_config(sample, tmp_path),
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    api = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = api.stdout.readline()
        assert line == f"rankstream api: listening on http://127.0.0.1:{port} (models: noop, shuffle, xgboost)\n"
        body = json.dumps({"id": "r1", "timestamp": 1, "user": "u", "session": "s", "items": [{"id": "a"}]})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/rank/noop", body.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:  # answers at once, no retry needed
            assert [item["item"] for item in json.loads(response.read())["items"]] == ["a"]
    finally:
        api.terminate()
        api.wait(timeout=30)


def test_api_on_a_busy_port_says_so(sample, tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["api", _api_config(sample, tmp_path), "--host", "127.0.0.1", "--port", str(port)]) == 2
    assert capsys.readouterr().err == f"error: inference: cannot listen on 127.0.0.1:{port}: Address already in use\n"
