"""``field_match``: Jaccard similarity of a ranking field (the query) and an item field (e.g. the title).

```yaml
- name: query_title_match
  type: field_match
  rankingField: ranking.query
  itemField: item.title
  method: {type: ngram, language: en, n: 3}   # character n-grams of each analyzed term
  # method: {type: term, language: en}        # analyzed terms
```
Item events store the item's sorted unique tokens; at ranking time the query is analyzed the same way.
The value is |A ∩ B| / |A ∪ B|: NaN when the request has no query field, 0 when the item has no tokens.
A per-item ``items[].fields`` value of the item field overrides the stored tokens.
Fixes Metarank 0.4.1, which wrote tokens under one state name and read another (always 0), and whose
``term`` method required ``n``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from feature_ops.features.base import NAN, Feature, FeatureConfig
from feature_ops.parsers.text import analyzer, ngrams, term_set
from feature_ops.types import STRICT, FieldRefType

_QUERY_CACHE_SIZE = 4096


class _Method(BaseModel):
    model_config = STRICT
    language: str = "generic"

    @field_validator("language")
    @classmethod
    def _language(cls, language: str) -> str:
        analyzer(language)
        return language


class NgramMethod(_Method):
    type: Literal["ngram"]
    n: int = Field(ge=1)


class TermMethod(_Method):
    type: Literal["term"]


Method = Annotated[NgramMethod | TermMethod, Field(discriminator="type")]


class FieldMatchConfig(FeatureConfig):
    type: Literal["field_match"]
    rankingField: FieldRefType
    itemField: FieldRefType
    method: Method

    @field_validator("rankingField")
    @classmethod
    def _ranking_field(cls, ref):
        if ref.event != "ranking":
            raise ValueError(f"field_match rankingField must be a ranking field, got '{ref}'")
        return ref

    @field_validator("itemField")
    @classmethod
    def _item_field(cls, ref):
        if ref.event != "item":
            raise ValueError(f"field_match itemField must be an item field, got '{ref}'")
        return ref


def tokenizer(method: NgramMethod | TermMethod) -> Callable[[str], tuple[str, ...]]:
    """Text -> sorted unique tokens, as the method prescribes."""
    analyze = analyzer(method.language)
    if isinstance(method, NgramMethod):
        n = method.n
        return lambda text: tuple(ngrams(analyze(text), n))
    return lambda text: tuple(term_set(analyze(text)))


class FieldMatchFeature(Feature):
    """A scalar of sorted unique item tokens per item id; values compare them to the query's tokens."""

    type_name = "field_match"
    config: FieldMatchConfig

    def __init__(self, config: FieldMatchConfig) -> None:
        super().__init__(config)
        self.query_field = config.rankingField.field
        self.item_field = config.itemField.field
        self.tokens = tokenizer(config.method)
        self._queries: dict[str, frozenset[str]] = {}

    def states(self):
        return {self.name: self.spec("scalar")}

    def write_kinds(self):
        return frozenset({"item"})

    def writes(self, event):
        if event.kind != "item" or self.item_field not in event.fields:
            return ()
        text = _text(event.fields[self.item_field])
        return () if text is None else ((self.name, event.item, self.tokens(text)),)

    def key_scopes(self):
        return {self.name: "item"}

    def values(self, ctx):
        request = ctx.request
        text = _text(request.fields.get(self.query_field))
        if text is None:
            return [[NAN] * len(request.items)]
        query = self._query_tokens(text)
        size, get, name, field = len(query), ctx.reader.get, self.name, self.item_field
        column = []
        for item in request.items:
            own = _text(item.fields.get(field)) if item.fields else None
            tokens = self.tokens(own) if own is not None else get(name, item.id)
            if not tokens:
                column.append(0.0)
                continue
            common = 0
            for token in tokens:
                if token in query:
                    common += 1
            column.append(common / (size + len(tokens) - common))
        return [column]

    def _query_tokens(self, text: str) -> frozenset[str]:
        tokens = self._queries.get(text)
        if tokens is None:
            if len(self._queries) >= _QUERY_CACHE_SIZE:
                self._queries.clear()
            tokens = self._queries[text] = frozenset(self.tokens(text))
        return tokens


def _text(value) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    return None
