"""Registry input shapes: what a camera and a site may look like (validation does no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from safecity.registry.schemas import CameraCreate, CameraUpdate, PrivacyMask, SiteCreate

TRIANGLE = [[0.1, 0.1], [0.5, 0.1], [0.3, 0.4]]


def camera(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"code": "PSH-C0001", "site": "PSH-S001", "name": "Gate"}
    values.update(changes)
    return values


def _errors(values: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        CameraCreate.model_validate(values)
    return [
        (".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
        for e in caught.value.errors()
    ]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1920x1080", (1920, 1080)),
        ("1280 x 720", (1280, 720)),
        ("3840X2160", (3840, 2160)),
        ("704\u00d7576", (704, 576)),  # the multiplication sign spreadsheets use
        ("", None),
    ],
)
def test_resolution_text(text: str, size: tuple[int, int] | None) -> None:
    assert CameraCreate.model_validate(camera(resolution=text)).resolution == size


@pytest.mark.parametrize("text", ["1920", "1920x", "HD", "1920x1080p", "1920*1080", "-1x-1"])
def test_bad_resolution_is_refused(text: str) -> None:
    assert _errors(camera(resolution=text)) == [
        ("resolution", "resolution must look like 1920x1080")
    ]


@pytest.mark.parametrize("text", ["00x00", "10x10", "1920x00", "99999x1080"])
def test_impossible_resolution_is_refused(text: str) -> None:
    assert _errors(camera(resolution=text)) == [
        ("resolution", "resolution must be between 160x120 and 16384x16384")
    ]


@pytest.mark.parametrize(
    "masks",
    [
        [{"points": TRIANGLE, "label": "windows"}],
        [TRIANGLE],
        f'[{{"points": {TRIANGLE}, "label": "windows"}}]',
        f"[{TRIANGLE}]",
    ],
)
def test_privacy_masks_as_list_or_json_text(masks: object) -> None:
    parsed = CameraCreate.model_validate(camera(privacy_masks=masks)).privacy_masks
    assert len(parsed) == 1
    assert parsed[0].points == [tuple(p) for p in TRIANGLE]


@pytest.mark.parametrize("empty", ["", "  ", "[]", []])
def test_no_privacy_masks(empty: object) -> None:
    assert CameraCreate.model_validate(camera(privacy_masks=empty)).privacy_masks == []


@pytest.mark.parametrize(
    ("masks", "field", "reason"),
    [
        ([[[0.1, 0.1], [0.5, 0.1]]], "privacy_masks.0.points", "at least 3 items"),
        (
            [[[0.1, 0.1], [1.5, 0.1], [0.3, 0.4]]],
            "privacy_masks.0.points.1.0",
            "less than or equal",
        ),
        ([[[0.1, -0.1], [0.5, 0.1], [0.3, 0.4]]], "privacy_masks.0.points.0.1", "greater than"),
        ("[[0.1, 0.1], oops]", "privacy_masks", "not valid JSON"),
        ([{"points": TRIANGLE, "colour": "red"}], "privacy_masks.0.colour", "Extra inputs"),
    ],
)
def test_bad_privacy_masks_are_refused(masks: object, field: str, reason: str) -> None:
    ((loc, message),) = _errors(camera(privacy_masks=masks))
    assert loc == field
    assert reason in message


def test_privacy_mask_is_immutable() -> None:
    mask = PrivacyMask.model_validate({"points": TRIANGLE})
    with pytest.raises(ValidationError):
        mask.label = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("ownership", ["private", "school", "Private", " SCHOOL "])
def test_private_and_school_cameras_need_an_owner(ownership: str) -> None:
    ((loc, message),) = _errors(camera(ownership=ownership))
    assert loc == ""
    assert message == f"a {ownership.strip().lower()} camera needs an owner"
    accepted = CameraCreate.model_validate(camera(ownership=ownership, owner="Pearl Hotel"))
    assert accepted.owner == "Pearl Hotel"


def test_public_camera_needs_no_owner() -> None:
    assert CameraCreate.model_validate(camera(ownership="public")).owner is None


@pytest.mark.parametrize("given", [{"latitude": 34.0}, {"longitude": 71.5}])
def test_latitude_and_longitude_come_together(given: dict[str, float]) -> None:
    assert _errors(camera(**given)) == [("", "give both latitude and longitude, or neither")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "bad code"}, "code"),
        ({"code": "-starts-with-dash"}, "code"),
        ({"code": "X" * 41}, "code"),
        ({"name": ""}, "name"),
        ({"fps": 0}, "fps"),
        ({"fps": 121}, "fps"),
        ({"codec": "vp9"}, "codec"),
        ({"status": "broken"}, "status"),
        ({"ownership": "rented"}, "ownership"),
        ({"latitude": 91, "longitude": 71.5}, "latitude"),
        ({"latitude": 34.0, "longitude": 181}, "longitude"),
        ({"main_stream_url": "ftp://10.0.0.1/x"}, "main_stream_url"),
        ({"sub_stream_url": "rtsp://10.0.0.1/a b"}, "sub_stream_url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_field_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    assert [loc for loc, _ in _errors(camera(**changes))] == [field]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("yes", True), ("Y", True), ("1", True), ("no", False), ("", False), ("false", False)],
)
def test_ptz_accepts_spreadsheet_words(given: str, expected: bool) -> None:
    assert CameraCreate.model_validate(camera(ptz=given)).ptz is expected


def test_choices_are_normalised() -> None:
    parsed = CameraCreate.model_validate(
        camera(status="Online", codec=" H265 ", ownership="School", owner="Govt High School")
    )
    assert (parsed.status, parsed.codec, parsed.ownership) == ("online", "h265", "school")


def test_empty_stream_url_means_none() -> None:
    assert CameraCreate.model_validate(camera(main_stream_url="  ")).main_stream_url is None


def test_update_keeps_what_is_not_given() -> None:
    update = CameraUpdate.model_validate({"status": "offline"})
    assert update.model_dump(exclude_unset=True) == {"status": "offline"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"site_type": "stadium"}, "site_type"),
        ({"latitude": -91}, "latitude"),
        ({"district": ""}, "district"),
        ({"phase": 0}, "phase"),
        ({"power_source": "wind"}, "power_source"),
    ],
)
def test_site_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "code": "PSH-S900",
        "name": "Test",
        "district": "peshawar",
        "site_type": "Bus Terminal",
        "latitude": 34.0,
        "longitude": 71.5,
    }
    assert SiteCreate.model_validate(values).site_type == "bus_terminal"
    values.update(changes)
    with pytest.raises(ValidationError) as caught:
        SiteCreate.model_validate(values)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]
