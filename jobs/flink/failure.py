"""Turn a failed Flink job into a ``FlinkJobError`` that carries the task's Python traceback."""

from __future__ import annotations

import re

from jobs.flink.errors import FlinkJobError
from jobs.flink.rest import FlinkRest

PYTHON_EXCEPTION_CLASS = "pemja.core.PythonException"
_INPUT_ERROR = re.compile(r"^(?:[\w.]+\.)?InputError: (.+)$", re.MULTILINE)
_ENGINE_ERROR = re.compile(r"EngineError'>: feature engine failed in [^:]+: (.+)$", re.MULTILINE)


def failure_reason(detail: str) -> str | None:
    """The task's failure in one line: a bad input line's ``path:line: what is wrong`` when that stopped
    the job (``errors: fail``), else the engine's exception; None when the detail holds neither."""
    inputs = _INPUT_ERROR.findall(detail)
    if inputs:
        return inputs[-1]
    engine = _ENGINE_ERROR.search(detail)
    return engine.group(1) if engine else None


def _python_frames(j_throwable) -> list[str]:
    """pemja stores the Python traceback as stack elements named ``<file>/<module>.<function>(<file>.py:<line>)``."""
    frames = []
    for element in j_throwable.getStackTrace():
        file_name = str(element.getFileName() or "")
        if file_name.endswith(".py"):
            frames.append(
                f"  File {element.getClassName()}.{element.getMethodName()} ({file_name}:"
                f"{element.getLineNumber()})"
            )
    return frames


def java_cause_texts(exc: BaseException) -> list[str]:
    """Every Java throwable in the cause chain of a py4j error (outermost first).

    A ``pemja.core.PythonException`` (thread mode) is followed by its Python frames.
    """
    j = getattr(exc, "java_exception", None)
    texts, seen = [], set()
    while j is not None and str(j.hashCode()) not in seen:
        seen.add(str(j.hashCode()))
        texts.append(str(j.toString()))
        if str(j.getClass().getName()) == PYTHON_EXCEPTION_CLASS:
            texts.extend(_python_frames(j))
        j = j.getCause()
    return texts


def _execution_result_error(client) -> BaseException | None:
    try:
        client.get_job_execution_result().result()
    except Exception as e:  # noqa: BLE001 - this is the failure we are diagnosing
        return e
    return None


def job_failure(client, rest: FlinkRest, job_id: str, job_name: str, state: str | None) -> FlinkJobError:
    """Build the error for a job that ended without finishing its work (``state``: what REST last showed;
    a result without an error means FINISHED even while REST still shows RUNNING)."""
    err = _execution_result_error(client)
    detail = "\n".join(java_cause_texts(err)) if err is not None else ""
    detail = detail or rest.root_exception(job_id) or (str(err) if err is not None else "")
    # a result future that completed without an error means FINISHED, whatever REST still shows
    what = "ended (FINISHED) before the engine host signalled completion" if err is None else "failed"
    return FlinkJobError(f"Flink job {job_name!r} ({job_id}) {what}", job_id, detail, failure_reason(detail))
