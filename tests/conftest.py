"""Shared fixtures: a migrated database on SQLite and on a throwaway PostgreSQL,
a platform built on it, a small world of districts/sites/cameras, and users."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from safecity.core.settings import Settings
from safecity.web import bootstrap
from safecity.web.app import create_app
from safecity.web.platform import Platform, build_platform
from tests.factories import World, build_world
from tests.support.postgres import PostgresServer, start_postgres

IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(__file__).resolve().parents[2] / "shared"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout; skipped when absent, except in CI where it must exist."""
    if not SHARED.is_dir():
        if IN_CI:
            pytest.fail(f"{SHARED} is missing in CI")
        pytest.skip(f"{SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = start_postgres()
    except FileNotFoundError as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


_counter = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sqlite-template")
    platform = build_platform(_settings(root))
    bootstrap.upgrade_database(platform)
    bootstrap.seed_base(platform)
    platform.dispose()
    return root / "safecity.db"


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    admin = create_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE safecity_template"))
    admin.dispose()
    root = tmp_path_factory.mktemp("pg-template")
    platform = build_platform(_settings(root, postgres.url("safecity_template")))
    bootstrap.upgrade_database(platform)
    bootstrap.seed_base(platform)
    platform.dispose()
    return "safecity_template"


def _settings(data_dir: Path, database_url: str | None = None, **extra: object) -> Settings:
    values: dict[str, object] = {"data_dir": data_dir, "secret_key": TEST_SECRET}
    if database_url:
        values["database_url"] = database_url
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test (copied from a session template)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "safecity.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE {template_name}'))
    yield server.url(name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return _settings(tmp_path / "data", database_url)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    built = build_platform(settings)
    built.ready = True
    yield built
    built.dispose()


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    """The real application in-process (no bus); cookies persist across requests."""
    with TestClient(create_app(platform), base_url="http://127.0.0.1") as test_client:
        yield test_client
