"""Production at scale, as an operator runs it: two app processes (gunicorn) and crawl
processes on one PostgreSQL record store and one Elasticsearch index, all real, on loopback.

A crawl's records and a changed scheme reach both running apps without a restart (their caches
follow the index's generation); a starting process does not rebuild a populated shared index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from search.store import RecordStore
from tests.es_cluster import free_port
from tests.test_crawl_faults import item as eping_item

ROOT = Path(__file__).resolve().parent.parent
CURATED = ROOT / "crawlers" / "curated"
ASK = "/api/v1/match?product=USB+charger&market=KR&origin=CN"


class Deployment:
    def __init__(self, pg_url: str, es_url: str, tmp: Path) -> None:
        self.tmp = tmp
        self.prefix = f"scale-{uuid.uuid4().hex[:10]}"
        self.env = {**os.environ, "MARKETPASS_DATABASE_URL": pg_url,
                    "MARKETPASS_SEARCH_URL": es_url, "MARKETPASS_INDEX_PREFIX": self.prefix,
                    # No SQLite file is used: a path that cannot be created would show it.
                    "MARKETPASS_DB": "/nonexistent/marketpass.db",
                    "MARKETPASS_RATELIMIT": "0", "MARKETPASS_TODAY": "2026-12-03",
                    "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2", "HOST": "127.0.0.1"}
        self.apps: list[tuple[subprocess.Popen, int]] = []

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "webapp.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
        return done.stdout

    def start_app(self) -> int:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT,
            env={**self.env, "PORT": str(port)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.apps.append((process, port))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get(port, "/healthz")[0] in (200, 503):
                    return port
            except OSError:
                time.sleep(0.3)
        raise AssertionError("gunicorn did not answer within 60 s")

    def get(self, port: int, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def stop(self) -> None:
        for process, _ in self.apps:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def deployment(pg_server, es_url, tmp_path_factory):
    from search.es_backend import ElasticsearchBackend

    site = Deployment(pg_server.new_database(), es_url, tmp_path_factory.mktemp("scale"))
    site.cli("load-snapshot")  # the crawl process: every source replayed into PostgreSQL
    site.ports = [site.start_app(), site.start_app()]
    yield site
    site.stop()
    es = ElasticsearchBackend(es_url, prefix=site.prefix)
    for index in es.client.indices.get(index=f"{site.prefix}*"):
        es.client.indices.delete(index=index)


def _total(site: Deployment, port: int, query: str) -> int:
    status, body = site.get(port, f"/api/v1/notifications?{query}")
    assert status == 200, body
    return body["total"]


def _mark(site: Deployment, port: int, scheme: str) -> str:
    status, body = site.get(port, ASK)
    assert status == 200, body
    return {r["scheme"]["id"]: r["scheme"]["mark"] for r in body["requirements"]}[scheme]


def test_both_apps_serve_the_shared_store_and_index(deployment):
    store = RecordStore(deployment.env["MARKETPASS_DATABASE_URL"])
    for port in deployment.ports:
        status, health = deployment.get(port, "/healthz")
        assert status == 200 and health["backend"] == "elasticsearch", health
        assert health["counts"] == store.counts()


def test_a_crawls_records_reach_both_running_apps(deployment, tmp_path):
    query = "q=%22Fault+test+regulation%22"
    assert [_total(deployment, p, query) for p in deployment.ports] == [0, 0]
    page = tmp_path / "eping.json"
    page.write_text(json.dumps({"items": [eping_item(n) for n in (1, 2, 3)], "totalCount": 3}))
    deployment.cli("crawl", "wto_eping", "--from-file", str(page))
    assert [_total(deployment, p, query) for p in deployment.ports] == [3, 3]


def test_a_changed_scheme_reaches_both_running_apps(deployment, tmp_path):
    scheme_id = "kr-kc-electrical-safety"
    assert [_mark(deployment, p, scheme_id) for p in deployment.ports] == ["KC", "KC"]
    # The curated file with one mark changed, crawled by another process: same record counts.
    source = next(f for f in CURATED.glob("schemes-*.json")
                  if any(r.get("id") == scheme_id for r in json.loads(f.read_text())["records"]))
    data = json.loads(source.read_text())
    data["records"] = [{**r, "mark": "KC (changed)"} for r in data["records"]
                       if r.get("id") == scheme_id]
    changed = tmp_path / source.name
    changed.write_text(json.dumps(data, ensure_ascii=False))
    store = RecordStore(deployment.env["MARKETPASS_DATABASE_URL"])
    before = store.counts()
    deployment.cli("crawl", "curated", "--from-file", str(changed))
    assert store.counts() == before
    assert [_mark(deployment, p, scheme_id) for p in deployment.ports] == ["KC (changed)"] * 2


def test_a_starting_process_does_not_rebuild_the_shared_index(deployment):
    from search.es_backend import ElasticsearchBackend

    es = ElasticsearchBackend(deployment.env["MARKETPASS_SEARCH_URL"], prefix=deployment.prefix)
    behind = set(es.client.indices.get_alias(name=deployment.prefix))
    generation = es.generation()
    # What the Docker image runs at every start, then a third app process.
    deployment.cli("load-snapshot", "--if-empty")
    third = deployment.start_app()
    assert _total(deployment, third, "member=SA") == _total(deployment, deployment.ports[0],
                                                             "member=SA")
    assert set(es.client.indices.get_alias(name=deployment.prefix)) == behind
    assert es.generation() == generation
