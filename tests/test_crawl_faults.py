"""A live crawl against a local server that misbehaves on purpose (127.0.0.1 only).

Throttling with Retry-After, a 500, a timeout, truncated JSON, HTML instead of JSON, an item
without a symbol, items repeated on another page, and pagination that never ends: the crawl
finishes, logs every fault, keeps every good record, stores none twice, and the served index
changes only once, when the crawl is done.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.local_http import serve

RECORDED = Path(__file__).resolve().parent.parent / "crawlers" / "sources" / "wto_eping"
TEMPLATE = json.loads((RECORDED / "getAll_gcc_vehicles_page1.json").read_text())["items"][8]


def item(n: int) -> dict:
    """A real ePing item (Saudi Arabia) under a symbol and id of its own."""
    return {**copy.deepcopy(TEMPLATE), "id": 900_000 + n, "notifyingMemberCode": "C682",
            "notifyingMember": "Saudi Arabia, Kingdom of",
            "documentSymbol": f"G/TBT/N/SAU/{9000 + n}", "title": f"Fault test regulation {n}"}


def page(items: list[dict]) -> bytes:
    return json.dumps({"items": items, "totalCount": 10_000, "isCountExceeded": False}).encode()


class Script:
    """What each page answers, hit by hit; the last answer repeats."""

    def __init__(self) -> None:
        self.hits: dict[int, list[float]] = {}
        no_symbol = {**item(5), "documentSymbol": None}
        self.pages = {
            1: [("status", 429, {"Retry-After": "1"}), ("json", page([item(1), item(2)]))],
            2: [("status", 500, {}), ("json", page([item(3), no_symbol, item(1)]))],
            3: [("raw", b'{"items": [{"id": 1, "documentSy')],          # truncated JSON
            4: [("json", page([item(4)]))],
            5: [("raw", b"<html><body>Service busy</body></html>")],  # HTML, not JSON
            6: [("sleep", 3.0), ("json", page([item(6), item(7)]))],
        }
        self.endless = ("json", page([item(6), item(7)]))  # the same page, forever

    def answer(self, number: int):
        self.hits.setdefault(number, []).append(time.monotonic())
        answers = self.pages.get(number, [self.endless])
        return answers[min(len(self.hits[number]), len(answers)) - 1]


def respond(script: Script, url) -> tuple[int, dict, bytes]:
    if url.path != "/eping/search":
        return 404, {}, b""
    kind, *rest = script.answer(int(parse_qs(url.query)["page"][0]))
    if kind == "sleep":
        time.sleep(rest[0])
        kind, rest = "json", [page([])]
    if kind == "status":
        return rest[0], rest[1], b""
    return 200, {"Content-Type": "application/json"}, rest[0]


@pytest.fixture
def crawl(tmp_path):
    script = Script()
    server = serve(lambda url: respond(script, url))
    db = tmp_path / "m.db"
    env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": "",
           "MARKETPASS_EPING_KEY": "test-key",
           "MARKETPASS_EPING_API_URL": f"http://127.0.0.1:{server.server_port}/eping/search",
           "MARKETPASS_CRAWL_DELAY": "0", "MARKETPASS_DOWNLOAD_TIMEOUT": "1",
           "MARKETPASS_RETRY_BACKOFF": "0.1", "MARKETPASS_HTTPCACHE": "off"}
    yield script, db, env
    server.shutdown()


def test_a_misbehaving_source_loses_no_good_record(crawl):
    script, db, env = crawl
    SqliteBackend(index_path(db))  # an empty index, served while the crawl runs
    seen_by_readers: set[int] = set()
    process = subprocess.Popen([sys.executable, "-m", "webapp.cli", "crawl", "wto_eping"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader = SqliteBackend(index_path(db))
    while process.poll() is None:
        seen_by_readers.add(reader.count())
        time.sleep(0.05)
    out, err = process.communicate()
    assert process.returncode == 0, out + err

    store = RecordStore(db)
    expected = {f"G/TBT/N/SAU/{9000 + n}" for n in (1, 2, 3, 4, 6, 7)}
    assert {r["id"] for r in store.records()} == expected
    assert SqliteBackend(index_path(db)).count() == len(expected)
    assert seen_by_readers <= {0, len(expected)}  # never a half-finished index

    log = store.last_crawls()[0]
    assert log["status"] == "finished"
    stats = log["stats"]
    assert stats["skipped"] == 1            # the item without a symbol
    assert stats["duplicates"] >= 1         # item 1 again on page 2, pages 6+ repeated
    assert stats["faults"] >= 2             # truncated JSON, HTML
    faults = " ".join(stats["fault_log"])
    assert "page=3" in faults and "page=5" in faults

    throttled = script.hits[1]
    assert len(throttled) == 2 and throttled[1] - throttled[0] >= 0.9  # Retry-After honoured
    assert len(script.hits[2]) == 2 and len(script.hits[6]) == 2       # 500 and timeout retried
    assert max(script.hits) <= 8  # an endless pagination is cut off


def test_a_second_run_reports_nothing_new(crawl):
    _, db, env = crawl
    command = [sys.executable, "-m", "webapp.cli", "crawl", "wto_eping"]
    for _ in range(2):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    stats = RecordStore(db).last_crawls()[0]["stats"]
    assert stats["created"] == 0 and stats["updated"] == 0 and stats["unchanged"] == 6


def test_a_bulk_crawl_validated_in_worker_processes_stores_the_same(tmp_path):
    """Batches of a bulk file go to worker processes for validation: the same records, the
    same dropped and salvaged ones, as validating in the crawl's own process."""
    items = [item(n) for n in range(1, 449)]
    items[100] = {**items[100], "documentSymbol": "G/TBT/N/SAU"}  # no identity: skipped
    items[200] = {**items[200], "hsCodes": [{"id": None, "code": "87.03.xx", "name": ""}]}
    export = tmp_path / "bulk.json"
    export.write_text(json.dumps({"items": items, "totalCount": len(items)}))
    outcome = {}
    for workers in ("1", "2"):
        db = tmp_path / f"w{workers}.db"
        env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": "",
               "MARKETPASS_CRAWL_WORKERS": workers}
        done = subprocess.run([sys.executable, "-m", "webapp.cli", "crawl", "wto_eping",
                               "--from-file", str(export)], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        store = RecordStore(db)
        stats = store.last_crawls()[0]["stats"]
        outcome[workers] = ({r["id"]: r["content_hash"] for r in store.records()},
                            stats["skipped"], stats["fault_log"])
    records, skipped, faults = outcome["2"]
    assert len(records) == 447 and skipped == 1
    assert any("G/TBT/N/SAU/9201" in f and "hs_codes" in f for f in faults)  # salvaged
    assert RecordStore(tmp_path / "w2.db").get("G/TBT/N/SAU/9201")["hs_codes"] == []
    assert outcome["1"] == outcome["2"]
