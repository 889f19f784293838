"""Stream URLs: what is accepted, why the rest is refused, and a display form without secrets."""

from __future__ import annotations

import pytest

from safecity.registry.streams import display_form, is_withheld, validate_stream_url


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://admin:s3cret@10.0.0.1:554/Streaming/Channels/101",
        "rtsps://cam.example.org/live",
        "RTSP://10.0.0.1/ch1",
        "http://10.0.0.2/mjpg/video.mjpg",
        "https://user:pw@cam.example.org:8443/stream?channel=1",
        "rtsp://admin:p@ss@10.0.0.1/ch1",
        "file:///srv/media/sample.mp4",
    ],
)
def test_valid_stream_urls(url: str) -> None:
    assert validate_stream_url(f"  {url}\n") == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://10.0.0.1/video", "scheme must be one of"),
        ("10.0.0.1:554/ch1", "scheme must be one of"),
        ("javascript:alert(1)", "scheme must be one of"),
        ("rtsp:///ch1", "no host"),
        ("rtsp://admin:pw@/ch1", "no host"),
        ("rtsp://10.0.0.1:99999/ch1", "invalid port"),
        ("rtsp://10.0.0.1:port/ch1", "invalid port"),
        ("rtsp://10.0.0.1/my channel", "spaces"),
        ("file://", "no path"),
    ],
)
def test_invalid_stream_urls(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_stream_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "rtsp://admin:s3cret@10.0.0.1:554/Streaming/Channels/101",
            "rtsp://***@10.0.0.1:554/Streaming/Channels/101",
        ),
        ("rtsp://admin@10.0.0.1/ch1", "rtsp://***@10.0.0.1/ch1"),
        ("rtsp://:s3cret@10.0.0.1/ch1", "rtsp://***@10.0.0.1/ch1"),
        ("rtsp://admin:p@ss@10.0.0.1/ch1", "rtsp://***@10.0.0.1/ch1"),
        # Tokens travel in query strings too; the display form drops query and fragment.
        ("https://cam.example.org/live?token=abc123#x", "https://cam.example.org/live"),
        ("rtsp://10.0.0.1:554/ch1", "rtsp://10.0.0.1:554/ch1"),
        ("rtsp://admin:s3cret@[fd00::12]:554/ch1", "rtsp://***@[fd00::12]:554/ch1"),
        ("rtsp://[fd00::12]/ch1", "rtsp://[fd00::12]/ch1"),
        ("file:///srv/media/sample.mp4", "file:///srv/media/sample.mp4"),
    ],
)
def test_display_form_never_carries_credentials(url: str, shown: str) -> None:
    assert display_form(url) == shown
    for secret in ("s3cret", "admin", "p@ss", "abc123"):
        assert secret not in display_form(url)


@pytest.mark.parametrize(
    ("url", "withheld"),
    [
        ("rtsp://***@10.0.0.1/ch1", True),
        ("rtsp://admin:s3cret@10.0.0.1/ch1", False),
        ("rtsp://10.0.0.1/ch1", False),
    ],
)
def test_withheld_marker(url: str, withheld: bool) -> None:
    assert is_withheld(url) is withheld


def test_display_form_of_a_display_form_is_stable() -> None:
    shown = display_form("rtsp://admin:s3cret@10.0.0.1:554/ch1")
    assert is_withheld(shown)
    assert display_form(shown) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # Some recorders take credentials in the path: the whole segment is withheld.
        (
            "rtsp://10.0.0.5:554/user=admin_password=S3cret_channel=1_stream=0.sdp",
            "rtsp://10.0.0.5:554/***",
        ),
        # ... and so is everything after a segment that names one.
        (
            "http://10.0.0.5/cgi-bin/snapshot.cgi/pwd/S3cret",
            "http://10.0.0.5/cgi-bin/snapshot.cgi/***",
        ),
        ("rtsp://10.0.0.5/Streaming/Channels/101", "rtsp://10.0.0.5/Streaming/Channels/101"),
    ],
)
def test_credentials_in_paths_are_not_shown(url: str, shown: str) -> None:
    assert display_form(url) == shown
