"""Every CLI write goes through the one permission table (``--as USER`` / ``REGISTRY_USER``).

The command tree of ``registry`` is walked: each command is a write listed in
``CLI_PERMISSIONS`` (and takes ``--as``), an operator command, or read-only — a
command added later without a decision fails here.  Then every write command
is run as nobody, an unknown user, a disabled admin and each role: a refusal
exits 2 with a clear message and leaves every table of the database as it was;
an allowed role is not refused by the table (the command may still stop for
its own reasons, e.g. no such batch).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from registry.auth.permissions import (
    CLI_OPERATOR_COMMANDS,
    CLI_PERMISSIONS,
    CLI_READ_COMMANDS,
    role_allows,
)
from registry.cli import main

pytestmark = pytest.mark.postgis

ROLES = ("viewer", "analyst", "clerk", "admin")
PASSWORD_HASH_CACHE: dict[str, str] = {}


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            found.update(_leaves(cmd, (*prefix, name)))
        else:
            found[" ".join((*prefix, name))] = cmd
    return found


COMMANDS = _leaves(main)


def test_every_cli_command_is_classified_once() -> None:
    classes = (set(CLI_PERMISSIONS), set(CLI_OPERATOR_COMMANDS), set(CLI_READ_COMMANDS))
    for name in COMMANDS:
        assert sum(name in c for c in classes) == 1, f"registry {name}: write, operator or read-only?"
    for c in classes:
        assert c <= set(COMMANDS), c - set(COMMANDS)
    for name in CLI_PERMISSIONS:
        assert "as_user" in {p.name for p in COMMANDS[name].params}, f"registry {name} has no --as"
        assert role_allows("admin", CLI_PERMISSIONS[name])


def _argv(name: str, files: dict[str, Path], tag: str) -> tuple[list[str], str | None]:
    """A write invocation of ``name`` (and its standard input)."""
    return {
        "import": (["import", str(files["rooms"]), "--kind", "study_room", "--crs", "wgs84"], None),
        "rollback": (["rollback", "987654", "--yes"], None),
        "compliance check": (["compliance", "check"], None),
        "reference import": (["reference", "import", str(files["stops"]), "--layer", "bus_stop"], None),
        "reference delete": (["reference", "delete", "bus_stop"], None),
        "coverage import-layer": (["coverage", "import-layer", str(files["pop"]), "--name", f"layer_{tag}",
                                   "--year", "2020", "--source", "test", "--count-column", "pop",
                                   "--lon-column", "lon", "--lat-column", "lat", "--no-clip"], None),
        "coverage run": (["coverage", "run", "--kind", "kindergarten", "--save"], None),
        "coverage rerun": (["coverage", "rerun", "987654", "--save"], None),
        "site-select": (["site-select", "--kind", "kindergarten", "--save", "--quiet"], None),
        "user add": (["user", "add", f"new_{tag}", "--role", "viewer", "--password-stdin"], "a new password 123\n"),
        "user set-role": (["user", "set-role", "target", "analyst"], None),
        "user disable": (["user", "disable", "target"], None),
        "user enable": (["user", "enable", "target"], None),
        "user password": (["user", "password", "target", "--password-stdin"], "target password 456\n"),
        "user token": (["user", "token", "target"], None),
        "backup": (["backup", str(files["dump"])], None),
        "restore": (["restore", str(files["dump"]), "--yes"], None),
    }[name]


def _state(url: str) -> dict[str, object]:
    """Row counts of every table, and a digest of the accounts (roles, flags, password hashes)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename <> 'login_attempt' ORDER BY 1")).scalars().all()
        state: dict[str, object] = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
        users = conn.execute(text("SELECT username, role, is_active, password_hash, session_version, district_code "
                                  "FROM app_user ORDER BY username")).all()
        state["app_user rows"] = hashlib.sha256(repr(users).encode()).hexdigest()
    engine.dispose()
    return state


