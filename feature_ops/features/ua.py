"""``ua``: one-hot platform, OS, browser or bot flag parsed from a ranking's user-agent field.

```yaml
- name: platform
  type: ua
  source: ranking.ua    # the request field holding the User-Agent header
  field: platform       # platform | os | browser | bot
```
Columns ``<name>_<value>`` over the field's vocabulary: platform mobile, desktop, tablet; os iOS, Android,
Windows, Mac OS X, Linux, Chrome OS; browser safari, chrome, other, edge, firefox, opera, ie; bot a single
``<name>_bot``. A missing field or an unknown value gives all zeros. No state: parsed from the request.
Fixes Metarank, whose os columns were always zero (its parser's values did not match the vocabulary).
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from feature_ops.features.base import Feature, FeatureConfig, require_source
from feature_ops.parsers.useragent import BROWSERS, OPERATING_SYSTEMS, PLATFORMS, parse_user_agent
from feature_ops.types import FieldRefType

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "platform": PLATFORMS,
    "os": OPERATING_SYSTEMS,
    "browser": BROWSERS,
    "bot": ("bot",),
}


class UserAgentConfig(FeatureConfig):
    type: Literal["ua"]
    source: FieldRefType
    field: Literal["platform", "os", "browser", "bot"]

    @field_validator("source")
    @classmethod
    def _ranking_source(cls, ref):
        return require_source("ua", ref, "ranking")


class UserAgentFeature(Feature):
    """Parses the request's user agent once per ranking; every ranked item gets the same one-hot row."""

    type_name = "ua"
    config: UserAgentConfig

    def __init__(self, config: UserAgentConfig) -> None:
        super().__init__(config)
        self.source_field = config.source.field
        self.field = config.field
        self.vocabulary = VOCABULARIES[config.field]
        self.index = {value: i for i, value in enumerate(self.vocabulary)}
        self._columns = [f"{self.name}_{value}" for value in self.vocabulary]

    def columns(self):
        return list(self._columns)

    def hot(self, agent: object) -> int | None:
        """The vocabulary index a user-agent string maps to, or None."""
        if not isinstance(agent, str):
            return None
        parsed = parse_user_agent(agent)
        if self.field == "bot":
            return 0 if parsed.bot else None
        return self.index.get(getattr(parsed, self.field))

    def values(self, ctx):
        n = len(ctx.request.items)
        hot = self.hot(ctx.request.fields.get(self.source_field))
        return [[1.0] * n if i == hot else [0.0] * n for i in range(len(self.vocabulary))]
