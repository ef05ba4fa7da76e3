"""The store and the index never disagree for good: a real crawl process killed between its
store commit and its index write leaves its records in the store's outbox, /healthz says the
index differs (503), and the next crawl's start or ``index status --check`` brings them in —
on SQLite and on Elasticsearch. A crawl killed before its commit leaves no residue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from crawlers.spiders.wto_eping import WtoEpingSpider
from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.replay import replay
from webapp import create_app


def _env(db: Path, search_url: str = "", prefix: str = "marketpass", **more) -> dict:
    return {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": search_url,
            "MARKETPASS_INDEX_PREFIX": prefix, **more}


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "webapp.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _crawl_killed_after_commit(env: dict, db: Path, spider: str) -> None:
    """Start a real crawl that pauses between its commit and its index write, and kill it
    there with SIGKILL (nothing runs after: no handler, no cleanup)."""
    proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", "crawl", spider, "--replay"],
                            env={**env, "MARKETPASS_TEST_PAUSE_BEFORE_INDEX": "60"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db.exists() and RecordStore(db).pending_index():
            break  # committed, and the index write has not happened
        assert proc.poll() is None, "the crawl ended before it could be killed"
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the crawl never committed")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _client(db: Path, search_url: str, prefix: str, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(db))
    monkeypatch.setenv("MARKETPASS_SEARCH_URL", search_url)
    monkeypatch.setenv("MARKETPASS_INDEX_PREFIX", prefix)
    return create_app({"TESTING": True}).test_client()


@pytest.fixture(params=["sqlite", "elasticsearch"])
def where(request, tmp_path):
    """The database, and the Elasticsearch URL and index prefix (empty for SQLite)."""
    if request.param == "sqlite":
        yield tmp_path / "marketpass.db", "", "marketpass"
        return
    es_url = request.getfixturevalue("es_url")
    prefix = f"test-kill-{uuid.uuid4().hex[:8]}"
    yield tmp_path / "marketpass.db", es_url, prefix
    from search.es_backend import ElasticsearchBackend

    backend = ElasticsearchBackend(es_url, prefix=prefix)
    for index in backend.client.indices.get(index=f"{backend.alias}-*"):
        backend.client.indices.delete(index=index)
    backend.client.close()


def test_a_crawl_killed_between_store_and_index_is_repaired(where, monkeypatch):
    db, search_url, prefix = where
    env = _env(db, search_url, prefix)
    first = _cli(env, "crawl", "meti_pse", "--replay")  # a small source, to have an index
    assert first.returncode == 0, first.stderr
    _crawl_killed_after_commit(env, db, "wto_eping")
    store = RecordStore(db)
    pending = store.pending_index()
    assert pending and all(i.startswith("G/") for i in pending)
    # The served index lacks them, and says so.
    client = _client(db, search_url, prefix, monkeypatch)
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["problem"] == "index differs from the store"
    assert health.get_json()["drift"]["pending"] == len(pending)
    check = _cli(env, "index", "status", "--check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["reindexed"] == len(pending) and report["drift"] is None
    assert report["counts"] == report["store_counts"]
    assert store.pending_index() == []
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_the_next_crawl_repairs_what_a_killed_one_left(tmp_path, monkeypatch):
    db = tmp_path / "marketpass.db"
    env = _env(db)
    assert _cli(env, "crawl", "meti_pse", "--replay").returncode == 0
    _crawl_killed_after_commit(env, db, "wto_eping")
    assert RecordStore(db).pending_index()
    # Another crawl, of another source, starts by bringing the index up to date.
    assert _cli(env, "crawl", "hs_nomenclature", "--replay").returncode == 0
    assert RecordStore(db).pending_index() == []
    status = json.loads(_cli(env, "index", "status", "--json").stdout)
    replayed = {item["symbol"] for item in replay(WtoEpingSpider)[1]}  # the bundled snapshot's
    assert status["drift"] is None and status["counts"]["notification"] == len(replayed)


def test_a_crawl_killed_before_its_commit_leaves_no_residue(tmp_path):
    db = tmp_path / "marketpass.db"
    store = RecordStore(db)
    crawl = store.start_crawl("wto_eping")
    store.stage(crawl, [{"id": "x", "kind": "notification", "source": "wto_eping",
                         "content_hash": "h", "fetched_at": "2026-12-03"}])
    # Its process is gone: a pid no process has on this host.
    store.db.execute("UPDATE store_crawls SET stats = ? WHERE id = ?",
                     (json.dumps({"pid": 2 ** 22 + 17, "host": os.uname().nodename}), crawl))
    assert [c["id"] for c in store.running_crawls()] == [crawl]
    assert store.clear_interrupted() == [crawl]
    assert store.running_crawls() == []
    staged = store.db.execute("SELECT COUNT(*) FROM store_staging").fetchone()[0]
    assert staged == 0
    assert store.last_crawls()[0]["status"] == "interrupted"
    # A crawl still running (this process) is left alone.
    running = store.start_crawl("curated")
    assert store.clear_interrupted() == [] and store.running_crawls()[0]["id"] == running


def test_an_empty_index_is_unhealthy(tmp_path, monkeypatch):
    db = tmp_path / "marketpass.db"
    RecordStore(db).close()
    SqliteBackend(index_path(db)).close()
    client = _client(db, "", "marketpass", monkeypatch)
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["problem"] == "empty index"


def test_an_unreadable_database_is_a_clear_503(tmp_path, monkeypatch):
    db = tmp_path / "marketpass.db"
    db.write_bytes(b"this is not a database" * 100)
    index_path(db).write_bytes(b"nor is this an index" * 100)
    client = _client(db, "", "marketpass", monkeypatch)
    assert client.get("/healthz").status_code == 503
    api = client.get("/api/v1/search?q=toys")
    assert api.status_code == 503 and api.get_json()["error"]["message"]
    assert client.get("/search?q=toys").status_code == 503
