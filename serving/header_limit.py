"""Refuses requests whose headers exceed ``inference.maxHeaderBytes`` with 431 and a JSON message.

uvicorn's httptools parser has no header limit of its own (its h11 parser gets the same limit through
``h11_max_incomplete_event_size``), so the check runs first in the app, before routing and any handler.
"""

from __future__ import annotations

from serving.errors import HeadersTooLarge, error_response


class HeaderLimit:
    """Pure ASGI middleware: header bytes counted as sent (``name: value\\r\\n`` per header)."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and sum(len(k) + len(v) + 4 for k, v in scope["headers"]) > self.limit:
            return await error_response(HeadersTooLarge(self.limit))(scope, receive, send)
        return await self.app(scope, receive, send)
