"""PostgreSQL's own programs for the tests of a replicated database: a streaming standby made with
pg_basebackup, and throwaway clusters of their own. As root they run as the postgres system user,
as ops/pg_ctl does (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import port_for
import psycopg

BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]


def as_postgres(*command: str, **kwargs) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, **kwargs)
    if done.returncode:
        raise AssertionError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def server_dir(prefix: str) -> Path:
    """A new folder under /tmp the server's user owns (pytest's own are private to the user running it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    if os.getuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


class Server:
    """One PostgreSQL server on 127.0.0.1 and a random port, its sockets beside its data."""

    def __init__(self, base: Path, options: tuple[str, ...] = ()):
        self.base = base
        self.data = self.base / "data"
        self.port = port_for.select_random()
        self.options = options

    def start(self) -> Server:
        settings = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.base}"]
        settings += [f"-c {option}" for option in self.options]
        as_postgres(
            str(BIN / "pg_ctl"), "start", "-w", "-D", str(self.data), "-l", str(self.base / "server.log"),
            "-o", " ".join(settings),
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            as_postgres(str(BIN / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data))

    def remove(self) -> None:
        """Stop the server and remove its folder."""
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(dbname, "postgresql"), autocommit=True)


def initdb(options: tuple[str, ...] = ()) -> Server:
    """A new, empty cluster in a folder of its own under /tmp (not started; Server.remove() removes it)."""
    server = Server(server_dir("cmts-test-initdb-"), options)
    locale = ("-E", "UTF8", "--locale=C.UTF-8")
    as_postgres(str(BIN / "initdb"), "-A", "trust", "-U", "postgres", *locale, str(server.data))
    return server


def standby_of(host: str, port: int) -> Server:
    """A hot standby streaming from the server at host:port (a base backup, then its WAL as it comes)."""
    server = Server(server_dir("cmts-test-standby-"), ("hot_standby=on",))
    as_postgres(
        str(BIN / "pg_basebackup"), "-h", host, "-p", str(port), "-U", "postgres", "-D", str(server.data),
        "-R", "-X", "stream", "-c", "fast",
    )  # fmt: skip
    return server.start()


def wait_replayed(primary: psycopg.Connection, standby: psycopg.Connection, limit: float = 60) -> None:
    """Wait until the standby has replayed all the primary had written when this was called."""
    target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # written or not yet
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"the standby did not replay up to {target} within {limit} s")
