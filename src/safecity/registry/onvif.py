"""Probe a camera over ONVIF: device facts, clock drift, services, media profiles, streams.

The onboarding form calls `probe_camera` (async) or `probe_camera_sync` with the
address and credentials an engineer typed. The ONVIF client is `onvif-zeep-async`
(the library Home Assistant maintains): it signs requests with a WS-UsernameToken
digest and reads its WSDL files from the package, never from the network. It is
untyped, so it stays behind this module: everything it returns is copied into the
frozen models of `onvif_models`, and everything it raises becomes a `ProbeError`
(`onvif_errors`). Nothing is imported or created until a probe runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import os
import re
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from pydantic import SecretStr

from safecity.registry import onvif_parse as parse
from safecity.registry.onvif_errors import (
    CameraFault,
    CameraUnreachable,
    CredentialsRejected,
    InvalidProbeInput,
    NotAnOnvifDevice,
    OnvifUnsupported,
    ProbeContext,
    ProbeError,
    ProbeTimedOut,
    classify,
    redact,
)
from safecity.registry.onvif_models import (
    CameraClock,
    ComplianceCheck,
    DeviceCapabilities,
    DeviceInfo,
    MediaProfile,
    OnvifService,
    ProbeResult,
    compliance_summary,
    with_credentials,
)

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "CameraClock",
    "CameraFault",
    "CameraUnreachable",
    "ComplianceCheck",
    "CredentialsRejected",
    "DeviceCapabilities",
    "DeviceInfo",
    "InvalidProbeInput",
    "MediaProfile",
    "NotAnOnvifDevice",
    "OnvifService",
    "OnvifUnsupported",
    "ProbeError",
    "ProbeResult",
    "ProbeTimedOut",
    "compliance_summary",
    "probe_camera",
    "probe_camera_sync",
    "with_credentials",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_TIMEOUT_SECONDS = 120.0

_T = TypeVar("_T")

# The library logs every SOAP request at DEBUG. A UsernameToken's digest, nonce and
# creation time are enough to try passwords offline, so they are blanked in those lines.
_TOKEN_SECRETS = re.compile(r"(<(?:[\w-]+:)?(?:Password|Nonce)\b[^>]*>)[^<]*(</)")
_LIBRARY_LOGGERS = ("onvif.zeep_aiohttp", "zeep.transports")


async def probe_camera(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ProbeResult:
    """Ask the ONVIF device at ``host:port`` what it is and how to stream from it.

    ``timeout`` bounds the whole probe (all requests), in seconds. Raises a
    `ProbeError` subclass with a message an engineer can act on; the message never
    holds the password.
    """
    ctx = _validated(host, port, username, password, timeout)
    probe = _Probe(ctx)
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            result = await probe.run(started)
    except Exception as exc:
        error = classify(exc, ctx.at(probe.operation))
        if error is None:
            raise  # not a camera problem we know: a bug, keep its traceback
        log.info("ONVIF probe of %s failed (%s): %s", ctx.where, error.code, error.message)
        if error is exc:
            raise
        raise error from exc
    finally:
        await probe.close()
    log.info("%s", redact(parse.summary_line(result), password))
    return result


def probe_camera_sync(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ProbeResult:
    """`probe_camera` for synchronous callers (a sync FastAPI route runs in a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe_camera(host, port, username, password, timeout=timeout))
    raise RuntimeError(
        "probe_camera_sync() was called from a running event loop; await probe_camera() instead"
    )


def _validated(host: str, port: int, username: str, password: str, timeout: float) -> ProbeContext:
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # the library brackets IPv6 literals itself
    if not host or any(ch.isspace() or ch in "/@?#" for ch in host):
        raise InvalidProbeInput(
            "give the camera's host name or IP address alone, without http:// or a path",
            field="host",
        )
    if not 1 <= port <= 65535:
        raise InvalidProbeInput(f"port must be 1 to 65535, not {port}", field="port")
    if not username:
        raise InvalidProbeInput("give the user name of an ONVIF user", field="username")
    if not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise InvalidProbeInput(f"timeout must be above 0 and at most {MAX_TIMEOUT_SECONDS:g} s")
    return ProbeContext(host, port, username, password, timeout)


