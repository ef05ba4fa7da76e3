"""Running on a shared Elasticsearch cluster: the client's configuration, a hung node, the
result window, the index generation that caches follow, and rebuilds by several processes at
once under the lock document (real processes against the test cluster)."""

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

from search.backend import RESULT_WINDOW
from search.es_backend import ElasticsearchBackend, connect
from search.indexing import index_records
from search.query import SearchRequest
from search.records import load_record
from search.settings import Settings
from search.store import RecordStore
from tests.conftest import doc, notification
from tests.es_cluster import free_port
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def prefix(es_url):
    """A fresh index prefix on the test cluster, whose indices are removed after."""
    name = f"test-ops-{uuid.uuid4().hex[:10]}"
    yield name
    client = connect(es_url)
    for index in client.indices.get(index=f"{name}-*"):
        client.indices.delete(index=index)
    client.close()


def by_index(es_url: str, prefix: str) -> dict[str, bool]:
    """Every data index of the prefix, and whether the alias points to it."""
    return ElasticsearchBackend(es_url, prefix=prefix)._prefixed()


def stored(db: Path, records: list[dict]) -> RecordStore:
    """A store holding the records, as a crawl leaves it (outbox emptied: the tests index)."""
    store = RecordStore(db)
    crawl = store.start_crawl("test")
    store.stage(crawl, records)
    store.finish_crawl(crawl)
    store.indexed()
    return store


def notifications(count: int, start: int = 0) -> list[dict]:
    return [notification(f"G/TBT/N/EU/{i}", title=f"Cars {i}") for i in range(start,
                                                                              start + count)]


def cli_env(db: Path, es_url: str, prefix: str, **more: str) -> dict:
    return {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": es_url,
            "MARKETPASS_INDEX_PREFIX": prefix, **more}


def cli(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "webapp.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    return out


def python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the process never got there"
        time.sleep(0.05)


# --- the client's configuration ------------------------------------------------------------------

def test_several_hosts_in_the_url_are_several_nodes_and_a_dead_one_is_passed_over(
        es_url, prefix, monkeypatch, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "none.db"))
    monkeypatch.setenv("MARKETPASS_SEARCH_URL", f"{dead}, {es_url}")
    monkeypatch.setenv("MARKETPASS_INDEX_PREFIX", prefix)
    ElasticsearchBackend(es_url, prefix=prefix).upsert(
        [doc(notification("G/TBT/N/EU/1", title="Toys"))])
    client = create_app({"TESTING": True}).test_client()
    for _ in range(4):  # whichever node the pool offers first
        found = client.get("/api/v1/search?q=toys")
        assert found.status_code == 200 and found.get_json()["total"] == 1
    assert client.get("/search?q=toys").status_code == 200


