"""Credentials inside URLs never reach the logs, whatever the URL looks like."""

from __future__ import annotations

import io
import logging

import pytest

from safecity.core.logging import ScrubbingFormatter, scrub_credentials


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
        ("", ""),
    ],
)
def test_scrub_credentials(text: str, expected: str) -> None:
    assert scrub_credentials(text) == expected


@pytest.mark.parametrize("password", ["s3cret", "p@ss", "pa:ss", "x%40y"])
def test_no_password_survives_scrubbing(password: str) -> None:
    scrubbed = scrub_credentials(f"opening rtsp://admin:{password}@10.0.0.9/ch1 now")
    assert password not in scrubbed
    assert "***@10.0.0.9/ch1" in scrubbed


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
