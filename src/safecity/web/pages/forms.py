"""Turning HTML form posts into validated schemas, and errors back into the form."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from safecity.core.clock import PKT, as_utc

M = TypeVar("M", bound=BaseModel)


async def form_dict(
    request: Request, *, drop: tuple[str, ...] = ("csrf_token", "version")
) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key in drop or not isinstance(value, str):
            continue
        data[key] = value
    return data


def validation_messages(exc: ValidationError) -> dict[str, str]:
    messages: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "__all__"
        messages.setdefault(field, error["msg"].removeprefix("Value error, "))
    return messages


def blank_to_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, str) and v.strip() == "" else v) for k, v in data.items()}


PKT_FORM_FORMAT = "%Y-%m-%dT%H:%M"
"""A form's datetime-local value, typed in Pakistan time."""


def pkt_field(text: str, field: str) -> datetime | None:
    """A time typed in Pakistan time (the form's datetime-local), as UTC; None if empty."""
    if not text:
        return None
    try:
        return as_utc(datetime.strptime(text, PKT_FORM_FORMAT).replace(tzinfo=PKT))
    except ValueError as exc:
        raise ValueError(f"{field}: use a time like 2026-11-22T14:30 (Pakistan time)") from exc