@pytest.mark.parametrize("credentials, header", [
    ({"MARKETPASS_SEARCH_API_KEY": "key-id:key-secret"},
     b"authorization: ApiKey a2V5LWlkOmtleS1zZWNyZXQ="),  # base64 of "key-id:key-secret"
    ({"MARKETPASS_SEARCH_API_KEY": "a2V5LWlkOmtleS1zZWNyZXQ="},
     b"authorization: ApiKey a2V5LWlkOmtleS1zZWNyZXQ="),  # the encoded form, as given
    ({"MARKETPASS_SEARCH_USER": "elastic", "MARKETPASS_SEARCH_PASSWORD": "changeme"},
     b"authorization: Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="),
])
def test_credentials_go_with_every_request(es_url, prefix, monkeypatch, credentials, header):
    """What a secured cluster reads, seen on the wire between the app and the test cluster
    (which runs without security and ignores it)."""
    from urllib.parse import urlparse

    from tests.test_es_backend import Forwarder

    real, port = urlparse(es_url), free_port()
    relay = Forwarder(port, (real.hostname, real.port))
    relay.start()
    try:
        monkeypatch.setenv("MARKETPASS_SEARCH_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("MARKETPASS_INDEX_PREFIX", prefix)
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
        backend = ElasticsearchBackend.from_settings(Settings())
        assert backend.count() == 0
    finally:
        relay.stop()
    heads = [r for r in bytes(relay.sent).lower().split(b"\r\n\r\n") if r.startswith(b"get ")]
    assert heads and all(header.lower() in r for r in heads)


def test_the_ca_certificate_shards_and_replicas_are_the_settings(monkeypatch, tmp_path):
    """The test cluster runs without TLS: this checks what the client is given, not a
    handshake."""
    monkeypatch.setenv("MARKETPASS_SEARCH_URL", "https://a.example:9200,https://b.example:9200")
    monkeypatch.setenv("MARKETPASS_SEARCH_CA_CERTS", str(tmp_path / "http_ca.crt"))
    monkeypatch.setenv("MARKETPASS_SEARCH_SHARDS", "3")
    monkeypatch.setenv("MARKETPASS_SEARCH_REPLICAS", "1")
    backend = ElasticsearchBackend.from_settings(Settings())
    nodes = backend.client.transport.node_pool.all()
    assert sorted(n.config.host for n in nodes) == ["a.example", "b.example"]
    assert all(n.config.ca_certs == str(tmp_path / "http_ca.crt") for n in nodes)
    assert (backend.shards, backend.replicas) == (3, 1)


def test_new_indices_take_the_shards_and_replicas_asked_for(es_url, prefix):
    backend = ElasticsearchBackend(es_url, prefix=prefix, shards=2, replicas=0)
    backend.rebuild([doc(notification("G/TBT/N/EU/1", title="Toys"))])
    (name,) = by_index(es_url, prefix)
    settings = backend.client.indices.get_settings(index=name)[name]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == ("2", "0")
    # The default result window: pages beyond it are refused before they reach the cluster.
    assert "max_result_window" not in settings


def test_a_hung_node_is_a_503_with_retry_after_within_five_seconds(es_url, prefix, monkeypatch,
                                                                   tmp_path):
    from tests.es_cluster import STARTED

    cluster = STARTED.get(es_url)
    if cluster is None:
        pytest.skip("the cluster of MARKETPASS_SEARCH_URL is not this session's to freeze")
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "none.db"))
    monkeypatch.setenv("MARKETPASS_SEARCH_URL", es_url)
    monkeypatch.setenv("MARKETPASS_INDEX_PREFIX", prefix)
    ElasticsearchBackend(es_url, prefix=prefix).upsert(
        [doc(notification("G/TBT/N/EU/1", title="Toys"))])
    client = create_app({"TESTING": True}).test_client()
    assert client.get("/api/v1/search?q=toys").status_code == 200
    cluster.freeze()
    try:
        for path in ("/api/v1/search?q=toys", "/search?q=toys", "/api/v1/notifications",
                     "/api/v1/match?product=USB+charger&market=KR"):
            began = time.monotonic()
            answer = client.get(path)
            assert answer.status_code == 503, path
            assert int(answer.headers["Retry-After"]) > 0, path
            assert time.monotonic() - began < 5, path
    finally:
        cluster.thaw()
    deadline = time.monotonic() + 60
    while client.get("/api/v1/search?q=toys").status_code != 200:
        assert time.monotonic() < deadline, "the site did not recover"
        time.sleep(0.5)


# --- the result window ---------------------------------------------------------------------------

def test_a_page_beyond_the_result_window_is_a_400_in_the_readers_language(backend):
    backend.upsert(doc(r) for r in notifications(3))
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    last = RESULT_WINDOW // 100
    assert client.get(f"/api/v1/search?page={last}&per_page=100").status_code == 200
    assert client.get(f"/api/v1/notifications?page={RESULT_WINDOW // 20}").status_code == 200
    beyond = client.get(f"/api/v1/search?page={last + 1}&per_page=100")
    assert beyond.status_code == 400
    assert beyond.get_json()["error"]["message"] == f"The page number must be from 1 to {last}."
    french = client.get(f"/api/v1/notifications?page={RESULT_WINDOW // 20 + 1}&lang=fr")
    assert french.status_code == 400
    assert french.get_json()["error"]["message"] == (
        f"Le numéro de page doit être compris entre 1 et {RESULT_WINDOW // 20}.")
    assert client.get("/notifications?page=10000&per_page=50").status_code == 400
    assert client.get("/search?page=10000").status_code == 400


# --- the generation ------------------------------------------------------------------------------

