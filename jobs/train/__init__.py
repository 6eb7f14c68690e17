"""``rankstream train``: LambdaMART on the bootstrap dataset, evaluated against simple baselines.

Modules: ``data`` (Parquet -> grouped numpy arrays), ``split`` (train/test per ranking), ``metrics`` (NDCG,
MAP, MRR), ``boosters`` (XGBoost and LightGBM with per-iteration evaluation and early stopping),
``evaluate`` (model vs original order, random order and feature baselines), ``report`` (feature stats, JSON
report and NDCG plot) and ``command`` (the whole run for one or all models).
"""

from jobs.train.command import TrainResult, train_model, train_models
from jobs.train.errors import TrainError

__all__ = ["TrainError", "TrainResult", "train_model", "train_models"]
