"""One connection per thread to the record store's database: SQLite (a file) or PostgreSQL.

The store and the alert tables are written once, in the SQL both understand, with ``?``
placeholders; the few statements that differ are chosen by ``Db.postgres``. PostgreSQL
tables name their insertion-order column ``rowid`` so that the SQL reading SQLite's implicit
``rowid`` (the change log's cursor, batched reads) runs unchanged on both.

Connections run in autocommit; a ``transaction()`` is explicit. On SQLite it takes the write
lock at once (BEGIN IMMEDIATE), so two writers never deadlock upgrading a read lock; on
PostgreSQL it is a plain transaction, and writers that must not interleave (the commit of a
crawl, a cursor move) take an advisory lock inside it (``lock``).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from search import sqlite_file

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class DatabaseMissing(RuntimeError):
    """The database is not there (a reader never creates one: an empty store would look like
    a working site with no data)."""


class DatabaseError(RuntimeError):
    """The database could not be reached or refused the work; the message says why."""


# What a database that cannot be reached or read raises, on either kind: the service is then
# unavailable (503), not broken (500).
ERRORS = (sqlite3.Error, psycopg.Error, DatabaseError, DatabaseMissing)


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(POSTGRES_SCHEMES)


class Db:
    """A database by location (a file path or a ``postgresql://`` URL)."""

    def __init__(self, location: str | Path, create: bool = True) -> None:
        self.postgres = is_postgres(location)
        self.location = str(location) if self.postgres else Path(location)
        if not self.postgres:
            if not create and not self.location.exists():
                raise DatabaseMissing(f"no database at {self.location}")
            self.location.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn()  # fail here, at opening, when the database cannot be reached

    def __repr__(self) -> str:
        return f"Db({_redacted(self.location)})"

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect_postgres(self.location) if self.postgres else \
                sqlite_file.connect(self.location)
            self._local.conn = conn
        return conn

    def execute(self, sql: str, params: tuple | list = ()):
        return self._conn().execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: list) -> None:
        if not rows:
            return
        if self.postgres:
            with self._conn().cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self._conn().executemany(sql, rows)

    def script(self, statements: str) -> None:
        """Several ``CREATE … IF NOT EXISTS`` statements separated by ``;``. On PostgreSQL
        those whose table or index exists are not run: even a no-op CREATE INDEX takes a
        share lock on its table, which deadlocks against a crawl committing meanwhile."""
        for statement in statements.split(";"):
            if not statement.strip():
                continue
            if self.postgres:
                name = re.search(r"IF NOT EXISTS (\w+)", statement)[1]
                if self.execute("SELECT to_regclass(?)", (name,)).fetchone()[0]:
                    continue
            self.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        conn = self._conn()
        if self.postgres:
            with conn.transaction():
                yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def lock(self, name: str) -> None:
        """Inside a transaction: wait for, then hold until its end, the lock of this name
        (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises every writer)."""
        if self.postgres:
            self.execute("SELECT pg_advisory_xact_lock(?)", (_lock_key(name),))

    def close(self) -> None:
        if conn := getattr(self._local, "conn", None):
            conn.close()
            self._local.conn = None

    def _sql(self, sql: str) -> str:
        # Our SQL holds no literal "?" or "%"; psycopg's placeholder is %s.
        return sql.replace("?", "%s") if self.postgres else sql


def _connect_postgres(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot reach {_redacted(url)}: {exc}") from exc


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per name for pg_advisory_xact_lock.
    return zlib.crc32(f"marketpass:{name}".encode()) - 2**31


def _redacted(location: str | Path) -> str:
    """A location fit for logs and errors: the password of a URL left out."""
    text = str(location)
    if "@" in text and "://" in text:
        scheme, rest = text.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:…@{host}"
    return text
