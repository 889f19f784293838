"""Live view: one camera or a video wall, fragmented MP4 over a WebSocket into MSE.

The stream is the camera's own (sub stream, else main), remuxed without
decoding (DESIGN.md "Deployment modes"). Where the camera has privacy masks and
the viewer may not see past them, the frames are decoded, the masked polygons
filled black and re-encoded for this viewer only; the camera's stream and the
recordings stay untouched. Every live view is audited with the session's purpose.

WebSocket protocol: a JSON text message ``{"codec": "avc1.PPCCLL", "masked": bool}``,
then binary messages: the init segment (``ftyp`` + ``moov``), then media
fragments (``moof`` + ``mdat``), starting at a key frame. Refusals close the
socket with 4401 (not signed in), 4403 (no ``footage.view``), 4404 (unknown or
out of scope: the two are never told apart), 4422 (no stream configured).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any
from urllib.parse import urlsplit

import av
import numpy as np
from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from numpy.typing import NDArray

from safecity.audit.context import AuditContext
from safecity.core.clock import new_request_id
from safecity.core.errors import NotAuthenticated, NotFound, PermissionDenied
from safecity.identity.permissions import get_in_scope, restrict
from safecity.ingest.source import open_options, pyav_target, scrub, source_kind
from safecity.registry.models import Camera
from safecity.registry.privacy import Polygons, mask_matrix, mask_note, viewer_masks
from safecity.registry.schemas import CameraPublic
from safecity.registry.service import camera_public
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.platform import Platform
from safecity.web.security import SESSION_COOKIE
from safecity.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

LAYOUTS = {"2x2": 2, "3x3": 3, "4x4": 4}
CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_NO_STREAM = 4422
CLOSE_STREAM_FAILED = 1011
DEFAULT_CODEC = "avc1.42E01E"  # Constrained Baseline 3.0: what MSE accepts if nothing better
READ_TIMEOUT_SECONDS = 5.0
# Fragments sent but not yet written to the socket; past this the viewer is too slow.
QUEUE_LIMIT = 64
MUX_OPTIONS = {
    # One fragment per frame: the muxer flushes the previous frame as the next arrives.
    "movflags": "empty_moov+default_base_moof+frag_keyframe+frag_every_frame",
    "flush_packets": "1",
}
ENCODE_OPTIONS = {"preset": "ultrafast", "tune": "zerolatency"}


class LiveRefused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class LivePlan:
    """What one authorised viewer gets: the source URL and the masks to burn in."""

    url: str
    masks: Polygons


# -- pages ---------------------------------------------------------------------------------------


@router.get("/cameras/{camera_id}/live")
def live_page(
    request: Request, camera_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("footage.view")
    with platform.transaction() as session:
        camera = get_in_scope(session, Camera, principal, "footage.view", camera_id)
        masked = bool(viewer_masks(camera, principal))
        public = camera_public(camera)
    return render(request, "live.html", {"camera": public, "masked": masked}, principal=principal)


@dataclass(frozen=True)
class WallTile:
    asked: str
    """What the operator chose for this position: a camera code (or, in old links, an id)."""
    camera: CameraPublic | None
    """None for an empty position, or a choice not found in the operator's scope."""


def _wall_choices(tile: list[str] | None, cameras: str, count: int) -> list[str]:
    # ``tile`` (one per position, from the picker) wins over the older ``cameras`` list.
    chosen = tile if tile is not None else cameras.split(",") if cameras else []
    return [value.strip()[:40] for value in chosen[:count]]


@router.get("/wall")
def wall_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    layout: str = "2x2",
    cameras: str = "",
    tile: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """A wall of ``layout`` tiles, each chosen by camera code: the URL is the bookmark."""
    principal.require("footage.view")
    side = LAYOUTS.get(layout, 2)
    layout = f"{side}x{side}"
    asked = _wall_choices(tile, cameras, side * side)
    stmt = restrict(Camera, principal, "footage.view")
    with platform.transaction() as session:
        in_scope = list(session.scalars(stmt.order_by(Camera.code)))
        by_code = {c.code.upper(): c for c in in_scope}
        by_id = {str(c.id): c for c in in_scope}
        if not any(asked):
            # A first visit: the first cameras of the operator's area, by code.
            asked = [c.code for c in in_scope[: side * side]]
        # A code out of scope is shown as unavailable, exactly like one that does not exist.
        found = [by_code.get(value.upper()) or by_id.get(value) for value in asked]
        tiles = [
            WallTile(value, camera_public(c) if c is not None else None)
            for value, c in zip(asked, found, strict=True)
        ]
        choices = [(c.code, c.name) for c in in_scope]
    tiles += [WallTile("", None)] * (side * side - len(tiles))
    return render(
        request,
        "wall.html",
        {
            "tiles": tiles,
            "shown": sum(1 for t in tiles if t.camera is not None),
            "layout": layout,
            "side": side,
            "layouts": list(LAYOUTS),
            "choices": choices,
        },
        principal=principal,
    )


