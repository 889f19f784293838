"""Consistent online backups: the database (SQLite backup API or pg_dump), the audit
log inside it, and the key files, with a manifest of SHA-256 hashes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from safecity.core.clock import utcnow


@dataclass(frozen=True)
class BackupResult:
    directory: Path
    files: dict[str, str]  # relative path -> sha256


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(database_url: str, keys_dir: Path, out_dir: Path) -> BackupResult:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = out_dir / f"safecity-backup-{stamp}"
    # The copy holds personal data and the keys that protect it: owner-only access.
    target.mkdir(parents=True, exist_ok=False, mode=0o700)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("cannot back up an in-memory database")
        source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        dest = sqlite3.connect(target / "safecity.db")
        try:
            with dest:
                source.backup(dest)  # page-by-page copy that sees one consistent snapshot
        finally:
            source.close()
            dest.close()
    elif url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise RuntimeError("pg_dump not found; install postgresql-client")
        # The password goes through the environment: argv is visible to every local
        # user in `ps`, and error messages print the command line.
        env = {**os.environ, "PGPASSWORD": url.password or ""} if url.password else None
        plain = url.set(drivername="postgresql", password=None).render_as_string()
        done = subprocess.run(
            [pg_dump, "--format=custom", "--file", str(target / "safecity.pgdump"), plain],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    else:
        raise ValueError(f"no backup method for {url.get_backend_name()}")
    if keys_dir.is_dir():
        shutil.copytree(keys_dir, target / "keys")
        (target / "keys").chmod(0o700)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o600)
    files = {
        str(path.relative_to(target)): _sha256(path)
        for path in sorted(target.rglob("*"))
        if path.is_file()
    }
    manifest = {
        "created_at": utcnow().isoformat(),
        "database": url.get_backend_name(),
        "files": files,
    }
    (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupResult(target, files)
