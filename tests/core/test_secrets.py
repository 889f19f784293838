"""Key files: private on disk, created once, and a clear refusal when one is missing."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from safecity.core.errors import ConfigError
from safecity.core.secrets import AUDIT_SIGNING_KEY, CREDENTIALS_KEY, DEMO_SECRET, KeyStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_creates_private_key_files(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "data" / "keys")
    store.ensure()
    assert _mode(store.directory) == 0o700
    for name in (CREDENTIALS_KEY, AUDIT_SIGNING_KEY):
        assert _mode(store.directory / name) == 0o600, name


def test_ensure_keeps_existing_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.ensure()
    before = {
        name: (store.directory / name).read_bytes() for name in (CREDENTIALS_KEY, AUDIT_SIGNING_KEY)
    }
    store.ensure()
    after = {name: (store.directory / name).read_bytes() for name in before}
    assert after == before


def test_credentials_round_trip_and_stay_unreadable_without_the_key(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.ensure()
    cipher = store.credentials_cipher()
    token = cipher.encrypt("rtsp://admin:s3cret@10.0.0.1/ch1")
    assert "s3cret" not in token
    assert cipher.decrypt(token) == "rtsp://admin:s3cret@10.0.0.1/ch1"
    other = KeyStore(tmp_path / "other")
    other.ensure()
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        other.credentials_cipher().decrypt(token)


@pytest.mark.parametrize(
    ("name", "load"),
    [
        (CREDENTIALS_KEY, KeyStore.credentials_cipher),
        (AUDIT_SIGNING_KEY, KeyStore.audit_signing_key),
        (AUDIT_SIGNING_KEY, KeyStore.audit_verify_key),
    ],
)
def test_missing_key_file_is_refused_with_its_path(
    tmp_path: Path, name: str, load: Callable[[KeyStore], object]
) -> None:
    store = KeyStore(tmp_path / "keys")
    store.ensure()
    (store.directory / name).unlink()
    with pytest.raises(ConfigError) as caught:
        load(store)
    message = caught.value.message
    assert message.startswith(f"{store.directory / name}: key file missing")
    assert "safecity db upgrade" in message


def test_audit_key_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.ensure()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (store.directory / AUDIT_SIGNING_KEY).write_bytes(pem)
    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        store.audit_signing_key()


def test_demo_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.demo_secret()
    assert len(first) >= 32
    assert store.demo_secret() == first
    assert _mode(store.directory / DEMO_SECRET) == 0o600
