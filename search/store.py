"""The record store: validated records, their history and the crawl log, in SQLite.

It is the source of truth; search indexes are derived from it. A crawl stages its records and
commits them in one transaction only when it finishes well, so a crawl that fails half-way
leaves the stored records, and therefore the served index, as they were.

The records a commit changed go, in the same transaction, to an outbox: they leave it only once
the index holds them. A crawl killed between the two leaves them there, and the next crawl's
start, ``marketpass index status --check`` or ``index rebuild`` indexes them (``reconcile`` in
``search.indexing``), for either backend. A crawl killed before its commit leaves a "running"
row, which the next start marks interrupted; what it staged was in its connection's temporary
table and went with it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from search import jsonio
from search.db import DatabaseMissing, Db

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_records (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    data TEXT NOT NULL, fetched_at TEXT NOT NULL, first_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL, last_crawl INTEGER);
CREATE INDEX IF NOT EXISTS store_records_kind ON store_records (kind);
CREATE TABLE IF NOT EXISTS store_history (
    id TEXT NOT NULL, content_hash TEXT NOT NULL, data TEXT NOT NULL, fetched_at TEXT NOT NULL,
    crawl_id INTEGER, change TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS store_history_id ON store_history (id);
CREATE TABLE IF NOT EXISTS store_crawls (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL, stats TEXT NOT NULL DEFAULT '{}', watermark TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS store_outbox_v2 (crawl_id INTEGER PRIMARY KEY, ids TEXT NOT NULL);
"""
# The same tables on PostgreSQL; ``rowid`` is SQLite's implicit insertion order made explicit.
_POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_records (
    rowid BIGSERIAL UNIQUE, id TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL,
    content_hash TEXT NOT NULL, data TEXT NOT NULL, fetched_at TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_changed TEXT NOT NULL, last_crawl BIGINT);
