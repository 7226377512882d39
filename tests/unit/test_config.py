"""Settings from the environment."""

from __future__ import annotations

import pytest

from registry.config import load_settings, normalise_database_url


def test_managed_cluster_without_database_url() -> None:
    settings = load_settings({})
    assert settings.managed and settings.port == 5000 and settings.pg_port == 54329


def test_database_url_gets_the_psycopg_driver() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u:p@db.example:5432/reg", "PORT": "8080"})
    assert not settings.managed
    assert settings.database_url == "postgresql+psycopg://u:p@db.example:5432/reg"
    assert settings.port == 8080


def test_explicit_driver_is_kept() -> None:
    assert normalise_database_url("postgresql+psycopg://x/y") == "postgresql+psycopg://x/y"


@pytest.mark.parametrize("value", ["0", "70000", "abc", "-1"])
def test_invalid_port_is_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="PORT"):
        load_settings({"PORT": value})
