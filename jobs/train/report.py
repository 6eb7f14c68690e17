"""What a training run leaves beside the model: feature statistics, ``<model>.report.json`` and the
``<model>.ndcg.png`` learning curve (train/test NDCG per iteration, baselines as horizontal lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def feature_stats(X: np.ndarray, columns: list[str], weights: dict[str, float]) -> list[dict[str, Any]]:
    """Per column: zero, nonzero (not NaN) and NaN counts, and the booster's gain importance."""
    nan = np.isnan(X).sum(axis=0)
    zero = (X == 0).sum(axis=0)
    return [
        {"name": c, "zero": int(zero[i]), "nonzero": int(len(X) - zero[i] - nan[i]), "nan": int(nan[i]),
         "weight": weights.get(c, 0.0)}
        for i, c in enumerate(columns)
    ]  # fmt: skip


def format_stats(stats: list[dict[str, Any]], groups: int, rows: int) -> str:
    width = max(len(s["name"]) for s in stats)
    lines = [f"Feature stats (queries={groups:,}, items={rows:,}):"]
    for s in stats:
        lines.append(
            f"  {s['name'] + ':':<{width + 1}} zero={s['zero']} nonzero={s['nonzero']} nan={s['nan']} weight={s['weight']:.1f}"
        )
    return "\n".join(lines)


def report_paths(model_path: str | Path, model: str) -> tuple[Path, Path]:
    folder = Path(model_path).parent
    return folder / f"{model}.report.json", folder / f"{model}.ndcg.png"


def write_report(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else str(value)


def plot_curves(path: Path, model: str, metric: str, curves: dict[str, list[float]], baselines: dict[str, float],
                best: int) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for name, values in curves.items():
        ax.plot(range(len(values)), values, label=f"{name}")
    for i, (name, value) in enumerate(baselines.items()):
        ax.axhline(value, linestyle="--", linewidth=1, color=f"C{i + 2}", label=f"{name} (test)")
    ax.axvline(best, color="grey", linewidth=0.8, linestyle=":", label=f"best iteration {best}")
    ax.set(xlabel="iteration", ylabel=metric.upper(), title=f"{model}: {metric.upper()} per iteration")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
