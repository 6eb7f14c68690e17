"""The Redis value store: pipelined ``HMGET`` reads, pipelined ``HSET`` + ``PEXPIRE`` writes, XADD feedback.

Every call is one round trip (writes: one per batch). Reads bypass redis-py's per-command pipeline
machinery: the ``HMGET`` commands are packed by hand (the fields part once per distinct field list) and the
replies are read straight from the connection (from redis-py's hiredis reader itself when it has one),
which turns ~100 commands into microseconds of Python.
Every call has a socket timeout (``inference.state.timeout``). Every failure to talk to Redis becomes
``StoreUnavailable`` (HTTP 503): redis-py's connection and timeout errors and the built-in ``OSError`` family
(``ConnectionResetError``, ``TimeoutError``) that the hiredis read path raises. A read that lost its connection
is retried once on a fresh one (idle pooled connections are dropped first), so the API recovers by itself when Redis comes back; a timeout is not
retried (a hung Redis costs one timeout, not two). A key holding another type (written by something else)
reads as missing. Feedback goes to the stream with ``XADD MAXLEN ~ max_feedback``: Redis trims whole
stream nodes, so the stream holds about ``max_feedback`` events (at most one node, ~100 events, more).
Writes follow the TTL rule of ``serving.store``: ``HSET`` the fields, then ``PEXPIRE key ttl NX`` (a new
key) and ``PEXPIRE key ttl GT`` (a key that would otherwise expire before its longest-lived field).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from serving.errors import StoreUnavailable
from serving.store import Item, Lookup, group_items

_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)
_BROKEN = (redis.ConnectionError, ConnectionError)
"""A dropped connection (EOF or reset): worth one retry on a fresh connection."""

try:  # the hiredis parser's "need more bytes" marker: reads use it directly when present (``_read_hiredis``)
    from redis._parsers.hiredis import NOT_ENOUGH_DATA as _NOT_ENOUGH_DATA
except ImportError:  # another redis-py layout: read through the public connection API
    _NOT_ENOUGH_DATA = None


class RedisValueStore:
    """redis-py (hiredis parser when installed) over one connection pool (thread-safe)."""

    blocking = True

    def __init__(
        self, host: str, port: int, db: int = 0, prefix: str = "rs", timeout: float = 1.0, batch: int = 1000,
        max_feedback: int = 1_000_000,
    ) -> None:  # fmt: skip
        self.name = f"redis {host}:{port}/{db}"
        self.stream = f"{prefix}@feedback"
        self.batch, self.timeout, self.max_feedback = batch, timeout, max_feedback
        self.client = redis.Redis(
            host=host,
            port=port,
            db=db,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[redis.ConnectionError],
        )
        self.tails: dict[tuple[str, ...], tuple[bytes, bytes]] = {}

    def get_many(self, lookups: Sequence[Lookup]) -> list[list[bytes | None]]:
        if not lookups:
            return []
        packed = self._pack_hmget(lookups)
        try:
            try:
                return self._round_trip(packed, lookups)
            except _BROKEN:  # the server went away: the idle pooled connections are stale too
                self.client.connection_pool.disconnect(inuse_connections=False)
                return self._round_trip(packed, lookups)
        except _DOWN as e:
            raise StoreUnavailable(self._reason(e)) from None

    def put_many(self, items: Iterable[Item]) -> int:
        count = 0
        pipe = self.client.pipeline(transaction=False)
        try:
            for key, (fields, ttl) in group_items(items).items():
                pipe.hset(key, mapping=fields)
                pipe.pexpire(key, ttl, nx=True)
                pipe.pexpire(key, ttl, gt=True)
                count += len(fields)
                if len(pipe) >= self.batch:
                    pipe.execute()
            pipe.execute()
        except _DOWN as e:
            raise StoreUnavailable(self._reason(e)) from None
        return count

    def append_feedback(self, events: Sequence[bytes]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(self.stream, {"event": event}, maxlen=self.max_feedback, approximate=True)
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

    def _pack_hmget(self, lookups: Sequence[Lookup]) -> bytes:
        """RESP for one ``HMGET key fields...`` per lookup; the part after the key is cached per field list."""
        tails, parts = self.tails, []
        for key, fields in lookups:
            tail = tails.get(fields := tuple(fields))
            if tail is None:
                tail = tails[fields] = _hmget_tail(fields)
            raw = key.encode()
            parts += (tail[0], b"%d\r\n" % len(raw), raw, tail[1])
        return b"".join(parts)

    def _round_trip(self, packed: bytes, lookups: Sequence[Lookup]) -> list[list[bytes | None]]:
        """Send the packed commands, read one reply per lookup; a key of another type reads as missing."""
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command([packed])
            if _fast_parser(conn):
                return _read_hiredis(conn._parser, lookups)
            out = []
            for _, fields in lookups:
                try:
                    out.append(conn.read_response())
                except redis.ResponseError:
                    out.append([None] * len(fields))
            return out
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def _reason(self, error: Exception) -> str:
        if isinstance(error, redis.TimeoutError | TimeoutError):
            text = f"no answer within {self.timeout * 1000:g} ms"
        else:
            text = str(error).split("\n")[0] or type(error).__name__
        return f"{self.name}: {text}"


def _hmget_tail(fields: Sequence[str]) -> tuple[bytes, bytes]:
    """(``*N`` header up to the key's length prefix, ``\\r\\n`` plus the packed fields)."""
    head = b"*%d\r\n$5\r\nHMGET\r\n$" % (len(fields) + 2)
    encoded = [f.encode() for f in fields]
    return head, b"\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in encoded)


def _fast_parser(conn) -> bool:
    """Whether the connection reads through redis-py's hiredis parser with nothing buffered ahead."""
    parser = getattr(conn, "_parser", None)
    return (
        _NOT_ENOUGH_DATA is not None
        and getattr(parser, "_reader", None) is not None
        and getattr(parser, "_next_response", None) is _NOT_ENOUGH_DATA
    )


def _read_hiredis(parser, lookups: Sequence[Lookup]) -> list[list[bytes | None]]:
    """One reply per lookup straight from the hiredis reader (redis-py's per-reply wrappers cost ~3 us each,
    a third of the read at 300 items); an error reply (a key of another type) reads as missing."""
    gets, fill, out = parser._reader.gets, parser.read_from_socket, []
    for _, fields in lookups:
        reply = gets()
        while reply is _NOT_ENOUGH_DATA:
            fill()
            reply = gets()
        if type(reply) is not list:
            if isinstance(reply, redis.ConnectionError):
                raise reply
            if isinstance(reply, redis.ResponseError):
                reply = [None] * len(fields)
        out.append(reply)
    return out
