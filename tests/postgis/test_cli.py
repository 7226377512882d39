"""The ``registry`` command line against the test database."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from registry.cli import main


@pytest.fixture()
def cli_env(pg_url: str) -> dict[str, str]:
    return {"DATABASE_URL": pg_url}


def test_db_status_reports_external_server_and_revision(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["db", "status"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "DATABASE_URL" in result.output and "schema revision: 0" in result.output


def test_db_upgrade_is_idempotent(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "schema at revision" in result.output


def test_db_start_with_database_url_is_a_no_op(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["db", "start"], env=cli_env)
    assert result.exit_code == 0 and "no cluster to start" in result.output


def test_serve_refuses_a_taken_port(cli_env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)], env=cli_env)
    assert result.exit_code == 2
    assert f"port {port}" in result.output and "already in use" in result.output
    assert "Traceback" not in result.output


def test_bad_port_setting_is_a_clear_error(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["serve"], env={**cli_env, "PORT": "http"})
    assert result.exit_code == 2 and "PORT='http' is not a TCP port number" in result.output


def test_unreachable_database_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ["db", "status"],
                                env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.exit_code == 2 and "cannot reach the database" in result.output
