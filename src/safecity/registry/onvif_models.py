"""What an ONVIF probe found: frozen models, stream URIs with credentials, compliance.

Nothing here talks to a camera (that is `safecity.registry.onvif`); these are plain
values the onboarding form shows and the API returns. The password the probe used is
kept as a secret that never appears in repr, str or serialised output.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# DOMAIN.md "Camera standards": a private camera fit to join streams ONVIF S/T,
# 1080p or better, 12-15 fps for people, with an NTP-synchronised clock.
MIN_PIXELS = 1920 * 1080
MIN_FPS = 12.0
MAX_CLOCK_OFFSET_SECONDS = 5.0
MIN_PASSWORD_LENGTH = 8
# Factory passwords that scanners try first (Hikvision, Dahua, Axis, generic NVRs).
_DEFAULT_PASSWORDS = frozenset(
    {"", "admin", "12345", "123456", "1234", "888888", "666666", "password", "pass", "root"}
)
_CODECS = {"H264": "h264", "H265": "h265", "HEVC": "h265", "JPEG": "mjpeg", "MJPEG": "mjpeg"}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceInfo(_Frozen):
    """GetDeviceInformation, as the camera reports it (free text, not validated)."""

    manufacturer: str | None = Field(description="Manufacturer, e.g. Hikvision")
    model: str | None = Field(description="Model name or number")
    firmware_version: str | None = Field(description="Firmware version string")
    serial_number: str | None = Field(description="Serial number")
    hardware_id: str | None = Field(description="Hardware id")


class CameraClock(_Frozen):
    """The camera clock against ours, measured at the middle of one request."""

    camera_utc: datetime = Field(description="Camera time, converted to UTC")
    reference_utc: datetime = Field(description="Our clock at the same moment (UTC)")
    offset_seconds: float = Field(description="Camera minus ours; positive: camera is ahead")
    uncertainty_seconds: float = Field(
        description="Half a second (ONVIF gives whole seconds) plus half the round trip"
    )
    source: Literal["UTCDateTime", "LocalDateTime"] = Field(
        description="Which of the camera's clock readings was used"
    )
    date_time_type: str | None = Field(description="NTP or Manual: how the camera sets its clock")
    time_zone: str | None = Field(description="The camera's TZ string (POSIX), e.g. PKT-5")
    daylight_savings: bool | None = Field(description="Whether the camera applies DST")


class OnvifService(_Frozen):
    """One service the device offers (from GetServices, or GetCapabilities on old devices)."""

    name: str = Field(description="Short name, e.g. devicemgmt, media, ptz, events")
    namespace: str = Field(description="WSDL namespace of the service")
    xaddr: str = Field(description="Address the service answers on")


class DeviceCapabilities(_Frozen):
    """A digest of GetCapabilities; None where the device did not say."""

    ptz: bool = Field(description="A PTZ service is advertised")
    imaging: bool = Field(description="An imaging service is advertised")
    events: bool = Field(description="An events service is advertised")
    analytics: bool = Field(description="An analytics service is advertised")
    rtp_rtsp_tcp: bool | None = Field(description="RTP interleaved in RTSP over TCP")
    rtp_multicast: bool | None = Field(description="RTP multicast")


class MediaProfile(_Frozen):
    """One media profile and its RTSP stream (credentials never included here)."""

    token: str = Field(description="Profile token, used to ask for its stream")
    name: str = Field(description="Profile name, e.g. mainStream")
    encoding: str | None = Field(description="H264, H265, JPEG or MPEG4; None: no video")
    width: int | None = Field(description="Video width in pixels")
    height: int | None = Field(description="Video height in pixels")
    fps: float | None = Field(description="Frame rate limit")
    bitrate_kbps: int | None = Field(description="Bitrate limit in kbit/s")
    stream_uri: str | None = Field(description="RTSP URI without credentials")
    stream_uri_error: str | None = Field(None, description="Why GetStreamUri failed, if it did")
    # Only set when the camera wrote the password into the URI itself (some put it in
    # the path or query): stream_uri then shows "***" and this keeps the working form.
    stream_uri_secret: SecretStr | None = Field(
        None, exclude=True, repr=False, description="URI as returned, when it held the password"
    )

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    @property
    def codec(self) -> str | None:
        """The registry's codec name (h264, h265, mjpeg) for this encoding, if it has one."""
        return _CODECS.get((self.encoding or "").upper())


class ComplianceCheck(_Frozen):
    """One line of the onboarding compliance summary."""

    check: str = Field(description="Machine name, e.g. resolution")
    title: str = Field(description="What DOMAIN.md asks, in words")
    passed: bool = Field(description="Whether the probed camera meets it")
    detail: str = Field(description="What was found, and what to do if it failed")


