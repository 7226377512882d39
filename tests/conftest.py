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
