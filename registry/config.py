"""Settings read from the environment.

``DATABASE_URL``
    PostGIS server to use. Without it the project runs its own cluster in
    ``var/pg`` (see :mod:`registry.localdb`).
``PORT``
    HTTP port of ``registry serve`` (default 5000).
``REGISTRY_VAR_DIR``
    Where the managed cluster lives (default ``<repo>/var``).
``REGISTRY_PG_PORT``
    TCP port of the managed cluster (default 54329, loopback only).
``SECRET_KEY``
    Flask session key; a random per-process key is used when unset.
``TIANDITU_KEY``
    Browser key (``tk``) of the Tianditu (天地图) tile service; without it the
    maps do not offer the Tianditu basemap.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_PG_PORT = 54329
DEFAULT_DB_NAME = "registry"


def normalise_database_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver made explicit.

    >>> normalise_database_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalise_database_url("postgres://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one process."""

    database_url: str | None
    var_dir: Path
    pg_port: int
    port: int
    secret_key: str = field(repr=False)
    tianditu_key: str | None = field(default=None, repr=False)

    @property
    def managed(self) -> bool:
        """True when the project runs its own PostGIS cluster."""
        return self.database_url is None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read :class:`Settings` from ``env`` (default: ``os.environ``).

    Raises
    ------
    ValueError
        If ``PORT`` or ``REGISTRY_PG_PORT`` is not a valid port number.
    """
    env = dict(os.environ if env is None else env)
    url = env.get("DATABASE_URL") or None
    return Settings(
        database_url=normalise_database_url(url) if url else None,
        var_dir=Path(env.get("REGISTRY_VAR_DIR") or PROJECT_ROOT / "var"),
        pg_port=_port(env, "REGISTRY_PG_PORT", DEFAULT_PG_PORT),
        port=_port(env, "PORT", 5000),
        secret_key=env.get("SECRET_KEY") or secrets.token_hex(32),
        tianditu_key=(env.get("TIANDITU_KEY") or "").strip() or None,
    )


def _port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name}={raw!r} is not a TCP port number (1-65535)")
    return int(raw)
