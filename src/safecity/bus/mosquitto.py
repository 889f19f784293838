"""A private Mosquitto broker (Debian's package) for site gateways' MQTT telemetry.

Loopback only, no anonymous access: one account for the platform's bridge and one
for gateways, with an ACL so a gateway can only publish telemetry and read the
answers about its rejected samples.
"""

from __future__ import annotations

import getpass
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from safecity.core import processes

BRIDGE_USER = "safecity-bridge"
GATEWAY_USER = "site-gateway"
TOPIC_TELEMETRY = "safecity/sites/+/power"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class MqttAccount:
    username: str
    password: str


class MosquittoError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _password(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


class MosquittoServer:
    def __init__(self, state_dir: Path, keys_dir: Path, port: int | None = None) -> None:
        self.state_dir = state_dir
        self.keys_dir = keys_dir
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return (
            shutil.which("mosquitto") is not None and shutil.which("mosquitto_passwd") is not None
        )

    @property
    def port(self) -> int:
        if self._port is None:
            raise MosquittoError("the broker has not been started")
        return self._port

    def account(self, username: str) -> MqttAccount:
        return MqttAccount(username, _password(self.keys_dir / f"mqtt-{username}-password"))

    def _configure(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        passwords = self.state_dir / "passwords"
        passwords.unlink(missing_ok=True)
        for user in (BRIDGE_USER, GATEWAY_USER):
            account = self.account(user)
            args = ["mosquitto_passwd", "-b", str(passwords), account.username, account.password]
            if not passwords.exists():
                args.insert(1, "-c")
            done = subprocess.run(args, capture_output=True, text=True, check=False)
            if done.returncode:
                raise MosquittoError(f"mosquitto_passwd failed: {done.stderr.strip()}")
        passwords.chmod(0o600)
        acl = self.state_dir / "acl"
        acl.write_text(
            f"user {BRIDGE_USER}\ntopic read {TOPIC_TELEMETRY}\n"
            f"topic write {TOPIC_TELEMETRY}/errors\n\n"
            f"user {GATEWAY_USER}\ntopic write {TOPIC_TELEMETRY}\n"
            f"topic read {TOPIC_TELEMETRY}/errors\n"
        )
        config = self.state_dir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {HOST}\n"
            "allow_anonymous false\n"
            f"password_file {passwords}\n"
            f"acl_file {acl}\n"
            "persistence false\n"
            f"log_dest file {self.state_dir / 'mosquitto.log'}\n"
            # Run as whoever started us: dropping to the "mosquitto" user would lose
            # access to this folder and the broker would exit without a word.
            f"user {getpass.getuser()}\n"
        )
        return config

    def start(self, timeout: float = 10.0) -> None:
        if not self.available():
            raise MosquittoError("mosquitto is not installed (apt-get install mosquitto)")
        if self._port is None:
            self._port = _free_port()
        config = self._configure()
        self._process = subprocess.Popen(
            ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise MosquittoError(f"mosquitto exited: {self._log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise MosquittoError(f"mosquitto did not listen within {timeout} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.state_dir / "mosquitto.log"
        stderr = b""
        if (
            self._process is not None
            and self._process.stderr is not None
            and self._process.poll() is not None
        ):
            stderr = self._process.stderr.read()
        text = log.read_text(errors="replace") if log.exists() else ""
        return (stderr.decode(errors="replace") + text)[-1500:]

    def stop(self) -> None:
        if self._process is None:
            return
        processes.terminate(self._process, 5)
        if self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> MosquittoServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
