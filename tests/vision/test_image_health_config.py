"""The configuration refuses what it cannot mean and documents every field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from safecity.vision.image_health import (
    CoveredConfig,
    DefocusedConfig,
    FrozenConfig,
    ImageHealthConfig,
    MovedConfig,
    ReferenceConfig,
)


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every model nested in its fields."""
    found = [model]
    for field in model.model_fields.values():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found.extend(_models(nested))
    return found


def test_defaults_are_valid() -> None:
    config = ImageHealthConfig()
    assert config.analysis_width == 320
    assert config.moved.trigger > config.moved.release
    assert config.defocused.trigger < config.defocused.release


@pytest.mark.parametrize("model", _models(ImageHealthConfig), ids=lambda m: m.__name__)
def test_every_field_has_a_description(model: type[BaseModel]) -> None:
    missing = [name for name, field in model.model_fields.items() if not field.description]
    assert missing == []


@pytest.mark.parametrize("model", _models(ImageHealthConfig), ids=lambda m: m.__name__)
def test_unknown_fields_are_refused(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate({"thresold": 1})


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        # A larger score is worse: release must not lie above trigger.
        (CoveredConfig, {"trigger": 0.7, "release": 0.8}, "must not exceed trigger"),
        (MovedConfig, {"trigger": 0.02, "release": 0.05}, "must not exceed trigger"),
        # A smaller score is worse: release must not lie below trigger.
        (DefocusedConfig, {"trigger": 0.5, "release": 0.4}, "must not be below trigger"),
        (FrozenConfig, {"trigger": 0.01, "release": 0.001}, "must not be below trigger"),
        (ReferenceConfig, {"learning_samples": 3, "min_learning_samples": 4}, "exceeds"),
        (CoveredConfig, {"trigger": 1.5, "release": 0.7}, "less than or equal to 1"),
        (MovedConfig, {"raise_after_s": -1}, "greater than or equal to 0"),
        (ImageHealthConfig, {"analysis_width": 32}, "greater than or equal to 64"),
    ],
)
def test_contradictions_are_refused(
    model: type[BaseModel], values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(values)


def test_nested_sections_override_alone() -> None:
    config = ImageHealthConfig.model_validate({"moved": {"raise_after_s": 5}})
    assert config.moved.raise_after_s == 5
    assert config.moved.trigger == MovedConfig().trigger


def test_config_is_immutable() -> None:
    config = ImageHealthConfig()
    with pytest.raises(ValidationError, match="frozen"):
        config.analysis_width = 640  # type: ignore[misc]  # assigning is the point of the test
