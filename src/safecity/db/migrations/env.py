"""Alembic environment. Run through ``safecity db upgrade`` (safecity.db.migrate), which
hands over the connection and the metadata of every model; nothing is read from alembic.ini."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
metadata = config.attributes.get("metadata")
if connection is None or metadata is None:
    raise SystemExit("run migrations with `safecity db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
