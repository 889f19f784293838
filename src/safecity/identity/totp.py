"""Optional TOTP second factor (RFC 6238, 30 s steps, one step of clock drift allowed)."""

from __future__ import annotations

import binascii
import io

import pyotp
import qrcode
import qrcode.image.svg

ISSUER = "safecity"


def new_secret() -> str:
    return pyotp.random_base32()


def verify_code(secret: str, code: str) -> bool:
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return False
    try:
        return pyotp.TOTP(secret).verify(code, valid_window=1)
    except (ValueError, binascii.Error):  # not a base32 secret: nothing can match it
        return False


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def provisioning_qr_svg(secret: str, username: str) -> str:
    """An inline SVG QR code for the authenticator app (no external image service)."""
    image = qrcode.make(
        provisioning_uri(secret, username), image_factory=qrcode.image.svg.SvgPathImage
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()
