"""``random``: a pseudo-random value in [0, 1) per ranked item, e.g. a baseline for feature importance.

```yaml
- name: noise
  type: random
  seed: 42        # optional, default 0
```
Unlike Metarank's unseeded ``random``, the value is a stable hash (BLAKE2b) of (seed, ranking id, item id),
so the API serves exactly the values the bootstrap put into the training rows for the same request, and
reruns are reproducible. Keeps no state.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Literal

from feature_ops.features.base import Feature, FeatureConfig

_SCALE = 1.0 / 2**64


class RandomConfig(FeatureConfig):
    type: Literal["random"]
    seed: int = 0


def stable_uniform(seed: int, ranking_id: str, item_id: str) -> float:
    """A value in [0, 1) that depends only on its arguments (not on PYTHONHASHSEED or the process)."""
    digest = blake2b(f"{seed}\x1f{ranking_id}\x1f{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") * _SCALE


class RandomFeature(Feature):
    """Hashes (seed, ranking id, item id) per item."""

    type_name = "random"
    config: RandomConfig

    def __init__(self, config: RandomConfig) -> None:
        super().__init__(config)
        self.prefix = f"{config.seed}\x1f".encode()

    def values(self, ctx):
        base = blake2b(self.prefix + ctx.request.id.encode() + b"\x1f", digest_size=8)
        out = []
        for item in ctx.request.items:
            h = base.copy()
            h.update(item.id.encode())
            out.append(int.from_bytes(h.digest(), "big") * _SCALE)
        return [out]
