"""Reading the ONVIF library's answers into `onvif_models` values.

The library hands back zeep objects (attribute access) or, for capabilities, plain
dicts; both are untyped. Every reader here takes `Any` and returns a typed value or
None, and never raises on a missing or malformed field: cameras omit fields freely,
and one odd field must not cost the engineer the rest of the probe.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from safecity.registry.onvif_models import (
    CameraClock,
    DeviceCapabilities,
    DeviceInfo,
    OnvifService,
    ProbeResult,
    without_credentials,
)

_DEVICE_NAMESPACE = "http://www.onvif.org/ver10/device/wsdl"
# Short names for the services the form lists; other namespaces fall back to their path.
_SERVICE_NAMES = {
    "http://www.onvif.org/ver10/device/wsdl": "devicemgmt",
    "http://www.onvif.org/ver10/media/wsdl": "media",
    "http://www.onvif.org/ver20/media/wsdl": "media2",
    "http://www.onvif.org/ver20/ptz/wsdl": "ptz",
    "http://www.onvif.org/ver20/imaging/wsdl": "imaging",
    "http://www.onvif.org/ver10/events/wsdl": "events",
    "http://www.onvif.org/ver10/deviceIO/wsdl": "deviceio",
    "http://www.onvif.org/ver20/analytics/wsdl": "analytics",
    "http://www.onvif.org/ver10/recording/wsdl": "recording",
    "http://www.onvif.org/ver10/search/wsdl": "search",
    "http://www.onvif.org/ver10/replay/wsdl": "replay",
    "http://www.onvif.org/ver10/receiver/wsdl": "receiver",
}
# Scopes name the ONVIF profiles a device conforms to; Profile S predates the
# one-letter names and is spelt "Streaming".
_PROFILE_SCOPE = re.compile(r"^onvif://www\.onvif\.org/Profile/(?P<name>[^/]+)", re.IGNORECASE)
# POSIX TZ as ONVIF uses it: "PKT-5" is UTC+5 (the sign is inverted), "CET-1CEST,...".
_POSIX_TZ = re.compile(
    r"^(?:<[^>]*>|[A-Za-z]{3,})(?P<sign>[+-]?)(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?::(?P<s>\d{2}))?"
    r"(?P<dst>.*)$"
)


def get(value: Any, *path: str) -> Any:
    for name in path:
        if value is None:
            return None
        value = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
    return value


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def device_info(reply: Any) -> DeviceInfo:
    return DeviceInfo(
        manufacturer=as_text(get(reply, "Manufacturer")),
        model=as_text(get(reply, "Model")),
        firmware_version=as_text(get(reply, "FirmwareVersion")),
        serial_number=as_text(get(reply, "SerialNumber")),
        hardware_id=as_text(get(reply, "HardwareId")),
    )


def _reading(value: Any) -> dt.datetime | None:
    """An ONVIF DateTime (Date and Time parts) as a naive datetime; None if unusable."""
    parts = [
        as_int(get(value, *path))
        for path in (
            ("Date", "Year"),
            ("Date", "Month"),
            ("Date", "Day"),
            ("Time", "Hour"),
            ("Time", "Minute"),
            ("Time", "Second"),
        )
    ]
    if any(p is None for p in parts):
        return None
    year, month, day, hour, minute, second = (int(p or 0) for p in parts)
    try:
        # Naive on purpose: UTC or local time, the caller knows which.
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _utc_offset(tz: str | None, daylight_savings: bool) -> dt.timedelta | None:
    """What to add to the camera's local time to get UTC."""
    if not tz:
        return None
    match = _POSIX_TZ.match(tz.strip())
    if match:
        sign = -1 if match["sign"] == "-" else 1
        offset = dt.timedelta(
            hours=int(match["h"]), minutes=int(match["m"] or 0), seconds=int(match["s"] or 0)
        )
        # POSIX puts daylight time one hour ahead of standard time unless told otherwise.
        summer = dt.timedelta(hours=1) if daylight_savings and match["dst"] else dt.timedelta()
        return sign * offset - summer
    try:
        zone = ZoneInfo(tz.strip())  # some firmwares report an IANA name instead
    except (ValueError, KeyError):
        return None
    local_offset = dt.datetime.now(zone).utcoffset()
    return None if local_offset is None else -local_offset


