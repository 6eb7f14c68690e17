"""Event source configs (``bootstrap.source``, ``inference.source``): file, kafka, pulsar, kinesis, rest.

Offsets: ``earliest``, ``latest``, ``ts=<epoch millis>``, ``last=<N><s|m|h|d>``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from feature_ops.types import STRICT, PathStr

_OFFSET = re.compile(r"earliest|latest|ts=[0-9]+|last=[0-9]+[smhd]")


def _check_offset(value: str) -> str:
    if not _OFFSET.fullmatch(value):
        raise ValueError(f"offset {value} is not supported, expected earliest, latest, ts=<millis> or last=<N><s|m|h|d>")
    return value


class _Source(BaseModel):
    model_config = STRICT

    @field_validator("offset", check_fields=False)
    @classmethod
    def _offset(cls, value: str) -> str:
        return _check_offset(value)


class FileSource(_Source):
    type: Literal["file"]
    path: PathStr
    offset: str = "earliest"


class KafkaSource(_Source):
    type: Literal["kafka"]
    brokers: list[str] = Field(min_length=1)
    topic: str
    groupId: str
    offset: str
    options: dict[str, str] = Field(default_factory=dict)


class PulsarSource(_Source):
    type: Literal["pulsar"]
    serviceUrl: str
    adminUrl: str
    topic: str
    subscriptionName: str
    subscriptionType: Literal["exclusive", "shared", "failover"]
    offset: str
    options: dict[str, str] = Field(default_factory=dict)


class KinesisSource(_Source):
    type: Literal["kinesis"]
    topic: str
    offset: str
    region: str
    endpoint: str | None = None
    options: dict[str, str] = Field(default_factory=dict)


class RestSource(_Source):
    type: Literal["rest"]
    bufferSize: int = Field(10_000, gt=0)
    host: str = "localhost"
    port: int = 8080


EventSource = Annotated[
    FileSource | KafkaSource | PulsarSource | KinesisSource | RestSource, Field(discriminator="type")
]
