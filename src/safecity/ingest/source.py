"""Stream sources: what kind a URL is, how PyAV opens it, and how it may be shown.

A camera URL often carries a user name and password (``rtsp://user:pw@host``)
or a token in its query. FFmpeg repeats the URL in its error messages, so every
text that leaves a reader (logs, exceptions, stats, bus messages) goes through
:func:`scrub` first.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from safecity.core.logging import scrub_credentials

WITHHELD = "***"
# Query parameters that carry a secret on common cameras and recorders.
_SECRET_KEY = re.compile(r"(?i)pass|pwd|token|auth|secret|key|sig")


class SourceKind(StrEnum):
    RTSP = "rtsp"
    HTTP = "http"
    FILE = "file"


def source_kind(url: str) -> SourceKind:
    scheme = urlsplit(url).scheme.lower()
    if scheme in {"rtsp", "rtsps"}:
        return SourceKind.RTSP
    if scheme in {"http", "https"}:
        return SourceKind.HTTP
    if scheme in {"", "file"} or len(scheme) == 1:  # a bare path, or a Windows drive letter
        return SourceKind.FILE
    raise ValueError(
        f"unsupported stream scheme {scheme!r}: use rtsp, rtsps, http, https or a file"
    )


def pyav_target(url: str) -> str:
    """What to hand to ``av.open``: network URLs as they are, files as a plain path."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return unquote(parts.path)
    return url


def open_options(kind: SourceKind, read_timeout_seconds: float) -> dict[str, str]:
    """FFmpeg options per source kind (ENVIRONMENT.md, "Video").

    RTSP over TCP (UDP loses packets on poor links and breaks recordings), a
    small probe so the stream opens in about a second instead of six, and only
    the video track set up: audio is neither analysed nor recorded.
    """
    microseconds = str(int(read_timeout_seconds * 1_000_000))
    if kind is SourceKind.RTSP:
        return {
            "rtsp_transport": "tcp",
            "analyzeduration": "500000",
            "probesize": "65536",
            "allowed_media_types": "video",
            "timeout": microseconds,
        }
    if kind is SourceKind.HTTP:
        return {"rw_timeout": microseconds, "analyzeduration": "1000000"}
    return {}


def display_url(url: str) -> str:
    """``rtsp://user:pw@host:554/path?token=x`` -> ``rtsp://***@host:554/path``."""
    parts = urlsplit(url)
    if parts.scheme.lower() in {"", "file"} or len(parts.scheme) == 1:
        return str(Path(pyav_target(url)))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{WITHHELD}@{netloc.rsplit('@', 1)[1]}"
    query = WITHHELD if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def secrets_of(url: str) -> tuple[str, ...]:
    """The pieces of ``url`` that must never be shown: password, user info and query."""
    parts = urlsplit(url)
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found.append(userinfo)
        if ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            found += [password, unquote(password)]
    if parts.query:
        found.append(parts.query)
        found += [
            value
            for key, value in parse_qsl(parts.query, keep_blank_values=False)
            if _SECRET_KEY.search(key)
        ]
    # Longest first, so a password inside the user info is not half-replaced.
    return tuple(sorted({piece for piece in found if piece}, key=len, reverse=True))


def scrub(text: str, url: str) -> str:
    """``text`` with ``url`` shown only in its display form and no trace of its secrets."""
    cleaned = text.replace(url, display_url(url))
    for secret in secrets_of(url):
        cleaned = cleaned.replace(secret, WITHHELD)
    return scrub_credentials(cleaned)
