"""The ``rankstream`` command: one verb per capability, each with --help."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable

from feature_ops.config import ConfigError, load_config
from feature_ops.reader import InputError
from jobs.flink.errors import FlinkJobError
from jobs.workdir import WorkdirError
from serving.s3 import StorageError

log = logging.getLogger("rankstream")
USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, InputError, WorkdirError, StorageError)


def throughput_line(label: str = "events") -> Callable[[int], None]:
    """A progress callback printing at most one '<n> events, <rate>/s' line per second to stderr."""
    start = last = time.perf_counter()

    def report(done: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= 1.0:
            last = now
            print(f"  {done:,} {label}, {done / (now - start):,.0f}/s", file=sys.stderr, flush=True)

    return report


def status_line(text: str) -> None:
    """What a long step is doing while it has no throughput to show yet, on stderr."""
    print(f"  {text}", file=sys.stderr, flush=True)


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from feature_ops.engine import summary
    from jobs.embedded import bootstrap_embedded

    config = load_config(args.config)
    if args.parallelism:
        config = config.model_copy(update={"bootstrap": config.bootstrap.model_copy(update={"parallelism": args.parallelism})})
    if args.engine == "embedded":
        result = bootstrap_embedded(config, throughput_line())
    else:
        from jobs.flink.bootstrap import bootstrap_flink

        local_cluster = config.bootstrap.parallelism > 1  # one TaskManager JVM (one GIL) per subtask
        result = bootstrap_flink(config, throughput_line(), status=status_line, local_cluster=local_cluster)
    for leftover in result.leftovers:
        print(f"  removed {leftover} (left by an interrupted run)", file=sys.stderr)
    print(
        f"bootstrap ({result.engine}): {result.events:,} events in {result.seconds:.1f}s "
        f"({result.events_per_s:,.0f} events/s); {result.rejects.summary()}"
    )
    for model, rows in result.rows.items():
        print(f"  dataset {model}: {rows:,} rows")
    print(f"  latest values: {result.values:,} keys -> {config.bootstrap.workdir}")
    if result.savepoint:
        print(f"  savepoint: {result.savepoint}")
    for line in summary(result.stats):
        print(f"  {line}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jobs.generate import generate

    try:
        summary = generate(Path(args.out or f"out/{args.scenario}"), seed=args.seed, users=args.users,
                           items=args.items, rankings=args.rankings, scenario=args.scenario)  # fmt: skip
    except ValueError as e:  # sizes the generator cannot use (--users 0, more items per ranking than --items)
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary.describe())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from jobs.validate import run_validate

    return run_validate(args.config, args.data)


def cmd_sort(args: argparse.Namespace) -> int:
    from jobs.sort import run_sort

    return run_sort(args.input, args.out)


def cmd_upload(args: argparse.Namespace) -> int:
    from jobs.upload import upload
    from serving.errors import ApiError

    try:
        result = upload(load_config(args.config), throughput_line("keys"))
    except ApiError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 2
    memory = "unknown" if result.used_memory is None else f"{result.used_memory / 2**20:,.1f} MiB"
    print(f"upload: {result.keys:,} keys in {result.seconds:.1f}s ({result.expired:,} expired records skipped); "
          f"redis used_memory {memory}")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from feature_ops.featureset import FeatureSet
    from jobs.announce import check_free, url, when_listening
    from jobs.workdir import completed_workdir, read_item_fields, read_sessions, read_values
    from serving.app import serve

    config = load_config(args.config)
    host, port = args.host or config.inference.host, args.port or config.inference.port
    values = item_fields = sessions = None
    if config.inference.state.type == "memory":
        root = completed_workdir(config.bootstrap.workdir, "values/values.jsonl.gz", "values/item-fields.jsonl.gz",
                                 "values/sessions.jsonl.gz")
        values = list(read_values(root, FeatureSet(config.all_features)))
        item_fields = list(read_item_fields(root))
        sessions = list(read_sessions(root))
    check_free(host, port)
    ready = f"rankstream api: listening on {url(host, port)} (models: {', '.join(config.models)})"
    when_listening(host, port, lambda: print(ready, flush=True))
    serve(config, host, port, values, item_fields, sessions)
    return 0


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def tcp_port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port in 1..65535, got {port}")
    return port


def config_args(p: argparse.ArgumentParser) -> None:
    """CONFIG as a positional argument or as --config (one of them), and -v after the command too."""
    p.add_argument("config", nargs="?", help="config YAML (default: $RANKSTREAM_CONFIG or $METARANK_CONFIG)")
    p.add_argument("--config", dest="config_option", metavar="CONFIG", help="the same, as an option")
    verbose_arg(p)


def verbose_arg(p: argparse.ArgumentParser) -> None:
    """-v after the command as well as before it (SUPPRESS keeps a -v given before it)."""
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debug messages")


def resolve_config(args: argparse.Namespace) -> str | None:
    """The config path from CONFIG or --config. ``train --config C MODEL``: the one positional is the model."""
    positional, option = getattr(args, "config", None), getattr(args, "config_option", None)
    if option is None or positional in (None, option):
        return option or positional
    if getattr(args, "model", False) is None:
        args.model = positional
        return option
    raise ConfigError(f"config given twice: {positional} and --config {option}; pass one of them")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rankstream", description="Learning-to-rank: bootstrap, train, serve.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write a deterministic sample dataset (RankLens-like movies or a news feed)")
    p.add_argument("--scenario", choices=["ranklens", "news"], default="ranklens",
                   help="ranklens: movies ranked with a position bias (default); news: short-lived articles in "
                        "shuffled order, a share of clicks without a ranking")
    p.add_argument("--out", help="output directory (default: out/<scenario>)")
    p.add_argument("--seed", type=int, default=42, help="random seed: the same seed writes the same bytes (default: 42)")
    p.add_argument("--users", type=int, default=1000, help="visitors (default: 1000)")
    p.add_argument("--items", type=int, default=1000, help="movies or articles (default: 1000)")
    p.add_argument("--rankings", type=int, default=8000, help="ranking events of 24 items each (default: 8000)")
    verbose_arg(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("validate", help="check a config, then the events (--data, else the config's bootstrap source)")
    config_args(p)
    p.add_argument("--data", help="events file or directory (default: the config's bootstrap source)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("sort", help="write the events of a file or directory in time order (stable) to one file")
    p.add_argument("input", help="events file or directory")
    p.add_argument("--out", required=True, help="output .jsonl or .jsonl.gz, outside the input directory")
    verbose_arg(p)
    p.set_defaults(func=cmd_sort)

    p = sub.add_parser("bootstrap", help="replay historical events: training datasets, latest values, savepoint")
    config_args(p)
    p.add_argument("--engine", choices=["flink", "embedded"], default="flink",
                   help="flink: the keyed PyFlink job, ending in a savepoint (default); "
                        "embedded: one process, no savepoint")
    p.add_argument("--parallelism", type=positive,
                   help="override bootstrap.parallelism; 1 runs on a local MiniCluster, N > 1 on a local "
                        "cluster of N one-slot TaskManagers started and stopped for the run (on one 2-core machine "
                        "2 is not faster than 1 yet: README, The Flink bootstrap)")
    p.set_defaults(func=cmd_bootstrap)

    p = sub.add_parser("upload", help="write the bootstrap's latest feature values into Redis (inference.state)")
    config_args(p)
    p.set_defaults(func=cmd_upload)

    p = sub.add_parser("api", help="serve /rank, /feedback, /health and /metrics (inference.host:port)")
    config_args(p)
    p.add_argument("--host", help="override inference.host")
    p.add_argument("--port", type=tcp_port, help="override inference.port")
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("train", help="train lambdamart models on the bootstrap dataset and evaluate them on a test split")
    config_args(p)
    p.add_argument("model", nargs="?", help="model name (default: every lambdamart model)")
    p.add_argument("--split", help="time=N%%, random=N%% or hold_last=N%% (default: models.<m>.split, time=80%%)")
    p.add_argument("--baseline", action="append", default=[], metavar="FEATURE",
                   help="also evaluate the order of this feature column, descending (repeatable)")
    p.add_argument("--tune", action="store_true",
                   help="first pick depth, learning rate and min child weight from a small grid, each scored on "
                        "the validation part of the train split (never on test)")
    p.set_defaults(func=cmd_train)

    from jobs.update.command import add_update_parser

    add_update_parser(sub, config_args)
    from jobs.k8s.command import add_k8s_parser

    add_k8s_parser(sub, config_args)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    from jobs.train import TrainError, train_models

    try:
        train_models(load_config(args.config), args.model, args.split, args.baseline, log=print, tune=args.tune)
    except TrainError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.config = resolve_config(args)
        return args.func(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FlinkJobError as e:
        print(flink_failure(e, args.verbose), file=sys.stderr)
        return 1


def flink_failure(error: FlinkJobError, verbose: bool) -> str:
    """The failure's reason first, in one line (a bad event's ``path:line: what is wrong``), then the job;
    the task's traceback only with --verbose."""
    lines = [f"error: {error.reason}", f"  in {error.headline}"] if error.reason else [f"error: {error.headline}"]
    if error.detail:
        lines.append(error.detail if verbose else "  (--verbose shows the task's traceback)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
