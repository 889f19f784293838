"""ONVIF probe, end to end against the fake device in tests/support/onvif_responder.py.

Covers what the onboarding form relies on: the parsed facts, the clock drift, the
stream URIs (credentials only where asked, never in repr or logs), one clear error
per way a probe fails, and the compliance summary for private cameras.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

import pytest
from pydantic import SecretStr

from safecity.registry.onvif import (
    CameraFault,
    CameraUnreachable,
    CredentialsRejected,
    InvalidProbeInput,
    MediaProfile,
    NotAnOnvifDevice,
    OnvifUnsupported,
    ProbeError,
    ProbeResult,
    ProbeTimedOut,
    compliance_summary,
    probe_camera,
    probe_camera_sync,
    with_credentials,
)
from tests.support.onvif_responder import (
    FakeProfile,
    OnvifResponder,
    ResponderConfig,
    closed_port,
    plain_http_server,
    silent_server,
)

PASSWORD = ResponderConfig().password
TIMEOUT = 5.0


@pytest.fixture
def responder() -> Iterator[OnvifResponder]:
    with OnvifResponder() as device:
        yield device


async def _probe(device: OnvifResponder, password: str | None = None) -> ProbeResult:
    pw = device.config.password if password is None else password
    return await probe_camera(device.host, device.port, "admin", pw, timeout=TIMEOUT)


def _assert_no_secret(text: str, password: str = PASSWORD) -> None:
    assert password not in text
    assert quote(password, safe="") not in text


# -- what a probe reads -----------------------------------------------------------------------


async def test_probe_reads_device_services_profiles_and_streams(responder: OnvifResponder) -> None:
    result = await _probe(responder)

    assert result.device.model_dump() == {
        "manufacturer": "Hikvision",
        "model": "DS-2CD2043G2-I",
        "firmware_version": "V5.7.3 build 220112",
        "serial_number": "DS-2CD2043G2-I20230101AAWRJ12345678",
        "hardware_id": "88",
    }
    assert {s.name for s in result.services} == {"devicemgmt", "media"}
    assert result.capabilities is not None
    assert result.capabilities.rtp_rtsp_tcp is True
    assert result.capabilities.ptz is False
    assert result.onvif_profiles == ("S", "T")
    assert "onvif://www.onvif.org/hardware/DS-2CD2043G2" in result.scopes

    main, sub = result.media_profiles
    assert (main.token, main.name, main.encoding, main.codec) == (
        "prof-main",
        "mainStream",
        "H264",
        "h264",
    )
    assert (main.width, main.height, main.fps, main.bitrate_kbps) == (1920, 1080, 25.0, 4096)
    assert (sub.width, sub.height, sub.fps, sub.bitrate_kbps) == (640, 360, 15.0, 512)
    assert main.stream_uri == "rtsp://127.0.0.1:554/Streaming/Channels/101"
    assert sub.stream_uri == "rtsp://127.0.0.1:554/Streaming/Channels/102?transportmode=unicast"
    assert result.main_profile == main
    assert result.sub_profile == sub

    # One GetStreamUri per profile, for RTP unicast over RTSP; all but the clock signed.
    setups = [c.stream_setup for c in responder.calls if c.operation == "GetStreamUri"]
    assert setups == [("RTP-Unicast", "RTSP")] * 2
    assert all(c.authenticated for c in responder.calls if c.operation != "GetSystemDateAndTime")
    assert result.duration_seconds < TIMEOUT


@pytest.mark.parametrize("offset", [90.0, -42.0])
async def test_clock_offset_is_measured_and_a_drifting_camera_still_accepts_us(
    offset: float,
) -> None:
    # The device refuses tokens more than 30 s off its own clock, as real ones do.
    config = ResponderConfig(clock_offset_seconds=offset, max_created_skew_seconds=30.0)
    with OnvifResponder(config) as device:
        result = await _probe(device)
    assert result.clock is not None
    assert result.clock.offset_seconds == pytest.approx(offset, abs=1.0)
    assert result.clock.uncertainty_seconds < 1.0
    assert result.clock.source == "UTCDateTime"
    assert (result.clock.date_time_type, result.clock.time_zone) == ("NTP", "PKT-5")


async def test_clock_from_local_time_and_posix_time_zone() -> None:
    config = ResponderConfig(report_utc=False, clock_offset_seconds=12.0)
    with OnvifResponder(config) as device:
        result = await _probe(device)
    assert result.clock is not None
    assert result.clock.source == "LocalDateTime"  # PKT-5 read as UTC+5
    assert result.clock.offset_seconds == pytest.approx(12.0, abs=1.0)


async def test_device_without_get_services_falls_back_to_capabilities() -> None:
    with OnvifResponder(ResponderConfig(supports_get_services=False)) as device:
        result = await _probe(device)
    assert "GetCapabilities" in device.operations()
    assert {s.name for s in result.services} >= {"devicemgmt", "media"}
    assert len(result.media_profiles) == 2


async def test_refused_optional_operation_leaves_the_rest() -> None:
    config = ResponderConfig(faults={"GetScopes": "Optional Action Not Implemented"})
    with OnvifResponder(config) as device:
        result = await _probe(device)
    assert (result.scopes, result.onvif_profiles) == ((), ())
    assert len(result.media_profiles) == 2


def test_sync_wrapper(responder: OnvifResponder) -> None:
    result = probe_camera_sync(responder.host, responder.port, "admin", PASSWORD, timeout=TIMEOUT)
    assert result.device.manufacturer == "Hikvision"


async def test_sync_wrapper_refuses_a_running_loop(responder: OnvifResponder) -> None:
    with pytest.raises(RuntimeError, match="await probe_camera"):
        probe_camera_sync(responder.host, responder.port, "admin", PASSWORD)


# -- credentials --------------------------------------------------------------------------------


async def test_credentials_only_where_asked_never_in_repr_or_logs(
    responder: OnvifResponder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await _probe(responder)

    for shown in (repr(result), str(result), result.model_dump_json(), str(result.model_dump())):
        _assert_no_secret(shown)
    for profile in result.media_profiles:
        assert profile.stream_uri is not None
        assert "@" not in profile.stream_uri

    main = result.stream_uri_with_credentials("prof-main")
    parts = urlsplit(main)
    assert (parts.username, unquote(parts.password or "")) == ("admin", PASSWORD)
    assert parts.hostname == "127.0.0.1"
    assert parts.path == "/Streaming/Channels/101"
    sub = urlsplit(result.stream_uri_with_credentials("prof-sub"))
    assert (sub.path, sub.query) == ("/Streaming/Channels/102", "transportmode=unicast")

    fields = result.camera_fields_with_credentials()
    assert fields["main_stream_url"] == main
    assert fields["resolution"] == "1920x1080"
    assert (fields["fps"], fields["codec"], fields["make"]) == (25, "h264", "Hikvision")

    # The library logs each SOAP request at DEBUG: the password never, the digest blanked.
    assert "GetStreamUri" in caplog.text
    _assert_no_secret(caplog.text)
    assert not re.search(r"PasswordDigest\">[A-Za-z0-9+/=]{8,}<", caplog.text)
    assert not re.search(r"Base64Binary\">[A-Za-z0-9+/=]{8,}<", caplog.text)


async def test_uri_the_camera_wrote_the_password_into_is_redacted() -> None:
    password = "Sup3rSecretPw"
    config = ResponderConfig(
        password=password,
        rtsp_host=f"admin:{password}@127.0.0.1",
        profiles=(FakeProfile("p1", "main", stream_path=f"/live?user=admin&pwd={password}"),),
    )
    with OnvifResponder(config) as device:
        result = await _probe(device)
    (profile,) = result.media_profiles
    assert profile.stream_uri == "rtsp://127.0.0.1:554/live?user=admin&pwd=***"
    _assert_no_secret(repr(result) + result.model_dump_json(), password)
    working = result.stream_uri_with_credentials("p1")
    assert working == f"rtsp://admin:{password}@127.0.0.1:554/live?user=admin&pwd={password}"


def test_with_credentials_encodes_reserved_characters() -> None:
    uri = with_credentials("rtsp://old:x@cam.local:554/ch1?sub=1", "ad@min", "p@ss:w/rd#?")
    parts = urlsplit(uri)
    assert (parts.hostname, parts.port, parts.path, parts.query) == (
        "cam.local",
        554,
        "/ch1",
        "sub=1",
    )
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == (
        "ad@min",
        "p@ss:w/rd#?",
    )
    assert with_credentials("rtsp://[fe80::1]:554/a", "u", "") == "rtsp://u@[fe80::1]:554/a"


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth_failure", ["soap", "http401"])
async def test_wrong_password_is_an_auth_error(
    auth_failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Pass!word"
    device = OnvifResponder(ResponderConfig(auth_failure=auth_failure))
    with device, pytest.raises(CredentialsRejected) as caught:
        await _probe(device, password=wrong)
    error = caught.value
    assert (error.code, error.field, error.status) == ("onvif_auth_failed", "password", 422)
    assert "user 'admin'" in error.message
    assert ("HTTP 401" in error.message) == (auth_failure == "http401")
    assert ("NotAuthorized" in error.message) == (auth_failure == "soap")
    _assert_no_secret(str(error) + caplog.text, wrong)
    _assert_no_secret(caplog.text)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # Well-formed XHTML: parses as XML, but the root is no SOAP envelope.
        ("<!DOCTYPE html><html><body><p>Router login</p></body></html>", 200),
        # A typical page that is not even XML, behind an HTTP error.
        ("<html><body>Not Found<br></body></html>", 404),
    ],
)
async def test_plain_http_server_is_not_onvif(body: str, status: int) -> None:
    with plain_http_server(body, status) as (host, port), pytest.raises(NotAnOnvifDevice) as caught:
        await probe_camera(host, port, "admin", PASSWORD, timeout=TIMEOUT)
    assert caught.value.code == "onvif_not_onvif"
    assert caught.value.field == "port"
    assert "not an ONVIF device service" in caught.value.message


async def test_closed_port_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(CameraUnreachable) as caught:
        await probe_camera("127.0.0.1", closed_port(), "admin", PASSWORD, timeout=TIMEOUT)
    assert time.monotonic() - started < 2.0
    assert caught.value.code == "onvif_unreachable"
    assert "refused the connection" in caught.value.message


async def test_silent_device_times_out_within_the_timeout() -> None:
    with silent_server() as (host, port):
        started = time.monotonic()
        with pytest.raises(ProbeTimedOut) as caught:
            await probe_camera(host, port, "admin", PASSWORD, timeout=0.5)
        elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0
    assert caught.value.code == "onvif_timeout"
    assert "within 0.5 s" in caught.value.message


async def test_soap_fault_names_the_operation_and_the_reason() -> None:
    config = ResponderConfig(faults={"GetProfiles": "Media subsystem busy"})
    with OnvifResponder(config) as device, pytest.raises(CameraFault) as caught:
        await _probe(device)
    error = caught.value
    assert (error.code, error.operation) == ("onvif_fault", "GetProfiles")
    assert "SOAP fault Receiver/Action: Media subsystem busy" in error.message


@pytest.mark.parametrize("get_services", [True, False])
async def test_device_without_media_service(get_services: bool) -> None:
    config = ResponderConfig(offers_media=False, supports_get_services=get_services)
    with OnvifResponder(config) as device, pytest.raises(OnvifUnsupported) as caught:
        await _probe(device)
    assert caught.value.code == "onvif_unsupported"
    assert "media service" in caught.value.message


@pytest.mark.parametrize(
    ("host", "port", "username", "field"),
    [
        ("http://10.0.0.5/onvif", 80, "admin", "host"),
        ("", 80, "admin", "host"),
        ("10.0.0.5", 0, "admin", "port"),
        ("10.0.0.5", 80, "", "username"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    host: str, port: int, username: str, field: str
) -> None:
    with pytest.raises(InvalidProbeInput) as caught:
        await probe_camera(host, port, username, PASSWORD)
    assert caught.value.field == field
    assert isinstance(caught.value, ProbeError)


def test_nothing_is_imported_or_configured_at_import_time() -> None:
    code = (
        "import logging, sys\n"
        "import safecity.registry.onvif as m\n"
        "assert 'onvif' not in sys.modules and 'zeep' not in sys.modules, 'imported early'\n"
        "m._library()\n"
        "assert logging.getLogger().handlers == [], 'library configured root logging'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- compliance -----------------------------------------------------------------------------------


def _checks(result: ProbeResult) -> dict[str, bool]:
    return {c.check: c.passed for c in compliance_summary(result)}


async def test_compliant_camera_passes_every_check(responder: OnvifResponder) -> None:
    summary = compliance_summary(await _probe(responder))
    assert [c.check for c in summary] == [
        "onvif_profile",
        "resolution",
        "frame_rate",
        "codec",
        "stream_uri",
        "clock",
        "ntp",
        "credentials",
    ]
    assert all(c.passed for c in summary), [c for c in summary if not c.passed]


async def test_non_compliant_camera_fails_with_reasons() -> None:
    config = ResponderConfig(
        password="admin",
        clock_offset_seconds=30.0,
        date_time_type="Manual",
        scopes=("onvif://www.onvif.org/Profile/G",),
        profiles=(FakeProfile("p1", "main", width=1280, height=720, fps=10, encoding="JPEG"),),
    )
    with OnvifResponder(config) as device:
        result = await _probe(device)
    summary = {c.check: c for c in compliance_summary(result)}
    assert not any(c.passed for name, c in summary.items() if name != "stream_uri")
    assert summary["stream_uri"].passed
    assert "claims: G" in summary["onvif_profile"].detail
    assert "1280x720" in summary["resolution"].detail
    assert "10 fps" in summary["frame_rate"].detail
    assert "JPEG" in summary["codec"].detail
    assert re.search(r"camera is (29|30)\.\d s ahead of ours", summary["clock"].detail)
    assert "Manual" in summary["ntp"].detail
    assert "factory default" in summary["credentials"].detail
    assert "equals the user name" in summary["credentials"].detail


def _result(**changes: object) -> ProbeResult:
    """A probe result built by hand, for the boundaries of each check."""
    main = MediaProfile(
        token="m",
        name="main",
        encoding="H264",
        width=1920,
        height=1080,
        fps=12.0,
        bitrate_kbps=4096,
        stream_uri="rtsp://10.0.0.5/ch1",
    )
    base = ProbeResult.model_validate(
        {
            "host": "10.0.0.5",
            "port": 80,
            "username": "admin",
            "password": SecretStr("Long-enough-1"),
            "probed_at": "2025-01-01T00:00:00Z",
            "duration_seconds": 0.2,
            "device": {
                "manufacturer": "Dahua",
                "model": "IPC",
                "firmware_version": "1",
                "serial_number": "s",
                "hardware_id": None,
            },
            "clock": {
                "camera_utc": "2025-01-01T00:00:05Z",
                "reference_utc": "2025-01-01T00:00:00Z",
                "offset_seconds": -5.0,
                "uncertainty_seconds": 0.5,
                "source": "UTCDateTime",
                "date_time_type": "NTP",
                "time_zone": "PKT-5",
                "daylight_savings": False,
            },
            "services": [],
            "capabilities": None,
            "scopes": ["onvif://www.onvif.org/Profile/T"],
            "onvif_profiles": ["T"],
            "media_profiles": [main],
        }
    )
    return base.model_copy(update=changes)


def _profile(**changes: object) -> MediaProfile:
    return _result().media_profiles[0].model_copy(update=changes)


@pytest.mark.parametrize(
    ("result", "check", "passed"),
    [
        (_result(), "clock", True),  # exactly 5 s behind is still within 5 s
        (_result(), "frame_rate", True),  # 12 fps is enough
        (_result(), "onvif_profile", True),  # Profile T alone will do
        (_result(media_profiles=(_profile(fps=11.9),)), "frame_rate", False),
        (_result(media_profiles=(_profile(width=2560, height=1440),)), "resolution", True),
        (_result(media_profiles=(_profile(width=1920, height=1072),)), "resolution", False),
        (_result(media_profiles=(_profile(encoding="H265"),)), "codec", True),
        (_result(media_profiles=(_profile(stream_uri=None),)), "stream_uri", False),
        (_result(media_profiles=()), "resolution", False),
        (_result(clock=None), "clock", False),
        (_result(clock=None), "ntp", False),
        (_result(password=SecretStr("1234567")), "credentials", False),
        (_result(password=SecretStr("ADMIN"), username="admin"), "credentials", False),
    ],
)
def test_compliance_boundaries(result: ProbeResult, check: str, passed: bool) -> None:
    assert _checks(result)[check] is passed


def test_main_profile_is_the_largest_video_profile() -> None:
    small = _profile(token="s", width=640, height=360)
    audio = _profile(token="a", encoding=None, width=None, height=None)
    big = _profile(token="b", width=3840, height=2160)
    result = _result(media_profiles=(small, audio, big))
    assert result.main_profile == big
    assert result.sub_profile == small
    with pytest.raises(KeyError):
        result.stream_uri_with_credentials("missing")