def camera_clock(reply: Any, before: dt.datetime, after: dt.datetime) -> CameraClock | None:
    tz = as_text(get(reply, "TimeZone", "TZ"))
    dst = bool(get(reply, "DaylightSavings"))
    source: Literal["UTCDateTime", "LocalDateTime"] = "UTCDateTime"
    reading = _reading(get(reply, "UTCDateTime"))
    if reading is None:
        local = _reading(get(reply, "LocalDateTime"))
        offset = _utc_offset(tz, dst)
        if local is None or offset is None:
            return None
        source, reading = "LocalDateTime", local + offset
    camera_utc = reading.replace(tzinfo=dt.UTC)
    round_trip = (after - before).total_seconds()
    midpoint = before + (after - before) / 2
    # The camera gives whole seconds, cut down: on average its clock is half a second
    # past what it says, so add that back before comparing.
    offset_seconds = (camera_utc - midpoint).total_seconds() + 0.5
    return CameraClock(
        camera_utc=camera_utc,
        reference_utc=midpoint,
        offset_seconds=round(offset_seconds, 3),
        uncertainty_seconds=round(0.5 + round_trip / 2, 3),
        source=source,
        date_time_type=as_text(get(reply, "DateTimeType")),
        time_zone=tz,
        daylight_savings=get(reply, "DaylightSavings"),
    )


def services(xaddrs: Mapping[str, str | None], device_xaddr: str) -> tuple[OnvifService, ...]:
    """Services by namespace; the device service is always there (GetCapabilities omits it)."""
    found = []
    known = {_DEVICE_NAMESPACE: device_xaddr, **xaddrs}
    for namespace, xaddr in sorted(known.items()):
        if not xaddr:
            continue
        name = _SERVICE_NAMES.get(namespace) or namespace.rstrip("/").rsplit("/", 2)[-2]
        found.append(OnvifService(name=name, namespace=namespace, xaddr=xaddr))
    return tuple(found)


def capabilities(caps: Mapping[str, Any] | None) -> DeviceCapabilities | None:
    if caps is None:
        return None

    def offered(name: str) -> bool:
        return bool(get(caps, name, "XAddr"))

    streaming = get(caps, "Media", "StreamingCapabilities")
    rtsp_tcp, multicast = get(streaming, "RTP_RTSP_TCP"), get(streaming, "RTPMulticast")
    return DeviceCapabilities(
        ptz=offered("PTZ"),
        imaging=offered("Imaging"),
        events=offered("Events"),
        analytics=offered("Analytics"),
        rtp_rtsp_tcp=None if rtsp_tcp is None else bool(rtsp_tcp),
        rtp_multicast=None if multicast is None else bool(multicast),
    )


def scopes(reply: Any) -> tuple[str, ...]:
    items = (as_text(get(scope, "ScopeItem")) for scope in reply or [])
    return tuple(item for item in items if item)


def claimed_profiles(scope_uris: tuple[str, ...]) -> tuple[str, ...]:
    claimed: list[str] = []
    for scope in scope_uris:
        match = _PROFILE_SCOPE.match(scope)
        if not match:
            continue
        name = match["name"]
        letter = "S" if name.lower() == "streaming" else name.upper()
        if letter not in claimed:
            claimed.append(letter)
    return tuple(claimed)


def split_uri(uri: str | None, password: str) -> tuple[str | None, SecretStr | None]:
    """(URI safe to show, the working URI when showing it would reveal the password)."""
    if uri is None:
        return None, None
    public = without_credentials(uri)
    if password and password in public:
        return public.replace(password, "***"), SecretStr(uri)
    return public, None


def summary_line(result: ProbeResult) -> str:
    d = result.device
    clock = f"{result.clock.offset_seconds:+.1f} s" if result.clock else "unknown"
    return (
        f"ONVIF probe of {result.host}:{result.port}: {d.manufacturer} {d.model} "
        f"(firmware {d.firmware_version}), profiles {','.join(result.onvif_profiles) or '-'}, "
        f"{len(result.media_profiles)} media profiles, clock offset {clock}, "
        f"in {result.duration_seconds:.2f} s"
    )
