"""``word_count``: how many whitespace-separated words a string field has, e.g. a title's length.

```yaml
- name: title_length
  type: word_count
  source: item.title        # or `field:`
  scope: item               # item | user | session | global | ranking; default from the source event
```
Stores the count, not the text. Missing values and non-string fields are NaN. Unlike Java's
``split("\\s+")`` (Metarank 0.4.1), an empty string has 0 words and leading whitespace adds none.
"""

from __future__ import annotations

from typing import Literal

from feature_ops.features.base import NAN
from feature_ops.features.number import FieldFeature, FieldFeatureConfig


class WordCountConfig(FieldFeatureConfig):
    type: Literal["word_count"]


class WordCountFeature(FieldFeature):
    """Stores the word count (a float) per scope id."""

    type_name = "word_count"

    def convert(self, value):
        return float(len(value.split())) if isinstance(value, str) else None

    def values(self, ctx):
        return [[NAN if v is None else v for v in self.raw_values(ctx)]]
