"""The server refuses unsafe settings before it starts; typos in variable names are reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safecity.core.settings import DEFAULT_SECRET, Settings, unknown_environment_names

GOOD_SECRET = "a-long-random-secret-for-the-tests-0123456789"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings also read SAFECITY_* from the environment; a developer's shell must not
    # change what these tests see.
    for name in list(os.environ):
        if name.startswith("SAFECITY_"):
            monkeypatch.delenv(name)


def _settings(tmp_path: Path, **values: object) -> Settings:
    values.setdefault("data_dir", tmp_path)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def cert_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    return cert, key


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({"secret_key": GOOD_SECRET}, []),
        ({}, ["SAFECITY_SECRET_KEY"]),
        ({"secret_key": DEFAULT_SECRET}, ["SAFECITY_SECRET_KEY"]),
        ({"secret_key": "x" * 31}, ["SAFECITY_SECRET_KEY"]),
        ({"secret_key": "x" * 32}, []),
        # Demo mode generates its own secret, so the default is tolerated there only.
        ({"demo": True}, []),
        ({"secret_key": GOOD_SECRET, "host": "localhost"}, []),
        ({"secret_key": GOOD_SECRET, "host": "127.0.0.5"}, []),
        ({"secret_key": GOOD_SECRET, "host": "::1"}, []),
        ({"secret_key": GOOD_SECRET, "host": "0.0.0.0"}, ["SAFECITY_HOST=0.0.0.0"]),
        ({"secret_key": GOOD_SECRET, "host": "10.20.0.4"}, ["SAFECITY_HOST=10.20.0.4"]),
        ({"secret_key": GOOD_SECRET, "host": "cc.kp.example"}, ["SAFECITY_HOST=cc.kp.example"]),
        ({"host": "0.0.0.0"}, ["SAFECITY_SECRET_KEY", "SAFECITY_HOST=0.0.0.0"]),
        ({"demo": True, "host": "0.0.0.0"}, ["SAFECITY_HOST=0.0.0.0"]),
    ],
)
def test_problems_for_serving(
    tmp_path: Path, values: dict[str, object], refused: list[str]
) -> None:
    problems = _settings(tmp_path, **values).problems_for_serving()
    assert len(problems) == len(refused), problems
    for problem, marker in zip(problems, refused, strict=True):
        assert marker in problem


def test_public_host_with_tls_is_accepted(tmp_path: Path, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    settings = _settings(
        tmp_path, secret_key=GOOD_SECRET, host="0.0.0.0", tls_certfile=cert, tls_keyfile=key
    )
    assert settings.problems_for_serving() == []


def test_certificate_without_key_is_refused(tmp_path: Path, cert_files: tuple[Path, Path]) -> None:
    cert, _ = cert_files
    settings = _settings(tmp_path, secret_key=GOOD_SECRET, host="0.0.0.0", tls_certfile=cert)
    (problem,) = settings.problems_for_serving()
    assert "SAFECITY_TLS_KEYFILE" in problem


@pytest.mark.parametrize("missing", ["tls_certfile", "tls_keyfile"])
def test_missing_certificate_file_is_named(
    tmp_path: Path, cert_files: tuple[Path, Path], missing: str
) -> None:
    cert, key = cert_files
    files = {"tls_certfile": cert, "tls_keyfile": key}
    files[missing] = tmp_path / "gone" / f"{missing}.pem"
    settings = _settings(tmp_path, secret_key=GOOD_SECRET, **files)
    (problem,) = settings.problems_for_serving()
    assert f"SAFECITY_{missing.upper()}" in problem
    assert str(files[missing]) in problem


def test_secret_key_is_not_shown_in_repr(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secret_key=GOOD_SECRET, database_url="postgresql://u:pw@h/d")
    assert GOOD_SECRET not in repr(settings)
    assert "pw@" not in repr(settings)


def test_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFECITY_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("SAFECITY_PORT", "9443")
    settings = Settings()
    assert settings.data_dir == tmp_path / "d"
    assert settings.port == 9443
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'd' / 'safecity.db'}"
    assert settings.keys_dir == tmp_path / "d" / "keys"


@pytest.mark.parametrize(
    ("environ", "unknown"),
    [
        ({}, []),
        ({"SAFECITY_SECRET_KEY": "x", "SAFECITY_DATA_DIR": "/d", "PATH": "/bin"}, []),
        ({"SAFECITY_SECERT_KEY": "x"}, ["SAFECITY_SECERT_KEY"]),
        (
            {"SAFECITY_HOST": "h", "SAFECITY_PROT": "1", "SAFECITY_DATABASE": "x"},
            ["SAFECITY_DATABASE", "SAFECITY_PROT"],
        ),
        ({"SAFECITY_": "x"}, ["SAFECITY_"]),
        ({"NOT_SAFECITY_HOST": "x", "SAFECITYHOST": "x"}, []),
    ],
)
def test_unknown_environment_names(environ: dict[str, str], unknown: list[str]) -> None:
    assert unknown_environment_names(environ) == unknown


def test_unknown_environment_names_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFECITY_LOGLEVEL", "DEBUG")
    assert unknown_environment_names() == ["SAFECITY_LOGLEVEL"]


def test_the_demo_detects_with_the_bundled_model_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES

    assert _settings(tmp_path).demo_analytics_detector == SIM_VEHICLES
    assert (BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml").is_file()
    # An empty variable asks for motion tracking only.
    monkeypatch.setenv("SAFECITY_DEMO_ANALYTICS_DETECTOR", "")
    assert _settings(tmp_path).demo_analytics_detector is None
    monkeypatch.setenv("SAFECITY_DEMO_ANALYTICS_DETECTOR", "yolox-nano")
    assert _settings(tmp_path).demo_analytics_detector == "yolox-nano"
