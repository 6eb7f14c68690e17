"""``update``: the settings of the streaming update job (``rankstream update``), a top-level config section.

Metarank has no such section; every key has a default, so a Metarank config runs unchanged::

    update:
      checkpointInterval: 10s   # Flink checkpoints to <workdir>/checkpoints; a restart resumes from the latest
      errors: skip              # a bad message is counted and skipped; fail stops the job at it
      batchSize: 2048           # events per engine call at most...
      linger: 20ms              # ...and no event waits longer than this for its batch to fill
      pollInterval: 20ms        # inference.source type rest: how often the feedback stream is read when idle
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from feature_ops.types import STRICT, PositiveDuration


class UpdateConfig(BaseModel):
    model_config = STRICT
    checkpointInterval: PositiveDuration = 10_000
    errors: Literal["skip", "fail"] = "skip"
    batchSize: int = Field(2048, gt=0)
    linger: PositiveDuration = 20
    pollInterval: PositiveDuration = 20
