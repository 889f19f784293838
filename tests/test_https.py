"""With a certificate configured the server speaks HTTPS (and marks cookies Secure,
sends HSTS); without one it refuses any address but loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from safecity.core.settings import Settings
from safecity.web import bootstrap
from safecity.web.platform import build_platform
from safecity.web.server import build_server
from tests.conftest import TEST_SECRET
from tests.support.postgres import free_port


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_non_loopback_needs_tls() -> None:
    settings = Settings(host="0.0.0.0", secret_key=TEST_SECRET)
    assert any("SAFECITY_TLS_CERTFILE" in p for p in settings.problems_for_serving())


def test_https_with_configured_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        port=port,
        tls_certfile=cert,
        tls_keyfile=key,
    )
    assert settings.problems_for_serving() == []
    platform = build_platform(settings)
    bootstrap.upgrade_database(platform)
    bootstrap.seed_base(platform)
    platform.ready = True
    server = build_server(platform, bus_url=None)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        context = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 15
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/api/v1/health", context=context, timeout=5
        ) as response:
            assert json.loads(response.read())["status"] == "ok"
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/login", context=context, timeout=5
        ) as response:
            cookie = response.headers["Set-Cookie"]
            assert "Secure" in cookie
            assert "HttpOnly" in cookie
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        platform.dispose()
