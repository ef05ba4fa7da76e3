"""How an SQLite file of MarketPass is opened, the record store's and the index's alike (kept
apart from ``search.db`` so that the index's writer process does not load PostgreSQL's
driver, a third of its start)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# The page size a new SQLite file gets (whichever of the store and the index makes it): rows
# of 1-2 KB fill 16 KB pages better than 4 KB ones (7 % fewer bytes in the index) and a large
# write moves a quarter of the pages. A file keeps the size it was made with (WAL forbids a
# change), so it applies to files made from this release on.
PAGE_SIZE = 16384


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit, the file in WAL mode (readers never wait for a writer)."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: a new file only
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
