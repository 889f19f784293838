"""Shapes shared by every API router."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from fastapi import Header
from pydantic import BaseModel, Field

from safecity.core.errors import InvalidInput, PreconditionRequired

T = TypeVar("T")


class Paginated(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching, across all pages")
    limit: int
    offset: int


def page_of(items: Sequence[T], *, limit: int, offset: int) -> Paginated[T]:
    """One page of a short list already in memory (districts, roles, agencies, tokens)."""
    return Paginated(
        items=list(items[offset : offset + limit]), total=len(items), limit=limit, offset=offset
    )


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERRORS = {
    401: {"model": ErrorResponse, "description": "Not signed in / bad token"},
    403: {"model": ErrorResponse, "description": "Permission missing"},
    404: {"model": ErrorResponse, "description": "Not found or outside your scope"},
    422: {"model": ErrorResponse, "description": "Invalid input"},
}


def if_match_version(
    if_match: str | None = Header(None, description='Expected version, e.g. "3" (412 if stale)'),
) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidInput("If-Match must hold the object's version number", field="If-Match")
    return int(value)


def required_if_match_version(
    if_match: str | None = Header(
        None,
        description='Required: the version you read, e.g. "3" (428 if missing, 412 if stale)',
    ),
) -> int:
    """For objects whose stale overwrite would do harm: the change must name its version."""
    version = if_match_version(if_match)
    if version is None:
        raise PreconditionRequired(
            'send the version you read in If-Match (e.g. If-Match: "3"), so a change made '
            "meanwhile by someone else is not overwritten",
            field="If-Match",
        )
    return version
