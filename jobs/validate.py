"""``rankstream validate``: the config, then the events it will read (``--data``, else the bootstrap source)."""

from __future__ import annotations

from feature_ops.config import load_config
from feature_ops.reader import Rejects, read_events
from feature_ops.validation import check_events
from jobs.embedded import input_path


def run_validate(config_path: str | None, data: str | None) -> int:
    """Print a summary; 0 when everything is valid, 1 when the data has errors (config errors raise).

    Events are read as the bootstrap reads them: the same bad lines, bad files and timestamp window."""
    config = load_config(config_path)
    print(f"config: ok ({len(config.features)} features, models: {', '.join(config.models)})")
    path = data or input_path(config)
    rejects = Rejects("skip")
    report = check_events(config, read_events(path, rejects, config.bootstrap.timestamps.window()))
    for line in report.lines():
        print(line)
    if rejects.count or rejects.files:
        report.errors.append(rejects.summary())
        print(f"error: {rejects.summary()}")
    ok = not report.errors
    print(f"data {path}: {'ok' if ok else 'INVALID'}")
    return 0 if ok else 1
