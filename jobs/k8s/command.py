"""``rankstream k8s-manifest CONFIG bootstrap|update|api|all``: print the resources as one YAML stream."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from feature_ops.config import Config, ConfigError, load_config
from jobs.cli import positive
from jobs.k8s.manifests import (
    Target,
    api_resources,
    batch_job,
    bootstrap_deployment,
    config_map,
    for_config,
    update_deployment,
)
from serving.s3 import is_s3

WHAT = ("bootstrap", "train", "upload", "update", "api", "all")
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def namespace(text: str) -> str:
    """A namespace name as the apiserver accepts it (an RFC 1123 label), checked before anything is printed."""
    if not LABEL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a namespace name: at most 63 lowercase letters, digits "
                                         "and '-', starting and ending with a letter or digit")  # fmt: skip
    return text


def render(config_path: str, what: str, target: Target) -> list[dict]:
    """The resources ``what`` stands for; ``all``: the ConfigMap, both jobs and the API."""
    config = load_config(config_path)
    target = for_config(target, config.bootstrap.workdir)
    resources = {
        "bootstrap": lambda: [bootstrap_deployment(target, target.parallelism or config.bootstrap.parallelism)],
        "update": lambda: [update_deployment(target, target.parallelism or config.inference.parallelism,
                                             update_savepoint(config, target))],  # fmt: skip
        "api": lambda: api_resources(target, config.inference.port),
        "train": lambda: [batch_job("train", target)],
        "upload": lambda: [batch_job("upload", target)],
    }
    if what != "all":
        return resources[what]()
    text = Path(config_path).read_text(encoding="utf-8")
    return [config_map(target, text), *(r for key in ("bootstrap", "update", "api") for r in resources[key]())]


def update_savepoint(config: Config, target: Target) -> str:
    """``--savepoint``, else the savepoint the bootstrap's ``manifest.json`` names."""
    if target.savepoint:
        return target.savepoint
    from jobs import s3workdir
    from jobs.manifest import read_manifest
    from jobs.workdir import local_workdir

    root = config.bootstrap.workdir
    if is_s3(root):
        savepoint = s3workdir.read_manifest(root).get("savepoint")
    else:
        savepoint = read_manifest(local_workdir(root, create=False)).get("savepoint")
    if not savepoint:
        raise ConfigError(f"workdir {root}: manifest.json names no savepoint (an embedded bootstrap?); the update "
                          "job starts from the Flink bootstrap's savepoint: pass --savepoint")  # fmt: skip
    return savepoint


def to_yaml(resources: list[dict]) -> str:
    return yaml.safe_dump_all(resources, sort_keys=False, default_flow_style=False, width=120)


def cmd_k8s_manifest(args: argparse.Namespace) -> int:
    target = Target(image=args.image, namespace=args.namespace, parallelism=args.parallelism,
                    savepoint=args.savepoint, checkpoint_dir=args.checkpoint_dir,
                    savepoint_dir=args.savepoint_dir, s3_endpoint=args.s3_endpoint)  # fmt: skip
    print(to_yaml(render(args.config, args.what, target)), end="")
    return 0


def add_k8s_parser(sub, config_args) -> None:
    p = sub.add_parser("k8s-manifest", help="print FlinkDeployments (bootstrap, update), Jobs (train, upload) and the "
                                            "API's Deployment and Service as YAML for kubectl apply -f -")  # fmt: skip
    config_args(p)
    p.add_argument("what", choices=WHAT, help="train, upload: a Job running that command once; all: the ConfigMap "
                                             "holding CONFIG, both Flink jobs and the API")
    defaults = Target()
    p.add_argument("--image", default=defaults.image, help=f"the rankstream image (default: {defaults.image})")
    p.add_argument("--namespace", type=namespace, default=defaults.namespace,
                   help=f"(default: {defaults.namespace})")
    p.add_argument("--parallelism", type=positive,
                   help="one-slot TaskManagers per job (default: bootstrap.parallelism, inference.parallelism)")
    p.add_argument("--savepoint", help="the update job's initialSavepointPath (default: the savepoint in the "
                                       "bootstrap's manifest.json)")  # fmt: skip
    p.add_argument("--checkpoint-dir", default=defaults.checkpoint_dir,
                   help=f"the cluster's execution.checkpointing.dir URI (default: {defaults.checkpoint_dir}; "
                        "with an s3:// workdir <workdir>/checkpoints)")
    p.add_argument("--savepoint-dir", default=defaults.savepoint_dir,
                   help=f"where the operator's savepoints go (default: {defaults.savepoint_dir}; with an s3:// "
                        "workdir <workdir>/savepoint)")
    p.add_argument("--s3-endpoint", metavar="URL",
                   help="an S3-compatible endpoint (MinIO) for Flink's s3.endpoint (path-style) and the pods' "
                        "AWS_ENDPOINT_URL (default: AWS)")  # fmt: skip
    p.set_defaults(func=cmd_k8s_manifest)
