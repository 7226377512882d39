"""The ``registry`` command line.

Groups: ``db`` (the database and its schema), ``load-sample``, ``serve``.
Other areas (query, import, compliance, coverage, users) add their own
commands in their modules and are attached here.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys

import click

from registry.config import load_settings
from registry.db import database_url, managed_cluster, session_scope
from registry.localdb import LocalDbError


class CliError(click.ClickException):
    """A user-facing error: printed without a traceback, exit code 2."""

    exit_code = 2


def _ensure_database() -> str:
    """Start the managed cluster if it is in use; return the database URL."""
    settings = load_settings()
    if settings.managed:
        try:
            if managed_cluster(settings).start():
                click.echo(f"started the project PostGIS cluster in {settings.var_dir / 'pg'} "
                           f"(port {settings.pg_port})", err=True)
        except LocalDbError as exc:
            raise CliError(str(exc)) from None
    return database_url(settings)


@click.group()
@click.version_option(package_name="zhengzhou-registry")
def main() -> None:
    """Zhengzhou urban facility registry (郑州市城市设施登记系统)."""


# --------------------------------------------------------------------------- db
@main.group()
def db() -> None:
    """The PostGIS database: managed cluster and schema migrations."""


@db.command("start")
def db_start() -> None:
    """Start the project-managed PostGIS cluster (no-op with DATABASE_URL)."""
    settings = load_settings()
    if not settings.managed:
        click.echo("DATABASE_URL is set: using that server, no cluster to start")
        return
    _ensure_database()
    click.echo(f"PostGIS cluster running on 127.0.0.1:{settings.pg_port}")


@db.command("stop")
def db_stop() -> None:
    """Stop the project-managed cluster."""
    settings = load_settings()
    if not settings.managed:
        click.echo("DATABASE_URL is set: nothing to stop")
        return
    try:
        stopped = managed_cluster(settings).stop()
    except LocalDbError as exc:
        raise CliError(str(exc)) from None
    click.echo("stopped" if stopped else "not running")


@db.command("status")
def db_status() -> None:
    """Show which database is used, whether it runs, and its schema revision."""
    from registry import migrate

    settings = load_settings()
    if settings.managed:
        cluster = managed_cluster(settings)
        state = "running" if cluster.initialised() and cluster.running() else "stopped"
        click.echo(f"managed cluster: {cluster.data_dir} port {settings.pg_port} ({state})")
        if state != "running":
            return
    else:
        click.echo("DATABASE_URL: external server")
    try:
        click.echo(f"schema revision: {migrate.current(database_url(settings)) or 'none (run: registry db upgrade)'}")
    except Exception as exc:  # noqa: BLE001 - report any connection problem plainly
        raise CliError(f"cannot reach the database: {exc}") from None


@db.command("init")
def db_init() -> None:
    """Start the managed cluster if needed and create the schema."""
    from registry import migrate

    url = _ensure_database()
    migrate.upgrade(url)
    click.echo(f"schema at revision {migrate.current(url)}")


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from registry import migrate

    url = _ensure_database()
    migrate.upgrade(url, revision)
    click.echo(f"schema at revision {migrate.current(url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (``base`` removes every table)."""
    from registry import migrate

    url = _ensure_database()
    migrate.downgrade(url, revision)
    click.echo(f"schema at revision {migrate.current(url) or 'base'}")


# --------------------------------------------------------------------------- sample
@main.command("load-sample")
def load_sample_cmd() -> None:
    """Load the Zhengzhou sample (districts, census, population grid, facilities)."""
    from registry import migrate
    from registry.sample import load_sample

    url = _ensure_database()
    migrate.upgrade(url)
    with session_scope(url) as session:
        report = load_sample(session, progress=lambda step: click.echo(f"loading {step} ...", err=True))
    for line in report.lines():
        click.echo(line)


# --------------------------------------------------------------------------- serve
@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="HTTP port (default: $PORT or 5000).")
@click.option("--workers", type=int, default=3, show_default=True, help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="Flask development server with reloader instead of gunicorn.")
def serve(host: str, port: int | None, workers: int, dev: bool) -> None:
    """Serve the web app and API."""
    try:
        port = port or load_settings().port
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if _port_taken(host, port):
        raise CliError(f"port {port} on {host} is already in use; choose another with PORT=... or --port")
    url = _ensure_database()
    os.environ.setdefault("DATABASE_URL", url)
    click.echo(f"serving on http://{host}:{port}", err=True)
    if dev:
        from registry import create_app

        create_app().run(host=host, port=port, debug=True)
        return
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
    if gunicorn is None:
        raise CliError("gunicorn is not installed in this environment (pip install gunicorn)")
    os.execv(gunicorn, [gunicorn, "--workers", str(workers), "--bind", f"{host}:{port}",
                        "--access-logfile", "-", "registry:create_app()"])


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


from registry.commands import backup as _backup
from registry.commands import users as _users

main.add_command(_users.user), main.add_command(_backup.backup_cmd), main.add_command(_backup.restore_cmd)
main.add_command(__import__("registry.commands.compliance", fromlist=["compliance"]).compliance)  # compliance
main.add_command(__import__("registry.commands.compliance", fromlist=["reference"]).reference)  # reference layers

main.add_command(__import__("registry.commands.query", fromlist=["query"]).query)  # registry query near|nearest|within|polygon

for _cmd in __import__("registry.commands.imports", fromlist=["COMMANDS"]).COMMANDS:  # import, export, template, batches, rollback
    main.add_command(_cmd)

main.add_command(__import__("registry.commands.coverage", fromlist=["coverage"]).coverage), main.add_command(__import__("registry.commands.coverage", fromlist=["site_select"]).site_select)  # registry coverage ..., registry site-select


if __name__ == "__main__":  # pragma: no cover
    main()
