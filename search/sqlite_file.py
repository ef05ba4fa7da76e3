"""How an SQLite file of MarketPass is opened, the record store's and the index's alike (kept
apart from ``search.db`` so that the index's writer process does not load PostgreSQL's
driver, a third of its start)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

# The page size a new SQLite file gets (whichever of the store and the index makes it): rows
# of 1-2 KB fill 16 KB pages better than 4 KB ones (7 % fewer bytes in the index) and a large
# write moves a quarter of the pages. A file keeps the size it was made with (WAL forbids a
# change), so it applies to files made from this release on.
PAGE_SIZE = 16384


def connect(path: Path | str, create: bool = True) -> sqlite3.Connection:
    """A connection in autocommit, the file in WAL mode (readers never wait for a writer).
    Without ``create``, a file that does not exist is an error, not a new empty database."""
    target = path if create else f"{Path(path).absolute().as_uri()}?mode=rw"
    conn = sqlite3.connect(target, timeout=60, isolation_level=None, uri=not create)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: a new file only
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def connect_new(path: Path) -> sqlite3.Connection:
    """A connection to a new file written once from start to end and then made durable by
    the caller (``sync``): no log, no sync of its own, so every page is written once. Until
    then nothing reads it; a failed write leaves a file to delete, nothing to roll back."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    return conn


def sync(path: Path) -> None:
    """Make a file's content (or a folder's names) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
