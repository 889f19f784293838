"""The envelope every bus message shares: naming, versioning and the wire format.

A message type is one pydantic model with a dotted ``subject`` (the NATS subject
is ``safecity.`` + subject) and an integer ``schema_version``. The payload is the
model as JSON; the schema name and version travel as headers, so a consumer can
refuse a payload it does not understand before parsing it, and an operator
reading the stream can tell what each message is without the Python classes.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from safecity.core.clock import utcnow
from safecity.core.errors import SafecityError

SUBJECT_PREFIX = "safecity"
SCHEMA_HEADER = "Safecity-Schema"
VERSION_HEADER = "Safecity-Version"

# Lower-case dotted tokens only: wildcards or spaces in a message type's subject
# would make its consumers filter on more (or less) than that one type.
_SUBJECT = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")
_MAX_REPORTED_ERRORS = 5
_NOT_IN_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


class MessageDecodeError(SafecityError):
    """A payload on a subject is not a message this build can read."""

    code = "invalid_message"
    status = 422

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"cannot decode a message on {subject}: {reason}")
        self.subject = subject
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """A message as it crosses the wire: the full NATS subject, headers and JSON bytes."""

    subject: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def _new_message_id() -> str:
    return uuid.uuid4().hex


class Message(BaseModel):
    """Base of every bus message. Subclasses set ``subject`` and ``schema_version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: ClassVar[str]
    schema_version: ClassVar[int]
    routing_field: ClassVar[str | None] = None
    """A field whose value ends the subject (``safecity.<subject>.<value>``), so a consumer
    can receive only one camera's messages; None: one subject for the whole type."""

    message_id: str = Field(
        default_factory=_new_message_id,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description=(
            "Unique id of this message; JetStream drops a second publish with the same id "
            "inside its duplicate window, so a retried publish is stored once."
        ),
    )
    emitted_at: AwareDatetime = Field(
        default_factory=utcnow,
        description="When the publisher produced the fact (UTC).",
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        subject = getattr(cls, "subject", None)
        if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
            raise TypeError(
                f"{cls.__name__}.subject must be lower-case dotted tokens such as "
                f"'registry.camera.changed', got {subject!r}"
            )
        version = getattr(cls, "schema_version", None)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise TypeError(f"{cls.__name__}.schema_version must be an int >= 1, got {version!r}")

    @field_validator("emitted_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @classmethod
    def bus_subject(cls) -> str:
        """The NATS subject this message type is published on."""
        return f"{SUBJECT_PREFIX}.{cls.subject}"

    @classmethod
    def subject_filter(cls, key: str | None = None) -> str:
        """What a consumer of this type filters on: every message, or those of one ``key``."""
        if cls.routing_field is None:
            if key is not None:
                raise ValueError(f"{cls.__name__} messages are not routed by key")
            return cls.bus_subject()
        return f"{cls.bus_subject()}.{routing_token(key)}" if key else f"{cls.bus_subject()}.>"

    def encode(self) -> Envelope:
        subject = self.bus_subject()
        if self.routing_field is not None:
            subject += "." + routing_token(str(getattr(self, self.routing_field)))
        return Envelope(
            subject=subject,
            data=self.model_dump_json().encode(),
            headers={SCHEMA_HEADER: self.subject, VERSION_HEADER: str(self.schema_version)},
        )

    @classmethod
    def decode(cls, data: bytes, headers: Mapping[str, str] | None) -> Self:
        """Parse ``data``; raise MessageDecodeError naming the subject when it is not readable."""
        subject = cls.bus_subject()
        found = dict(headers or {})
        schema = found.get(SCHEMA_HEADER)
        if schema != cls.subject:
            raise MessageDecodeError(
                subject, f"header {SCHEMA_HEADER}={schema!r}, expected {cls.subject!r}"
            )
        raw_version = found.get(VERSION_HEADER)
        if raw_version is None or not raw_version.isdigit():
            raise MessageDecodeError(
                subject, f"header {VERSION_HEADER}={raw_version!r} is missing or not a number"
            )
        version = int(raw_version)
        if version > cls.schema_version:
            raise MessageDecodeError(
                subject,
                f"unknown schema version {version}: this build reads up to "
                f"{cls.schema_version} (upgrade the consumer)",
            )
        try:
            if version == cls.schema_version:
                return cls.model_validate_json(data)
            payload = json.loads(data)
            if not isinstance(payload, dict):
                raise MessageDecodeError(subject, "payload is not a JSON object")
            return cls.model_validate_json(json.dumps(cls.upgrade(version, payload)))
        except ValidationError as exc:
            raise MessageDecodeError(subject, _summarise(exc)) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise MessageDecodeError(subject, f"payload is not JSON: {exc}") from exc

    @classmethod
    def upgrade(cls, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Turn an older version's payload into the current shape.

        Messages published before a rolling upgrade stay in the stream, so a type
        that bumps ``schema_version`` overrides this for the versions it still reads.
        """
        raise MessageDecodeError(
            cls.bus_subject(),
            f"schema version {version} is no longer readable (current {cls.schema_version})",
        )


def routing_token(value: str) -> str:
    """``value`` as one subject token: characters a subject cannot hold become ``_``.

    Two values may share a token (``A.1`` and ``A_1``); a consumer still checks the
    field itself, so sharing costs a delivery, never a wrong action.
    """
    token = _NOT_IN_TOKEN.sub("_", value)
    if not token:
        raise ValueError("a routing key cannot be empty")
    return token


def _summarise(exc: ValidationError) -> str:
    # Field paths and reasons only: inputs may carry personal data and end up in logs.
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [
        f"{'.'.join(str(part) for part in error['loc']) or '(payload)'}: {error['msg']}"
        for error in errors[:_MAX_REPORTED_ERRORS]
    ]
    if len(errors) > _MAX_REPORTED_ERRORS:
        parts.append(f"and {len(errors) - _MAX_REPORTED_ERRORS} more")
    return "; ".join(parts)
