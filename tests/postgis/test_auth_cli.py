"""``registry user ...``: first admin, --as checks against the permission table, no default password."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from registry.auth import passwords
from registry.cli import main
from registry.models import AuditEvent, User

pytestmark = pytest.mark.postgis


@pytest.fixture()
def cli_db(scratch_database, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    url = scratch_database()
    engine = create_engine(url)
    with engine.begin() as conn:  # one district, for district-limited clerks
        conn.execute(text("INSERT INTO district (adcode, name, level, geom) VALUES ('410105', '金水区', 'county', "
                          "'SRID=4326;MULTIPOLYGON(((113.5 34.6,113.8 34.6,113.8 34.9,113.5 34.6)))')"))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("REGISTRY_USER", raising=False)
    return url


def _users(url: str) -> dict[str, User]:
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        found = {u.username: u for u in session.scalars(select(User))}
    engine.dispose()
    return found


def _events(url: str) -> list[AuditEvent]:
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        found = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    engine.dispose()
    return found


def test_first_admin_then_everything_needs_an_admin(cli_db: str) -> None:
    run = CliRunner().invoke
    first = run(main, ["user", "add", "Chief", "--role", "admin", "--password-stdin"],
                input="first admin password 1\n")
    assert first.exit_code == 0, first.output
    chief = _users(cli_db)["chief"]
    assert chief.role == "admin" and passwords.verify_password(chief.password_hash, "first admin password 1")

    # a second admin is no longer "first run": --as is required and checked
    refused = run(main, ["user", "add", "other", "--role", "admin", "--password-stdin"], input="another pw 12345\n")
    assert refused.exit_code == 2 and "--as" in refused.output
    ok = run(main, ["user", "add", "zhang", "--role", "clerk", "--district", "410105", "--password-stdin",
                    "--as", "chief"], input="clerk password 123\n")
    assert ok.exit_code == 0, ok.output
    refused = run(main, ["user", "set-role", "chief", "viewer", "--as", "zhang"])
    assert refused.exit_code == 2 and "lacks permission 'user.admin'" in refused.output
    refused = run(main, ["user", "set-role", "chief", "viewer", "--as", "chief"])
    assert refused.exit_code == 2 and "last enabled admin" in refused.output

    weak = run(main, ["user", "add", "li", "--role", "viewer", "--password-stdin", "--as", "chief"], input="abc\n")
    assert weak.exit_code == 2 and "at least 10" in weak.output
    bad = run(main, ["user", "set-role", "zhang", "analyst", "--district", "999999"], env={"REGISTRY_USER": "chief"})
    assert bad.exit_code == 2 and "district" in bad.output

    listed = run(main, ["user", "list"])
    assert "chief" in listed.output and "zhang" in listed.output and "410105" in listed.output
    actions = [(e.action, e.actor) for e in _events(cli_db)]
    assert actions[0][0] == "user.create" and actions[0][1].startswith("cli:")
    assert ("user.create", "chief") in actions
    assert not any("password" in str(e.changes.get("password_hash", "")) for e in _events(cli_db))


def test_token_and_password_commands(cli_db: str) -> None:
    run = CliRunner().invoke
    run(main, ["user", "add", "chief", "--role", "admin", "--password-stdin"], input="first admin password 1\n")
    run(main, ["user", "add", "wu", "--role", "viewer", "--password-stdin", "--as", "chief"],
        input="viewer password 1\n")
    own = run(main, ["user", "token", "wu", "--label", "notebook", "--as", "wu"])
    assert own.exit_code == 0, own.output
    assert own.output.strip().splitlines()[-1].startswith("rgt_")
    refused = run(main, ["user", "token", "chief", "--as", "wu"])  # someone else's token needs user.admin
    assert refused.exit_code == 2
    changed = run(main, ["user", "password", "wu", "--password-stdin", "--as", "chief"], input="new viewer pw 2\n")
    assert changed.exit_code == 0, changed.output
    wu = _users(cli_db)["wu"]
    assert passwords.verify_password(wu.password_hash, "new viewer pw 2") and wu.session_version == 1
    disabled = run(main, ["user", "disable", "wu", "--as", "chief"])
    assert disabled.exit_code == 0 and not _users(cli_db)["wu"].is_active
    nobody = run(main, ["user", "disable", "ghost", "--as", "chief"])
    assert nobody.exit_code == 2 and "no user 'ghost'" in nobody.output
