"""The Redis value store: MGET reads, pipelined ``SET key value PX ttl`` writes, XADD feedback.

Every call is one round trip. Connection errors become ``StoreUnavailable`` (HTTP 503); the connection
pool opens a fresh connection on the next call, so the API recovers by itself when Redis comes back.
Values are set with ``PX`` in the same command, so TTLs really apply (Metarank 0.4's MSET cleared them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from serving.errors import StoreUnavailable
from serving.store import Item

_DOWN = (redis.ConnectionError, redis.TimeoutError)


class RedisValueStore:
    """redis-py (hiredis parser when installed) over one connection pool."""

    def __init__(
        self, host: str, port: int, db: int = 0, prefix: str = "rs", timeout: float = 1.0, batch: int = 1000
    ) -> None:
        self.where = f"{host}:{port}/{db}"
        self.stream = f"{prefix}:feedback"
        self.batch = batch
        self.client = redis.Redis(
            host=host,
            port=port,
            db=db,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[redis.ConnectionError],
        )

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            return self.client.mget(keys)
        except _DOWN as e:
            raise StoreUnavailable(self._reason(e)) from None

    def put_many(self, items: Iterable[Item]) -> int:
        count = 0
        pipe = self.client.pipeline(transaction=False)
        try:
            for key, value, ttl in items:
                pipe.set(key, value, px=ttl)
                count += 1
                if len(pipe) >= self.batch:
                    pipe.execute()
            pipe.execute()
        except _DOWN as e:
            raise StoreUnavailable(self._reason(e)) from None
        return count

    def append_feedback(self, events: Sequence[bytes]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(self.stream, {"event": event})
        try:
            pipe.execute()
        except _DOWN as e:
            raise StoreUnavailable(self._reason(e)) from None
        return len(events)

    def ping(self) -> None:
        try:
            self.client.ping()
        except _DOWN as e:
            raise StoreUnavailable(self._reason(e)) from None

    def used_memory(self) -> int:
        try:
            return int(self.client.info("memory")["used_memory"])
        except _DOWN as e:
            raise StoreUnavailable(self._reason(e)) from None

    def close(self) -> None:
        self.client.close()

    def _reason(self, error: Exception) -> str:
        text = str(error).split("\n")[0] or type(error).__name__
        return f"redis {self.where}: {text}"
