"""Request bodies: read under ``inference.maxBodyBytes``, decoded as JSON, and a ranking request checked
against ``inference.maxItems`` before its items are parsed (so an oversized request is refused in the time
of one JSON decode)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from feature_ops.events import RankingEvent, parse_ranking_request
from serving.errors import BadRequest, PayloadTooLarge, TooManyItems


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes (by header, then while streaming)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("request body is empty: send a ranking request as a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"request body is not valid JSON: {e}") from None


def ranking_request(body: bytes, max_items: int) -> RankingEvent:
    """The ranking request in ``body``; more than ``max_items`` items is ``TooManyItems`` (413)."""
    doc = parse_json(body)
    items = doc.get("items") if isinstance(doc, dict) else None
    if isinstance(items, list) and len(items) > max_items:
        raise TooManyItems(len(items), max_items)
    return parse_ranking_request(doc)
