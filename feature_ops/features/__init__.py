"""The registry of feature types: each module contributes its config class and its feature class."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from feature_ops.features.base import Feature, FeatureConfig
from feature_ops.features.interaction_count import InteractionCountConfig, InteractionCountFeature
from feature_ops.features.number import NumberConfig, NumberFeature
from feature_ops.features.rate import RateConfig, RateFeature

REGISTRY: dict[type[FeatureConfig], type[Feature]] = {
    NumberConfig: NumberFeature,
    RateConfig: RateFeature,
    InteractionCountConfig: InteractionCountFeature,
}

FEATURE_TYPES = sorted(cls.model_fields["type"].annotation.__args__[0] for cls in REGISTRY)  # type: ignore[union-attr]

AnyFeatureConfig = Annotated[Union[tuple(REGISTRY)], Field(discriminator="type")]  # noqa: UP007


def build_feature(config: FeatureConfig) -> Feature:
    """The feature object for a validated feature config."""
    return REGISTRY[type(config)](config)
