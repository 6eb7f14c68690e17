"""The API's limits and exposure settings: ``inference.maxItems``, ``maxHeaderBytes``, the bearer token of
``inference.auth`` and the defaults and config errors of these keys."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from feature_ops.config import ConfigError, parse_config
from serving.app import create_app
from serving.resources import load_resources
from tests.conftest import config_dict

TOKEN = "s3cret-token"
RANKING = {"id": "r", "timestamp": 1_700_000_000_000, "items": [{"id": "a"}, {"id": "b"}]}
CLICK = {"event": "interaction", "id": "f1", "timestamp": 1_700_000_000_000, "item": "a", "type": "click", "user": "u1"}


def config_with(sample, **inference):
    """The sample's config with memory state, only the noop model and these inference keys."""
    raw = config_dict(sample.config)
    raw["models"] = {"noop": {"type": "noop"}}
    raw["inference"].update(state={"type": "memory"}, **inference)
    return parse_config(raw, env={})


def client_for(config) -> TestClient:
    return TestClient(create_app(config, load_resources(config)))


# --- inference.maxItems --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("items", "status"), [(5, 200), (6, 413)])
def test_more_items_than_max_items_is_413(sample, items, status):
    with client_for(config_with(sample, maxItems=5)) as client:
        response = client.post("/rank/noop", json={**RANKING, "items": [{"id": f"i{n}"} for n in range(items)]})
    assert response.status_code == status
    if status == 413:
        assert response.json() == {"error": "request has 6 items, more than inference.maxItems (5)"}


# --- inference.maxHeaderBytes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "status"), [(700, 200), (1100, 431)])
def test_headers_above_max_header_bytes_are_431(sample, size, status):
    with client_for(config_with(sample, maxHeaderBytes=1000)) as client:
        response = client.get("/health", headers={"x-big": "a" * size})
    assert response.status_code == status
    if status == 431:
        assert response.json() == {"error": "request headers are larger than inference.maxHeaderBytes (1000 bytes)"}


# --- inference.auth ------------------------------------------------------------------------------------------

MISSING = "needs a bearer token: send Authorization: Bearer <token>"
AUTH = [
    ("feedback, no header", None, "post", "/feedback", None, 401, {"error": f"/feedback {MISSING}"}),
    ("feedback, wrong token", None, "post", "/feedback", "Bearer nope", 401,
     {"error": "/feedback: the bearer token is not valid"}),
    ("feedback, basic scheme", None, "post", "/feedback", f"Basic {TOKEN}", 401, {"error": f"/feedback {MISSING}"}),
    ("feedback, token", None, "post", "/feedback", f"Bearer {TOKEN}", 200, None),
    ("feedback, lower-case scheme", None, "post", "/feedback", f"bearer {TOKEN}", 200, None),
    ("rank is open by default", None, "post", "/rank/noop", None, 200, None),
    ("health is open by default", None, "get", "/health", None, 200, None),
    ("metrics is open by default", None, "get", "/metrics", None, 200, None),
    ("rank protected", ["rank", "metrics"], "post", "/rank/noop", None, 401, {"error": f"/rank {MISSING}"}),
    ("rank protected, token", ["rank", "metrics"], "post", "/rank/noop", f"Bearer {TOKEN}", 200, None),
    ("metrics protected", ["rank", "metrics"], "get", "/metrics", "Bearer x", 401,
     {"error": "/metrics: the bearer token is not valid"}),
    ("feedback left open", ["rank", "metrics"], "post", "/feedback", None, 200, None),
]  # fmt: skip


@pytest.mark.parametrize(("case", "endpoints", "method", "path", "header", "status", "body"), AUTH,
                         ids=[a[0] for a in AUTH])  # fmt: skip
