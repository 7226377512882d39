"""The project-managed PostgreSQL + PostGIS cluster (used when DATABASE_URL is unset).

The cluster lives in ``<var>/pg`` (git-ignored), listens on loopback only at a
private port and on a Unix socket inside ``<var>``, trusts local connections
(it is a developer/single-host cluster) and is stopped cleanly with
``registry db stop``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

PG_BIN_CANDIDATES = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
POSTGIS_HINT = (
    "PostGIS is not installed for this PostgreSQL server. Install it with:\n"
    "    sudo apt-get install postgresql-15-postgis-3\n"
    "(or run `make run`, which installs it)."
)


class LocalDbError(RuntimeError):
    """The managed cluster could not be created, started or reached."""


@dataclass(frozen=True)
class LocalCluster:
    """A PostgreSQL cluster owned by this project.

    Parameters
    ----------
    var_dir : Path
        Parent folder; the data directory is ``var_dir / "pg"``.
    port : int
        Loopback TCP port.
    dbname : str
        Database created for the registry.
    """

    var_dir: Path
    port: int
    dbname: str = "registry"

    @property
    def data_dir(self) -> Path:
        return self.var_dir / "pg"

    @property
    def socket_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.var_dir / "pg.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the registry database (TCP on loopback)."""
        return f"postgresql+psycopg://{_db_user()}@127.0.0.1:{self.port}/{self.dbname}"

    # ----------------------------------------------------------------- lifecycle
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def init(self) -> bool:
        """Create the cluster if it does not exist; return True if it was created."""
        if self.initialised():
            return False
        self._make_dirs()
        _run([*_as_owner(), _pg_bin("initdb"), "-D", str(self.data_dir), "-U", _db_user(), "--auth=trust",
              "--encoding=UTF8", "--locale=C.UTF-8"], "initdb")
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                "\n# managed by registry.localdb\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "shared_buffers = 512MB\nwork_mem = 64MB\nmaintenance_work_mem = 512MB\n"
                "max_wal_size = 4GB\n"
            )
        return True

    def start(self, timeout: float = 30.0) -> bool:
        """Start the cluster (initialising it first); return True if it was started now."""
        self.init()
        if self.running():
            return False
        if _port_in_use(self.port):
            raise LocalDbError(
                f"port {self.port} on 127.0.0.1 is already taken by another program; "
                "set REGISTRY_PG_PORT to a free port, or DATABASE_URL to use an existing server"
            )
        self._make_dirs()
        proc = self._pg_ctl("start", "-w", "-t", str(int(timeout)), "-l", str(self.log_file),
                            "-o", f"-p {self.port}", check=False)
        if proc.returncode != 0:
            tail = self.log_file.read_text(encoding="utf-8", errors="replace")[-2000:] if self.log_file.exists() else ""
            raise LocalDbError(f"could not start PostgreSQL in {self.data_dir}:\n{proc.stderr}\n{tail}")
        self._ensure_database()
        return True

    def stop(self) -> bool:
        """Stop the cluster if it runs (fast shutdown); return True if it was stopped now."""
        if not self.initialised() or not self.running():
            return False
        self._pg_ctl("stop", "-m", "fast", "-w")
        return True

    def destroy(self) -> None:
        """Stop the cluster and delete its files (used by throw-away test clusters)."""
        self.stop()
        shutil.rmtree(self.var_dir, ignore_errors=True)

    # ----------------------------------------------------------------- helpers
    def _make_dirs(self) -> None:
        """Create the cluster folders, owned by the server account when running as root."""
        for folder in (self.var_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
        owner = _server_account()
        if owner is not None:
            for path in (self.var_dir, self.socket_dir, *(p for p in [self.data_dir, self.log_file] if p.exists())):
                shutil.chown(path, owner.pw_uid, owner.pw_gid)

    def _ensure_database(self) -> None:
        psql = [_pg_bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", _db_user(),
                "-v", "ON_ERROR_STOP=1", "-qAt"]
        exists = _run([*psql, "-d", "postgres", "-c",
                       f"SELECT 1 FROM pg_database WHERE datname = '{self.dbname}'"], "psql").stdout.strip()
        if exists != "1":
            _run([*psql, "-d", "postgres", "-c", f'CREATE DATABASE "{self.dbname}"'], "createdb")
        proc = subprocess.run([*psql, "-d", self.dbname, "-c", "CREATE EXTENSION IF NOT EXISTS postgis"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            if "postgis" in proc.stderr and ("not available" in proc.stderr or "could not open" in proc.stderr):
                raise LocalDbError(POSTGIS_HINT)
            raise LocalDbError(f"could not create the postgis extension: {proc.stderr.strip()}")

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [*_as_owner(), _pg_bin("pg_ctl"), "-D", str(self.data_dir), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise LocalDbError(f"pg_ctl {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc


def _db_user() -> str:
    return "registry"


def _server_account() -> pwd.struct_passwd | None:
    """The account that runs the server when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise LocalDbError("running as root needs the 'postgres' system account; install postgresql-15 "
                           "(sudo apt-get install postgresql-15) or run as an ordinary user") from None


def _as_owner() -> list[str]:
    """Command prefix that runs server programs as the server account when we are root."""
    owner = _server_account()
    return [] if owner is None else ["runuser", "-u", owner.pw_name, "--"]


def _pg_bin(name: str) -> str:
    for folder in PG_BIN_CANDIDATES:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    raise LocalDbError(
        f"PostgreSQL program {name!r} not found. Install PostgreSQL 15 and PostGIS with:\n"
        "    sudo apt-get install postgresql-15 postgresql-15-postgis-3\n"
        "or set DATABASE_URL to an existing PostGIS server."
    )


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LocalDbError(f"{what} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0