class ProbeResult(_Frozen):
    """Everything one probe learned. repr, str and JSON never contain the password."""

    host: str = Field(description="Address probed")
    port: int = Field(description="ONVIF HTTP port probed")
    username: str = Field(description="User the probe authenticated as")
    password: SecretStr = Field(exclude=True, repr=False, description="Password the probe used")
    probed_at: datetime = Field(description="When the probe finished (UTC)")
    duration_seconds: float = Field(description="How long the probe took")
    device: DeviceInfo
    clock: CameraClock | None = Field(description="None when the camera gave no usable time")
    services: tuple[OnvifService, ...] = Field(description="Services the device offers")
    capabilities: DeviceCapabilities | None = Field(description="None: GetCapabilities refused")
    scopes: tuple[str, ...] = Field(description="Scope URIs (GetScopes)")
    onvif_profiles: tuple[str, ...] = Field(
        description="ONVIF profiles the device claims in its scopes: S, T, G, M, Q, ..."
    )
    media_profiles: tuple[MediaProfile, ...] = Field(description="Media profiles, camera order")

    @property
    def video_profiles(self) -> tuple[MediaProfile, ...]:
        return tuple(p for p in self.media_profiles if p.encoding and p.pixels)

    @property
    def main_profile(self) -> MediaProfile | None:
        """The highest-resolution video profile (then the higher frame rate, then the first)."""
        best: MediaProfile | None = None
        for profile in self.video_profiles:
            if best is None or (profile.pixels, profile.fps or 0) > (best.pixels, best.fps or 0):
                best = profile
        return best

    @property
    def sub_profile(self) -> MediaProfile | None:
        """The lowest-resolution video profile other than the main one (for analytics)."""
        main = self.main_profile
        others = [p for p in self.video_profiles if main is None or p.token != main.token]
        return min(others, key=lambda p: p.pixels, default=None)

    def profile(self, token: str) -> MediaProfile:
        for profile in self.media_profiles:
            if profile.token == token:
                return profile
        raise KeyError(f"no media profile with token {token!r}")

    def stream_uri_with_credentials(self, token: str) -> str:
        """The profile's RTSP URI with the probe's user and password in it.

        The result is a secret: store it encrypted (the registry does) and never log it.
        """
        profile = self.profile(token)
        if profile.stream_uri_secret is not None:
            uri: str | None = profile.stream_uri_secret.get_secret_value()
        else:
            uri = profile.stream_uri
        if not uri:
            raise KeyError(f"media profile {token!r} has no stream URI")
        return with_credentials(uri, self.username, self.password.get_secret_value())

    def camera_fields_with_credentials(self) -> dict[str, object]:
        """Values for the registry's camera form (CameraFields), stream URLs included.

        The URLs carry the password (the registry stores them encrypted): never log this.
        """
        main, sub = self.main_profile, self.sub_profile
        fields: dict[str, object] = {
            "make": self.device.manufacturer or "",
            "model": self.device.model or "",
            "ptz": bool(self.capabilities and self.capabilities.ptz)
            or any(s.name == "ptz" for s in self.services),
        }
        if main is not None:
            fields["resolution"] = f"{main.width}x{main.height}"
            if main.fps:
                fields["fps"] = round(main.fps)
            if main.codec:
                fields["codec"] = main.codec
            if main.stream_uri or main.stream_uri_secret:
                fields["main_stream_url"] = self.stream_uri_with_credentials(main.token)
        if sub is not None and (sub.stream_uri or sub.stream_uri_secret):
            fields["sub_stream_url"] = self.stream_uri_with_credentials(sub.token)
        return fields


def with_credentials(uri: str, username: str, password: str) -> str:
    """``rtsp://10.0.0.5/ch1`` -> ``rtsp://user:pw@10.0.0.5/ch1``, percent-encoded.

    Credentials already in the URI are replaced. Reserved characters (``@ : / ?``) in
    the user or password are encoded, or they would end the user-info early.
    """
    parts = urlsplit(uri)
    host_port = parts.netloc.rpartition("@")[2]
    if not username and not password:
        return urlunsplit(parts._replace(netloc=host_port))
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host_port}"))


