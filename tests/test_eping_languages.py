"""A live ePing crawl in three languages against a local server (127.0.0.1 only): French and
Spanish titles join the English records by ePing id, a language that fails loses only itself,
and a reader sees the notification in their language."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.local_http import serve
from webapp import create_app

RECORDED = Path(__file__).resolve().parent.parent / "crawlers" / "sources" / "wto_eping"
TEMPLATE = json.loads((RECORDED / "getAll_gcc_vehicles_page1.json").read_text())["items"][8]
COUNT = 25  # more than the spider's minimum of a good crawl


def item(n: int, title: str) -> dict:
    return {**copy.deepcopy(TEMPLATE), "id": 800_000 + n, "notifyingMemberCode": "C682",
            "notifyingMember": "Saudi Arabia, Kingdom of",
            "documentSymbol": f"G/TBT/N/SAU/{8000 + n}", "title": title,
            "description": f"<p>{title}.</p>"}


PAGES = {
    1: [item(n, f"Vehicle safety {n}") for n in range(COUNT)],
    # French: every title translated but one, which ePing gives in English.
    2: [item(n, f"Sécurité des véhicules {n}" if n else "Vehicle safety 0") for n in range(COUNT)],
}


def respond(url, spanish_fails: bool) -> tuple[int, dict, bytes]:
    query = parse_qs(url.query)
    language, number = int(query["language"][0]), int(query["page"][0])
    if language == 3 and spanish_fails:
        return 404, {}, b""
    items = (PAGES[language] if language in PAGES else
             [item(n, f"Seguridad de los vehículos {n}") for n in range(COUNT)])
    body = json.dumps({"items": items if number == 1 else [], "totalCount": COUNT}).encode()
    return 200, {"Content-Type": "application/json"}, body


def _crawl(tmp_path: Path, spanish_fails: bool) -> Path:
    server = serve(lambda url: respond(url, spanish_fails))
    db = tmp_path / "m.db"
    env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": "",
           "MARKETPASS_EPING_KEY": "",
           "MARKETPASS_EPING_LIST_URL": f"http://127.0.0.1:{server.server_port}/getAll",
           "MARKETPASS_CRAWL_DELAY": "0", "MARKETPASS_RETRY_BACKOFF": "0.05",
           "MARKETPASS_HTTPCACHE": "off"}
    result = subprocess.run([sys.executable, "-m", "webapp.cli", "crawl", "wto_eping",
                             "-a", "languages=fr,es"], env=env, capture_output=True, text=True,
                            timeout=300)
    server.shutdown()
    assert result.returncode == 0, result.stdout + result.stderr
    return db


def test_titles_in_french_and_spanish_join_the_english_records(tmp_path):
    store = RecordStore(_crawl(tmp_path, spanish_fails=False))
    records = {r["id"]: r for r in store.records("notification")}
    assert len(records) == COUNT
    one = records["G/TBT/N/SAU/8001"]
    assert one["title"] == "Vehicle safety 1"
    assert one["translations"] == {
        "fr": {"title": "Sécurité des véhicules 1", "description": "Sécurité des véhicules 1."},
        "es": {"title": "Seguridad de los vehículos 1",
               "description": "Seguridad de los vehículos 1."}}
    assert "fr" not in records["G/TBT/N/SAU/8000"]["translations"]  # English is no translation


def test_a_failing_language_loses_only_itself(tmp_path, monkeypatch):
    db = _crawl(tmp_path, spanish_fails=True)
    records = {r["id"]: r for r in RecordStore(db).records("notification")}
    assert len(records) == COUNT
    assert set(records["G/TBT/N/SAU/8001"]["translations"]) == {"fr"}
    monkeypatch.setenv("MARKETPASS_DB", str(db))
    client = create_app({"TESTING": True, "BACKEND": SqliteBackend(index_path(db))}).test_client()
    french = client.get("/notifications/G/TBT/N/SAU/8001?lang=fr").get_data(as_text=True)
    assert "Sécurité des véhicules 1" in french
    spanish = client.get("/api/v1/notifications/G/TBT/N/SAU/8001?lang=es").get_json()
    assert spanish["title"] == "Vehicle safety 1"  # no Spanish text: the English one


@pytest.mark.parametrize("languages", ["", "de", "en"])
def test_no_other_language_asked_for_means_english_only(languages):
    from crawlers.spiders.wto_eping import WtoEpingSpider

    assert WtoEpingSpider(languages=languages).languages == ()
