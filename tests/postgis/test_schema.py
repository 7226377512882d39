"""The migrated schema: tables, spatial indexes, Alembic version, migrations down and up."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from registry import migrate

TABLES = {"facility", "museum", "study_room", "parking_lot", "elevator", "kindergarten", "district",
          "census_unit", "population_layer", "population_cell", "import_batch", "alembic_version"}


def test_tables_and_alembic_version(session: Session) -> None:
    names = set(inspect(session.connection()).get_table_names())
    assert TABLES <= names
    head = migrate.alembic_config().get_main_option("script_location")
    assert head
    version = session.scalar(text("SELECT version_num FROM alembic_version"))
    from alembic.script import ScriptDirectory

    assert version == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


@pytest.mark.parametrize("table,column", [("facility", "geom"), ("district", "geom"), ("census_unit", "geom"),
                                          ("population_cell", "geom"), ("kindergarten", "entrance")])
def test_gist_indexes(session: Session, table: str, column: str) -> None:
    defs = session.scalars(text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}).all()
    assert any("USING gist (" + column + ")" in d for d in defs), defs


@pytest.mark.parametrize("table", ["facility", "population_cell"])
def test_geography_functional_indexes(session: Session, table: str) -> None:
    defs = session.scalars(text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}).all()
    assert any("USING gist (geography(geom))" in d for d in defs), defs


def test_migrations_down_and_up_on_an_empty_database(pg_url: str) -> None:
    """upgrade head -> downgrade base (no table left) -> upgrade head, in a database of its own."""
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"migtest_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    eng = create_engine(url)
    try:
        with eng.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        migrate.upgrade(url)
        with eng.connect() as conn:
            assert TABLES <= set(inspect(conn).get_table_names())
        migrate.downgrade(url, "base")
        with eng.connect() as conn:
            assert set(inspect(conn).get_table_names()) & (TABLES - {"alembic_version"}) == set()
        assert migrate.current(url) is None
        migrate.upgrade(url)
        assert migrate.current(url) is not None
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
