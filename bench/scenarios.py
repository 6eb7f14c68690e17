"""The generated scenarios the quality benchmark and the training sweep run on: each one's example config
and sample sizes, and ``prepare`` (generate, then an embedded bootstrap into a fresh workdir)."""

from __future__ import annotations

from pathlib import Path

import yaml

from feature_ops.config import Config, parse_config
from jobs.embedded import bootstrap_embedded
from jobs.generate import generate

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {"ranklens": ROOT / "examples" / "ranklens" / "config.yml", "news": ROOT / "examples" / "news" / "config.yml"}
SIZES = {
    "ranklens": {"items": 1000, "users": 1000, "rankings": 8000, "ranking_size": 24},
    "news": {"items": 1000, "users": 1000, "rankings": 8000, "ranking_size": 24},
}


def scenario_config(scenario: str, root: Path, backend: dict | None = None) -> Config:
    """The scenario's example config with its workdir, events and model path under ``root``."""
    raw = yaml.safe_load(CONFIGS[scenario].read_text())
    raw["bootstrap"].update(workdir=str(root / "workdir"), source={"type": "file", "path": str(root / "events")})
    raw["models"]["xgboost"]["path"] = str(root / "models" / "xgboost.model")
    if backend:
        raw["models"]["xgboost"]["backend"].update(backend)
    return parse_config(raw, env={})


def prepare(scenario: str, seed: int, root: Path, scale: float = 1.0) -> tuple[Config, Path]:
    """Generate the scenario's sample (``scale`` times its sizes) and bootstrap it: (config, truth path)."""
    sizes = {k: max(1, int(v * scale)) if k != "ranking_size" else v for k, v in SIZES[scenario].items()}
    summary = generate(root, seed=seed, scenario=scenario, **sizes)
    config = scenario_config(scenario, root)
    bootstrap_embedded(config)
    return config, summary.truth_path
