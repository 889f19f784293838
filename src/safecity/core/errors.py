"""Base errors shared by every domain; the web layer maps them to one error shape."""

from __future__ import annotations


class SafecityError(Exception):
    """Base of every error the platform raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(SafecityError):
    """The object does not exist, or lies outside the caller's scope (scope never leaks)."""

    code = "not_found"
    status = 404


class PermissionDenied(SafecityError):
    code = "permission_denied"
    status = 403


class NotAuthenticated(SafecityError):
    code = "not_authenticated"
    status = 401


class Conflict(SafecityError):
    code = "conflict"
    status = 409


class PreconditionFailed(SafecityError):
    """A stale If-Match / version: someone else changed the object first."""

    code = "precondition_failed"
    status = 412


class PreconditionRequired(SafecityError):
    """A change that must name the version it was made against (If-Match) did not."""

    code = "precondition_required"
    status = 428


class InvalidInput(SafecityError):
    code = "invalid_input"
    status = 422


class TooManyRequests(SafecityError):
    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ConfigError(SafecityError):
    """A deployment file or setting is wrong; the message names file, line and field."""

    code = "config_error"
    status = 500
