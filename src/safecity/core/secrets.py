"""Keys kept as files in the data folder, outside the database.

- ``credentials.key``: Fernet key that encrypts camera credentials at rest.
- ``audit-signing.key``: Ed25519 key that signs audit checkpoints; a database
  dump alone cannot forge them.
- ``secret.key``: the demo's generated secret (only used in demo mode).
Files are created with mode 0600 inside a 0700 folder.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from safecity.core.errors import ConfigError

CREDENTIALS_KEY = "credentials.key"
AUDIT_SIGNING_KEY = "audit-signing.key"
DEMO_SECRET = "secret.key"  # noqa: S105 - a file name, not a secret


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@dataclass(frozen=True)
class KeyStore:
    directory: Path

    def ensure(self) -> None:
        """Create any missing key (called by set-up commands, never at import)."""
        if not (self.directory / CREDENTIALS_KEY).exists():
            _write_private(self.directory / CREDENTIALS_KEY, Fernet.generate_key())
        if not (self.directory / AUDIT_SIGNING_KEY).exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_private(self.directory / AUDIT_SIGNING_KEY, pem)

    def _read(self, name: str) -> bytes:
        path = self.directory / name
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{path}: key file missing; run `safecity db upgrade` (or restore it from backup)"
            ) from exc

    def credentials_cipher(self) -> CredentialCipher:
        return CredentialCipher(Fernet(self._read(CREDENTIALS_KEY)))

    def audit_signing_key(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self._read(AUDIT_SIGNING_KEY), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{self.directory / AUDIT_SIGNING_KEY}: not an Ed25519 key")
        return key

    def audit_verify_key(self) -> Ed25519PublicKey:
        return self.audit_signing_key().public_key()

    def demo_secret(self) -> str:
        path = self.directory / DEMO_SECRET
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(48).encode())
        return path.read_text().strip()


class CredentialCipher:
    """Encrypts stream URLs (which carry passwords) for storage."""

    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError("stored credential cannot be decrypted with this key") from exc
