"""The real `safecity` console script, run as an operator would run it, on a fresh data folder.

Each call starts a Python process (about a second), so one prepared folder (migrated,
a user, an import) is made once per module and every test works on its own copy.
Results go to stdout and nothing else does: scripts read them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from safecity.audit.log import verify_chain
from safecity.core.settings import Settings
from safecity.identity.passwords import verify_password
from safecity.web.app import create_app
from safecity.web.platform import Platform, build_platform
from tests.conftest import TEST_SECRET

SAFECITY = Path(sys.executable).parent / "safecity"

CAMERAS_CSV = """\
code,name,district,site,site_name,site_type,site_latitude,site_longitude,main_stream_url,resolution
PSH-K1,Khyber Bazaar 1,peshawar,PSH-KS1,Khyber Bazaar,market,34.008,71.565,rtsp://admin:kb-pass-1@10.3.0.1:554/ch1,1920x1080
PSH-K2,Khyber Bazaar 2,peshawar,PSH-KS1,,,,,rtsp://admin:kb-pass-2@10.3.0.2:554/ch1,wide
PSH-K3,Khyber Bazaar 3,peshawar,PSH-KS1,,,,,rtsp://admin:kb-pass-3@10.3.0.3:554/ch1,1280x720
PSH-K4,Khyber Bazaar 4,peshawar,PSH-NOWHERE,,,,,,
"""


def _environment(data_dir: Path, **extra: str) -> dict[str, str]:
    # The developer's own SAFECITY_* settings must not leak into the commands under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECITY_")}
    env["SAFECITY_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def safecity(
    data_dir: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    assert SAFECITY.exists(), f"{SAFECITY} missing: install the project into the venv"
    return subprocess.run(
        [str(SAFECITY), *args],
        env=_environment(data_dir, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass(frozen=True)
class Prepared:
    data_dir: Path
    csv_file: Path
    upgrade: subprocess.CompletedProcess[str]
    user_create: subprocess.CompletedProcess[str]
    cameras_import: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    root = tmp_path_factory.mktemp("cli")
    data_dir = root / "data"
    csv_file = root / "cameras.csv"
    csv_file.write_text(CAMERAS_CSV)
    upgrade = safecity(data_dir, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    user_create = safecity(
        data_dir, "user", "create", "alice", "--role", "operator", "--district", "peshawar"
    )
    assert user_create.returncode == 0, user_create.stderr
    cameras_import = safecity(data_dir, "cameras", "import", str(csv_file))
    return Prepared(data_dir, csv_file, upgrade, user_create, cameras_import)


@pytest.fixture
def data_dir(prepared: Prepared, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(prepared.data_dir, copy)
    return copy


def _query(database: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(database)
    try:
        return list(connection.execute(sql))
    finally:
        connection.close()


@pytest.fixture
def platform_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Platform]]:
    """Platforms opened in this process on a CLI data folder, closed after the test."""
    for name in list(os.environ):
        if name.startswith("SAFECITY_"):
            monkeypatch.delenv(name)
    opened: list[Platform] = []
    yield opened
    for platform in opened:
        platform.dispose()


def _open(opened: list[Platform], data_dir: Path) -> Platform:
    platform = build_platform(Settings(data_dir=data_dir, secret_key=TEST_SECRET))
    platform.ready = True
    opened.append(platform)
    return platform


def test_db_upgrade_reports_the_revision(prepared: Prepared) -> None:
    assert prepared.upgrade.stdout.startswith("database at revision ")
    assert (prepared.data_dir / "safecity.db").is_file()
    assert stat.S_IMODE((prepared.data_dir / "keys" / "credentials.key").stat().st_mode) == 0o600


def test_user_create_prints_the_password_on_stdout_only(prepared: Prepared) -> None:
    result = prepared.user_create
    (password,) = result.stdout.splitlines()
    assert len(password) >= 12
    assert password not in result.stderr
    assert "created user alice" in result.stderr
    ((password_hash,),) = _query(
        prepared.data_dir / "safecity.db", "SELECT password_hash FROM users WHERE username='alice'"
    )
    assert verify_password(str(password_hash), password)
    roles = _query(
        prepared.data_dir / "safecity.db",
        "SELECT r.slug FROM roles r JOIN user_roles ur ON ur.role_id = r.id "
        "JOIN users u ON u.id = ur.user_id WHERE u.username = 'alice'",
    )
    assert roles == [("operator",)]


def test_user_create_with_password_from_stdin_prints_nothing(data_dir: Path) -> None:
    result = safecity(
        data_dir,
        "user",
        "create",
        "bob",
        "--role",
        "engineer",
        "--all-districts",
        "--password-stdin",
        stdin="Bob-Strong-Password-1\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    ((password_hash,),) = _query(
        data_dir / "safecity.db", "SELECT password_hash FROM users WHERE username='bob'"
    )
    assert verify_password(str(password_hash), "Bob-Strong-Password-1")


def test_token_create_prints_only_a_working_token(
    data_dir: Path, platform_of: list[Platform]
) -> None:
    result = safecity(data_dir, "token", "create", "--user", "alice", "--name", "wall")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    token = result.stdout.strip()
    assert token
    assert " " not in token
    assert token not in result.stderr
    platform = _open(platform_of, data_dir)
    with TestClient(create_app(platform), base_url="http://127.0.0.1") as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "alice"
        assert "cameras.view" in me.json()["permissions"]
        assert "cameras.change" not in me.json()["permissions"]
        forged = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
        assert forged.status_code == 401


def test_token_for_an_unknown_user_is_refused(data_dir: Path) -> None:
    result = safecity(data_dir, "token", "create", "--user", "mallory")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no user named 'mallory'" in result.stderr


def test_import_reports_bad_rows_and_keeps_good_ones(prepared: Prepared) -> None:
    result = prepared.cameras_import
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "2 created, 0 updated, 0 unchanged, 1 sites created, 2 rows rejected"
    # One problem per line, whole, so that grep and scripts can rely on it.
    assert lines[1:] == [
        f"{prepared.csv_file}: row 3: resolution: resolution must look like 1920x1080",
        f"{prepared.csv_file}: row 5: site: site 'PSH-NOWHERE' does not exist; to create it "
        "give site_name, site_type, site_latitude, site_longitude",
    ]
    codes = _query(prepared.data_dir / "safecity.db", "SELECT code FROM cameras ORDER BY code")
    assert codes == [("PSH-K1",), ("PSH-K3",)]
    assert "kb-pass" not in result.stdout + result.stderr


def test_import_of_an_unknown_column_rejects_the_file(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,site,colour\nPSH-K9,x,PSH-KS1,red\n")
    result = safecity(data_dir, "cameras", "import", str(bad))
    assert result.returncode == 2
    assert f"{bad}: row 1: unknown column(s) colour" in result.stderr
    assert _query(data_dir / "safecity.db", "SELECT code FROM cameras WHERE code='PSH-K9'") == []


def test_export_yaml_parses_and_withholds_credentials(data_dir: Path) -> None:
    result = safecity(data_dir, "cameras", "export", "--format", "yaml")
    assert result.returncode == 0, result.stderr
    assert "kb-pass" not in result.stdout
    exported = yaml.safe_load(result.stdout)
    by_code = {row["code"]: row for row in exported["cameras"]}
    assert set(by_code) == {"PSH-K1", "PSH-K3"}
    assert by_code["PSH-K1"]["main_stream_url"] == "rtsp://***@10.3.0.1:554/ch1"
    assert by_code["PSH-K1"]["resolution"] == "1920x1080"
    assert by_code["PSH-K1"]["site"] == "PSH-KS1"


def test_audit_verify_detects_an_edited_record(data_dir: Path) -> None:
    intact = safecity(data_dir, "audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "audit log verified: intact" in intact.stdout

    connection = sqlite3.connect(data_dir / "safecity.db")
    try:
        with connection:
            # An insider with the database file: first the append-only guard goes.
            connection.execute("DROP TRIGGER audit_records_no_update")
            connection.execute("UPDATE audit_records SET summary = 'nothing here' WHERE seq = 2")
    finally:
        connection.close()
    tampered = safecity(data_dir, "audit", "verify")
    assert tampered.returncode == 1
    assert "TAMPERED: record 2: content does not match its hash (edited)" in tampered.stdout
    assert "intact" not in tampered.stdout


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_is_consistent_and_verifiable(
    data_dir: Path, tmp_path: Path, platform_of: list[Platform]
) -> None:
    out = tmp_path / "backups"
    result = safecity(data_dir, "backup", "--out", str(out))
    assert result.returncode == 0, result.stderr
    (printed,) = result.stdout.splitlines()
    folder = Path(printed)
    assert folder.parent == out
    assert folder.is_dir()

    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["database"] == "sqlite"
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {
        "MANIFEST.json"
    }
    assert set(manifest["files"]) == present
    assert {"safecity.db", "keys/credentials.key", "keys/audit-signing.key"} <= present
    for name, digest in manifest["files"].items():
        assert _sha256(folder / name) == digest, name

    for key in ("credentials.key", "audit-signing.key"):
        assert (folder / "keys" / key).read_bytes() == (data_dir / "keys" / key).read_bytes()
        assert stat.S_IMODE((folder / "keys" / key).stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "keys").stat().st_mode) == 0o700

    copy = folder / "safecity.db"
    assert _query(copy, "PRAGMA integrity_check") == [("ok",)]
    assert _query(copy, "SELECT username FROM users") == [("alice",)]
    assert _query(copy, "SELECT code FROM cameras ORDER BY code") == [("PSH-K1",), ("PSH-K3",)]

    # Restored as a data folder, the copy and its keys still prove the audit log intact
    # and still decrypt the stream credentials.
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copyfile(copy, restored / "safecity.db")
    shutil.copytree(folder / "keys", restored / "keys")
    platform = _open(platform_of, restored)
    with platform.sessions() as session:
        report = verify_chain(session, platform.keys.audit_verify_key())
    assert report.ok, report.problems
    assert report.records > 0
    ((token,),) = _query(copy, "SELECT main_stream_enc FROM cameras WHERE code = 'PSH-K1'")
    assert platform.cipher.decrypt(str(token)) == "rtsp://admin:kb-pass-1@10.3.0.1:554/ch1"


def test_up_refuses_the_default_secret(data_dir: Path) -> None:
    # A typo in the variable name leaves the default secret in place; both are reported.
    result = safecity(data_dir, "up", SAFECITY_SECERT_KEY="x" * 40)
    assert result.returncode != 0
    assert "refusing to start" in result.stderr
    assert "SAFECITY_SECRET_KEY" in result.stderr
    assert "SAFECITY_SECERT_KEY is not a safecity setting" in result.stderr
    assert "serving" not in result.stdout


def test_up_refuses_plain_http_beyond_loopback(data_dir: Path) -> None:
    result = safecity(data_dir, "up", SAFECITY_SECRET_KEY=TEST_SECRET, SAFECITY_HOST="0.0.0.0")
    assert result.returncode != 0
    assert "SAFECITY_HOST=0.0.0.0 is not loopback" in result.stderr
    assert "SAFECITY_SECRET_KEY" not in result.stderr


def test_up_refuses_an_unknown_plate_rule_set(data_dir: Path) -> None:
    result = safecity(
        data_dir, "up", SAFECITY_SECRET_KEY=TEST_SECRET, SAFECITY_ANALYTICS_PLATE_RULES="xx"
    )
    assert result.returncode != 0
    assert "refusing to start" in result.stderr
    assert "no rule set 'xx'; known: ['br', 'pk', 'us']" in result.stderr
    assert "serving" not in result.stdout


def test_check_config_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "deployment.yaml"
    config.write_text(
        "name: psh-phase-1\n"
        "sites:\n"
        "  - code: PSH-S900\n"
        "    name: Hashtnagri chowk\n"
        "    district: peshawar\n"
        "    site_type: intersection\n"
        "    latitude: 34.0\n"
        "    longitude: 71.58\n"
        "    colour: blue\n"
    )
    bad = safecity(tmp_path / "unused", "check-config", str(config))
    assert bad.returncode != 0
    assert f"{config}:9: sites[0].colour: Extra inputs are not permitted" in bad.stderr
    assert bad.stdout == ""

    config.write_text(config.read_text().replace("    colour: blue\n", ""))
    good = safecity(tmp_path / "unused", "check-config", str(config))
    assert good.returncode == 0, good.stderr
    assert good.stdout == f"{config}: ok (0 districts, 1 sites, 0 cameras)\n"
    # Validating a file touches no database.
    assert not (tmp_path / "unused").exists()
