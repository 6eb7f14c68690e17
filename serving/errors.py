"""The API's errors: one base class that knows its HTTP status; one handler renders every subclass.

Messages say what to fix and never carry stack traces.
"""

from __future__ import annotations

import orjson
from starlette.responses import Response


class ApiError(Exception):
    """An error the API reports as ``{"error": message}`` with ``status`` (and ``headers``)."""

    status = 500
    headers: dict[str, str] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class ModelNotConfigured(ApiError):
    status = 404

    def __init__(self, model: str) -> None:
        super().__init__(f"model '{model}' is not configured")


class Unauthorized(ApiError):
    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class PayloadTooLarge(ApiError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than inference.maxBodyBytes ({limit} bytes)")


class TooManyItems(ApiError):
    status = 413

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"request has {count} items, more than inference.maxItems ({limit})")


class HeadersTooLarge(ApiError):
    status = 431

    def __init__(self, limit: int) -> None:
        super().__init__(f"request headers are larger than inference.maxHeaderBytes ({limit} bytes)")


class ServiceUnavailable(ApiError):
    status = 503


class StoreUnavailable(ServiceUnavailable):
    """The state store did not answer; the client reconnects by itself on the next request."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"state store is unreachable: {reason}")


def error_response(error: ApiError) -> Response:
    """``{"error": message}`` with the error's status and headers."""
    return Response(orjson.dumps({"error": error.message}), error.status, error.headers, media_type="application/json")