# -- authorisation -------------------------------------------------------------------------------


def authorise(
    platform: Platform, cookie: str | None, ctx: AuditContext, camera_id: int
) -> LivePlan:
    """Who is asking, may they watch this camera, and from which URL; audits the view."""
    if not cookie:
        raise LiveRefused(CLOSE_NOT_SIGNED_IN, "sign in first")
    try:
        with platform.transaction() as session:
            principal = platform.identity.resolve_session(session, cookie, ctx)
    except NotAuthenticated as exc:
        raise LiveRefused(CLOSE_NOT_SIGNED_IN, exc.message) from exc
    if not principal.has_permission("footage.view"):
        raise LiveRefused(CLOSE_FORBIDDEN, "permission 'footage.view' is required")
    with platform.transaction() as session:
        try:
            camera = get_in_scope(session, Camera, principal, "footage.view", camera_id)
        except (NotFound, PermissionDenied) as exc:
            raise LiveRefused(CLOSE_NOT_FOUND, f"camera {camera_id} not found") from exc
        encrypted = camera.sub_stream_enc or camera.main_stream_enc
        if not encrypted:
            raise LiveRefused(CLOSE_NO_STREAM, f"camera {camera.code} has no stream URL")
        masks = viewer_masks(camera, principal)
        platform.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="live",
            object_id=camera.id,
            district=camera.district.slug,
            summary=f"watched camera {camera.code} live" + mask_note(camera, principal),
        )
        url = platform.cipher.decrypt(encrypted)
    return LivePlan(url=url, masks=masks)


# -- the stream ----------------------------------------------------------------------------------


class _Sink:
    """A write-only file for PyAV's muxer that hands over what was written since last asked."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def codec_string(init_segment: bytes) -> str:
    """``avc1.PPCCLL`` from the avcC box of an init segment (profile, constraints, level)."""
    at = init_segment.find(b"avcC")
    if at < 0 or len(init_segment) < at + 8:
        return DEFAULT_CODEC
    profile, constraints, level = init_segment[at + 5 : at + 8]
    return f"avc1.{profile:02X}{constraints:02X}{level:02X}"


def boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Top-level MP4 boxes of ``data`` as (type, whole box)."""
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if size < 8:
            return
        yield data[at + 4 : at + 8], data[at : at + size]
        at += size


Emit = Callable[[str | bytes], bool]
"""Hands one message to the socket; False once the viewer has gone."""


def pump(plan: LivePlan, emit: Emit, stop: threading.Event) -> None:
    """Blocking: read the camera and emit codec, init segment and fragments until ``stop``."""
    url = plan.url
    options = open_options(source_kind(url), READ_TIMEOUT_SECONDS)
    source = av.open(pyav_target(url), options=options, timeout=READ_TIMEOUT_SECONDS)
    try:
        in_stream = source.streams.video[0]
        sink = _Sink()
        output = av.open(sink, mode="w", format="mp4", options=MUX_OPTIONS)
        try:
            if plan.masks:
                _pump_masked(source, in_stream, output, sink, plan, emit, stop)
            else:
                _pump_copy(source, in_stream, output, sink, emit, stop)
        finally:
            with contextlib.suppress(Exception):
                output.close()
    finally:
        source.close()


def _send_new(sink: _Sink, emit: Emit, masked: bool, started: list[bool]) -> bool:
    data = sink.take()
    if not data:
        return True
    if not started:
        started.append(True)
        header = json.dumps({"codec": codec_string(data), "masked": masked})
        if not emit(header):
            return False
        # The init segment alone, then the fragments one message each.
        init = b"".join(box for kind, box in boxes(data) if kind in (b"ftyp", b"moov"))
        rest = data[len(init) :]
        return emit(init) and (not rest or emit(rest))
    return emit(data)


def _pump_copy(
    source: Any, in_stream: Any, output: Any, sink: _Sink, emit: Emit, stop: threading.Event
) -> None:
    out_stream = output.add_stream_from_template(in_stream)
    origin: int | None = None
    last_dts: int | None = None
    started: list[bool] = []
    for packet in source.demux(in_stream):
        if stop.is_set():
            return
        if packet.dts is None and packet.pts is None:
            continue
        if origin is None:
            if not packet.is_keyframe:
                continue  # a viewer starts at a key frame
            origin = packet.dts if packet.dts is not None else packet.pts
        if packet.pts is None:
            packet.pts = packet.dts
        if packet.dts is None:
            packet.dts = packet.pts
        packet.pts -= origin
        packet.dts -= origin
        if packet.dts < 0 or (last_dts is not None and packet.dts <= last_dts):
            continue  # the muxer refuses time going backwards
        last_dts = packet.dts
        packet.stream = out_stream
        output.mux(packet)
        if not _send_new(sink, emit, False, started):
            return