def without_credentials(uri: str) -> str:
    """The URI with any user-info removed (cameras should not return any, some do)."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def compliance_summary(
    result: ProbeResult,
    *,
    min_pixels: int = MIN_PIXELS,
    min_fps: float = MIN_FPS,
    max_clock_offset_seconds: float = MAX_CLOCK_OFFSET_SECONDS,
) -> tuple[ComplianceCheck, ...]:
    """The checks DOMAIN.md "Camera standards" sets for a private camera that a probe can see.

    Local retention (30 days) and privacy masks are not visible over ONVIF Profile S
    and stay with the agreement review.
    """
    main = result.main_profile
    return (
        _profile_check(result),
        _resolution_check(main, min_pixels),
        _fps_check(main, min_fps),
        _codec_check(main),
        _stream_check(main),
        _clock_check(result.clock, max_clock_offset_seconds),
        _ntp_check(result.clock),
        _credentials_check(result),
    )


def _profile_check(result: ProbeResult) -> ComplianceCheck:
    claimed = [p for p in result.onvif_profiles if p in {"S", "T"}]
    others = ", ".join(result.onvif_profiles) or "none"
    detail = (
        f"claims Profile {', '.join(claimed)}"
        if claimed
        else f"does not claim Profile S or T in its scopes (claims: {others}); "
        "ask the vendor for a conformant firmware"
    )
    return ComplianceCheck(
        check="onvif_profile", title="ONVIF Profile S or T", passed=bool(claimed), detail=detail
    )


def _resolution_check(main: MediaProfile | None, min_pixels: int) -> ComplianceCheck:
    title = "Main stream 1080p or better"
    if main is None:
        return ComplianceCheck(
            check="resolution", title=title, passed=False, detail="no video profile found"
        )
    passed = main.pixels >= min_pixels
    detail = f"main stream '{main.name}' is {main.width}x{main.height}"
    if not passed:
        detail += "; set the main stream to 1920x1080 or more"
    return ComplianceCheck(check="resolution", title=title, passed=passed, detail=detail)


def _fps_check(main: MediaProfile | None, min_fps: float) -> ComplianceCheck:
    title = f"Main stream at {min_fps:g} fps or more"
    if main is None or main.fps is None:
        return ComplianceCheck(
            check="frame_rate", title=title, passed=False, detail="frame rate not reported"
        )
    passed = main.fps >= min_fps
    detail = f"main stream runs at {main.fps:g} fps"
    if not passed:
        detail += f"; raise its frame rate limit to at least {min_fps:g}"
    return ComplianceCheck(check="frame_rate", title=title, passed=passed, detail=detail)


def _codec_check(main: MediaProfile | None) -> ComplianceCheck:
    codec = main.codec if main else None
    passed = codec in {"h264", "h265"}
    detail = f"main stream encodes {main.encoding}" if main else "no video profile found"
    if not passed:
        detail += "; recording without re-encoding needs H.264 or H.265"
    return ComplianceCheck(check="codec", title="H.264 or H.265", passed=passed, detail=detail)


def _stream_check(main: MediaProfile | None) -> ComplianceCheck:
    uri = (main.stream_uri or "") if main else ""
    passed = uri.lower().startswith(("rtsp://", "rtsps://"))
    if passed:
        detail = f"RTSP URI {uri}"
    elif main is not None and main.stream_uri_error:
        detail = f"GetStreamUri failed: {main.stream_uri_error}"
    else:
        detail = "no RTSP URI for the main stream"
    return ComplianceCheck(
        check="stream_uri", title="RTSP stream for the main profile", passed=passed, detail=detail
    )


def _clock_check(clock: CameraClock | None, limit: float) -> ComplianceCheck:
    title = f"Clock within {limit:g} s of ours"
    if clock is None:
        return ComplianceCheck(
            check="clock", title=title, passed=False, detail="the camera reported no usable time"
        )
    passed = abs(clock.offset_seconds) <= limit
    side = "ahead of" if clock.offset_seconds >= 0 else "behind"
    detail = f"camera is {abs(clock.offset_seconds):.1f} s {side} ours"
    if not passed:
        detail += "; point the camera at the force's NTP server"
    return ComplianceCheck(check="clock", title=title, passed=passed, detail=detail)


def _ntp_check(clock: CameraClock | None) -> ComplianceCheck:
    kind = clock.date_time_type if clock else None
    passed = (kind or "").upper() == "NTP"
    detail = f"clock is set by {kind}" if kind else "the camera did not say how its clock is set"
    if not passed:
        detail += "; switch time synchronisation to NTP"
    return ComplianceCheck(check="ntp", title="Clock set by NTP", passed=passed, detail=detail)


def _credentials_check(result: ProbeResult) -> ComplianceCheck:
    # The detail names the rule broken, never the password itself.
    password = result.password.get_secret_value()
    problems = []
    if password.lower() in _DEFAULT_PASSWORDS:
        problems.append("is a factory default")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"is shorter than {MIN_PASSWORD_LENGTH} characters")
    if password.lower() == result.username.lower():
        problems.append("equals the user name")
    detail = (
        "the password " + " and ".join(problems) + "; set a strong, unique password"
        if problems
        else "the password is not a known default and is long enough"
    )
    return ComplianceCheck(
        check="credentials", title="Hardened credentials", passed=not problems, detail=detail
    )
