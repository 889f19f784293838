"""Apply and check Alembic migrations against the models' metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _config(connection: Any, metadata: MetaData) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    config.attributes["metadata"] = metadata
    return config


def upgrade(engine: Engine, metadata: MetaData, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(_config(connection, metadata), revision)


def downgrade(engine: Engine, metadata: MetaData, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(_config(connection, metadata), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def differences(engine: Engine, metadata: MetaData) -> list[Any]:
    """What the migrated database lacks or has beyond the models (empty when in step)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs: list[Any] = compare_metadata(context, metadata)
        return diffs


def autogenerate(engine: Engine, metadata: MetaData, message: str) -> None:
    """Developer aid: write a new revision from the difference between models and database."""
    with engine.begin() as connection:
        command.revision(_config(connection, metadata), message=message, autogenerate=True)
