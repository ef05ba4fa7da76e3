"""A rebuild of an index that has its file to itself writes a new file and links the index's
path to it: readers and waiting writers move to it, the old file goes, a failed rebuild
leaves nothing behind; an index sharing its file with the record store is rebuilt in it."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from search.documents import to_document
from search.query import SearchRequest
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.test_indexing import answers, commit
from tests.test_search_contract import corpus


def _docs(n: int = 60):
    return [to_document(r) for r in corpus(n)]


def _folder(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_a_rebuild_links_the_path_to_a_new_file_and_removes_the_old(tmp_path):
    path = tmp_path / "index.db"
    backend = SqliteBackend(path)
    backend.upsert(_docs(10))  # written in the path's own file, as a new index is
    assert not path.is_symlink() and (tmp_path / "index.db-wal").exists()
    backend.rebuild(_docs(30))
    first = backend.file()
    assert path.is_symlink() and first.parent == tmp_path and first.name != "index.db"
    assert "index.db-wal" not in _folder(path)  # the first file's log went with it
    backend.rebuild(_docs(40))
    assert backend.file() != first and not first.exists()
    assert [n for n in _folder(path) if not n.startswith(backend.file().name)] == ["index.db"]
    assert backend.count() == 40
    with sqlite3.connect(path) as conn:  # the path opens the index as any SQLite file does
        assert conn.execute("SELECT COUNT(*) FROM idx_cols").fetchone() == (40,)


def test_readers_move_to_the_new_file_at_their_next_read(tmp_path):
    docs = _docs()
    writer, reader = SqliteBackend(tmp_path / "i.db"), SqliteBackend(tmp_path / "i.db")
    writer.rebuild(docs[:20])
    assert reader.count() == 20
    generation = reader.generation()
    old = reader.file()
    writer.rebuild(docs)
    assert not old.exists()  # removed while the reader still had it open
    assert reader.count() == len(docs) and int(reader.generation()) > int(generation)
    assert answers(reader, [d.id for d in docs[:10]]) == answers(writer,
                                                                 [d.id for d in docs[:10]])


def test_a_write_that_waited_for_a_rebuild_lands_in_the_new_file(tmp_path):
    """The rebuild holds the old file's write lock until the path links to the new one, so a
    crawl's write waiting for it is made on the new file, not lost with the old one."""
    docs = _docs()
    rebuilder, crawler = SqliteBackend(tmp_path / "i.db"), SqliteBackend(tmp_path / "i.db")
    rebuilder.rebuild(docs[:10])
    reading, release = threading.Event(), threading.Event()

    def slow():
        yield from docs[:30]
        reading.set()
        assert release.wait(30)
        yield from docs[30:40]

    thread = threading.Thread(target=lambda: rebuilder.rebuild(slow()))
    thread.start()
    assert reading.wait(30)
    late = replace(docs[50], text={"title": "written while the rebuild ran"})
    waited: list[int] = []
    writer = threading.Thread(target=lambda: waited.append(crawler.upsert([late])))
    writer.start()
    writer.join(0.5)
    assert writer.is_alive()  # waiting for the lock
    release.set()
    thread.join(30)
    writer.join(30)
    assert waited == [1]
    assert crawler.count() == 41 and rebuilder.count() == 41
    hits = rebuilder.search(SearchRequest(text="written while the rebuild ran")).hits
    assert [h.id for h in hits] == [late.id]


def test_a_failed_rebuild_leaves_the_index_and_no_file(tmp_path):
    docs = _docs()
    backend = SqliteBackend(tmp_path / "i.db")
    backend.rebuild(docs[:20])
    before, files = answers(backend, [d.id for d in docs[:20]]), _folder(tmp_path / "i.db")

    def failing():
        yield from docs[20:50]
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="the store went away"):
        backend.rebuild(failing())
    assert _folder(tmp_path / "i.db") == files
    assert answers(backend, [d.id for d in docs[:20]]) == before
    assert backend.rebuild(docs) == len(docs)  # the lock was let go


def test_a_file_a_killed_rebuild_left_is_removed_by_the_next(tmp_path):
    backend = SqliteBackend(tmp_path / "i.db")
    backend.rebuild(_docs(10))
    orphan = tmp_path / "i.db.999"
    orphan.write_bytes(b"half a file")
    (tmp_path / "i.db.999-journal").write_bytes(b"")
    (tmp_path / "i.db.notes").write_text("not the index's")  # not one of its names: kept
    backend.rebuild(_docs(20))
    assert not orphan.exists() and not (tmp_path / "i.db.999-journal").exists()
    assert (tmp_path / "i.db.notes").exists() and backend.count() == 20


def test_an_index_sharing_the_stores_file_is_rebuilt_in_it(tmp_path):
    """Never replace a file that holds more than the index: the store's records stay."""
    path = tmp_path / "marketpass.db"
    store = RecordStore(path)
    records = corpus(30)
    commit(store, records)
    backend = SqliteBackend(path)
    backend.rebuild(to_document(r) for r in records)
    assert not path.is_symlink() and backend.count() == 30
    assert len(list(RecordStore(path).records())) == 30
    assert _folder(path) == ["marketpass.db", "marketpass.db-shm", "marketpass.db-wal"]
