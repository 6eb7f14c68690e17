"""Whether the state store answers, found out without ever blocking the event loop (``GET /health``).

One ping at a time runs on the probe's own thread; concurrent checks share it. A check waits until the
ping has been out ``wait`` seconds: a store that has not answered by then (a hung Redis keeps the ping until
its socket timeout) is reported as not answering, at once by the checks that come later, so ``/health``
stays fast whatever the store does.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future, ThreadPoolExecutor

from serving.errors import StoreUnavailable
from serving.store import ValueStore

WAIT = 0.05


class StoreProbe:
    """``await check()``: None when the store answered a ping, else why not."""

    def __init__(self, store: ValueStore, wait: float = WAIT) -> None:
        self.store, self.wait = store, wait
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="store-probe")
        self.ping: Future | None = None
        self.sent = 0.0

    async def check(self) -> str | None:
        if self.ping is None or self.ping.done():
            self.ping, self.sent = self.executor.submit(self._ping), time.monotonic()
        remaining = self.sent + self.wait - time.monotonic()
        if remaining > 0:
            await asyncio.wait([asyncio.wrap_future(self.ping)], timeout=remaining)
        if self.ping.done():
            return self.ping.result()
        return StoreUnavailable(f"{self.store.name}: no answer within {self.wait * 1000:g} ms").message

    def _ping(self) -> str | None:
        try:
            self.store.ping()
        except StoreUnavailable as e:
            return e.message
        return None

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
