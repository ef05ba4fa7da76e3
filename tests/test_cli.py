"""The ``marketpass`` command, in subprocesses (Scrapy's reactor runs once a process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawlers.run import SPIDERS
from search.query import SearchRequest
from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore

EPING = Path(__file__).resolve().parent.parent / "crawlers" / "sources" / "wto_eping"


def run(db: Path, *args: str) -> subprocess.CompletedProcess:
    # The CLI tests use the embedded backend; the contract suite covers Elasticsearch.
    env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": ""}
    return subprocess.run([sys.executable, "-m", "webapp.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def recorded(kind: str) -> int:
    """How many records of a kind the bundled recordings hold (one per id), whatever the
    spiders: the numbers tests expect come from the recordings, not from constants."""
    from tests.replay import replay

    return len({item["id"] if "id" in item else item["symbol"]
                for spider in SPIDERS.values() for item in replay(spider)[1]
                if item["kind"] == kind})


def status(db: Path) -> dict:
    result = run(db, "index", "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def snapshot_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "marketpass.db"
    result = run(db, "load-snapshot")
    assert result.returncode == 0, result.stderr + result.stdout
    return db


def test_load_snapshot_fills_store_and_index(snapshot_db):
    info = status(snapshot_db)
    assert info["counts"]["notification"] == recorded("notification")
    assert info["counts"]["hscode"] == recorded("hscode")
    assert info["counts"]["arrangement"] == recorded("arrangement")
    assert info["counts"] == info["store_counts"]
    assert {c["source"] for c in info["crawls"]} == set(SPIDERS)
    assert all(c["status"] == "finished" for c in info["crawls"])


def test_load_snapshot_if_empty_does_nothing_the_second_time(snapshot_db):
    result = run(snapshot_db, "load-snapshot", "--if-empty")
    assert result.returncode == 0 and "already loaded" in result.stdout


def test_a_failed_crawl_leaves_the_served_index_as_it_was(snapshot_db, tmp_path):
    before = status(snapshot_db)["counts"]
    broken = tmp_path / "broken.json"
    broken.write_text('{"results": "the format changed"}')
    result = run(snapshot_db, "crawl", "wto_eping", "--from-file", str(broken))
    assert result.returncode == 1
    info = status(snapshot_db)
    assert info["counts"] == before
    last = next(c for c in info["crawls"] if c["source"] == "wto_eping")
    assert last["status"] == "failed"


def test_import_of_a_saved_list_keeps_good_records_and_skips_bad_ones(snapshot_db, tmp_path):
    page = json.loads((EPING / "getAll_gcc_vehicles_page1.json").read_text())
    good = {**page["items"][7], "title": "Edited title about hydrogen buses"}
    bad = {**page["items"][8], "documentSymbol": "G/TBT/N/"}
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"items": [good, bad], "totalCount": 2}))
    result = run(snapshot_db, "crawl", "wto_eping", "--from-file", str(export))
    assert result.returncode == 0, result.stderr
    # A running site sees the change without a restart: a fresh reader of the same file.
    backend = SqliteBackend(index_path(snapshot_db))
    hits = backend.search(SearchRequest(text="hydrogen buses")).hits
    assert [h.id for h in hits] == [good["documentSymbol"]]
    assert backend.count("notification") == recorded("notification")  # none added
    store = RecordStore(snapshot_db)
    assert [h["change"] for h in store.history(good["documentSymbol"])] == ["created", "updated"]


def test_index_rebuild(snapshot_db):
    result = run(snapshot_db, "index", "rebuild")
    assert result.returncode == 0, result.stderr
    assert "Indexed" in result.stdout
    info = status(snapshot_db)
    assert info["counts"] == info["store_counts"]


def test_unknown_spider_is_a_usage_error(tmp_path):
    result = run(tmp_path / "x.db", "crawl", "no_such_spider", "--replay")
    assert result.returncode == 2 and "unknown spider" in result.stderr


def test_load_snapshot_into_elasticsearch(es_url, tmp_path):
    prefix = f"test-cli-{tmp_path.name[-8:].lower()}"
    env = {**os.environ, "MARKETPASS_DB": str(tmp_path / "m.db"),
           "MARKETPASS_SEARCH_URL": es_url, "MARKETPASS_INDEX_PREFIX": prefix}
    command = [sys.executable, "-m", "webapp.cli"]
    try:
        loaded = subprocess.run([*command, "load-snapshot"], env=env, capture_output=True,
                                text=True, timeout=600)
        assert loaded.returncode == 0, loaded.stderr
        shown = subprocess.run([*command, "index", "status", "--json"], env=env,
                               capture_output=True, text=True, timeout=120)
        info = json.loads(shown.stdout)
        assert info["backend"] == "elasticsearch"
        assert info["counts"] == info["store_counts"]
        assert info["counts"]["notification"] == recorded("notification")
    finally:
        from search.es_backend import ElasticsearchBackend

        client = ElasticsearchBackend(es_url, prefix=prefix).client
        for index in client.indices.get(index=f"{prefix}-*"):
            client.indices.delete(index=index)


def test_a_live_crawl_that_reaches_nothing_fails_with_the_reason(tmp_path):
    from tests.es_cluster import free_port

    nowhere = f"http://127.0.0.1:{free_port()}/getAll"  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "crawl", "wto_eping"],
        env={**os.environ, "MARKETPASS_DB": str(tmp_path / "x.db"), "MARKETPASS_SEARCH_URL": "",
             "MARKETPASS_EPING_KEY": "", "MARKETPASS_EPING_LIST_URL": nowhere,
             "MARKETPASS_RETRY_BACKOFF": "0.05", "MARKETPASS_HTTPCACHE": "off",
             "MARKETPASS_CRAWL_DELAY": "0"},
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "no response could be read" in result.stdout


def test_crawl_all_replay_twice_reports_nothing_new_the_second_time(tmp_path):
    db = tmp_path / "m.db"
    for _ in range(2):
        result = run(db, "crawl", "--all", "--replay")
        assert result.returncode == 0, result.stderr
    crawls = status(db)["crawls"]
    assert {c["source"] for c in crawls} == set(SPIDERS)
    for crawl in crawls:
        assert crawl["stats"]["created"] == 0 and crawl["stats"]["updated"] == 0
        assert crawl["stats"]["unchanged"] > 0


def test_a_notification_form_complements_the_epings_record_and_survives_its_next_crawl(tmp_path):
    db = tmp_path / "m.db"
    assert run(db, "crawl", "wto_eping", "--replay").returncode == 0
    before = RecordStore(db).get("G/TBT/N/SAU/1437")
    form = tmp_path / "G_TBT_N_SAU_1437.html"
    form.write_text(  # test data: only the form's shape is real
        "<p>G/TBT/N/SAU/1437</p><p>NOTIFICATION</p>"
        "<p>1. Member to Agreement notifying: SAUDI ARABIA, KINGDOM OF</p>"
        "<p>2. Agency responsible: Test agency for this test</p>"
        "<p>3. Notified under Article 2.9.2 [X], 2.10.1 [ ], 5.6.2 [ ], 5.7.1 [ ]</p>"
        "<p>5. Title, number of pages and language(s) of the notified document: Another title</p>")
    assert run(db, "crawl", "wto_documents", "--from-file", str(form)).returncode == 0
    merged = RecordStore(db).get("G/TBT/N/SAU/1437")
    assert merged["agency"] == "Test agency for this test" and merged["article"] == "2.9.2"
    assert merged["title"] == before["title"]            # ePing's own fields stay
    assert merged["source"] == "wto_eping"
    assert merged["complemented"] == {"wto_documents": ["agency", "article"]}
    assert run(db, "crawl", "wto_eping", "--replay").returncode == 0
    again = RecordStore(db)
    assert again.get("G/TBT/N/SAU/1437")["agency"] == "Test agency for this test"
    assert again.last_crawls()[0]["stats"]["updated"] == 0
    assert SqliteBackend(index_path(db)).get("G/TBT/N/SAU/1437")["article"] == "2.9.2"


def test_a_body_listed_on_two_pages_is_one_record_citing_both(snapshot_db):
    iram = RecordStore(snapshot_db).get("iecee-ncb-ar-iram")
    assert {s["url"] for s in iram["sources"]} == {
        "http://www.iecee.com/cbscheme/html/cbmtlacceptance.htm",
        "http://cgets.net/bbs/read-htm-tid-5816-fpage-2.html"}
    assert iram["verified"] is False


def test_spider_arguments_on_the_command_line(tmp_path):
    form = (Path(__file__).resolve().parent.parent / "crawlers" / "sources" / "wto_documents"
            / "reconstructed_G_TBT_Notif_97_361.html")
    db = tmp_path / "m.db"
    result = run(db, "crawl", "wto_documents", "-a", f"urls={form.as_uri()}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert RecordStore(db).get("G/TBT/Notif.97.361")["member"] == "BR"
    assert run(db, "crawl", "wto_documents", "-a", "urls").returncode == 2


def test_the_schedule_runs_a_due_source_once(tmp_path):
    """Sources with a schedule run when due — once: right after, nothing is due."""
    scheduled = sorted(n for n, s in SPIDERS.items() if s.schedule_days)
    db = tmp_path / "marketpass.db"
    first = run(db, "schedule", "--once", "--replay")
    assert first.returncode == 0, first.stderr
    assert sorted(line.split(":")[0] for line in first.stdout.splitlines()) == scheduled
    crawls = status(db)["crawls"]
    assert sorted(c["source"] for c in crawls) == scheduled
    assert all(c["status"] == "finished" for c in crawls)
    again = run(db, "schedule", "--once", "--replay")
    assert again.returncode == 0 and again.stdout.strip() == ""
    assert len(RecordStore(db).last_successes()) == len(scheduled)


def test_a_source_older_than_twice_its_schedule_is_stale(tmp_path):
    from datetime import UTC, datetime, timedelta

    from search.freshness import freshness, stale

    store = RecordStore(tmp_path / "m.db")
    crawl = store.start_crawl("wto_eping")
    store.finish_crawl(crawl, {"schedule_days": 1, "mode": "live"})
    now = datetime.now(UTC)
    assert stale(store, now + timedelta(hours=47)) == []
    assert stale(store, now + timedelta(hours=49)) == ["wto_eping"]
    on_demand = store.start_crawl("curated")
    store.finish_crawl(on_demand, {"schedule_days": None})
    assert [f["source"] for f in freshness(store, now + timedelta(days=400))
            if f["stale"]] == ["wto_eping"]
