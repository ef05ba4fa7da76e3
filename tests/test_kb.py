"""The knowledge base's coverage report: the pure counts, the page, its JSON twin and the CLI,
over a store filled by a real replayed crawl of the curated files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crawlers.spiders.curated import CURATED
from search.coverage import (
    BASELINE_FILE,
    FACTS,
    coverage,
    starting_unknowns,
    unknown_facts,
    verified_facts,
)
from search.markets import MARKETS
from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from webapp import create_app


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": ""}
    return subprocess.run([sys.executable, "-m", "webapp.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kb") / "marketpass.db"
    result = cli(path, "crawl", "curated", "--replay")
    assert result.returncode == 0, result.stderr + result.stdout
    return path


@pytest.fixture
def client(db, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(db))
    monkeypatch.delenv("MARKETPASS_DEFAULT_LOCALE", raising=False)
    app = create_app({"TESTING": True, "BACKEND": SqliteBackend(index_path(db))})
    return app.test_client()


def scheme(sid: str, market: str, groups: list[str], **fields) -> dict:
    return {"id": sid, "kind": "scheme", "market": market, "product_groups": groups,
            "mandatory": "mandatory", "verified": False, "unverified_fields": [], **fields}


# --- the counts --------------------------------------------------------------------------------

def test_a_fact_is_unknown_when_empty_or_saying_unknown_and_scope_is_one_fact():
    s = scheme("x", "KR", ["toys"], mark="KC", authority="Unknown (not stated)",
               route="", cb_accepted="unknown", keywords=["toys"], legal_basis=[])
    assert unknown_facts(s) == ["authority", "legal_basis", "route", "cb_accepted",
                                "in_country_testing", "local_representative", "validity",
                                "lead_time"]
    assert "scope" not in unknown_facts(s) and "mandatory" not in unknown_facts(s)
    assert verified_facts(s) == []  # an unverified record confirms nothing
    checked = {**s, "verified": True, "unverified_fields": ["mark", "keywords"]}
    assert verified_facts(checked) == ["mandatory"]  # scope left out with its keywords


def test_union_schemes_count_for_members_and_a_cited_none_answers_a_group():
    schemes = [scheme("gcc-g", "GCC", ["electrical_safety"], mark="G"),
               scheme("sa-radio", "SA", ["radio_telecom"], mark="CITC"),
               scheme("sa-toys-none", "SA", ["toys"], mandatory="none"),
               scheme("ch-only", "CH", ["machinery"]), scheme("xx-only", "MN", ["machinery"])]
    report = coverage(schemes)
    sa = next(m for m in report["markets"] if m["market"] == "SA")
    assert sa["groups"] == ["electrical_safety", "radio_telecom"]
    assert sa["none_groups"] == ["toys"] and "toys" not in sa["missing_groups"]
    assert (sa["schemes"], sa["inherited_schemes"], sa["unions"]) == (2, 1, ["GCC"])
    # The "none" statement has no facts to know: only the radio scheme's are counted.
    assert sa["fields"] == len(FACTS) and sa["unknown"] == len(FACTS) - 2
    assert report["other_markets"] == ["MN"] and report["overall"]["schemes"] == 4
    assert report["baseline"] is None


# --- over the crawled knowledge base ----------------------------------------------------------

def _blank(value: object) -> bool:
    return value in (None, "", [], {}) or str(value).strip().lower().startswith("unknown")


def _recount(schemes: list[dict]) -> tuple[int, int]:
    """Fields and unknown fields counted again, plainly, from the stored records."""
    fields = unknown = 0
    for s in schemes:
        if s["mandatory"] == "none" or s["market"] not in MARKETS:
            continue
        fields += 11
        unknown += sum(_blank(s.get(f)) for f in FACTS if f != "scope")
        unknown += not (s["hs_prefixes"] or s["categories"] or s["keywords"])
    return fields, unknown


def test_the_api_reports_what_the_store_holds(db, client):
    report = client.get("/api/v1/kb/coverage").get_json()
    stored = list(RecordStore(db).records("scheme"))
    fields, unknown = _recount(stored)
    assert (report["overall"]["fields"], report["overall"]["unknown"]) == (fields, unknown)
    assert [m["market"] for m in report["markets"]] == list(MARKETS)
    assert sum(m["schemes"] for m in report["markets"]) == report["overall"]["schemes"]
    eu = next(m for m in report["markets"] if m["market"] == "EU")
    assert eu["schemes"] == sum(s["market"] == "EU" for s in stored)


def test_the_baseline_comes_from_the_schemes_file_header_through_the_crawl_log(client):
    header = json.loads((CURATED / BASELINE_FILE).read_text(encoding="utf-8"))
    report = client.get("/api/v1/kb/coverage").get_json()
    assert report["baseline"] == header.get("baseline")


def test_the_page_shows_the_numbers_of_its_json_twin(client):
    report = client.get("/api/v1/kb/coverage").get_json()
    page = client.get("/kb/coverage").get_data(as_text=True)
    o = report["overall"]
    assert f"{o['verified_facts']} / {o['facts']} / {o['fields']}" in page
    shown = re.search(r'id="overall-unknown">([\d.]+)% \((\d+)\)', page)
    assert int(shown[2]) == o["unknown"]
    assert abs(float(shown[1]) - o["unknown_share"] * 100) <= 0.051  # as rounded for reading
    assert 'href="/api/v1/kb/coverage"' in page and 'href="/kb/coverage"' in page  # nav link
    assert "Gulf Cooperation Council" in page and "Eurasian Economic Union" in page
    for m in report["markets"]:
        assert f'id="market-{m["market"]}"' in page


def test_the_page_reads_in_chinese_too(client):
    assert client.get("/kb/coverage?lang=zh").status_code == 200


def test_cli_prints_the_report_as_a_table_and_as_json(db):
    table = cli(db, "kb", "coverage")
    assert table.returncode == 0, table.stderr
    assert table.stdout.count("\n") == len(MARKETS) + 2  # header, markets, overall
    assert "overall:" in table.stdout and "starting data" in table.stdout
    as_json = cli(db, "kb", "coverage", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["overall"]["schemes"] >= len(MARKETS)


def test_the_baseline_is_recomputed_from_the_starting_data_shipped_with_it():
    starting = json.loads((CURATED / "starting" / "schemes.json").read_text(encoding="utf-8"))
    header = json.loads((CURATED / BASELINE_FILE).read_text(encoding="utf-8"))["baseline"]
    assert starting_unknowns(starting) == {
        k: header[k] for k in ("unknown_fields", "total_fields", "unknown_share")}
    assert len(starting) == 148 and header["unknown_fields"] == 598


# --- the indicators the files' headers report ----------------------------------------------------

def _header_figures() -> dict[str, dict]:
    found = {}
    for path in CURATED.glob("*.json"):
        indicators = json.loads(path.read_text(encoding="utf-8")).get("indicators")
        items = (indicators.items() if isinstance(indicators, dict) else
                 ((i["id"], i) for i in indicators or []))
        found.update({k: v for k, v in items if isinstance(v, dict) and "value" in v})
    return found


def test_the_china_plan_and_the_real_world_figures_come_from_the_files(client):
    figures = _header_figures()
    data = client.get("/api/v1/indicators").get_json()
    plan = data["china_plan"]
    assert plan["bilateral"] == {"2020": figures["cn-bilateral-arrangements-2020"]["value"],
                                 "2025_target": figures["cn-plan-target-bilateral"]["value"]}
    assert data["china_reported"]["bilateral"] == figures["cn-bilateral-arrangements"]["value"]
    reported = {f["id"]: f["reported"] for f in data["knowledge"]}
    assert reported["ilac_mra_economies"]["value"] == figures["ilac-mra-economies"]["value"]
    assert reported["ncbs"]["value"] == figures["ncbs_reported"]["value"]
    page = client.get("/indicators").get_data(as_text=True)
    assert 'id="knowledge-figures"' in page
    # The plan's series as reported, its target, and what MarketPass holds, one row each.
    table = page.split('id="series-bilateral"', 1)[1].split("</table>", 1)[0]
    numbers = re.findall(r'<td class="num">(\d+)</td>', table)
    for figure in ("cn-bilateral-arrangements-2020", "cn-plan-target-bilateral",
                   "cn-bilateral-arrangements"):
        assert str(figures[figure]["value"]) in numbers, figure
    assert table.count('class="series-held"') == 1 and table.count('class="series-target"') == 1


def test_what_the_knowledge_base_holds_is_counted_from_the_store(client, db):
    records = list(RecordStore(db).records("body")) + list(RecordStore(db).records("arrangement"))
    ours = {f["id"]: f["ours"] for f in client.get("/api/v1/indicators").get_json()["knowledge"]}
    assert ours["ncbs"] == sum("ncb" in r.get("roles", []) for r in records if r["kind"] == "body")
    iaf = next(r for r in records if r["id"] == "iaf-mla")
    assert ours["iaf_mla_economies"] == len({p["country"] for p in iaf["parties"]}) >= 80
    china = [r for r in records if r["kind"] == "arrangement" and r["type"] == "bilateral"
             and "CN" in {p["country"] for p in r["parties"]}
             and {p["country"] for p in r["parties"]} - {"CN", "HK", "MO", "TW"}]
    assert ours["cn_bilateral"] == len(china) >= 60
    assert ours["markets"] >= 60
