"""Stream URLs: validation, and a display form that never carries credentials."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https")
WITHHELD = "***"


def validate_stream_url(url: str) -> str:
    """Return the URL stripped; raise ValueError with a reason a person can act on."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not parts.path:
            raise ValueError("file URL has no path")
        return url
    if scheme not in NETWORK_SCHEMES:
        raise ValueError(f"scheme must be one of rtsp, rtsps, http, https or file, not '{scheme}'")
    if not parts.hostname:
        raise ValueError("stream URL has no host")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("stream URL has an invalid port") from exc
    if any(ch.isspace() for ch in url):
        raise ValueError("stream URL contains spaces")
    return url


def display_form(url: str) -> str:
    """``rtsp://user:pw@host:554/path?token=x`` -> ``rtsp://***@host:554/path``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets, or the port is ambiguous
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"{WITHHELD}@{host}"
    return urlunsplit((parts.scheme, host, _safe_path(parts.path), "", ""))


# Some recorders take credentials in the path (".../user=admin_password=x_channel=1");
# a path segment that looks like it carries one is replaced whole.
_SECRET_IN_PATH = re.compile(r"(?i)(=|pass|pwd|user|token|auth|secret|key)")


def _safe_path(path: str) -> str:
    # From the first segment that names a credential on, everything is withheld: the
    # secret itself often follows its name ("/pwd/S3cret").
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if _SECRET_IN_PATH.search(segment):
            return "/".join([*segments[:index], WITHHELD])
    return path


def is_withheld(url: str) -> bool:
    """An exported URL whose credentials were withheld (re-importing keeps the stored ones)."""
    return f"{WITHHELD}@" in url
