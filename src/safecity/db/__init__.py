"""SQLAlchemy base, engines, sessions, the outbox and Alembic migrations."""
