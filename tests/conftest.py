"""Shared fixtures: a throw-away PostGIS cluster, the sample loaded once, rolled-back tests.

Tests never touch the cluster of a running ``make run``: they start their own
in a temporary folder on a free port (or use ``TEST_DATABASE_URL``, a server
whose database may be overwritten).  If PostGIS cannot be started, the tests
that need it FAIL rather than skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session

from registry.config import normalise_database_url
from registry.localdb import LocalCluster

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of an empty PostGIS database with the schema migrated to head."""
    from registry import migrate

    given = os.environ.get("TEST_DATABASE_URL")
    cluster: LocalCluster | None = None
    if given:
        url = normalise_database_url(given)
    else:
        var = Path(tempfile.mkdtemp(prefix="registry-test-"))
        var.chmod(0o755)  # the server account must reach it when tests run as root
        cluster = LocalCluster(var_dir=var / "db", port=_free_port(), dbname="registry_test")
        cluster.start()
        url = cluster.url
    migrate.upgrade(url)
    try:
        yield url
    finally:
        if cluster is not None:
            cluster.destroy()
            shutil.rmtree(var, ignore_errors=True)


@pytest.fixture(scope="session")
def engine(pg_url: str) -> Iterator[Engine]:
    eng = create_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def sample_loaded(engine: Engine) -> None:
    """Load the shipped sample once per test session (committed)."""
    from registry.sample import load_sample

    with Session(engine) as session:
        load_sample(session)
        session.commit()


@pytest.fixture()
def connection(engine: Engine, sample_loaded: None) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture()
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session on the test's transaction (its commits become savepoints)."""
    sess = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield sess
    sess.close()


@pytest.fixture()
def app(pg_url: str, connection: Connection) -> Flask:
    from registry import create_app

    return create_app({"TESTING": True, "DATABASE_URL": pg_url, "DB_BIND": connection,
                       "SECRET_KEY": "test"})


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Folder where tests leave screenshots and other artefacts for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --------------------------------------------------------------------------- accounts (registry.auth)
# Sign in as each role: ``login_as("clerk")`` returns a test client with a session for a fresh
# user of that role and the CSRF header set, so its POST/PATCH/DELETE pass CSRF like a browser's.
ROLES_FOR_TESTS = ("viewer", "analyst", "clerk", "admin")
TEST_PASSWORD = "test-only password 42"
_HASH_CACHE: dict[str, str] = {}


def _password_hash(password: str) -> str:
    from registry.auth.passwords import hash_password

    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


@pytest.fixture()
def make_user(session: Session):  # type: ignore[no-untyped-def]
    """Factory: ``make_user("clerk", username=None, password=TEST_PASSWORD, district_code=None)``."""
    from registry.models import User

    counter = iter(range(1, 10_000))

    def make(role: str, username: str | None = None, password: str = TEST_PASSWORD,
             district_code: str | None = None, is_active: bool = True) -> User:
        user = User(username=username or f"{role}{next(counter)}", role=role, district_code=district_code,
                    password_hash=_password_hash(password), is_active=is_active, session_version=0)
        session.add(user)
        session.flush()
        return user

    return make


def csrf_token_of(client: FlaskClient) -> str:
    """The CSRF token of ``client``'s session, read from a page like a browser would."""
    import re

    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on /login"
    return match.group(1)


@pytest.fixture()
def login_as(app: Flask, make_user):  # type: ignore[no-untyped-def]
    """Factory: ``login_as("admin")`` -> a signed-in :class:`FlaskClient` (``client.user`` is the User).

    ``login_as(None)`` or ``login_as("anonymous")`` gives an anonymous client with the CSRF header set.
    """

    def login(role: str | None, **user_kwargs) -> FlaskClient:  # type: ignore[no-untyped-def]
        client = app.test_client()
        user = None
        if role not in (None, "anonymous"):
            user = make_user(role, **user_kwargs)
            with client.session_transaction() as sess:
                sess["uid"] = user.id
                sess["sv"] = user.session_version
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token_of(client)
        client.user = user  # type: ignore[attr-defined]
        return client

    return login


@pytest.fixture()
def bearer_for(session: Session, make_user):  # type: ignore[no-untyped-def]
    """Factory: ``bearer_for("clerk")`` -> ``{"Authorization": "Bearer rgt_..."}`` for a fresh user."""
    from registry.auth.tokens import issue_token

    def bearer(role: str, **user_kwargs) -> dict[str, str]:  # type: ignore[no-untyped-def]
        user = make_user(role, **user_kwargs)
        _, plaintext = issue_token(session, user, "tests")
        return {"Authorization": f"Bearer {plaintext}"}

    return bearer


@pytest.fixture()
def scratch_database(pg_url: str):  # type: ignore[no-untyped-def]
    """Factory of extra databases on the test server: ``scratch_database(migrate=True) -> url``.

    For code that commits or runs other processes (CLI, pg_dump/pg_restore) without touching the
    shared test database.  ``migrate=False`` gives a truly empty database (no PostGIS).  Dropped
    after the test.
    """
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from registry import migrate as _migrate

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make(migrate: bool = True) -> str:
        name = f"scratch_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        if migrate:
            eng = create_engine(url)
            with eng.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            eng.dispose()
            _migrate.upgrade(url)
        return url

    yield make
    from registry.db import engine_for

    for name in made:  # pooled engines of the CLI would keep the databases busy
        engine_for(make_url(pg_url).set(database=name).render_as_string(hide_password=False)).dispose()
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
