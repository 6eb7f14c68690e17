"""The ``rankstream update`` command: run the job in the foreground, or ``--stop`` the running one."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from feature_ops.config import load_config
from jobs.cli import positive


def cmd_update(args: argparse.Namespace) -> int:
    from jobs.update.resume import UpdateDirs
    from jobs.update.run import run_update, stop_running
    from jobs.workdir import local_workdir
    from serving.s3 import is_s3

    config = load_config(args.config)
    if args.stop:
        workdir = config.bootstrap.workdir
        root = local_workdir(workdir, create=False)
        manifest = stop_running(root, UpdateDirs(root, workdir if is_s3(workdir) else None))
        print(f"update: stopped; savepoint {manifest.get('savepoint')}")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    result = run_update(config, args.savepoint, args.parallelism, stop, progress=_progress, say=_say)
    print(f"update: stopped after {result.events:,} events in {result.seconds:.0f}s; savepoint {result.savepoint}")
    return 0


def _say(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def _progress(report) -> None:
    if report.events or report.state in (None, "RUNNING"):
        _say(report.line())
    else:
        _say(f"job {(report.state or 'submitted').lower()}, deploying tasks...")


def add_update_parser(sub, config_args) -> None:
    p = sub.add_parser("update", help="stream inference.source into the bootstrap's feature state and Redis")
    config_args(p)
    p.add_argument("--savepoint", help="restore this savepoint or checkpoint (default: the latest checkpoint or "
                                       "savepoint of this workdir, else the bootstrap's savepoint)")
    p.add_argument("--parallelism", type=positive, help="override inference.parallelism")
    p.add_argument("--stop", action="store_true", help="stop the running update job with a savepoint")
    p.set_defaults(func=cmd_update)