@functools.cache
def _library() -> Any:
    """The `onvif` package, imported on first use."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import onvif  # type: ignore[import-untyped]
    finally:
        # onvif.client calls logging.basicConfig() when imported: in a process that has
        # not configured logging yet, that would add a root handler without our
        # credential scrubbing. Put the root logger back as it was.
        root.handlers[:] = handlers
        root.setLevel(level)
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).addFilter(_RedactUsernameToken())
    return onvif


class _RedactUsernameToken(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "UsernameToken" in text:
            record.msg, record.args = _TOKEN_SECRETS.sub(r"\1***\2", text), None
        return True


class _Probe:
    """One probe's state: the library's camera object and the operation under way."""

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self.operation = "connect"
        self._camera: Any = None

    async def close(self) -> None:
        if self._camera is not None:
            camera, self._camera = self._camera, None
            await camera.close()

    def _new_camera(self) -> Any:
        ctx = self.ctx
        saved = {k: os.environ[k] for k in ("http_proxy", "https_proxy") if k in os.environ}
        try:
            # no_cache: the WSDL cache would write a sqlite file under the user's home.
            # adjust_time stays off: the library's version reads only UTCDateTime and
            # fails on cameras that report local time; _sign_with_camera_time does it.
            return _library().ONVIFCamera(
                ctx.host, ctx.port, ctx.username, ctx.password, no_cache=True, adjust_time=False
            )
        finally:
            # The library drops these from the process environment; other code may need them.
            os.environ.update(saved)

    async def run(self, started: float) -> ProbeResult:
        ctx = self.ctx
        self._camera = camera = self._new_camera()
        devicemgmt = await camera.create_devicemgmt_service()
        self.operation = "GetSystemDateAndTime"
        clock = await self._clock(devicemgmt)
        diff = None if clock is None else dt.timedelta(seconds=clock.offset_seconds)
        if diff is not None:
            devicemgmt = await self._sign_with_camera_time(camera, devicemgmt, diff)
        self.operation = "service discovery"
        await camera.update_xaddrs()  # reuses the devicemgmt service made above
        camera.dt_diff = diff  # update_xaddrs() clears it; the media service needs it
        self.operation = "GetDeviceInformation"
        device = parse.device_info(await devicemgmt.GetDeviceInformation())
        self.operation = "GetCapabilities"
        capabilities = await self._optional(camera.get_capabilities())
        self.operation = "GetScopes"
        scopes = parse.scopes(await self._optional(devicemgmt.GetScopes()))
        self.operation = "media"
        media = await camera.create_media_service()
        self.operation = "GetProfiles"
        raw_profiles = await media.GetProfiles()
        profiles = [await self._profile(media, raw) for raw in raw_profiles or []]
        return ProbeResult(
            host=ctx.host,
            port=ctx.port,
            username=ctx.username,
            password=SecretStr(ctx.password),
            probed_at=dt.datetime.now(dt.UTC),
            duration_seconds=round(time.monotonic() - started, 3),
            device=device,
            clock=clock,
            services=parse.services(camera.xaddrs, devicemgmt.xaddr),
            capabilities=parse.capabilities(capabilities),
            scopes=scopes,
            onvif_profiles=parse.claimed_profiles(scopes),
            media_profiles=tuple(p for p in profiles if p is not None),
        )

    async def _clock(self, devicemgmt: Any) -> CameraClock | None:
        """Read the camera clock, without credentials where the camera allows (ONVIF does)."""
        from zeep import exceptions as zeep_exc

        before = dt.datetime.now(dt.UTC)
        try:
            reply = await devicemgmt.authless_GetSystemDateAndTime()
        except zeep_exc.Fault:
            before = dt.datetime.now(dt.UTC)
            reply = await devicemgmt.GetSystemDateAndTime()
        after = dt.datetime.now(dt.UTC)
        return parse.camera_clock(reply, before, after)

    @staticmethod
    async def _sign_with_camera_time(camera: Any, devicemgmt: Any, diff: dt.timedelta) -> Any:
        """A devicemgmt service that dates its WS-Security tokens by the camera's clock.

        Cameras refuse tokens created too far from their own time, so a drifting
        camera would refuse us and the engineer would never see the drift. A service
        takes the camera's dt_diff when created, hence the new one (the library's own
        adjust_time does the same).
        """
        camera.dt_diff = diff
        await devicemgmt.close()
        camera.services.pop(devicemgmt.binding_key, None)
        return await camera.create_devicemgmt_service()

    async def _optional(self, call: Awaitable[_T]) -> _T | None:
        """Await an operation a conformant camera may refuse; None when it does.

        Only a refusal is tolerated: wrong credentials, a dead connection or a timeout
        still end the probe.
        """
        from zeep import exceptions as zeep_exc

        try:
            return await call
        except (zeep_exc.Fault, zeep_exc.TransportError) as exc:
            error = classify(exc, self.ctx.at(self.operation))
            if isinstance(error, CredentialsRejected):
                raise
            log.debug("%s: %s skipped: %s", self.ctx.where, self.operation, error)
            return None

    async def _profile(self, media: Any, raw: Any) -> MediaProfile | None:
        token = parse.as_text(parse.get(raw, "token"))
        if not token:
            return None  # a profile without a token cannot be asked for its stream
        encoder = parse.get(raw, "VideoEncoderConfiguration")
        uri: str | None = None
        uri_error: str | None = None
        self.operation = f"GetStreamUri({token})"
        try:
            request = media.create_type("GetStreamUri")
            request.ProfileToken = token
            request.StreamSetup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
            uri = parse.as_text(parse.get(await media.GetStreamUri(request), "Uri"))
        except Exception as exc:
            error = classify(exc, self.ctx.at(self.operation))
            # Only a refusal for this one profile lets the probe go on (some cameras
            # refuse streams for audio-only or metadata profiles).
            if isinstance(error, CameraFault):
                uri_error = error.message
            elif isinstance(error, NotAnOnvifDevice):
                uri_error = "the camera answered GetStreamUri with an HTTP error, no SOAP fault"
            else:
                raise
        public, secret = parse.split_uri(uri, self.ctx.password)
        return MediaProfile(
            token=token,
            name=parse.as_text(parse.get(raw, "Name")) or token,
            encoding=parse.as_text(parse.get(encoder, "Encoding")),
            width=parse.as_int(parse.get(encoder, "Resolution", "Width")),
            height=parse.as_int(parse.get(encoder, "Resolution", "Height")),
            fps=parse.as_float(parse.get(encoder, "RateControl", "FrameRateLimit")),
            bitrate_kbps=parse.as_int(parse.get(encoder, "RateControl", "BitrateLimit")),
            stream_uri=public,
            stream_uri_error=uri_error,
            stream_uri_secret=secret,
        )