def test_bearer_token(sample, monkeypatch, case, endpoints, method, path, header, status, body):
    monkeypatch.setenv("RS_TEST_TOKEN", TOKEN)
    auth = {"tokenEnv": "RS_TEST_TOKEN", **({"endpoints": endpoints} if endpoints else {})}
    headers = {"authorization": header} if header else {}
    with client_for(config_with(sample, auth=auth)) as client:
        payload = {"json": RANKING if path.startswith("/rank") else CLICK} if method == "post" else {}
        response = getattr(client, method)(path, headers=headers, **payload)
    assert response.status_code == status
    if status == 401:
        assert response.json() == body
        assert response.headers["www-authenticate"] == "Bearer"


def test_an_inline_token_works_too(sample):
    with client_for(config_with(sample, auth={"token": TOKEN})) as client:
        assert client.post("/feedback", json=CLICK).status_code == 401
        assert client.post("/feedback", json=CLICK, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_token_variable_stops_the_api(sample, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("RS_TEST_TOKEN", raising=False)
    else:
        monkeypatch.setenv("RS_TEST_TOKEN", value)
    with pytest.raises(ConfigError) as error:
        load_resources(config_with(sample, auth={"tokenEnv": "RS_TEST_TOKEN"}))
    assert str(error.value) == "inference.auth.tokenEnv: environment variable RS_TEST_TOKEN is not set or empty"


def test_a_token_with_a_trailing_newline_still_matches(sample, monkeypatch):
    # a variable filled from a Secret file keeps its newline: every /feedback was 401, whatever the client sent
    monkeypatch.setenv("RS_TEST_TOKEN", TOKEN + "\n")
    with client_for(config_with(sample, auth={"tokenEnv": "RS_TEST_TOKEN"})) as client:
        assert client.post("/feedback", json=CLICK, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    monkeypatch.setenv("RS_TEST_TOKEN", " \n")
    with pytest.raises(ConfigError, match="RS_TEST_TOKEN is not set or empty"):
        load_resources(config_with(sample, auth={"tokenEnv": "RS_TEST_TOKEN"}))
    with pytest.raises(ConfigError, match="inference.auth.token: must not be blank"):
        load_resources(config_with(sample, auth={"token": "  "}))


# --- defaults and config errors ------------------------------------------------------------------------------


def test_inference_defaults(sample):
    raw = config_dict(sample.config)
    raw["inference"] = {"source": {"type": "rest"}, "state": {"type": "redis"}}
    inference = parse_config(raw, env={}).inference
    assert (inference.host, inference.maxItems, inference.maxHeaderBytes) == ("127.0.0.1", 1000, 16384)
    assert (inference.auth, inference.feedback.maxLength, inference.state.timeout) == (None, 1_000_000, 500)


ONE_OF = "set exactly one of token and tokenEnv (the environment variable holding the token)"
CONFIG_ERRORS = [
    ({"auth": {"token": "a", "tokenEnv": "B"}}, f"config: inference.auth: {ONE_OF}"),
    ({"auth": {}}, f"config: inference.auth: {ONE_OF}"),
    ({"auth": {"token": "a", "endpoints": ["admin"]}},
     "config: inference.auth.endpoints[0]: input should be 'rank', 'feedback', 'health', 'metrics' or 'openapi', "
     "got 'admin'"),
    ({"maxItems": 0}, "config: inference.maxItems: input should be greater than 0, got 0"),
    ({"feedback": {"maxLength": -1}}, "config: inference.feedback.maxLength: input should be greater than 0, got -1"),
    ({"state": {"type": "redis", "timeout": "0ms"}}, "config: inference.state.timeout: duration must be positive, got '0ms'"),
]  # fmt: skip


@pytest.mark.parametrize(("inference", "message"), CONFIG_ERRORS)
def test_inference_config_errors_name_the_key(sample, inference, message):
    raw = config_dict(sample.config)
    raw["inference"].update(inference)
    with pytest.raises(ConfigError) as error:
        parse_config(raw, env={})
    assert str(error.value) == message
