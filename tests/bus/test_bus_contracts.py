"""Bus messages: wire format, versioning, decode errors, and what may never travel on them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
from pydantic import Field, ValidationError
from tests.bus.bus_helpers import camera, site

from safecity.contracts import (
    SCHEMA_HEADER,
    VERSION_HEADER,
    CameraChanged,
    Message,
    MessageDecodeError,
    SiteChanged,
)

ALL_MESSAGES: list[type[Message]] = [CameraChanged, SiteChanged]


def test_encode_names_subject_schema_and_version() -> None:
    message = camera()
    envelope = message.encode()
    assert envelope.subject == "safecity.registry.camera.changed"
    assert envelope.headers == {SCHEMA_HEADER: "registry.camera.changed", VERSION_HEADER: "1"}
    body = json.loads(envelope.data)
    assert body["camera_id"] == 7
    assert body["message_id"] == message.message_id


@pytest.mark.parametrize("message", [camera(), site()], ids=["camera", "site"])
def test_decode_returns_an_equal_message(message: Message) -> None:
    envelope = message.encode()
    assert type(message).decode(envelope.data, envelope.headers) == message


def test_each_message_gets_its_own_id() -> None:
    assert camera().message_id != camera().message_id


def test_emitted_at_is_stored_in_utc() -> None:
    pkt = timezone(timedelta(hours=5))
    message = camera(emitted_at=datetime(2026, 3, 1, 17, 0, tzinfo=pkt))
    assert message.emitted_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert message.emitted_at.utcoffset() == timedelta(0)
    assert camera().emitted_at.tzinfo is not None


def test_naive_emitted_at_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        camera(emitted_at=datetime(2026, 3, 1, 12, 0))


def test_messages_are_frozen_and_strict() -> None:
    message = camera()
    with pytest.raises(ValidationError):
        message.status = "offline"  # type: ignore[misc]  # mypy knows it is frozen, too
    with pytest.raises(ValidationError, match="Extra inputs"):
        camera(stream_url="rtsp://admin:secret@10.0.0.5/main")
    with pytest.raises(ValidationError):
        camera(district="Peshawar City")
    with pytest.raises(ValidationError):
        site(latitude=120.0)


@pytest.mark.parametrize("model", ALL_MESSAGES, ids=lambda model: model.__name__)
def test_every_field_is_described(model: type[Message]) -> None:
    missing = [name for name, info in model.model_fields.items() if not info.description]
    assert missing == []


@pytest.mark.parametrize("model", ALL_MESSAGES, ids=lambda model: model.__name__)
def test_no_stream_address_or_credential_on_general_subjects(model: type[Message]) -> None:
    forbidden = ("url", "uri", "rtsp", "password", "secret", "token", "credential", "username")
    leaking = [name for name in model.model_fields if any(word in name for word in forbidden)]
    assert leaking == []


def _decode_error(data: bytes, headers: dict[str, str] | None) -> MessageDecodeError:
    with pytest.raises(MessageDecodeError) as caught:
        CameraChanged.decode(data, headers)
    assert caught.value.subject == "safecity.registry.camera.changed"
    assert "safecity.registry.camera.changed" in str(caught.value)
    return caught.value


def test_decode_rejects_a_payload_that_is_not_json() -> None:
    envelope = camera().encode()
    error = _decode_error(b"\xff not json", dict(envelope.headers))
    assert "json" in error.reason.lower()


def test_decode_rejects_missing_headers() -> None:
    envelope = camera().encode()
    assert SCHEMA_HEADER in _decode_error(envelope.data, None).reason
    only_schema = {SCHEMA_HEADER: "registry.camera.changed"}
    assert VERSION_HEADER in _decode_error(envelope.data, only_schema).reason


def test_decode_rejects_another_schema() -> None:
    envelope = site().encode()
    error = _decode_error(envelope.data, dict(envelope.headers))
    assert "registry.site.changed" in error.reason


def test_decode_rejects_an_unknown_newer_version() -> None:
    envelope = camera().encode()
    headers = {**envelope.headers, VERSION_HEADER: "2"}
    error = _decode_error(envelope.data, headers)
    assert "unknown schema version 2" in error.reason


def test_decode_reports_fields_but_not_their_values() -> None:
    body = json.loads(camera().encode().data)
    body["camera_id"] = "CNIC 17301-1234567-1"
    del body["code"]
    error = _decode_error(json.dumps(body).encode(), dict(camera().encode().headers))
    assert "camera_id" in error.reason
    assert "code" in error.reason
    assert "17301" not in str(error)


class _RenamedV2(Message):
    """A test type at version 2 that renamed ``label`` to ``name``."""

    subject: ClassVar[str] = "test.renamed"
    schema_version: ClassVar[int] = 2

    name: str = Field(description="Renamed from label in version 2.")

    @classmethod
    def upgrade(cls, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        if version == 1:
            return {**{k: v for k, v in payload.items() if k != "label"}, "name": payload["label"]}
        return super().upgrade(version, payload)


def test_an_older_version_is_upgraded_by_the_type() -> None:
    current = _RenamedV2(name="gate 4")
    old_body = {**json.loads(current.encode().data), "label": "gate 4"}
    del old_body["name"]
    headers = {SCHEMA_HEADER: "test.renamed", VERSION_HEADER: "1"}
    decoded = _RenamedV2.decode(json.dumps(old_body).encode(), headers)
    assert decoded == current


def test_an_older_version_without_upgrade_is_refused() -> None:
    envelope = camera().encode()
    headers = {**envelope.headers, VERSION_HEADER: "0"}
    assert "no longer readable" in _decode_error(envelope.data, headers).reason


@pytest.mark.parametrize("subject", ["", "camera", "Registry.Camera", "registry.*", "a.b c"])
def test_a_type_with_a_bad_subject_is_refused_when_defined(subject: str) -> None:
    with pytest.raises(TypeError, match="subject"):
        type("Bad", (Message,), {"__annotations__": {}, "subject": subject, "schema_version": 1})


def test_a_type_without_a_version_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match="schema_version"):
        type("Bad", (Message,), {"__annotations__": {}, "subject": "test.bad"})