@pytest.fixture()
def cli_world(scratch_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from registry.auth.passwords import hash_password

    url = scratch_database()
    pw = hash_password("some password 123")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO district (adcode, name, level, geom) VALUES ('410105', '金水区', 'county', "
                          "'SRID=4326;MULTIPOLYGON(((113.5 34.6,113.8 34.6,113.8 34.9,113.5 34.6)))')"))
        for name, role, active in [*((r, r, True) for r in ROLES), ("target", "viewer", True),
                                   ("retired", "admin", False)]:
            conn.execute(text("INSERT INTO app_user (username, role, password_hash, is_active, session_version) "
                              "VALUES (:n, :r, :p, :a, 0)"), {"n": name, "r": role, "p": pw, "a": active})
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("REGISTRY_USER", raising=False)
    files = {"rooms": tmp_path / "rooms.csv", "stops": tmp_path / "stops.csv", "pop": tmp_path / "pop.csv",
             "dump": tmp_path / "registry.dump"}
    files["rooms"].write_text("编号,名称,经度,纬度,状态,座位数\nC1,命令行书房,113.6654,34.7802,开放,20\n",
                              encoding="utf-8")
    files["stops"].write_text("lon,lat,name\n113.6655,34.7803,命令行公交站\n", encoding="utf-8")
    files["pop"].write_text("lon,lat,pop\n113.66,34.78,100\n113.67,34.79,200\n", encoding="utf-8")
    return url, files


REFUSALS = {None: "--as USER", "ghost": "no user 'ghost'", "retired": "is disabled"}


def test_every_cli_write_is_checked_against_the_table(cli_world) -> None:  # type: ignore[no-untyped-def]
    url, files = cli_world
    runner = CliRunner()
    # backup first (an admin's dump is what restore is given), restore last (it replaces the database)
    order = ["backup", *sorted(set(CLI_PERMISSIONS) - {"backup", "restore"}), "restore"]
    allowed_runs = 0
    for name in order:
        permission = CLI_PERMISSIONS[name]
        for who in (None, "ghost", "retired", *ROLES):
            if name == "restore" and who == "admin":
                continue  # the restore itself is exercised in tests/postgis/test_backup.py
            argv, stdin = _argv(name, files, str(who))
            argv = argv + (["--as", who] if who else [])
            before = _state(url)
            result = runner.invoke(main, argv, input=stdin)
            out = result.output
            assert "Traceback" not in out, out
            if who in REFUSALS or not role_allows(who, permission):
                expected = REFUSALS.get(who, f"lacks permission {permission!r}")
                assert result.exit_code == 2 and expected in out, (name, who, result.exit_code, out[-400:])
                assert _state(url) == before, f"refused `registry {name}` as {who} changed the database"
            else:
                allowed_runs += 1
                assert "lacks permission" not in out and "say who you are" not in out, (name, who, out[-400:])
                if name == "backup":
                    assert result.exit_code == 0, out
    expected_allowed = sum(role_allows(r, CLI_PERMISSIONS[n]) for n in order for r in ROLES) - 1  # minus restore
    assert allowed_runs == expected_allowed


def test_import_and_rollback_by_cli_are_audited_as_the_user(cli_world) -> None:  # type: ignore[no-untyped-def]
    url, files = cli_world
    runner = CliRunner()
    dry = runner.invoke(main, ["import", str(files["rooms"]), "--kind", "study_room", "--crs", "wgs84", "--dry-run"])
    assert dry.exit_code == 0, dry.output  # a dry run writes nothing: no --as needed
    done = runner.invoke(main, ["import", str(files["rooms"]), "--kind", "study_room", "--crs", "wgs84"],
                         env={"REGISTRY_USER": "clerk"})
    assert done.exit_code == 0, done.output
    engine = create_engine(url)
    with engine.connect() as conn:
        batch_id, created_by = conn.execute(text("SELECT id, created_by FROM import_batch")).one()
        events = conn.execute(text("SELECT action, actor, via, entity_type, changes FROM audit_event "
                                   "WHERE batch_id = :b ORDER BY id"), {"b": batch_id}).all()
    assert created_by == "clerk"
    assert [(e[0], e[1], e[2], e[3]) for e in events] == [("import", "clerk", "cli", "facility"),
                                                          ("import", "clerk", "cli", "import_batch")]
    assert events[0][4]["name"] == [None, "命令行书房"] and events[0][4]["seats"] == [None, 20]
    back = runner.invoke(main, ["rollback", str(batch_id), "--yes", "--as", "admin"])
    assert back.exit_code == 0, back.output
    with engine.connect() as conn:
        rolled = conn.execute(text("SELECT action, actor, changes FROM audit_event WHERE batch_id = :b "
                                   "AND action = 'rollback' AND entity_type = 'facility'"), {"b": batch_id}).one()
        assert conn.execute(text("SELECT rolled_back_by FROM import_batch")).scalar_one() == "admin"
    engine.dispose()
    assert rolled[1] == "admin" and rolled[2]["name"] == ["命令行书房", None]
