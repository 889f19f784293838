"""Credentials inside URLs never reach the logs, whatever the URL looks like."""

from __future__ import annotations

import io
import logging

import pytest

from safecity.core.logging import ScrubbingFormatter, scrub_credentials, without_urls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:s3cret@10.0.0.1:554/ch1", "rtsp://***@10.0.0.1:554/ch1"),
        ("rtsps://admin:s3cret@cam.example/live", "rtsps://***@cam.example/live"),
        ("http://viewer@10.0.0.2/snapshot.jpg", "http://***@10.0.0.2/snapshot.jpg"),
        # A raw "@" in the password: urlsplit takes the LAST "@", so must the scrubber.
        ("rtsp://admin:p@ss@10.0.0.1/ch1", "rtsp://***@10.0.0.1/ch1"),
        ("rtsp://:onlypassword@10.0.0.1/ch1", "rtsp://***@10.0.0.1/ch1"),
        ("postgresql+psycopg://safecity:dbpw@db:5432/sc", "postgresql+psycopg://***@db:5432/sc"),
        (
            "reconnect rtsp://a:pw1@h1/x failed, trying rtsp://b:pw2@h2:8554/y",
            "reconnect rtsp://***@h1/x failed, trying rtsp://***@h2:8554/y",
        ),
        ("'rtsp://a:pw@h'", "'rtsp://***@h'"),
        ("rtsp://10.0.0.1:554/ch1", "rtsp://10.0.0.1:554/ch1"),
        # An "@" after the path is not user-info; nothing to hide there.
        ("http://host/a?mail=x@y", "http://host/a?mail=x@y"),
        ("write to ops@example.org", "write to ops@example.org"),
        # A password with a space (or other odd characters) is hidden whole.
        ("rtsp://admin:pa ss@10.0.0.1/ch1 down", "rtsp://***@10.0.0.1/ch1 down"),
        ('rtsp://admin:a b\tc"<>%@cam/x', "rtsp://***@cam/x"),
        ("rtsp://my user:pw@cam:554/x", "rtsp://***@cam:554/x"),
        # A line without credentials keeps its words; user-info never spans lines.
        ("rtsp://cam/x failed, mail ops@example.org", "rtsp://cam/x failed, mail ops@example.org"),
        (
            "rtsp://cam:554 refused\nmail ops@example.org",
            "rtsp://cam:554 refused\nmail ops@example.org",
        ),
        ("", ""),
    ],
)
def test_scrub_credentials(text: str, expected: str) -> None:
    assert scrub_credentials(text) == expected


PASSWORDS = ["s3cret", "p@ss", "pa:ss", "x%40y", "pa ss", " lead", "trail ", "a b c", "q'\"<>"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_no_password_survives_scrubbing(password: str) -> None:
    scrubbed = scrub_credentials(f"opening rtsp://admin:{password}@10.0.0.9/ch1 now")
    assert scrubbed == "opening rtsp://***@10.0.0.9/ch1 now"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cannot open rtsp://10.0.0.1/ch1 (refused)", "cannot open <url> (refused)"),
        ("cannot open rtsp://admin:pw@10.0.0.1/ch1 (refused)", "cannot open <url> (refused)"),
        # The tail of a password with a space is no longer left behind.
        ("cannot open rtsp://admin:pa ss@10.0.0.1/ch1 (refused)", "cannot open <url> (refused)"),
        ("open rtsp://a:x y z@h:554/s?t=1 failed", "open <url> failed"),
        (
            "rtsp://a:pw1@h1/x failed, trying rtsp://b:p w2@h2/y now",
            "<url> failed, trying <url> now",
        ),
        # Ordinary lines keep their words: an "@" after a path is no user-info.
        ("rtsp://cam/x failed, mail ops@example.org", "<url> failed, mail ops@example.org"),
        ("rtsp://cam:554 refused\nmail ops@example.org", "<url> refused\nmail ops@example.org"),
        ("write to ops@example.org", "write to ops@example.org"),
        ("no url here: a b c", "no url here: a b c"),
        ("", ""),
    ],
)
def test_without_urls(text: str, expected: str) -> None:
    assert without_urls(text) == expected


@pytest.mark.parametrize("password", PASSWORDS)
def test_no_password_survives_without_urls(password: str) -> None:
    assert without_urls(f"opening rtsp://admin:{password}@10.0.0.9/ch1 now") == "opening <url> now"


def test_log_formatter_scrubs_messages_and_arguments() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ScrubbingFormatter("%(message)s"))
    logger = logging.getLogger("tests.core.scrub")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("camera %s offline", "rtsp://admin:hunter2@10.1.1.1/ch1")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "camera rtsp://***@10.1.1.1/ch1 offline\n"
