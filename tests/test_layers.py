"""feature_ops is the core: it imports nothing from jobs/ or serving/ and does no network I/O."""

import ast
from pathlib import Path

import pytest

CORE = sorted(Path("feature_ops").rglob("*.py"))
FORBIDDEN = ("jobs", "serving", "redis", "boto3", "botocore", "confluent_kafka", "pulsar", "socket", "urllib.request",
             "http", "pyflink", "starlette", "requests", "httpx")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {n for a in node.names for n in (a.name, a.name.split(".")[0])}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, node.module.split(".")[0]}
    return names


@pytest.mark.parametrize("path", CORE, ids=str)
def test_core_module_imports_only_core_and_libraries(path):
    assert not _imports(path) & set(FORBIDDEN)


def test_serving_does_not_import_jobs():
    for path in Path("serving").rglob("*.py"):
        assert "jobs" not in _imports(path), path
