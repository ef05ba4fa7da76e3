"""The record store: staged crawls, history, failures that change nothing."""

from __future__ import annotations

from search.store import RecordStore
from tests.conftest import notification


def test_a_finished_crawl_commits_and_records_history(tmp_path):
    store = RecordStore(tmp_path / "s.db")
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


def test_a_failed_crawl_changes_nothing(tmp_path):
    store = RecordStore(tmp_path / "s.db")
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


def test_records_are_read_in_batches(tmp_path):
    store = RecordStore(tmp_path / "s.db")
    crawl = store.start_crawl("test")
    store.stage(crawl, [notification(f"G/TBT/N/EU/{i}") for i in range(1, 26)])
    store.finish_crawl(crawl)
    assert len(list(store.records(batch=7))) == 25
    assert len(list(store.records(kind="scheme"))) == 0


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
