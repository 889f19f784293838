"""``/ws/console``: the operator console's live feed from the hub.

Signed in by the session cookie (the console page) or ``Authorization: Bearer`` (API
clients and the latency benchmark). Refusals are close codes: 4401 not signed in,
4403 permission ``alerts.view`` missing or a cross-origin page. Opening the feed is
audited once; what it then shows is what the queue would list for the same operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from safecity.audit.context import AuditContext
from safecity.core.clock import new_request_id
from safecity.core.errors import NotAuthenticated
from safecity.identity.permissions import Principal
from safecity.web.hub import ConsoleHub, Listener, frame_of
from safecity.web.platform import Platform
from safecity.web.security import SESSION_COOKIE

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403

router = APIRouter()


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: its credential is its own
    return urlsplit(origin).netloc == websocket.headers.get("host")


def _bearer(websocket: WebSocket) -> str | None:
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authorise(
    platform: Platform, ctx: AuditContext, cookie: str | None, token: str | None
) -> Principal:
    """Who is asking and whether they may watch the alert queue; audits the opening."""
    try:
        with platform.transaction() as session:
            if token is not None:
                principal = platform.identity.resolve_token(session, token, ctx)
            elif cookie:
                principal = platform.identity.resolve_session(session, cookie, ctx)
            else:
                raise _Refused(CLOSE_NOT_SIGNED_IN, "sign in first")
    except NotAuthenticated as exc:
        raise _Refused(CLOSE_NOT_SIGNED_IN, exc.message) from exc
    if not principal.has_permission("alerts.view"):
        raise _Refused(CLOSE_FORBIDDEN, "permission 'alerts.view' is required")
    with platform.transaction() as session:
        platform.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="alert_console",
            summary="opened the live alert feed",
        )
    return principal


@router.websocket("/ws/console")
async def console_socket(websocket: WebSocket) -> None:
    platform: Platform = websocket.app.state.platform
    hub: ConsoleHub = websocket.app.state.hub
    await websocket.accept()
    if not _same_origin(websocket):
        await websocket.close(CLOSE_FORBIDDEN, "cross-origin console refused")
        return
    ctx = AuditContext(
        actor_id=None,
        actor_name="anonymous",
        request_id=new_request_id(),
        source_ip=websocket.client.host if websocket.client else None,
        purpose="Control-room monitoring",
    )
    try:
        principal = await asyncio.to_thread(
            authorise, platform, ctx, websocket.cookies.get(SESSION_COOKIE), _bearer(websocket)
        )
    except _Refused as refused:
        await websocket.close(refused.code, refused.reason)
        return
    listener = hub.connect(
        district_ids=principal.district_ids,
        camera_ids=principal.camera_ids,
        permissions=principal.permissions,
    )
    try:
        await websocket.send_text(json.dumps({"kind": "hello", "user": principal.username}))
        await _pump(websocket, listener)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.disconnect(listener)


async def _pump(websocket: WebSocket, listener: Listener) -> None:
    """Send what the hub queues until the console goes away."""
    closed = asyncio.create_task(_until_closed(websocket))
    sender = asyncio.create_task(_send_queued(websocket, listener))
    try:
        await asyncio.wait({closed, sender}, return_when=asyncio.FIRST_COMPLETED)
        if sender.done():
            sender.result()  # a failed send ends the feed with its error
    finally:
        for task in (closed, sender):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await asyncio.gather(closed, sender)


async def _send_queued(websocket: WebSocket, listener: Listener) -> None:
    """What fell due within a tick goes as one frame (a ``batch`` when several), so the
    sends per console stay bounded whatever the alert rate."""
    while True:
        messages = await listener.collect()
        if listener.take_stale():
            await websocket.send_text(json.dumps({"kind": "resync"}))
        await websocket.send_text(frame_of(messages))


async def _until_closed(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
