"""The record store's contract, on each kind of store (a SQLite file, a PostgreSQL database):
staged crawls, history, failures that change nothing, the outbox, killed crawls, concurrent
commits."""

from __future__ import annotations

import json
import os
import threading

import pytest

from search.db import DatabaseError, DatabaseMissing
from search.store import RecordStore
from tests.conftest import notification


def test_a_finished_crawl_commits_and_records_history(store_location):
    store = RecordStore(store_location)
    first = notification("G/TBT/N/EU/1", title="Toys")
    crawl = store.start_crawl("test")
    store.stage(crawl, [first])
    result = store.finish_crawl(crawl, watermark="2026-01-01")
    assert result.created == [first["id"]] and result.updated == []
    assert store.get(first["id"]) == first
    assert store.watermark("test") == "2026-01-01"

    changed = notification("G/TBT/N/EU/1", title="Toys and games")
    crawl = store.start_crawl("test")
    store.stage(crawl, [changed, notification("G/TBT/N/EU/2", title="Cars")])
    result = store.finish_crawl(crawl)
    assert result.updated == [first["id"]] and result.created == ["G/TBT/N/EU/2"]
    assert [h["change"] for h in store.history(first["id"])] == ["created", "updated"]

    crawl = store.start_crawl("test")
    store.stage(crawl, [changed])
    result = store.finish_crawl(crawl)
    assert result.changed == [] and result.unchanged == 1
    assert len(store.history(first["id"])) == 2
    assert store.counts() == {"notification": 2}


def test_a_failed_crawl_changes_nothing(store_location):
    store = RecordStore(store_location)
    kept = notification("G/TBT/N/EU/1", title="Toys")
    crawl = store.start_crawl("test")
    store.stage(crawl, [kept])
    store.finish_crawl(crawl, watermark="2026-01-01")

    crawl = store.start_crawl("test")
    store.stage(crawl, [notification("G/TBT/N/EU/1", title="Changed"),
                        notification("G/TBT/N/EU/9", title="New")])
    store.fail_crawl(crawl, "network down")
    assert store.get(kept["id"]) == kept
    assert store.get("G/TBT/N/EU/9") is None
    assert store.watermark("test") == "2026-01-01"
    last = store.last_crawls()[0]
    assert last["status"] == "failed" and last["error"] == "network down"


def test_records_are_read_in_batches(store_location):
    store = RecordStore(store_location)
    crawl = store.start_crawl("test")
    store.stage(crawl, [notification(f"G/TBT/N/EU/{i}") for i in range(1, 26)])
    store.finish_crawl(crawl)
    read = [r["id"] for r in store.records(batch=7)]
    assert read == [f"G/TBT/N/EU/{i}" for i in range(1, 26)]  # in the order they came
    assert len(list(store.records(kind="scheme"))) == 0
    wanted = ["G/TBT/N/EU/3", "G/TBT/N/EU/24", "nothing"]
    assert sorted(r["id"] for r in store.get_many(wanted, batch=2)) == sorted(wanted[:2])


def test_the_outbox_holds_commits_until_the_index_has_them(store_location):
    store = RecordStore(store_location)
    for symbols in (["G/TBT/N/EU/1", "G/TBT/N/EU/2"], ["G/TBT/N/EU/3"]):
        crawl = store.start_crawl("test")
        store.stage(crawl, [notification(s) for s in symbols])
        store.finish_crawl(crawl)
    assert store.pending_index() == ["G/TBT/N/EU/1", "G/TBT/N/EU/2", "G/TBT/N/EU/3"]
    store.indexed(["G/TBT/N/EU/3"])  # the second commit is whole in the index, not the first
    assert store.pending_index() == ["G/TBT/N/EU/1", "G/TBT/N/EU/2"]
    crawl = store.start_crawl("test")
    store.stage(crawl, [notification("G/TBT/N/EU/1")])  # unchanged: nothing to index
    store.finish_crawl(crawl)
    store.indexed()
    assert store.pending_index() == []


def test_a_killed_crawl_is_closed_and_its_staged_records_dropped(store_location):
    store = RecordStore(store_location)
    kept = store.start_crawl("live")  # this process: still running
    killed = store.start_crawl("test")
    store.stage(killed, [notification("G/TBT/N/EU/1")])
    store.db.execute("UPDATE store_crawls SET stats = ? WHERE id = ?",
                     (json.dumps({"pid": 2 ** 22 + 17, "host": os.uname().nodename}), killed))
    assert store.clear_interrupted() == [killed]
    assert [c["id"] for c in store.running_crawls()] == [kept]
    assert store.db.execute("SELECT COUNT(*) FROM store_staging").fetchone()[0] == 0
    assert store.get("G/TBT/N/EU/1") is None
    assert {c["source"]: c["status"] for c in store.last_crawls()}["test"] == "interrupted"