def _pump_masked(
    source: Any,
    in_stream: Any,
    output: Any,
    sink: _Sink,
    plan: LivePlan,
    emit: Emit,
    stop: threading.Event,
) -> None:
    rate = in_stream.average_rate or in_stream.guessed_rate or Fraction(15)
    encoder: Any = None
    out_stream: Any = None
    mask: NDArray[np.bool_] | None = None
    origin: float | None = None
    time_base = Fraction(1, 90_000)
    started: list[bool] = []
    for frame in source.decode(in_stream):
        if stop.is_set():
            return
        if frame.time is None:
            continue
        image = frame.to_ndarray(format="rgb24")
        height, width = image.shape[:2]
        if out_stream is None:
            out_stream = output.add_stream("libx264", rate=rate, options=ENCODE_OPTIONS)
            out_stream.width, out_stream.height = width, height
            out_stream.pix_fmt = "yuv420p"
            out_stream.time_base = time_base
            out_stream.codec_context.time_base = time_base
            out_stream.codec_context.gop_size = max(1, round(float(rate)))
            encoder = out_stream
            mask = mask_matrix(plan.masks, width, height)
            origin = frame.time
        if mask is not None and mask.shape == (height, width):
            image[mask] = 0
        elif mask is not None:  # the camera changed resolution: mask the new size too
            mask = mask_matrix(plan.masks, width, height)
            image[mask] = 0
        fresh = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        fresh.pts = round((frame.time - (origin or 0.0)) / time_base)
        fresh.time_base = time_base
        for packet in encoder.encode(fresh):
            output.mux(packet)
        if not _send_new(sink, emit, True, started):
            return


# -- the socket ----------------------------------------------------------------------------------


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: the cookie is its own credential
    return urlsplit(origin).netloc == websocket.headers.get("host")


@router.websocket("/ws/live/{camera_id}")
async def live_socket(websocket: WebSocket, camera_id: int) -> None:
    platform: Platform = websocket.app.state.platform
    await websocket.accept()
    # A page on another site could open this socket with the viewer's cookie.
    if not _same_origin(websocket):
        await websocket.close(CLOSE_FORBIDDEN, "cross-origin live view refused")
        return
    ctx = AuditContext(
        actor_id=None,
        actor_name="anonymous",
        request_id=new_request_id(),
        source_ip=websocket.client.host if websocket.client else None,
    )
    try:
        plan = await asyncio.to_thread(
            authorise, platform, websocket.cookies.get(SESSION_COOKIE), ctx, camera_id
        )
    except LiveRefused as refused:
        await websocket.close(refused.code, refused.reason)
        return
    await _stream(websocket, plan)


Item = str | bytes | BaseException | None
"""A message for the viewer, the error that ended the stream, or None at its end."""


def _start_worker(
    plan: LivePlan, queue: asyncio.Queue[Item], stop: threading.Event
) -> threading.Thread:
    """Run :func:`pump` in a thread that hands its messages to ``queue`` on this loop."""
    loop = asyncio.get_running_loop()

    def emit(item: Item) -> bool:
        while not stop.is_set():
            future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            try:
                future.result(timeout=1.0)
                return True
            except TimeoutError:
                future.cancel()  # the queue is full; retry unless the viewer left
        return False

    def run() -> None:
        try:
            pump(plan, emit, stop)
            emit(None)
        except Exception as exc:  # FFmpeg's errors, an unreachable camera...
            log.warning("live stream ended: %s", scrub(str(exc), plan.url))
            emit(exc)

    worker = threading.Thread(target=run, name="live-view", daemon=True)
    worker.start()
    return worker


async def _watch_close(websocket: WebSocket, stop: threading.Event) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    stop.set()


async def _stream(websocket: WebSocket, plan: LivePlan) -> None:
    queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_LIMIT)
    stop = threading.Event()
    worker = _start_worker(plan, queue, stop)
    watcher = asyncio.create_task(_watch_close(websocket, stop))
    try:
        while not stop.is_set():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            item = getter.result()
            if item is None:
                await websocket.close(1000, "the stream ended")
                break
            if isinstance(item, BaseException):
                await websocket.close(CLOSE_STREAM_FAILED, "the camera stream is unavailable")
                break
            if isinstance(item, str):
                await websocket.send_text(item)
            else:
                await websocket.send_bytes(item)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        stop.set()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await watcher
        # Unblock a worker waiting on a full queue, then let it finish its read.
        while not queue.empty():
            queue.get_nowait()
        await asyncio.to_thread(worker.join, READ_TIMEOUT_SECONDS + 2)
