"""Request ids, security headers (CSP), body-size limits and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safecity.core.clock import new_request_id

CSRF_COOKIE = "safecity_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "safecity_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def content_security_policy(tile_url: str | None) -> str:
    img = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme and parts.netloc:
            host = parts.netloc.split("@")[-1]
            img += f" {parts.scheme}://{host.replace('a.', '*.', 1) if '{s}' in tile_url else host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        # Live view feeds the <video> through Media Source Extensions, a blob: URL.
        "media-src 'self' blob:; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


RASTER_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"
"""For a JPEG or PNG opened on its own (an alert's picture in a new tab): nothing may
load or run, but the browser's own viewer styles its page inline, which the pages'
policy would refuse (and report)."""


class SecurityHeadersMiddleware:
    """Adds a request id and the headers every response needs."""

    def __init__(self, app: ASGIApp, *, csp: str, https: bool) -> None:
        self.app = app
        self.csp = csp
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                raster = headers.get("content-type", "").startswith(("image/jpeg", "image/png"))
                headers["Content-Security-Policy"] = RASTER_CSP if raster else self.csp
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if self.https:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuses bodies over the limit before they are read into memory (413)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(scope, send, self.max_bytes)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer here rather than raise: the framework turns an error raised
                    # while it parses a body into its own 400. The app then sees the
                    # client gone, and whatever it answers after this is dropped.
                    refused = True
                    if not started:
                        await _too_large(scope, send, self.max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    # The one error shape, request id included (set by the outer SecurityHeadersMiddleware).
    error = {
        "code": "too_large",
        "message": f"upload larger than {limit // 1_000_000 or 1} MB is refused",
        "field": "file",
        "request_id": scope.get("state", {}).get("request_id"),
    }
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token_for(secret: str, cookie_value: str) -> str:
    return hmac.new(secret.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, cookie_value: str | None, token: str | None) -> bool:
    if not cookie_value or not token:
        return False
    return hmac.compare_digest(csrf_token_for(secret, cookie_value), token)