def test_the_crawl_log_and_watermarks(store_location):
    store = RecordStore(store_location)
    members = {"a": "JPN", "b": "CHN"}
    for source, mark in (("a", "2026-01-01"), ("b", None), ("a", "2026-02-01")):
        crawl = store.start_crawl(source)
        store.stage(crawl, [notification(f"G/TBT/N/{members[source]}/1")])
        store.finish_crawl(crawl, {"fetched": 1}, watermark=mark)
    crawl = store.start_crawl("a")
    store.fail_crawl(crawl, "down")
    assert store.watermark("a") == "2026-02-01" and store.watermark("b") is None
    assert [(c["source"], c["status"]) for c in store.last_crawls()] == [
        ("a", "failed"), ("b", "finished")]
    successes = {c["source"]: c["stats"] for c in store.last_successes()}
    assert successes["a"] == {"fetched": 1, "created": 0, "updated": 0, "unchanged": 1}


def test_complemented_records_are_found(store_location):
    store = RecordStore(store_location)
    crawl = store.start_crawl("test")
    store.stage(crawl, [notification("G/TBT/N/EU/1"),
                        {**notification("G/TBT/N/EU/2"),
                         "complemented": {"wto_documents": ["links"]}}])
    store.finish_crawl(crawl)
    assert store.complemented_ids() == {"G/TBT/N/EU/2"}


def test_concurrent_commits_keep_the_change_log_in_commit_order(store_location):
    """Four crawls committing at once: every record stored once, and the change log's row
    numbers grow with the commits (the alerts' cursors rely on it)."""
    RecordStore(store_location).close()
    errors: list[BaseException] = []

    def crawl(n: int) -> None:
        try:
            store = RecordStore(store_location)
            for round_ in range(3):
                crawl_id = store.start_crawl(f"s{n}")
                store.stage(crawl_id, [notification(f"G/TBT/N/EU/{i}", title=f"{n}-{round_}")
                                       for i in range(40)])
                store.finish_crawl(crawl_id)
            store.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=crawl, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    store = RecordStore(store_location)
    assert store.counts() == {"notification": 40}
    rows = store.db.execute(
        "SELECT h.rowid, c.finished_at, h.crawl_id FROM store_history h "
        "JOIN store_crawls c ON c.id = h.crawl_id ORDER BY h.rowid").fetchall()
    assert len(rows) == 40 * 12  # every round changed every record
    crawls_in_log_order = list(dict.fromkeys(crawl_id for _, _, crawl_id in rows))
    assert len(crawls_in_log_order) == 12  # each commit's rows together, never interleaved


def test_a_reader_never_creates_a_missing_database(tmp_path, pg_server):
    with pytest.raises(DatabaseMissing):
        RecordStore(tmp_path / "gone.db", create=False)
    assert not (tmp_path / "gone.db").exists()
    with pytest.raises(DatabaseError) as caught:
        RecordStore(pg_server.url("no_such_database").replace("marketpass@",
                                                              "marketpass:s3cret@"))
    assert "s3cret" not in str(caught.value)  # the password never reaches a log


def test_links_another_source_adds_survive_and_nothing_flaps():
    """ePing's record and a notification form sharing a document link: the form's new links
    join (noted), ePing's labels stay, and crawling either again changes nothing."""
    from search.records import complement, keep_complements, load_record

    base = {"source": "wto_eping", "source_url": "https://epingalert.org/x",
            "fetched_at": "2026-12-03T00:00:00+00:00", "symbol": "G/TBT/N/TPKM/425/Add.5"}
    eping = load_record("notification", {**base, "links": [
        {"url": "https://docs.wto.org/a.pdf", "label": "Full text"}]})
    form = {"links": [{"url": "https://docs.wto.org/a.pdf", "label": "Document"},
                      {"url": "https://docs.wto.org/b.pdf", "label": "Final text"}],
            "agency": "Bureau of Standards"}
    merged = complement(eping, form, "wto_documents")
    assert [(link["url"][-5:], link["label"]) for link in merged["links"]] == [
        ("a.pdf", "Full text"), ("b.pdf", "Final text")]
    assert merged["complemented"] == {"wto_documents": ["agency", "links"]}
    again = keep_complements(merged, eping)
    assert again["content_hash"] == merged["content_hash"]
    assert complement(again, form, "wto_documents")["content_hash"] == merged["content_hash"]