def other(backend):
    """Another handle on the same index, as another process would open it."""
    if isinstance(backend, ElasticsearchBackend):
        return ElasticsearchBackend(backend.client.transport.node_pool.all()[0].base_url,
                                    prefix=backend.alias)
    return type(backend)(backend.path)


def test_the_generation_changes_with_every_write_and_only_then(backend):
    seen = [backend.generation()]
    backend.upsert([doc(notification("G/TBT/N/EU/1", title="Toys"))])
    seen.append(backend.generation())
    backend.count(), backend.search(SearchRequest(text="toys")), backend.get("G/TBT/N/EU/1")
    assert backend.generation() == seen[-1]  # reads change nothing
    writer = other(backend)
    writer.upsert([doc(notification("G/TBT/N/EU/1", title="Toys and games"))])
    seen.append(backend.generation())  # the same count, another content
    writer.delete(["G/TBT/N/EU/1"])
    seen.append(backend.generation())
    writer.rebuild([doc(notification("G/TBT/N/EU/2", title="Cars"))])
    seen.append(backend.generation())
    assert len(set(seen)) == len(seen)


@pytest.fixture(scope="module")
def knowledge_records() -> list[dict]:
    from crawlers.spiders.curated import CuratedSpider
    from crawlers.spiders.hs_nomenclature import HsNomenclatureSpider
    from tests.replay import replay

    return [load_record(item.pop("kind"), item)
            for spider in (CuratedSpider, HsNomenclatureSpider) for item in replay(spider)[1]]


def test_a_changed_mark_reaches_a_running_app_without_restart(backend, knowledge_records,
                                                              tmp_path):
    backend.rebuild(doc(r) for r in knowledge_records)
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    ask = "/api/v1/match?product=USB+charger&market=KR&origin=CN"

    def marks() -> dict[str, str]:
        return {r["scheme"]["id"]: r["scheme"]["mark"]
                for r in client.get(ask).get_json()["requirements"]}

    assert marks()["kr-kc-electrical-safety"] == "KC"
    counts = backend.counts()
    # A crawl of the curated files, in another process: the store, then the index.
    scheme = next(r for r in knowledge_records if r["id"] == "kr-kc-electrical-safety")
    store = RecordStore(tmp_path / "store.db")
    crawl = store.start_crawl("curated")
    store.stage(crawl, [load_record("scheme", {**scheme, "mark": "KC (changed)"})])
    index_records(store, other(backend), store.finish_crawl(crawl).changed)
    assert backend.counts() == counts
    assert marks()["kr-kc-electrical-safety"] == "KC (changed)"


# --- several processes on one cluster ------------------------------------------------------------

_OPEN = """
import sys, time
from search.es_backend import ElasticsearchBackend
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
print(ElasticsearchBackend(sys.argv[1], prefix=sys.argv[2]).count())
"""


def test_processes_meeting_an_empty_cluster_create_one_index(es_url, prefix):
    start = f"{time.time() + 3:.3f}"  # all three ask at the same moment
    procs = [python(_OPEN, es_url, prefix, start) for _ in range(3)]
    for proc in procs:
        assert finished(proc).strip() == "0"
    assert list(by_index(es_url, prefix).values()) == [True]


def test_concurrent_rebuilds_leave_exactly_one_index_behind_the_alias(es_url, prefix, tmp_path):
    db = tmp_path / "store.db"
    stored(db, notifications(3000))
    env = cli_env(db, es_url, prefix)
    for out in [finished(p) for p in [cli(env, "index", "rebuild") for _ in range(3)]]:
        assert "Indexed 3000 records" in out
    assert list(by_index(es_url, prefix).values()) == [True]
    status = json.loads(finished(cli(env, "index", "status", "--json")))
    assert status["total"] == 3000 and status["counts"] == status["store_counts"]
    assert status["leftover_indices"] == []


_KILLED_REBUILD = """
import sys, time
from pathlib import Path
from search.es_backend import ElasticsearchBackend
from tests.conftest import doc, notification

def documents():
    for i in range(1500):  # a first bulk request of 1,000 goes out
        yield doc(notification(f"G/TBT/N/EU/{i}", title="Partial"))
    Path(sys.argv[3]).touch()
    time.sleep(600)

ElasticsearchBackend(sys.argv[1], prefix=sys.argv[2], lock_seconds=2).rebuild(documents())
"""


