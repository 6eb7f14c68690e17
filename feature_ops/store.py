"""The key-value store the engine keeps its records in, and its in-memory implementation.

Keys are ``(namespace, id)``: a namespace per named state (salted with the feature's config hash, so a
changed definition starts empty), an id per scope value (item id, user, session, ``global``, ...).
The Flink host implements the same protocol over keyed MapState.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol


class Store(Protocol):
    def get(self, namespace: str, key: str) -> Any | None: ...

    def getter(self, namespace: str) -> Callable[[str], Any | None]:
        """``get(namespace, ·)`` bound to one namespace, for reading many keys of it."""
        ...

    def put(self, namespace: str, key: str, value: Any) -> None: ...

    def delete(self, namespace: str, key: str) -> None: ...

    def items(self, namespace: str) -> Iterator[tuple[str, Any]]: ...

    def flush(self) -> None: ...


class MemoryStore:
    """Plain dicts, one per namespace."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def get(self, namespace: str, key: str) -> Any | None:
        ns = self.data.get(namespace)
        return None if ns is None else ns.get(key)

    def getter(self, namespace: str):
        """A fast ``key -> value`` lookup bound to one namespace's dict."""
        return self.data.setdefault(namespace, {}).get

    def put(self, namespace: str, key: str, value: Any) -> None:
        ns = self.data.get(namespace)
        if ns is None:
            ns = self.data[namespace] = {}
        ns[key] = value

    def delete(self, namespace: str, key: str) -> None:
        self.data.get(namespace, {}).pop(key, None)

    def items(self, namespace: str) -> Iterator[tuple[str, Any]]:
        return iter(list(self.data.get(namespace, {}).items()))

    def flush(self) -> None:
        return None
