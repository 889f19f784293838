"""Turning HTML form posts into validated schemas, and errors back into the form."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

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
