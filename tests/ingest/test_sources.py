"""Stream URLs: kinds, FFmpeg options, and scrubbing credentials from every text."""

from __future__ import annotations

import pytest

from safecity.ingest.source import (
    SourceKind,
    display_url,
    open_options,
    pyav_target,
    scrub,
    source_kind,
)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rtsp://cam/stream1", SourceKind.RTSP),
        ("RTSPS://cam/stream1", SourceKind.RTSP),
        ("http://cam/video.ts", SourceKind.HTTP),
        ("https://cam/video.ts", SourceKind.HTTP),
        ("/srv/clips/a.mp4", SourceKind.FILE),
        ("file:///srv/clips/a.mp4", SourceKind.FILE),
    ],
)
def test_source_kinds(url: str, kind: SourceKind) -> None:
    assert source_kind(url) is kind


def test_unsupported_scheme_names_only_the_scheme() -> None:
    with pytest.raises(ValueError, match="'ftp'") as caught:
        source_kind("ftp://admin:hunter2@cam/x")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:pw@10.0.0.7:554/Streaming/101", "rtsp://***@10.0.0.7:554/Streaming/101"),
        ("rtsp://:pw@cam/s", "rtsp://***@cam/s"),
        ("rtsp://admin:p@ss@cam/s", "rtsp://***@cam/s"),
        ("http://cam/video.cgi?user=admin&pwd=x", "http://cam/video.cgi?***"),
        ("rtsp://cam/s", "rtsp://cam/s"),
        ("file:///srv/a%20b.mp4", "/srv/a b.mp4"),
    ],
)
def test_display_url_withholds_user_info_and_query(url: str, shown: str) -> None:
    assert display_url(url) == shown


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("rtsp://admin:S3cr%40t@cam/s", "S3cr@t"),  # FFmpeg may echo the decoded form
        ("rtsp://admin:S3cr%40t@cam/s", "S3cr%40t"),
        ("http://cam/v.cgi?pwd=Tok3n", "Tok3n"),
    ],
)
def test_scrub_removes_the_secret_in_any_form(url: str, password: str) -> None:
    text = f"cannot open {url!r}: 401 (tried {password} as {url})"
    cleaned = scrub(text, url)
    assert password not in cleaned
    assert display_url(url) in cleaned


def test_rtsp_opens_over_tcp_with_a_small_probe_and_video_only() -> None:
    options = open_options(SourceKind.RTSP, read_timeout_seconds=4)
    assert options["rtsp_transport"] == "tcp"
    assert options["timeout"] == "4000000"
    assert options["allowed_media_types"] == "video"
    assert int(options["probesize"]) <= 65536


def test_file_urls_open_as_paths() -> None:
    assert pyav_target("file:///srv/a%20b.mp4") == "/srv/a b.mp4"
    assert pyav_target("rtsp://cam/s?x=1") == "rtsp://cam/s?x=1"
