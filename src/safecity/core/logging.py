"""Logging to stderr with credentials scrubbed from anything that looks like a URL."""

from __future__ import annotations

import logging
import re
import sys

# The user-info ends at the LAST "@" before the path, query or fragment (as urlsplit and
# ffmpeg read it) and never spans lines, so a password holding "@", ":", a space or other
# odd characters, or an empty user name ("rtsp://:pw@host"), is hidden whole. The price:
# in a URL with no path, an "@" later on the same line ("rtsp://cam down, mail ops@x")
# is taken for the end of user-info, hiding more than needed rather than a password.
_SCHEME = r"[a-zA-Z][a-zA-Z0-9+.-]*://"
_USER_INFO = r"[^/?#\r\n]*@"
_URL_CREDENTIALS = re.compile(rf"(?P<scheme>{_SCHEME}){_USER_INFO}")


def scrub_credentials(text: str) -> str:
    """Replace user:password in every URL of ``text`` with ``***``."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


_URL = re.compile(rf"{_SCHEME}(?:{_USER_INFO})?\S*")


def without_urls(text: str) -> str:
    """``text`` with every URL (and so every stream URL and its credentials) as ``<url>``."""
    return _URL.sub("<url>", text)


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub_credentials(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The health check reads the migration state on every call; that is not news.
    logging.getLogger("alembic").setLevel(logging.WARNING)
