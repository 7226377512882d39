"""``registry backup FILE`` / ``registry restore FILE`` (pg_dump -Fc / pg_restore of the registry).

Both need ``--as USER`` (or ``REGISTRY_USER``) with ``system.admin``: a dump
holds every account's password hash and a restore replaces the audit trail.
``restore`` asks for confirmation unless ``--yes`` is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from registry.commands.users import AS_OPTION


def _check(url: str, as_user: str | None):  # type: ignore[no-untyped-def]
    from registry.audit import Actor
    from registry.auth.permissions import check_cli
    from registry.db import session_scope

    with session_scope(url) as session:
        user = check_cli(session, "system.admin", as_user)
        return Actor.of(user, "cli")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@AS_OPTION
def backup_cmd(file: Path, as_user: str | None) -> None:
    """Dump the registry database to FILE (pg_dump custom format)."""
    from registry import audit, backup
    from registry.cli import CliError, _ensure_database
    from registry.db import session_scope

    url = _ensure_database()
    actor = _check(url, as_user)
    try:
        info = backup.backup(url, file)
    except backup.BackupError as exc:
        raise CliError(str(exc)) from None
    with session_scope(url) as session:
        audit.record_event(session, actor, "db.backup", "database", None,
                           {"file": (None, str(file.resolve())), "bytes": (None, info.size_bytes)})
    click.echo(f"backup written: {file} ({info.size_bytes / 1e6:.1f} MB, {len(info.tables)} tables)")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@AS_OPTION
def restore_cmd(file: Path, yes: bool, as_user: str | None) -> None:
    """Replace the registry database with the backup FILE (one transaction)."""
    from registry import audit, backup, migrate
    from registry.cli import CliError, _ensure_database
    from registry.db import session_scope

    url = _ensure_database()
    try:
        info = backup.inspect(file)
    except backup.BackupError as exc:
        raise CliError(str(exc)) from None
    actor = _check(url, as_user) if _has_users(url) else None
    if not yes:
        click.confirm(f"replace the registry database with {file} ({len(info.tables)} tables)?", abort=True)
    try:
        backup.restore(url, file)
    except backup.BackupError as exc:
        raise CliError(str(exc)) from None
    if _has_table(url, "audit_event"):
        with session_scope(url) as session:
            audit.record_event(session, actor or audit.Actor.local_operator(), "db.restore", "database", None,
                               {"file": (None, str(file.resolve()))})
    click.echo(f"restored {file}; schema revision {migrate.current(url)} (run `registry db upgrade` if older)")


def _has_table(url: str, table: str) -> bool:
    from sqlalchemy import inspect

    from registry.db import engine_for

    return inspect(engine_for(url)).has_table(table)


def _has_users(url: str) -> bool:
    """False for an empty or pre-accounts database (a restore into it needs no --as)."""
    from sqlalchemy import select

    from registry.db import engine_for
    from registry.models import User

    engine = engine_for(url)
    if not _has_table(url, "app_user"):
        return False
    with engine.connect() as conn:
        return conn.execute(select(User.id).limit(1)).first() is not None
