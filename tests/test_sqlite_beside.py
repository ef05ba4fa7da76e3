"""A large rebuild written by a child process gives the index a rebuild in process gives, and
a failure on either side leaves the served index as it was."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from search import indexing, sqlite_backend, sqlite_beside
from search.backend import BackendError
from search.documents import to_document
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.test_indexing import answers, commit
from tests.test_search_contract import corpus


def _docs(n: int = 230):
    docs = [to_document(r) for r in corpus(n)]
    # An id given again in a later batch: the last one given wins, as in process.
    return [*docs, replace(docs[3], text={"title": "Lithium 电池组 given again"})]


def _in_process(tmp_path: Path, docs) -> tuple[int, list]:
    backend = SqliteBackend(tmp_path / "in.db")
    written = backend.rebuild(iter(docs))  # an iterator: its size unknown, written here
    assert backend.counts() == {"notification": len({d.id for d in docs})}
    return written, answers(backend, [d.id for d in docs[:20]])


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(sqlite_beside, "BATCH", 40)
    monkeypatch.setattr(sqlite_backend, "BESIDE_FROM", 100)


@pytest.mark.parametrize("keep_busy", [0, 10**6], ids=["analysed-here", "analysed-there"])
def test_a_rebuild_written_beside_equals_one_written_in_process(tmp_path, small_batches,
                                                                monkeypatch, keep_busy):
    monkeypatch.setattr(sqlite_beside, "KEEP_BUSY", keep_busy)
    docs = _docs()
    backend = SqliteBackend(tmp_path / "beside.db")
    written = backend.rebuild(docs)  # a list: its size says "beside"
    assert (written, answers(backend, [d.id for d in docs[:20]])) == _in_process(tmp_path, docs)
    # One file besides the path's link: the new one (and the logs a reader may open on it).
    assert _files(tmp_path, "beside.db") == {backend.file().name}


def _files(folder: Path, name: str) -> set[str]:
    """The index's data files in the folder, its link and SQLite's own companions left out."""
    return {p.name for p in folder.iterdir() if p.name.startswith(name + ".")
            and not p.name.endswith(("-wal", "-shm"))}


def _served(backend: SqliteBackend, docs) -> list:
    return [backend.generation(), backend.counts(), *answers(backend, [d.id for d in docs])]


def _pipes() -> set[str]:
    """The pipes this process holds open: the SQLite files it opens are not leaks, pipes are."""
    links = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the directory's own descriptor, closed once listed
            pass
    return {link for link in links if link.startswith("pipe:")}


def _leftovers() -> list[str]:
    return [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("marketpass-rebuild-")]


def test_a_caller_failing_half_way_leaves_the_served_index(tmp_path, small_batches):
    docs = _docs()
    backend = SqliteBackend(tmp_path / "i.db")
    backend.rebuild(docs[:50])
    before, leftovers = _served(backend, docs[:50]), _leftovers()

    def failing():
        yield from docs[:150]  # several batches already with the writer
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="the store went away"):
        backend.rebuild(failing(), size=len(docs))
    assert _served(backend, docs[:50]) == before
    assert _leftovers() == leftovers
    assert _files(tmp_path, "i.db") == {backend.file().name}  # the half-written file removed
    assert backend.rebuild(docs) == len(docs) - 1  # the write lock was let go
    assert backend.counts() == {"notification": len(docs) - 1}


def test_the_writers_failure_is_raised_and_the_served_index_kept(tmp_path, small_batches,
                                                                monkeypatch):
    """A batch the child cannot write (here one whose rows do not add up) fails the rebuild
    with the child's reason, and nothing of it is served."""
    docs = _docs()
    backend = SqliteBackend(tmp_path / "i.db")
    backend.rebuild(docs[:50])
    before = _served(backend, docs[:50])
    finish, made = sqlite_beside.finish, []

    def broken_third(gathered):
        batch = finish(gathered)
        made.append(batch)
        return batch._replace(kw_ends=batch.kw_ends[:-1]) if len(made) == 3 else batch

    monkeypatch.setattr(sqlite_beside, "finish", broken_third)
    monkeypatch.setattr(sqlite_beside, "KEEP_BUSY", 0)  # every batch analysed here
    with pytest.raises(BackendError, match="index writer failed: ValueError"):
        backend.rebuild(docs)
    assert _served(backend, docs[:50]) == before
    assert _files(tmp_path, "i.db") == {backend.file().name}


def test_a_store_rebuild_says_its_size_and_is_written_beside(tmp_path, small_batches,
                                                            monkeypatch):
    records = corpus(150)
    store = RecordStore(tmp_path / "store.db")
    commit(store, records)
    calls = []
    real = sqlite_beside.rebuild_beside
    monkeypatch.setattr(sqlite_beside, "rebuild_beside",
                        lambda *args: calls.append(1) or real(*args))
    backend = SqliteBackend(tmp_path / "i.db")
    assert indexing.rebuild(store, backend) == len(records) and calls == [1]
    assert store.pending_index() == []
    _, expected = _in_process(tmp_path, [to_document(r) for r in records])
    assert answers(backend, [to_document(r).id for r in records[:20]]) == expected


def test_with_one_core_a_large_rebuild_stays_in_process(tmp_path, small_batches, monkeypatch):
    """Two processes on one core would only add the batches' transfer to the same work."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(sqlite_beside, "rebuild_beside", lambda *args: pytest.fail("beside"))
    docs = _docs()
    backend = SqliteBackend(tmp_path / "i.db")
    assert backend.rebuild(docs) == len(docs) - 1
    assert backend.counts() == {"notification": len(docs) - 1}


def test_a_writer_that_cannot_start_leaves_the_rebuild_to_this_process(tmp_path, small_batches,
                                                                        monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    leftovers, pipes = _leftovers(), _pipes()
    docs = _docs()
    backend = SqliteBackend(tmp_path / "i.db")
    assert backend.rebuild(docs) == len(docs) - 1
    assert backend.counts() == {"notification": len(docs) - 1}
    assert _leftovers() == leftovers and _pipes() == pipes


def test_a_caller_failing_after_the_last_batch_gets_the_old_index_or_the_whole_new_one(
        tmp_path, small_batches, monkeypatch):
    docs = _docs()
    backend = SqliteBackend(tmp_path / "i.db")
    backend.rebuild(docs[:50])
    before = _served(backend, docs[:50])
    expect, children = sqlite_beside._Child.expect, []

    def interrupted(self, what, timeout):
        children.append(self.process)
        if what == "written":
            raise KeyboardInterrupt
        return expect(self, what, timeout)

    monkeypatch.setattr(sqlite_beside._Child, "expect", interrupted)
    with pytest.raises(KeyboardInterrupt):
        backend.rebuild(docs)
    assert children[-1].returncode is not None  # the writer does not go on alone
    if backend.counts() == {"notification": 50}:
        assert _served(backend, docs[:50]) == before
    else:
        assert backend.counts() == {"notification": len(docs) - 1}
