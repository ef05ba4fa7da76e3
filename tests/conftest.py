"""Shared fixtures: real backends, real records."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from search.documents import to_document
from search.records import load_record

# Every backend the contract suite runs against.
BACKENDS = ["sqlite", "elasticsearch"]

# The tests never read the developer's own data: the database `make run` fills (or one the
# shell names) would otherwise be the record store of every app a test makes, and its records
# would be "drift" for a test's index. A test that wants a store names one.
_NO_STORE = Path(tempfile.mkdtemp(prefix="marketpass-tests-")) / "no-store.db"
atexit.register(shutil.rmtree, _NO_STORE.parent, ignore_errors=True)
os.environ["MARKETPASS_DB"] = str(_NO_STORE)
os.environ.pop("MARKETPASS_DATABASE_URL", None)


@pytest.fixture(scope="session")
def es_url():
    """A real Elasticsearch: MARKETPASS_SEARCH_URL's, or one fetched with Maven and started here.

    Without Java or Maven the Elasticsearch tests are skipped, saying why; with
    MARKETPASS_REQUIRE_ES=1 (as .ci/run sets) that skip is a failure instead.
    """
    if url := os.environ.get("MARKETPASS_SEARCH_URL"):
        yield url
        return
    from tests import es_cluster

    try:
        cluster = es_cluster.start(Path(tempfile.mkdtemp(prefix="marketpass-es-")))
    except es_cluster.Unavailable as exc:
        if os.environ.get("MARKETPASS_REQUIRE_ES"):
            pytest.fail(f"Elasticsearch is required (MARKETPASS_REQUIRE_ES) but: {exc}")
        pytest.skip(f"Elasticsearch tests skipped: {exc}")
    yield cluster.url
    cluster.stop()


@pytest.fixture
def es_backend(es_url):
    """An Elasticsearch backend under a prefix of its own, whose indices are removed after."""
    from search.es_backend import ElasticsearchBackend

    b = ElasticsearchBackend(es_url, prefix=f"test-{uuid.uuid4().hex[:12]}")
    yield b
    for index in b.client.indices.get(index=f"{b.alias}-*"):
        b.client.indices.delete(index=index)
    b.client.close()


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """An empty index of each backend kind."""
    if request.param == "elasticsearch":
        yield request.getfixturevalue("es_backend")
        return
    from search.sqlite_backend import SqliteBackend

    b = SqliteBackend(tmp_path / "index.db")
    yield b
    b.close()


PROVENANCE = {
    "source": "test",
    "source_url": "https://example.org/record",
    "fetched_at": "2026-11-20T00:00:00+00:00",
}


def notification(symbol: str, **fields) -> dict:
    """A valid notification record (through the real schema)."""
    return load_record("notification", {**PROVENANCE, "symbol": symbol, **fields})


def doc(record: dict):
    return to_document(record)


@pytest.fixture(scope="session")
def snapshot_db(tmp_path_factory):
    """The bundled snapshot loaded as `make run` loads it (store and SQLite index), once per
    session; tests read it (the API's, the relevance comparison's)."""
    db = tmp_path_factory.mktemp("snapshot") / "marketpass.db"
    env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": "",
           "MARKETPASS_DATABASE_URL": ""}
    result = subprocess.run([sys.executable, "-m", "webapp.cli", "load-snapshot"], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    return db


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A real PostgreSQL: Debian's initdb and postgres, started here on loopback.

    Without PostgreSQL the tests that need it are skipped, saying why; with
    MARKETPASS_REQUIRE_POSTGRES=1 (as .ci/run sets) that skip is a failure instead.
    """
    from tests import pg_server as pg

    workdir = Path(tempfile.mkdtemp(prefix="marketpass-pg-"))
    try:
        server = pg.start(workdir)
    except (pg.Unavailable, OSError) as exc:
        if os.environ.get("MARKETPASS_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required (MARKETPASS_REQUIRE_POSTGRES) but: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """The URL of a fresh PostgreSQL database for one test."""
    return pg_server.new_database()


# Every record store the store's contract suite runs against.
STORES = ["sqlite", "postgresql"]


@pytest.fixture(params=STORES)
def store_location(request, tmp_path):
    """Where a record store lives, for each kind: a SQLite file, a PostgreSQL database."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return tmp_path / "store.db"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis: MARKETPASS_TEST_REDIS_URL's, or Debian's redis-server started here.

    Without redis-server the tests that need it are skipped, saying why; with
    MARKETPASS_REQUIRE_REDIS=1 (as .ci/run sets) that skip is a failure instead.
    """
    if url := os.environ.get("MARKETPASS_TEST_REDIS_URL"):
        yield url
        return
    from tests import redis_server

    try:
        server = redis_server.start(tmp_path_factory.mktemp("redis"))
    except redis_server.Unavailable as exc:
        if os.environ.get("MARKETPASS_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required (MARKETPASS_REQUIRE_REDIS) but: {exc}")
        pytest.skip(f"Redis tests skipped: {exc}")
    yield server.url
    server.stop()