def test_a_killed_rebuilds_index_is_reported_then_removed_by_the_next(es_url, prefix, tmp_path):
    db = tmp_path / "store.db"
    stored(db, notifications(40))
    env = cli_env(db, es_url, prefix)
    finished(cli(env, "index", "rebuild"))
    (serving,) = by_index(es_url, prefix)
    marker = tmp_path / "half-way"
    proc = python(_KILLED_REBUILD, es_url, prefix, str(marker))
    wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    (partial,) = set(by_index(es_url, prefix)) - {serving}
    # Once its registration expires (2 s without renewal) it is a leftover, and said to be.
    deadline = time.monotonic() + 60
    while (status := json.loads(finished(cli(env, "index", "status", "--json"))))[
            "leftover_indices"] != [partial]:
        assert time.monotonic() < deadline, status["leftover_indices"]
        time.sleep(0.5)
    assert status["index"] == serving and status["total"] == 40
    text = finished(cli(env, "index", "status"))
    assert f"leftover indices (removed by the next rebuild): {partial}" in text
    finished(cli(env, "index", "rebuild"))
    (now,) = by_index(es_url, prefix)
    assert now not in (serving, partial) and by_index(es_url, prefix) == {now: True}
    assert ElasticsearchBackend(es_url, prefix=prefix).count() == 40


_HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from search.es_backend import ElasticsearchBackend

with ElasticsearchBackend(sys.argv[1], prefix=sys.argv[2], lock_seconds=2)._locked():
    Path(sys.argv[3]).touch()
    time.sleep(600)
"""


def test_the_lock_of_a_killed_holder_is_taken_over_when_it_expires(es_url, prefix, tmp_path):
    marker = tmp_path / "locked"
    proc = python(_HOLD_THE_LOCK, es_url, prefix, str(marker))
    wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    backend = ElasticsearchBackend(es_url, prefix=prefix, lock_seconds=2)
    assert backend.rebuild(doc(r) for r in notifications(5)) == 5
    assert backend.count() == 5 and list(by_index(es_url, prefix).values()) == [True]


# --- starting a replica --------------------------------------------------------------------------

def test_starting_never_rebuilds_a_populated_index_only_an_empty_one(es_url, prefix, tmp_path):
    db = tmp_path / "store.db"
    store = stored(db, notifications(4))
    shared = ElasticsearchBackend(es_url, prefix=prefix)
    shared.rebuild(doc(r) for r in notifications(10))
    (index,) = by_index(es_url, prefix)
    env = cli_env(db, es_url, prefix)
    # A replica whose store holds fewer records than the shared index starts.
    finished(cli(env, "load-snapshot", "--if-empty"))
    assert by_index(es_url, prefix) == {index: True} and shared.count() == 10
    # What its store committed and the index missed (the outbox) is brought in, no more.
    crawl = store.start_crawl("test")
    store.stage(crawl, notifications(1, start=100))
    store.finish_crawl(crawl)
    finished(cli(env, "load-snapshot", "--if-empty"))
    assert by_index(es_url, prefix) == {index: True} and shared.count() == 11
    # An empty index (the first run, or a new mapping version) is filled from the store.
    shared.client.indices.delete(index=index)
    finished(cli(env, "load-snapshot", "--if-empty"))
    assert ElasticsearchBackend(es_url, prefix=prefix).count() == 5


def test_a_large_crawl_writes_into_a_shared_index_and_never_rebuilds_it(es_backend, tmp_path):
    """A crawl changing most of a (per-host) store adds to the shared index: a rebuild from
    this store would drop what other hosts indexed."""
    es_backend.upsert(doc(notification(f"G/TBT/N/JPN/{n}")) for n in range(1, 51))
    store = RecordStore(tmp_path / "store.db")
    crawl = store.start_crawl("test")
    store.stage(crawl, [notification(f"G/TBT/N/CHN/{n}") for n in range(1, 1202)])
    index_records(store, es_backend, store.finish_crawl(crawl).changed)
    assert es_backend.count() == 50 + 1201