CREATE INDEX IF NOT EXISTS store_records_kind ON store_records (kind);
CREATE TABLE IF NOT EXISTS store_history (
    rowid BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, content_hash TEXT NOT NULL,
    data TEXT NOT NULL, fetched_at TEXT NOT NULL, crawl_id BIGINT, change TEXT NOT NULL,
    recorded_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS store_history_id ON store_history (id);
CREATE TABLE IF NOT EXISTS store_crawls (
    id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL, stats TEXT NOT NULL DEFAULT '{}', watermark TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS store_outbox_v2 (crawl_id BIGINT PRIMARY KEY, ids TEXT NOT NULL);
"""
# A crawl stages its records in a temporary table of its own connection: they never go through
# the database's log (a large crawl's records would be written, checkpointed and deleted for
# nothing), and a killed crawl's staged records vanish with its connection.
_SQLITE_STAGING = """CREATE TEMP TABLE IF NOT EXISTS store_staging (
    crawl_id INTEGER NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
    content_hash TEXT NOT NULL, data TEXT NOT NULL, fetched_at TEXT NOT NULL,
    PRIMARY KEY (crawl_id, id))"""
_POSTGRES_STAGING = """CREATE TEMP TABLE IF NOT EXISTS store_staging (
    rowid BIGSERIAL, crawl_id BIGINT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
    source TEXT NOT NULL, content_hash TEXT NOT NULL, data TEXT NOT NULL,
    fetched_at TEXT NOT NULL, PRIMARY KEY (crawl_id, id))"""


# Staged records that are new (no stored record) or changed (another content hash).
_STAGED_CHANGES = """
    FROM store_staging s LEFT JOIN store_records r ON r.id = s.id
    WHERE s.crawl_id = ? AND (r.id IS NULL OR r.content_hash != s.content_hash)"""
_CHANGES = "SELECT s.id, r.id IS NULL" + _STAGED_CHANGES + " ORDER BY s.rowid"
_RECORD_HISTORY = (
    "INSERT INTO store_history (id, content_hash, data, fetched_at, crawl_id, change, "
    "recorded_at) SELECT s.id, s.content_hash, s.data, s.fetched_at, ?, "
    "CASE WHEN r.id IS NULL THEN 'created' ELSE 'updated' END, ?" + _STAGED_CHANGES
    + " ORDER BY s.rowid"
)
_RECORD_COLUMNS = ("id, kind, source, content_hash, data, fetched_at, first_seen, last_changed, "
                   "last_crawl")
_UPSERT_CHANGED = f"""
    INSERT INTO store_records ({_RECORD_COLUMNS})
    SELECT s.id, s.kind, s.source, s.content_hash, s.data, s.fetched_at, ?, ?, ?
    FROM store_staging s WHERE s.crawl_id = ? AND true ORDER BY s.rowid
    ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, source = excluded.source,
        content_hash = excluded.content_hash, data = excluded.data,
        fetched_at = excluded.fetched_at, last_changed = excluded.last_changed,
        last_crawl = excluded.last_crawl
    WHERE store_records.content_hash != excluded.content_hash"""
_MARK_SEEN = """
    UPDATE store_records SET last_crawl = ? WHERE (last_crawl IS NULL OR last_crawl != ?)
    AND id IN (SELECT id FROM store_staging WHERE crawl_id = ?)"""
_STAGE = """
    INSERT INTO store_staging (crawl_id, id, kind, source, content_hash, data, fetched_at)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (crawl_id, id) DO UPDATE SET kind = excluded.kind,
    source = excluded.source, content_hash = excluded.content_hash, data = excluded.data,
    fetched_at = excluded.fetched_at"""
_OUTBOX = """INSERT INTO store_outbox_v2 (crawl_id, ids) VALUES (?, ?)
    ON CONFLICT (crawl_id) DO UPDATE SET ids = excluded.ids"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class CommitResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> list[str]:
        return self.created + self.updated


StoreMissing = DatabaseMissing


class RecordStore:
    """The store in a SQLite file or, given a ``postgresql://`` URL, in PostgreSQL (shared by
    every app process and crawl of a deployment)."""

    def __init__(self, location: Path | str, create: bool = True) -> None:
        self.db = Db(location, create)
        self.path = self.db.location
        with self.db.transaction():
            # Processes starting together must not create the tables twice.
            self.db.lock("schema")
            self.db.script(_POSTGRES_SCHEMA if self.db.postgres else _SQLITE_SCHEMA)

    @classmethod
    def reader(cls, location: Path | str) -> RecordStore:
        """The store of an existing database, for reading only: no schema transaction, which
        would wait for a writer (a worker reads while its crawl holds the write lock)."""
        store = cls.__new__(cls)
        store.db = Db(location, create=False)
        store.path = store.db.location
        return store

    def close(self) -> None:
        self.db.close()

    # --- crawls ------------------------------------------------------------------------------

    def start_crawl(self, source: str) -> int:
        """A new crawl, noting its process so a later start can tell one killed from one
        still running. Its records are staged, and committed, through this connection."""
        self._staging()
        stats = _dumps({"pid": os.getpid(), "host": socket.gethostname()})
        row = self.db.execute(
            "INSERT INTO store_crawls (source, started_at, status, stats) "
            "VALUES (?, ?, 'running', ?) RETURNING id", (source, now(), stats),
        ).fetchone()
        return int(row[0])

    def running_crawls(self, source: str | None = None) -> list[dict]:
        """Crawls marked running, with the process that started them."""
        rows = self.db.execute(
            "SELECT id, source, started_at, stats FROM store_crawls WHERE status = 'running'"
            + (" AND source = ?" if source else ""), (source,) if source else ()).fetchall()
        return [{"id": i, "source": s, "started_at": at, **jsonio.loads(st or "{}")}
                for i, s, at, st in rows]

    def clear_interrupted(self) -> list[int]:
        """Crawls marked running whose process (on this host) is gone: killed. They are marked
        interrupted; the stored records never saw what they staged."""
        gone = [c["id"] for c in self.running_crawls() if not _alive(c)]
        for crawl_id in gone:
            with self.db.transaction():
                self._close_crawl(crawl_id, "interrupted", {},
                                  None, "the crawl's process ended before it finished")
        return gone

    # --- the outbox: committed changes the index does not hold yet ---------------------------

    def pending_index(self) -> list[str]:
        """Records committed that the index may not hold yet, oldest commit first."""
        rows = self.db.execute("SELECT ids FROM store_outbox_v2 ORDER BY crawl_id")
        return list(dict.fromkeys(i for (ids,) in rows for i in jsonio.loads(ids)))

    def indexed(self, ids: list[str] | None = None) -> None:
        """The index holds what the outbox held (or, with ``ids``, at least those): the
        commits they came with leave it. One row per commit keeps a large crawl's outbox one
        write and one delete."""
        if ids is None:
            self.db.execute("DELETE FROM store_outbox_v2")
            return
        wanted = set(ids)
        held = self.db.execute("SELECT crawl_id, ids FROM store_outbox_v2").fetchall()
        for crawl_id, commit_ids in held:
            if set(jsonio.loads(commit_ids)) <= wanted:
                self.db.execute("DELETE FROM store_outbox_v2 WHERE crawl_id = ?", (crawl_id,))

    def stage(self, crawl_id: int, records: Iterable[dict]) -> None:
        # Records keep their schema's field order; the content hash does not depend on it.
        rows = [(crawl_id, r["id"], r["kind"], r["source"], r["content_hash"],
                 jsonio.dumps(r), r["fetched_at"])
                for r in records]
        # One transaction per batch: in autocommit mode each row would be a commit of its own.
        with self.db.transaction():
            self.db.executemany(_STAGE, rows)

    def finish_crawl(
        self, crawl_id: int, stats: dict | None = None, watermark: str | None = None
    ) -> CommitResult:
        """Move the staged records into the store, with history, in one transaction.

        Set-based SQL: what is new or changed is found by comparing content hashes, so an
        unchanged record is not rewritten, only marked as seen by this crawl.
        """
        db = self.db
        with db.transaction():
            # Commits one after the other: the change log's row numbers then grow in commit
            # order, so a reader's cursor never passes a row still to be committed.
            db.lock("commit")
            stamp = now()
            changes = db.execute(_CHANGES, (crawl_id,)).fetchall()
            result = CommitResult(created=[i for i, new in changes if new],
                                  updated=[i for i, new in changes if not new])
            db.execute(_RECORD_HISTORY, (crawl_id, stamp, crawl_id))
            db.execute(_UPSERT_CHANGED, (stamp, stamp, crawl_id, crawl_id))
            result.unchanged = db.execute(_MARK_SEEN, (crawl_id,) * 3).rowcount
            if result.changed:
                db.execute(_OUTBOX, (crawl_id, jsonio.dumps(result.changed)))
            stats = {**(stats or {}), "created": len(result.created),
                     "updated": len(result.updated), "unchanged": result.unchanged}
            self._close_crawl(crawl_id, "finished", stats, watermark, None)
        return result

    def fail_crawl(self, crawl_id: int, error: str, stats: dict | None = None) -> None:
        """Record the failure and drop what the crawl staged; stored records stay as they were."""
        with self.db.transaction():
            self._close_crawl(crawl_id, "failed", stats or {}, None, error)

    def _staging(self) -> None:
        self.db.execute(_POSTGRES_STAGING if self.db.postgres else _SQLITE_STAGING)

    def _close_crawl(self, crawl_id, status, stats, watermark, error) -> None:
        self._staging()  # a crawl of another process staged nothing here
        self.db.execute("DELETE FROM store_staging WHERE crawl_id = ?", (crawl_id,))
        self.db.execute(
            "UPDATE store_crawls SET finished_at = ?, status = ?, stats = ?, watermark = ?, "
            "error = ? WHERE id = ?",
            (now(), status, _dumps(stats), watermark, error, crawl_id),
        )

    # --- reads -------------------------------------------------------------------------------

    def get(self, record_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT data FROM store_records WHERE id = ?", (record_id,)
        ).fetchone()
        return jsonio.loads(row[0]) if row else None

    def get_many(self, ids: list[str], batch: int = 500) -> Iterator[dict]:
        """The stored records of these ids (those that exist), read in batches."""
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            marks = ", ".join("?" for _ in chunk)
            rows = self.db.execute(
                f"SELECT data FROM store_records WHERE id IN ({marks})", chunk).fetchall()
            yield from (jsonio.loads(data) for (data,) in rows)

    def history(self, record_id: str) -> list[dict]:
        rows = self.db.execute(
            "SELECT change, recorded_at, fetched_at, content_hash, crawl_id FROM store_history "
            "WHERE id = ? ORDER BY rowid", (record_id,),
        ).fetchall()
        keys = ("change", "recorded_at", "fetched_at", "content_hash", "crawl_id")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def records(self, kind: str | None = None, batch: int = 2000) -> Iterator[dict]:
        """Every stored record (of one kind), read in batches to keep memory flat."""
        sql = "SELECT rowid, data FROM store_records WHERE rowid > ?"
        sql += " AND kind = ?" if kind else ""
        last = 0
        while True:
            params = (last, kind) if kind else (last,)
            rows = self.db.execute(f"{sql} ORDER BY rowid LIMIT {batch}", params).fetchall()
            if not rows:
                return
            yield from (jsonio.loads(data) for _, data in rows)
            last = rows[-1][0]

    def complemented_ids(self) -> set[str]:
        """Records another source has added fields to (see ``records.complement``)."""
        rows = self.db.execute(
            "SELECT id FROM store_records WHERE " + (
                "(data::jsonb -> 'complemented') IS DISTINCT FROM '{}'::jsonb"
                if self.db.postgres else "json_extract(data, '$.complemented') != '{}'"))
        return {r[0] for r in rows}

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT kind, COUNT(*) FROM store_records GROUP BY kind")
        return dict(rows.fetchall())

    def last_crawls(self) -> list[dict]:
        """The latest crawl of each source, newest first."""
        rows = self.db.execute(
            "SELECT source, started_at, finished_at, status, stats, error FROM store_crawls "
            "WHERE id IN (SELECT MAX(id) FROM store_crawls GROUP BY source) ORDER BY id DESC"
        ).fetchall()
        keys = ("source", "started_at", "finished_at", "status", "stats", "error")
        return [{**dict(zip(keys, r, strict=True)), "stats": jsonio.loads(r[4])} for r in rows]

    def last_successes(self) -> list[dict]:
        """The latest finished crawl of each source."""
        rows = self.db.execute(
            "SELECT source, finished_at, stats FROM store_crawls WHERE id IN (SELECT MAX(id) "
            "FROM store_crawls WHERE status = 'finished' GROUP BY source) ORDER BY source"
        ).fetchall()
        return [{"source": s, "finished_at": f, "stats": jsonio.loads(st)} for s, f, st in rows]

    def watermark(self, source: str) -> str | None:
        """The watermark of the source's last successful crawl (e.g. its newest date)."""
        row = self.db.execute(
            "SELECT watermark FROM store_crawls WHERE source = ? AND status = 'finished' "
            "AND watermark IS NOT NULL ORDER BY id DESC LIMIT 1", (source,),
        ).fetchone()
        return row[0] if row else None


class EmptyStore:
    """What readers see where there is no database: no records, no crawls, nothing pending."""

    path = None

    def records(self, kind: str | None = None, batch: int = 2000) -> Iterator[dict]:
        return iter(())

    def counts(self) -> dict[str, int]:
        return {}

    def last_crawls(self) -> list[dict]:
        return []

    def last_successes(self) -> list[dict]:
        return []

    def pending_index(self) -> list[str]:
        return []

    def get(self, record_id: str) -> None:
        return None

    def history(self, record_id: str) -> list[dict]:
        return []


def _alive(crawl: dict) -> bool:
    """Whether a running crawl's process still runs (a crawl from another host is taken to)."""
    if crawl.get("host") != socket.gethostname() or not crawl.get("pid"):
        return True
    try:
        os.kill(int(crawl["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dumps(value: object) -> str:
    return jsonio.dumps(value, sort_keys=True)
