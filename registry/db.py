"""Engine and sessions; binding the database to the Flask app.

Other modules get a session with :func:`get_session` inside a request (one
per request, closed at teardown) or with :func:`session_scope` in the CLI and
scripts.  The URL comes from ``DATABASE_URL`` or from the managed cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from registry.config import Settings, load_settings
from registry.localdb import LocalCluster


def database_url(settings: Settings | None = None) -> str:
    """URL of the registry database: ``DATABASE_URL`` or the managed cluster."""
    settings = settings or load_settings()
    if settings.database_url:
        return settings.database_url
    return managed_cluster(settings).url


def managed_cluster(settings: Settings | None = None) -> LocalCluster:
    """The project-managed cluster described by ``settings``."""
    settings = settings or load_settings()
    return LocalCluster(var_dir=settings.var_dir, port=settings.pg_port)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """A pooled engine for ``url`` (one per URL and process)."""
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine_for(url or database_url()), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Session:
    """The session of the current request (created on first use)."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions["registry.sessionmaker"]
        g.db_session = factory()
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    """Teardown: roll back anything uncommitted and close the request's session."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    """Bind the database configured in ``app.config["DATABASE_URL"]`` to ``app``."""
    url = app.config.get("DATABASE_URL") or database_url()
    app.config["DATABASE_URL"] = url
    bind = app.config.get("DB_BIND") or engine_for(url)  # tests may bind a connection in a transaction
    app.extensions["registry.sessionmaker"] = sessionmaker(bind=bind, expire_on_commit=False,
                                                           join_transaction_mode="create_savepoint")
    app.teardown_appcontext(close_session)
