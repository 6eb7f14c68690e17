"""The hand-written OpenAPI 3.1 description served at ``GET /openapi.json``."""

from __future__ import annotations

_FIELD = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {
        "name": {"type": "string"},
        "value": {
            "oneOf": [
                {"type": "string"}, {"type": "number"}, {"type": "boolean"},
                {"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "number"}},
            ]
        },
    },
}  # fmt: skip
_FIELDS = {"type": "array", "items": {"$ref": "#/components/schemas/Field"}}
_TIMESTAMP = {"oneOf": [{"type": "integer", "description": "epoch millis"}, {"type": "string", "format": "date-time"}]}
_RANK_ITEM = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string"}, "relevancy": {"type": "number"}, "fields": _FIELDS, "label": {"type": "number"}},
}
_RANK_REQUEST = {
    "type": "object",
    "required": ["id", "timestamp", "items"],
    "properties": {
        "id": {"type": "string"}, "timestamp": _TIMESTAMP,
        "user": {"type": "string"}, "session": {"type": "string"}, "fields": _FIELDS,
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/RankItem"}},
    },
}  # fmt: skip
_EVENT = {
    "type": "object",
    "description": "A Metarank event; required keys depend on 'event'",
    "required": ["event", "id", "timestamp"],
    "properties": {
        "event": {"enum": ["item", "metadata", "user", "ranking", "interaction"]},
        "id": {"type": "string"}, "timestamp": _TIMESTAMP, "item": {"type": "string"}, "user": {"type": "string"},
        "session": {"type": "string"}, "ranking": {"type": "string"}, "type": {"type": "string"}, "fields": _FIELDS,
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/RankItem"}},
    },
}  # fmt: skip
_NUMBERS = {"type": "object", "additionalProperties": {"type": ["number", "null"]}}
_RANK_RESPONSE = {
    "type": "object",
    "properties": {
        "took": {"type": "number", "description": "milliseconds"},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "item": {"type": "string"}, "score": {"type": "number"},
            "features": _NUMBERS, "contributions": _NUMBERS,
        }}},
    },
}  # fmt: skip
_FEEDBACK_RESPONSE = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer"}, "rejected": {"type": "integer"},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
}  # fmt: skip
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return {"description": description, **_json({"$ref": "#/components/schemas/Error"})}


SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "rankstream", "version": "1"},
    "paths": {
        "/rank/{model}": {"post": {
            "summary": "Rerank the request's items with a configured model",
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "explain", "in": "query", "schema": {"type": "boolean", "default": False}},
            ],
            "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/RankRequest"})},
            "responses": {
                "200": {"description": "items by descending score", **_json(_RANK_RESPONSE)},
                "400": _error("invalid JSON or a field that does not match the schema"),
                "401": _error("bearer token missing or wrong (only when inference.auth protects rank)"),
                "404": _error("model is not configured"),
                "413": _error("body larger than inference.maxBodyBytes or more items than inference.maxItems"),
                "431": _error("headers larger than inference.maxHeaderBytes"),
                "503": _error("state store unreachable (or no answer within inference.state.timeout) or model not loaded"),
            },
        }},
        "/feedback": {"post": {
            "summary": "Submit events: one JSON object, a JSON array, or newline-delimited JSON",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Event"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                ]}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }},
            "responses": {
                "200": {"description": "accepted and rejected counts", **_json(_FEEDBACK_RESPONSE)},
                "400": {"description": "empty body (an error) or no event accepted (the counts and reasons)",
                        **_json({"oneOf": [{"$ref": "#/components/schemas/Error"}, _FEEDBACK_RESPONSE]})},
                "401": _error("bearer token missing or wrong (inference.auth protects feedback by default)"),
                "413": _error("body larger than inference.maxBodyBytes"),
                "431": _error("headers larger than inference.maxHeaderBytes"),
                "503": _error("state store unreachable (or no answer within inference.state.timeout)"),
            },
        }},
        "/health": {"get": {"summary": "200 when every model is loaded and the store answers pings; never waits on the store over 50 ms", "responses": {
            "200": {"description": "healthy"}, "503": {"description": "reasons"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text format"}}}},
    },
    "components": {"schemas": {
        "Field": _FIELD, "RankItem": _RANK_ITEM, "RankRequest": _RANK_REQUEST, "Event": _EVENT, "Error": _ERROR,
    }},
}  # fmt: skip
