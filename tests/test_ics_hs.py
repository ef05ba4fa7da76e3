"""The ICS → HS concordance: derived from the bundled notifications by tools/ics_hs.py, it lets
the HS filter find notifications that list only ICS codes, and says so wherever they show."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from search.documents import to_document
from search.notifications import CONCORDANCE
from search.records import load_record
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent
EPING = {"source": "wto_eping", "source_url": "https://epingalert.org/en/Search?viewData=x",
         "fetched_at": "2026-02-20T00:00:00+00:00", "distribution_date": "2026-02-10"}


def _n(symbol: str, **fields) -> dict:
    return load_record("notification", {**EPING, "symbol": symbol, **fields})


RECORDS = [
    # ICS only: a road vehicle system (43.040.60 is in group 43.040, field 43).
    _n("G/TBT/N/SAU/2000", title="Vehicle bodies", ics_codes=["43.040.60"]),
    # Its own HS codes (batteries) beside an ICS code the concordance maps: they stay its own.
    _n("G/TBT/N/CHN/3000", title="Traction batteries", hs_codes=["850760"],
       ics_codes=["43.040"]),
    # An ICS code the concordance does not map.
    _n("G/TBT/N/CAN/900", title="Furniture", ics_codes=["97.140"]),
    _n("G/TBT/N/USA/3000", title="Brake pads", hs_codes=["870830"]),
]


def _pair(ics: str, hs: str) -> dict:
    pairs = json.loads(CONCORDANCE.read_text(encoding="utf-8"))["pairs"]
    return next(p for p in pairs if (p["ics"], p["hs"]) == (ics, hs))


@pytest.fixture
def client(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_TODAY", "2026-03-01")
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    backend.upsert([to_document(r) for r in RECORDS])
    return create_app({"TESTING": True, "BACKEND": backend}).test_client()


def _symbols(client, query: str) -> list[str]:
    response = client.get(f"/api/v1/notifications?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(item["symbol"] for item in response.get_json()["items"])


def test_the_data_file_is_what_the_tool_derives_from_the_bundled_records():
    tool = runpy.run_path(str(ROOT / "tools" / "ics_hs.py"))
    derived = tool["dumps"](tool["concordance"](tool["bundled_notifications"]()))
    assert CONCORDANCE.read_text(encoding="utf-8") == derived, \
        "the bundled notifications changed: run .venv/bin/python tools/ics_hs.py"
    content = json.loads(derived)
    assert "not an official table" in content["about"]
    for pair in content["pairs"]:  # the rule it states holds for every pair it keeps
        assert len(pair["supported_by"]) >= 2 and len(pair["supported_by"]) * 2 >= pair["of"]


def test_an_ics_only_notification_is_found_by_a_mapped_heading_and_its_chapter(client):
    assert _pair("43.040", "8708")["supported_by"]  # the evidence the derivation rests on
    assert _symbols(client, "hs=8708") == ["G/TBT/N/SAU/2000", "G/TBT/N/USA/3000"]
    assert _symbols(client, "hs=87") == ["G/TBT/N/SAU/2000", "G/TBT/N/USA/3000"]
    # The concordance says nothing finer than a heading.
    assert _symbols(client, "hs=870830") == ["G/TBT/N/USA/3000"]
    # "hs" stays the notifier's own (the matcher reads it); the filter reads "hs_any".
    keywords = to_document(RECORDS[0]).keywords
    assert keywords["hs"] == [] and keywords["hs_via_ics"] == keywords["hs_any"] == ["87", "8708"]
    # A section is counted as its facet filters: on its chapters, derived ones included.
    facets = {f["value"]: f for f in client.get("/api/v1/notifications").get_json()["facets"]["hs"]}
    assert {value: f["count"] for value, f in facets.items()} == {"XVI": 1, "XVII": 2}
    chapters = "&".join(f"hs={c}" for c in facets["XVII"]["filter"])
    assert _symbols(client, chapters) == ["G/TBT/N/SAU/2000", "G/TBT/N/USA/3000"]


def test_a_notification_with_its_own_hs_codes_gets_no_derived_ones(client):
    assert _symbols(client, "ics=43.040") == ["G/TBT/N/CHN/3000", "G/TBT/N/SAU/2000"]
    assert _symbols(client, "hs=8507") == ["G/TBT/N/CHN/3000"]
    assert "G/TBT/N/CHN/3000" not in _symbols(client, "hs=87")
    item = client.get("/api/v1/notifications/G/TBT/N/CHN/3000").get_json()
    assert item["hs_via_ics"] == [] and item["hs_codes"] == ["850760"]
    assert to_document(RECORDS[1]).keywords["hs_via_ics"] == []


def test_an_unmapped_ics_code_adds_nothing(client):
    document = to_document(RECORDS[2])
    assert document.keywords["hs_any"] == [] and document.keywords["hs_via_ics"] == []
    assert _symbols(client, "ics=97") == ["G/TBT/N/CAN/900"]
    assert client.get("/api/v1/notifications/G/TBT/N/CAN/900").get_json()["hs_via_ics"] == []
    page = client.get("/notifications/G/TBT/N/CAN/900").get_data(as_text=True)
    assert "HS via ICS" not in page


def test_derived_codes_are_labelled_in_the_api_and_on_the_page(client):
    heading = _pair("43.040", "8708")
    chapter = sorted({*_pair("43", "87")["supported_by"], *_pair("43.040", "87")["supported_by"]})
    item = client.get("/api/v1/notifications/G/TBT/N/SAU/2000").get_json()
    assert item["hs_codes"] == [] and item["record"]["hs_codes"] == []
    assert [(d["hs"], d["ics"], d["supported_by"]) for d in item["hs_via_ics"]] == [
        ("87", ["43", "43.040"], chapter), ("8708", ["43.040"], heading["supported_by"])]
    label = f"8708 (MarketPass concordance, from {len(heading['supported_by'])} notifications)"
    assert item["hs_via_ics"][1]["label"] == label
    listed = client.get("/api/v1/notifications?hs=8708").get_json()["items"]
    assert [d["hs"] for i in listed if i["symbol"] == "G/TBT/N/SAU/2000"
            for d in i["hs_via_ics"]] == ["87", "8708"]
    page = client.get("/notifications/G/TBT/N/SAU/2000").get_data(as_text=True)
    assert "HS via ICS" in page and label in page
    assert ", ".join(heading["supported_by"]) in page  # the evidence, on the code itself
    french = client.get("/notifications/G/TBT/N/SAU/2000?lang=fr").get_data(as_text=True)
    assert label not in french and "8708" in french
