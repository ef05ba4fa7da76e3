"""A real PostgreSQL from Debian's packages (initdb, postgres), on loopback, for the record
store's tests on PostgreSQL; its data in a temporary folder, stopped by its PID.

PostgreSQL refuses to run as root, so under root (as in CI) the cluster belongs to ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


class Unavailable(RuntimeError):
    pass


@dataclass
class PgServer:
    process: subprocess.Popen
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://marketpass@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database of its own (one per test keeps tests apart); its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def binaries() -> Path:
    """The folder of initdb and postgres: on PATH, or Debian's /usr/lib/postgresql/<v>/bin."""
    if found := shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not versions:
        raise Unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(versions[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_nobody() -> dict:
    if os.getuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid}


def start(workdir: Path) -> PgServer:
    bin_dir = binaries()
    data, sockets = workdir / "data", workdir / "sockets"
    sockets.mkdir(parents=True)
    owner = _as_nobody()
    if owner:
        os.chown(workdir, owner["user"], owner["group"])
        os.chown(sockets, owner["user"], owner["group"])
    subprocess.run([bin_dir / "initdb", "-D", data, "-U", "marketpass", "--auth=trust",
                    "--encoding=UTF8", "--no-sync"], check=True, capture_output=True, **owner)
    port = _free_port()
    log = open(workdir / "postgres.log", "wb")  # noqa: SIM115 - kept open for the server's life
    process = subprocess.Popen(
        [bin_dir / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(port),
         "-k", sockets, "-c", "fsync=off", "-c", "max_connections=200"],
        stdout=log, stderr=subprocess.STDOUT, **owner)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable(f"postgres exited with {process.returncode}: "
                              f"{(workdir / 'postgres.log').read_text()[-500:]}")
        if subprocess.run([bin_dir / "pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                          capture_output=True).returncode == 0:
            return PgServer(process, port)
        time.sleep(0.2)
    process.kill()
    raise Unavailable("postgres did not answer within 30 s")
