"""The optional bearer-token check (``inference.auth``): endpoints listed in ``auth.endpoints`` (default
``feedback``) need ``Authorization: Bearer <token>``; anything else is 401 with ``WWW-Authenticate: Bearer``.

The token comes from the environment variable ``auth.tokenEnv`` (read once at startup: an unset or empty
variable stops the API instead of serving unprotected) or from ``auth.token`` in the file.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

from feature_ops.config import AuthConfig, ConfigError
from serving.errors import Unauthorized


class Auth:
    """Checks the ``Authorization`` header of requests to the protected endpoints."""

    def __init__(self, token: bytes | None, endpoints: frozenset[str]) -> None:
        self.token = token
        self.endpoints = endpoints if token else frozenset()

    def check(self, endpoint: str, header: str | None) -> None:
        if endpoint not in self.endpoints:
            return
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthorized(f"/{endpoint} needs a bearer token: send Authorization: Bearer <token>")
        if not hmac.compare_digest(given.strip().encode(), self.token):
            raise Unauthorized(f"/{endpoint}: the bearer token is not valid")


def load_auth(config: AuthConfig | None, env: Mapping[str, str] | None = None) -> Auth:
    """The check for ``inference.auth`` (none configured: every endpoint is open)."""
    if config is None:
        return Auth(None, frozenset())
    token = (config.token or "").strip()  # a Secret file's trailing newline: no header could ever match it
    if config.tokenEnv is not None:
        token = (os.environ if env is None else env).get(config.tokenEnv, "").strip()
        if not token:
            raise ConfigError(f"inference.auth.tokenEnv: environment variable {config.tokenEnv} is not set or empty")
    if not token:
        raise ConfigError("inference.auth.token: must not be blank")
    return Auth(token.encode(), frozenset(config.endpoints))
