"""Whether the state store answers, found out without ever blocking the event loop (``GET /health``).

One ping at a time runs on the probe's own thread; concurrent checks share it, and a check waits for it at
most ``WAIT`` seconds. A ping still out after that answers with the previous ping's result until it has
been out ``OVERDUE`` seconds (one slow ping on a busy machine is no outage); after that the store is
reported as not answering, at once, until a ping comes back. So ``/health`` answers within ``WAIT`` whatever
the store does, and reports a hung store within ``OVERDUE`` (or its socket timeout, if shorter).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

from serving.errors import StoreUnavailable
from serving.store import ValueStore

log = logging.getLogger(__name__)
WAIT, OVERDUE = 0.05, 0.25


class StoreProbe:
    """``await check()``: None when the store answers pings, else why not."""

    def __init__(self, store: ValueStore, wait: float = WAIT, overdue: float = OVERDUE) -> None:
        self.store, self.wait, self.overdue = store, wait, overdue
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="store-probe")
        self.ping: Future | None = None
        self.sent = 0.0
        self.last: str | None = None

    async def check(self) -> str | None:
        if self.ping is None or self.ping.done():
            self.last = None if self.ping is None else self.ping.result()
            self.ping, self.sent = self.executor.submit(self._ping), time.monotonic()
        remaining = self.sent + self.wait - time.monotonic()
        if remaining > 0:
            await asyncio.wait([asyncio.wrap_future(self.ping)], timeout=remaining)
        if self.ping.done():
            return self.ping.result()
        if time.monotonic() - self.sent < self.overdue:
            return self.last
        return StoreUnavailable(f"{self.store.name}: no answer within {self.overdue * 1000:g} ms").message

    def _ping(self) -> str | None:
        try:
            self.store.ping()
        except StoreUnavailable as e:
            return e.message
        except Exception as e:  # left in the future, it would be raised by every later check: reported instead
            log.exception("ping of the state store failed")
            return StoreUnavailable(f"{self.store.name}: ping failed: {type(e).__name__}: {e}").message
        return None

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
