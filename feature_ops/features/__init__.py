"""The registry of feature types: each module contributes its config class and its feature class."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from feature_ops.features.base import Feature, FeatureConfig
from feature_ops.features.boolean import BooleanConfig, BooleanFeature
from feature_ops.features.diversity import DiversityConfig, DiversityFeature
from feature_ops.features.field_match import FieldMatchConfig, FieldMatchFeature
from feature_ops.features.interacted_with import InteractedWithConfig, InteractedWithFeature
from feature_ops.features.interaction_count import InteractionCountConfig, InteractionCountFeature
from feature_ops.features.item_age import ItemAgeConfig, ItemAgeFeature
from feature_ops.features.local_time import LocalTimeConfig, LocalTimeFeature
from feature_ops.features.number import NumberConfig, NumberFeature
from feature_ops.features.position import PositionConfig, PositionFeature
from feature_ops.features.random_ import RandomConfig, RandomFeature
from feature_ops.features.rate import RateConfig, RateFeature
from feature_ops.features.referer import RefererConfig, RefererFeature
from feature_ops.features.relevancy import RelevancyConfig, RelevancyFeature
from feature_ops.features.string import StringConfig, StringFeature
from feature_ops.features.ua import UserAgentConfig, UserAgentFeature
from feature_ops.features.vector import VectorConfig, VectorFeature
from feature_ops.features.window_count import WindowCountConfig, WindowCountFeature
from feature_ops.features.word_count import WordCountConfig, WordCountFeature

REGISTRY: dict[type[FeatureConfig], type[Feature]] = {
    NumberConfig: NumberFeature,
    RateConfig: RateFeature,
    InteractionCountConfig: InteractionCountFeature,
    WindowCountConfig: WindowCountFeature,
    InteractedWithConfig: InteractedWithFeature,
    FieldMatchConfig: FieldMatchFeature,
    UserAgentConfig: UserAgentFeature,
    RefererConfig: RefererFeature,
    DiversityConfig: DiversityFeature,
    BooleanConfig: BooleanFeature,
    StringConfig: StringFeature,
    WordCountConfig: WordCountFeature,
    VectorConfig: VectorFeature,
    RelevancyConfig: RelevancyFeature,
    PositionConfig: PositionFeature,
    RandomConfig: RandomFeature,
    ItemAgeConfig: ItemAgeFeature,
    LocalTimeConfig: LocalTimeFeature,
}

FEATURE_TYPES = sorted(cls.model_fields["type"].annotation.__args__[0] for cls in REGISTRY)  # type: ignore[union-attr]

AnyFeatureConfig = Annotated[Union[tuple(REGISTRY)], Field(discriminator="type")]  # noqa: UP007


def build_feature(config: FeatureConfig) -> Feature:
    """The feature object for a validated feature config."""
    return REGISTRY[type(config)](config)
