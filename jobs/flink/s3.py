"""Flink's S3 file system for savepoints and checkpoints of an ``s3://`` workdir.

The presto plugin (``flink-s3-fs-presto`` 2.2.0, pinned in the Makefile's ``jars`` target) is fetched by
``make jars`` into ``.jars/plugins/s3-fs-presto/``. Flink reads ``s3.endpoint``, ``s3.path.style.access`` and
``s3.access-key``/``s3.secret-key`` from its configuration (without keys the plugin falls back to the AWS
SDK's default chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in the process environment, profiles,
web identity, instance roles). ``s3_settings`` derives those keys from the same environment boto3 uses, so
the Python and the Java side talk to the same endpoint with the same credentials. A MiniCluster never loads
plugins by itself: ``initialize`` hands Flink's file systems the plugin folder (a cluster's JobManager and
TaskManagers load ``$FLINK_PLUGINS_DIR`` at start).
"""

from __future__ import annotations

import os
from pathlib import Path

from pyflink.common import Configuration
from pyflink.java_gateway import get_gateway

from jobs.errors import WorkdirError
from serving import s3

PLUGINS_DIR = Path(__file__).resolve().parents[2] / ".jars" / "plugins"
PLUGIN = "s3-fs-presto"


def s3_settings() -> dict[str, str]:
    """The ``s3.*`` Flink options for the current AWS environment (endpoint, path-style access, credentials)."""
    settings = {}
    url = s3.endpoint()
    if url:
        settings.update({"s3.endpoint": url, "s3.path.style.access": "true"})
    found = s3.credentials()
    if found is not None:
        settings.update({"s3.access-key": found[0], "s3.secret-key": found[1]})
    return settings


def plugins_dir() -> Path:
    """The plugins folder holding the S3 plugin: ``.jars/plugins`` of ``make jars``, else Flink's own
    (``$FLINK_PLUGINS_DIR``, ``$FLINK_HOME/plugins``: the image's ``/opt/flink/plugins``); or a ``WorkdirError``."""
    candidates = [
        PLUGINS_DIR,
        *(Path(os.environ[v]) for v in ("FLINK_PLUGINS_DIR", "FLINK_HOME") if os.environ.get(v)),
    ]
    for folder in candidates:
        for plugins in (folder, folder / "plugins"):
            if any((plugins / PLUGIN).glob("flink-s3-fs-presto-*.jar")):
                return plugins
    raise WorkdirError(f"Flink's S3 plugin is missing from {PLUGINS_DIR / PLUGIN}: run `make jars`")


def initialize(config: Configuration) -> None:
    """Initialize this JVM's Flink file systems from ``config`` with the S3 plugin loaded."""
    jvm = get_gateway().jvm
    plugin = jvm.org.apache.flink.core.plugin
    j_config = config._j_configuration
    finder = plugin.DirectoryBasedPluginFinder(jvm.java.io.File(str(plugins_dir())).toPath())
    patterns = plugin.PluginConfig.fromConfiguration(j_config).getAlwaysParentFirstPatterns()
    manager = plugin.DefaultPluginManager(finder.findPlugins(), patterns)
    jvm.org.apache.flink.core.fs.FileSystem.initialize(j_config, manager)
