"""The engine's store over Flink keyed MapState (``feature_ops.store.Store`` protocol).

Values are arbitrary picklable Python objects; ``None`` means "absent". This module never imports
pyflink (the MapStates are duck-typed), so it is unit-tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

_ABSENT = object()  # cached: known to be absent (missing in state, or deleted)
_MISSING = object()  # not in the cache at all


class MapStateLike(Protocol):
    """The subset of pyflink's ``MapState`` that ``MapStateStore`` uses."""

    def get(self, key: str) -> Any: ...
    def is_empty(self) -> bool: ...
    def put_all(self, values: dict[str, Any]) -> None: ...
    def remove(self, key: str) -> None: ...
    def items(self) -> Iterable[tuple[str, Any]]: ...


def _unknown(namespace: str, known: Iterable[str]) -> KeyError:
    return KeyError(f"unknown state namespace {namespace!r}; declared namespaces: {sorted(known)}")


class MapStateStore:
    """Write-back cache over one Flink ``MapState<str, PICKLED_BYTE_ARRAY>`` per namespace.

    Reads go to a Python dict first and fall back to MapState (one JNI call per miss).
    Writes stay in the cache until ``flush()``, which issues one ``put_all`` per namespace
    plus one ``remove`` per deleted key. The host flushes after every record, so Flink
    state is complete at record boundaries and the cache is only an accelerator: after
    a restore it starts empty and everything is read back from MapState. A namespace's
    cache is dropped at flush once it holds more than ``max_cached`` keys.

    A namespace whose MapState was empty when first read (``is_empty``, one JNI call) is complete in
    the cache until it is dropped: a miss there is an absent key without asking MapState (a fresh
    bootstrap's every new scope id).
    """

    def __init__(self, states: Mapping[str, MapStateLike], max_cached: int = 500_000):
        self._states = dict(states)
        self._cache: dict[str, dict[str, Any]] = {ns: {} for ns in self._states}
        self._dirty: dict[str, set[str]] = {ns: set() for ns in self._states}
        self._max_cached = max_cached
        self._complete: dict[str, bool] = {}
        """Namespace -> whether its every stored key is in the cache (absent: not checked yet)."""

    def _cache_of(self, namespace: str) -> dict[str, Any]:
        try:
            return self._cache[namespace]
        except KeyError:
            raise _unknown(namespace, self._states) from None

    def get(self, namespace: str, key: str) -> Any:
        cache = self._cache_of(namespace)
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            return self._miss(namespace, cache, key)
        return None if value is _ABSENT else value

    def _miss(self, namespace: str, cache: dict[str, Any], key: str) -> Any:
        complete = self._complete.get(namespace)
        if complete is None:
            complete = self._complete[namespace] = self._states[namespace].is_empty()
        if complete:
            return None
        value = self._states[namespace].get(key)
        cache[key] = _ABSENT if value is None else value
        return value

    def getter(self, namespace: str) -> Callable[[str], Any]:
        """``get(namespace, ·)`` without the namespace lookup, valid until the next ``flush()``."""
        cache, miss = self._cache_of(namespace), self._miss

        def get(key: str) -> Any:
            value = cache.get(key, _MISSING)
            if value is _MISSING:
                return miss(namespace, cache, key)
            return None if value is _ABSENT else value

        return get

    def put(self, namespace: str, key: str, value: Any) -> None:
        self._cache_of(namespace)[key] = _ABSENT if value is None else value
        self._dirty[namespace].add(key)

    def delete(self, namespace: str, key: str) -> None:
        self.put(namespace, key, None)

    def items(self, namespace: str) -> Iterator[tuple[str, Any]]:
        cache = dict(self._cache_of(namespace))
        stored = [(k, v) for k, v in self._states[namespace].items() if k not in cache]
        merged = [(k, v) for k, v in cache.items() if v is not _ABSENT]
        return iter(merged + stored)

    def changed(self) -> dict[str, set[str]]:
        """The keys written or deleted since the last ``flush()``, per namespace (what the current record changed)."""
        return {namespace: set(dirty) for namespace, dirty in self._dirty.items() if dirty}

    def flush(self) -> None:
        """Write dirty keys through to MapState (one ``put_all`` per namespace)."""
        for namespace, dirty in self._dirty.items():
            if dirty:
                self._flush_namespace(namespace, dirty)
                dirty.clear()
            if len(self._cache[namespace]) > self._max_cached:
                self._cache[namespace] = {}
                self._complete[namespace] = False

    def _flush_namespace(self, namespace: str, dirty: set[str]) -> None:
        cache, state = self._cache[namespace], self._states[namespace]
        puts = {}
        for key in dirty:
            value = cache[key]
            if value is _ABSENT:
                state.remove(key)
            else:
                puts[key] = value
        if puts:
            state.put_all(puts)
