"""Backups of the registry database: ``pg_dump -Fc`` and ``pg_restore``.

Works with the project-managed cluster and with any ``DATABASE_URL``: the
SQLAlchemy URL is turned into libpq connection parameters (the password goes
through ``PGPASSWORD``, never the command line).  The PostgreSQL 15 client
programs in ``/usr/lib/postgresql/15/bin`` are preferred (they match the server
the project runs); otherwise the ones on ``PATH``.

A dump holds everything: facilities, import batches, the audit trail, users
(password hashes included — keep backup files as secret as the database) and
the Alembic revision.  :func:`restore` replaces the objects of the dump in the
target database inside one transaction (``--clean --if-exists
--single-transaction``), so a failed restore leaves the database as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
DUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why."""


@dataclass(frozen=True)
class DumpInfo:
    """What a dump file holds (from ``pg_restore --list``)."""

    path: Path
    size_bytes: int
    tables: tuple[str, ...]


def pg_program(name: str) -> str:
    """Full path of a PostgreSQL client program (``pg_dump``, ``pg_restore``)."""
    for folder in PG_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(f"{name} not found; install the PostgreSQL 15 client "
                      "(sudo apt-get install postgresql-client-15)")


def libpq_params(url: str) -> tuple[list[str], dict[str, str]]:
    """Command-line options and environment for libpq programs connecting to ``url``.

    >>> args, env = libpq_params("postgresql+psycopg://reg:s3cret@db.example:6543/registry")
    >>> args
    ['--host', 'db.example', '--port', '6543', '--username', 'reg', '--dbname', 'registry']
    >>> env["PGPASSWORD"]
    's3cret'
    """
    parsed = make_url(url)
    if not parsed.database:
        raise BackupError(f"the database URL names no database: {parsed.render_as_string(hide_password=True)}")
    query = {k: (v if isinstance(v, str) else v[0]) for k, v in parsed.query.items()}
    host = query.pop("host", None) or parsed.host  # ?host=/socket/dir for Unix sockets
    args: list[str] = []
    env: dict[str, str] = {}
    if host:
        args += ["--host", host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    args += ["--dbname", parsed.database]
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    for key, value in query.items():  # sslmode=require -> PGSSLMODE ...
        env[f"PG{key.upper()}"] = value
    return args, env


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-3000:]
        raise BackupError(f"{what} failed (exit {proc.returncode}): {detail}")
    return proc


def backup(url: str, path: str | Path) -> DumpInfo:
    """Dump the database at ``url`` to ``path`` (custom format, compressed).

    The file is written next to its final name and moved into place only when
    ``pg_dump`` succeeded, so a failed backup never leaves a truncated file
    under the requested name.
    """
    target = Path(path)
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give a file name such as {target / 'registry.dump'}")
    if not target.parent.exists():
        raise BackupError(f"folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    args, env = libpq_params(url)
    try:
        _run([pg_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial),
              *args], env, "pg_dump")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return inspect(target)


def inspect(path: str | Path) -> DumpInfo:
    """Check that ``path`` is a custom-format dump and list its tables."""
    source = Path(path)
    if not source.is_file():
        raise BackupError(f"no backup file {source}")
    with source.open("rb") as fh:
        if fh.read(len(DUMP_MAGIC)) != DUMP_MAGIC:
            raise BackupError(f"{source} is not a pg_dump custom-format file (made by `registry backup`)")
    listing = _run([pg_program("pg_restore"), "--list", str(source)], {}, "pg_restore --list").stdout
    tables = tuple(sorted({line.split()[-2] for line in listing.splitlines()
                           if " TABLE DATA " in line and not line.startswith(";")}))
    return DumpInfo(source, source.stat().st_size, tables)


def restore(url: str, path: str | Path) -> DumpInfo:
    """Restore a dump made by :func:`backup` into the database at ``url`` (one transaction).

    Objects of the dump that exist in the target are dropped and recreated;
    an empty target database gets the PostGIS extension from the dump (this
    needs a role allowed to create it).
    """
    info = inspect(path)
    args, env = libpq_params(url)
    _run([pg_program("pg_restore"), "--clean", "--if-exists", "--single-transaction", "--no-owner",
          "--no-privileges", "--exit-on-error", *args, str(info.path)], env, "pg_restore")
    return info
