"""``interacted_with``: how often the visitor recently interacted with items sharing this item's field values.

```yaml
- name: liked_genre
  type: interacted_with
  interaction: click
  field: item.genres        # or a list: [item.genres, item.actors] -> liked_genre_genres, liked_genre_actors
  scope: user               # user | session (required)
  count: 10                 # keep the visitor's last 10 interactions...
  duration: 24h             # ...that are at most 24h old
```
Item events store each item's field values (a string counts as a one-element list); a matching interaction
appends the interacted item's values (joined by the engine's item field store) to the visitor's bounded list.
The value per ranked item and field is the number of occurrences of the item's values among the visitor's
listed values: a count, so missing is 0. One column per field: ``<name>`` for one field, else
``<name>_<field>``. A value in the request's ``items[].fields`` overrides the stored item value.
Numbers count as their text (``42``, ``"42"`` and ``[42]`` are the same value). ``ttl`` applies to the
visitor lists; the item values never expire, like the item field store interactions are joined with (the
item's next event replaces them; ``base.FIELD_COPY_TTL``): a click's values stay matchable at ranking time.
"""

from __future__ import annotations

import math
from itertools import repeat
from typing import Literal

from pydantic import Field, field_serializer, field_validator

from feature_ops.features.base import Feature, FeatureConfig, field_strings, require_source, scope_id
from feature_ops.state import MEMO_LIMIT, list_values
from feature_ops.types import Duration, FieldRefType, parse_field_ref


class InteractedWithConfig(FeatureConfig):
    type: Literal["interacted_with"]
    interaction: str
    field: FieldRefType | list[FieldRefType]
    scope: str
    count: int = Field(10, gt=0)
    duration: Duration = 86_400_000

    @field_validator("field", mode="before")
    @classmethod
    def _item_fields(cls, field):
        refs = [parse_field_ref(f) for f in field] if isinstance(field, list) else [parse_field_ref(field)]
        if not refs:
            raise ValueError("interacted_with needs at least one item field")
        for ref in refs:
            require_source("interacted_with", ref, "item")
        names = {ref.field for ref in refs}
        for ref in refs:
            if f"{ref.field}_last" in names:  # <name>_<f>_last is both f's visitor list and f_last's item values
                raise ValueError(f"interacted_with fields '{ref}' and '{ref}_last' would share a state; drop one")
        return refs if isinstance(field, list) else refs[0]

    @field_serializer("field")
    def _dump_field(self, field):
        return [str(ref) for ref in field] if isinstance(field, list) else str(field)

    @field_validator("scope")
    @classmethod
    def _visitor_scope(cls, scope: str) -> str:
        if scope not in ("user", "session"):
            raise ValueError(f"interacted_with can only be scoped to user or session, got '{scope}'")
        return scope

    @property
    def fields(self) -> list[str]:
        refs = self.field if isinstance(self.field, list) else [self.field]
        return list(dict.fromkeys(ref.field for ref in refs))


class InteractedWithFeature(Feature):
    """Per field: a scalar of item values per item id and a bounded list of interacted values per visitor."""

    type_name = "interacted_with"
    config: InteractedWithConfig

    def __init__(self, config: InteractedWithConfig) -> None:
        super().__init__(config)
        self.fields = config.fields
        self.scope = config.scope
        self.item_states = [f"{self.name}_{f}" for f in self.fields]
        self.visitor_states = [f"{self.name}_{f}_last" for f in self.fields]
        single = len(self.fields) == 1
        self._columns = [self.name] if single else [f"{self.name}_{f}" for f in self.fields]
        self._counts = {state: VisitorCounts(config.duration) for state in self.visitor_states}

    def columns(self):
        return list(self._columns)

    def states(self):
        item = self.field_copy_spec()
        visitor = self.spec("list", count=self.config.count, duration=self.config.duration)
        return {**dict.fromkeys(self.item_states, item), **dict.fromkeys(self.visitor_states, visitor)}

    def item_fields(self):
        return frozenset(self.fields)

    def write_kinds(self):
        return frozenset({"item", "interaction"})

    def interaction_types(self):
        return frozenset({self.config.interaction})

    def writes(self, event):
        if event.kind == "item":
            return [
                (state, event.item, field_strings(event.fields[f]))
                for f, state in zip(self.fields, self.item_states, strict=True)
                if f in event.fields
            ]
        if event.kind != "interaction" or event.type != self.config.interaction:
            return ()
        sid = scope_id(self.scope, event)
        if sid is None:
            return ()
        out = []
        for f, state in zip(self.fields, self.visitor_states, strict=True):
            values = field_strings(event.item_fields.get(f))
            if values:
                out.append((state, sid, values))
        return out

    def key_scopes(self):
        return {**dict.fromkeys(self.item_states, "item"), **dict.fromkeys(self.visitor_states, self.scope)}

    def values(self, ctx):
        request, reader = ctx.request, ctx.reader
        sid = getattr(request, self.scope)
        columns = []
        for f, item_state, visitor_state in zip(
            self.fields, self.item_states, self.visitor_states, strict=True
        ):
            entries = reader.get(visitor_state, sid) if sid is not None else None
            seen = self._counts[visitor_state](sid, entries, ctx.now)
            if not seen:
                columns.append([0.0] * len(request.items))
                continue
            stored = reader.get_many(item_state, ctx.item_ids)
            for i in ctx.customized:
                own = request.items[i].fields.get(f)
                if own is not None:
                    stored[i] = field_strings(own)
            get = seen.get
            columns.append([float(sum(map(get, values, repeat(0)))) if values else 0.0 for values in stored])
        return columns


class VisitorCounts:
    """How often each value occurs in a visitor's bounded list at ``now``, with a memo per scope id.

    A pure accelerator: a hit needs the same list object (states are immutable) and a reading time that
    keeps exactly the same entries (between the newest dropped and the oldest kept entry's timestamps).
    """

    __slots__ = ("duration", "memo")

    def __init__(self, duration: int) -> None:
        self.duration, self.memo = duration, {}

    def __call__(self, sid: str | None, entries: tuple | None, now: int) -> dict[str, int]:
        oldest = now - self.duration if self.duration else None
        if len(self.memo) > MEMO_LIMIT:
            self.memo.clear()
        hit = self.memo.get(sid)
        if hit is not None and hit[0] is entries and (oldest is None or hit[1] < oldest <= hit[2]):
            return hit[3]
        counts: dict[str, int] = {}
        for values in list_values(entries, self.duration, now):
            for v in values:
                counts[v] = counts.get(v, 0) + 1
        dropped = [ts for ts, _ in entries or () if oldest is not None and ts < oldest]
        kept = [ts for ts, _ in entries or () if oldest is None or ts >= oldest]
        self.memo[sid] = (entries, max(dropped, default=-math.inf), min(kept, default=math.inf), counts)
        return counts
