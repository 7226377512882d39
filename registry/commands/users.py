"""``registry user ...``: accounts from the command line.

``registry user add NAME --role ROLE`` prompts for the password (twice, hidden)
or reads it from standard input with ``--password-stdin``; no password is ever
built into the code.  On first run — while no enabled admin exists — an admin
can be created without ``--as``; every other change needs ``--as USER`` (or
``REGISTRY_USER``) naming an account whose role holds ``user.admin`` in the
permission table.  Every change is audited.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from registry.audit import Actor

AS_OPTION = click.option("--as", "as_user", metavar="USER",
                         help="Account the change is made as (default: $REGISTRY_USER); audited.")


def _error(message: str) -> click.ClickException:
    from registry.cli import CliError

    return CliError(message)


def _read_password(from_stdin: bool, username: str) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"password for {username}", hide_input=True, confirmation_prompt=True)
    return password


def _session():  # type: ignore[no-untyped-def]
    from registry.cli import _ensure_database
    from registry.db import session_scope

    return session_scope(_ensure_database())


def cli_actor(session, command: str, as_user: str | None) -> Actor:  # type: ignore[no-untyped-def]
    """The audit actor of the CLI write ``command`` after checking it against the permission table.

    ``command`` is a key of :data:`registry.auth.permissions.CLI_PERMISSIONS` (``"import"``,
    ``"coverage run"`` ...); ``as_user`` is the ``--as`` value (else ``$REGISTRY_USER``).

    Raises
    ------
    registry.auth.permissions.CliPermissionError
        Exit code 2 with a clear message: no user given, unknown or disabled user, role lacking the permission.
    """
    return Actor.of(cli_user(session, command, as_user), "cli")


def cli_user(session, command: str, as_user: str | None):  # type: ignore[no-untyped-def]
    """The :class:`~registry.models.User` the CLI write ``command`` runs as (see :func:`cli_actor`)."""
    from registry.auth.permissions import check_cli, cli_permission

    return check_cli(session, cli_permission(command), as_user)


def _actor_for(session, permission: str, as_user: str | None) -> Actor:  # type: ignore[no-untyped-def]
    from registry.auth.permissions import check_cli

    return Actor.of(check_cli(session, permission, as_user), "cli")


@click.group("user")
def user() -> None:
    """User accounts: add, list, set-role, password, disable/enable, token."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "analyst", "clerk", "admin"]))
@click.option("--district", "district_code", metavar="ADCODE", help="Limit a clerk to one district (adcode).")
@click.option("--display-name", default=None, help="Full name shown in the interface.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@AS_OPTION
def add(name: str, role: str, district_code: str | None, display_name: str | None, password_stdin: bool,
        as_user: str | None) -> None:
    """Create the account NAME with ROLE (first run: the first admin needs no --as)."""
    from registry.auth import accounts

    with _session() as session:
        bootstrap = role == "admin" and accounts.count_active_admins(session) == 0 and not as_user
        actor = Actor.local_operator() if bootstrap else _actor_for(session, "user.admin", as_user)
        password = _read_password(password_stdin, name)
        try:
            created = accounts.create_user(session, name, role, password, district_code, actor, display_name)
        except ValueError as exc:
            raise _error(str(exc)) from None
        click.echo(f"created {created.username} ({created.role})" + (" — first admin" if bootstrap else ""))


@user.command("list")
def list_users() -> None:
    """List the accounts (name, role, district limit, enabled, last sign-in)."""
    from registry.models import User

    with _session() as session:
        users = list(session.scalars(select(User).order_by(User.username)))
        if not users:
            click.echo("no users yet; create the first admin with: registry user add NAME --role admin")
            return
        for u in users:
            last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-"
            click.echo(f"{u.username:<24} {u.role:<8} {u.district_code or '-':<7} "
                       f"{'enabled' if u.is_active else 'disabled':<9} last sign-in {last}")


def _find(session, name: str):  # type: ignore[no-untyped-def]
    from registry.auth import accounts

    found = accounts.find_user(session, name)
    if found is None:
        raise _error(f"no user {name!r} (see: registry user list)")
    return found


@user.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["viewer", "analyst", "clerk", "admin"]))
@click.option("--district", "district_code", metavar="ADCODE", default=None,
              help="Limit to one district (adcode); 'all' removes the limit.")
@AS_OPTION
def set_role(name: str, role: str, district_code: str | None, as_user: str | None) -> None:
    """Give NAME the role ROLE (and optionally a district limit)."""
    from registry.auth import accounts

    with _session() as session:
        actor = _actor_for(session, "user.admin", as_user)
        target = _find(session, name)
        district = accounts.KEEP if district_code is None else (None if district_code == "all" else district_code)
        try:
            accounts.update_user(session, target, actor, role=role, district_code=district)
        except ValueError as exc:
            raise _error(str(exc)) from None
        click.echo(f"{target.username}: role {target.role}, district {target.district_code or 'all'}")


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@AS_OPTION
def password(name: str, password_stdin: bool, as_user: str | None) -> None:
    """Set a new password for NAME (signs out all of NAME's sessions)."""
    from registry.auth import accounts
    from registry.auth.permissions import cli_username

    with _session() as session:
        own = cli_username(as_user) == name.strip().lower()
        actor = _actor_for(session, "account.self" if own else "user.admin", as_user)
        target = _find(session, name)
        try:
            accounts.set_password(session, target, _read_password(password_stdin, target.username), actor)
        except ValueError as exc:
            raise _error(str(exc)) from None
        click.echo(f"password of {target.username} changed")


@user.command("disable")
@click.argument("name")
@AS_OPTION
def disable(name: str, as_user: str | None) -> None:
    """Disable NAME (cannot sign in; tokens stop working)."""
    _set_active(name, False, as_user)


@user.command("enable")
@click.argument("name")
@AS_OPTION
def enable(name: str, as_user: str | None) -> None:
    """Enable NAME again."""
    _set_active(name, True, as_user)


def _set_active(name: str, active: bool, as_user: str | None) -> None:
    from registry.auth import accounts

    with _session() as session:
        actor = _actor_for(session, "user.admin", as_user)
        target = _find(session, name)
        try:
            accounts.update_user(session, target, actor, is_active=active)
        except ValueError as exc:
            raise _error(str(exc)) from None
        click.echo(f"{target.username} {'enabled' if active else 'disabled'}")


@user.command("token")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True, help="Lifetime in days.")
@AS_OPTION
def token(name: str, label: str, days: int, as_user: str | None) -> None:
    """Issue an API token for NAME and print it once (to standard output)."""
    from registry import audit
    from registry.auth import tokens
    from registry.auth.permissions import cli_username

    with _session() as session:
        own = cli_username(as_user) == name.strip().lower()
        actor = _actor_for(session, "account.self" if own else "user.admin", as_user)
        target = _find(session, name)
        if not target.is_active:
            raise _error(f"user {target.username!r} is disabled")
        try:
            row, plaintext = tokens.issue_token(session, target, label, days)
        except ValueError as exc:
            raise _error(str(exc)) from None
        audit.record_event(session, actor, "token.issue", "api_token", row.id,
                           {"name": (None, row.name), "prefix": (None, row.prefix), "user": (None, target.username)})
        click.echo(f"token for {target.username} (expires {row.expires_at:%Y-%m-%d}); it is shown only once:",
                   err=True)
        click.echo(plaintext)
