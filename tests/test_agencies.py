"""The agencies' view over the real knowledge base: every page works with the bundled data and
with an empty index, its numbers are recomputed here from the records, bad parameters are 400s."""

from __future__ import annotations

import re

import pytest

from crawlers.spiders.curated import CuratedSpider
from crawlers.spiders.wto_eping import WtoEpingSpider
from search.documents import to_document
from search.markets import MARKETS, UNION_MEMBERS
from search.records import load_record
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.replay import replay
from webapp import create_app

PAGES = ["/iecee", "/arrangements", "/bodies", "/indicators", "/countries", "/countries/KR",
         "/countries/DE", "/countries/EU", "/countries/FJ"]
APIS = ["/api/v1/iecee", "/api/v1/arrangements", "/api/v1/bodies", "/api/v1/indicators",
        "/api/v1/countries/KR", "/api/v1/countries/EU"]


def _records(spider_class) -> list[dict]:
    _spider, items = replay(spider_class)
    return [load_record(item.pop("kind"), item) for item in items]


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return _records(CuratedSpider) + _records(WtoEpingSpider)


@pytest.fixture(scope="module")
def backend(records, tmp_path_factory) -> SqliteBackend:
    backend = SqliteBackend(tmp_path_factory.mktemp("agencies") / "index.db")
    backend.rebuild(to_document(r) for r in records)
    return backend


def _client(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_TODAY", "2026-07-01")
    monkeypatch.delenv("MARKETPASS_DEFAULT_LOCALE", raising=False)
    return create_app({"TESTING": True, "BACKEND": backend}).test_client()


@pytest.fixture
def client(backend, tmp_path, monkeypatch):
    return _client(backend, tmp_path, monkeypatch)


def _kind(records: list[dict], kind: str) -> list[dict]:
    return [r for r in records if r["kind"] == kind]


# --- every page, full and empty ------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES + APIS)
def test_every_page_works_with_the_bundled_data(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES + APIS)
def test_every_page_works_with_an_empty_index(tmp_path, monkeypatch, path):
    client = _client(SqliteBackend(tmp_path / "empty.db"), tmp_path, monkeypatch)
    response = client.get(path)
    assert response.status_code == 200
    if not path.startswith("/api/"):
        assert "Traceback" not in response.get_data(as_text=True)


def test_empty_pages_say_so(tmp_path, monkeypatch):
    client = _client(SqliteBackend(tmp_path / "empty.db"), tmp_path, monkeypatch)
    assert "not in the index yet" in client.get("/iecee").get_data(as_text=True)
    assert "No arrangement is in the index yet" in client.get("/arrangements").get_data(
        as_text=True)
    assert client.get("/api/v1/bodies").get_json() == {
        "total": 0, "items": [], "facets": {"country": [], "role": [], "scheme": [],
                                            "category": []}}


# --- the coverage matrix, recomputed ------------------------------------------------------------

def _side(parties: set[str], country: str, kind: str = "bilateral") -> set[str]:
    # Members of a multilateral scheme or peer arrangement are countries: a union is never one.
    if kind in ("multilateral", "peer"):
        return parties & {country}
    unions = {u for u, members in UNION_MEMBERS.items() if country in members}
    return parties & ({country} | unions | set(UNION_MEMBERS.get(country, ())))


def _same_market(a: str, b: str) -> bool:
    def places(c):
        return {c} | {u for u, members in UNION_MEMBERS.items() if c in members}
    return bool(places(a) & places(b))


SECTOR_TEXT = {"electrical_safety": ("electrical safety", "electrical and electronic",
                                     "low voltage"),
               "radio_telecom": ("telecom", "radio")}


def _expected_cell(arrangements, exporter, market, sector) -> list[str]:
    if _same_market(exporter, market):
        return []
    out = []
    for a in arrangements:
        status = (a.get("status") or "").lower()
        if any(w in status for w in ("policy", "superseded", "cooperation", "terminated")):
            continue
        parties = {p["country"] for p in a["parties"]}
        one, two = _side(parties, exporter, a["type"]), _side(parties, market, a["type"])
        text = " ".join(a["sectors"]).lower()
        if "explosive" in text:  # IECEx: another field, never electrical safety
            continue
        if one and two and one != two and any(w in text for w in SECTOR_TEXT[sector]):
            out.append(a["id"])
    return sorted(out)


@pytest.mark.parametrize("sector", ["electrical_safety", "radio_telecom"])
def test_matrix_equals_a_recount_from_the_records(client, records, sector):
    data = client.get(f"/api/v1/arrangements?sector={sector}").get_json()["matrix"]
    arrangements = _kind(records, "arrangement")
    for exporter in MARKETS:
        for market in MARKETS:
            assert data["cells"][exporter][market] == _expected_cell(
                arrangements, exporter, market, sector), (exporter, market)
    covered = sum(1 for e in MARKETS for m in MARKETS
                  if _expected_cell(arrangements, e, m, sector))
    assert data["pairs_covered"] == covered
    page = client.get(f"/arrangements?sector={sector}").get_data(as_text=True)
    assert f"{covered} of {data['pairs']} pairs are covered" in page


def test_matrix_knows_the_well_known_routes(client):
    cells = client.get("/api/v1/arrangements?sector=electrical_safety").get_json()["matrix"][
        "cells"]
    assert "eu-mra-us" in cells["US"]["EU"] and "eu-mra-jp" in cells["JP"]["EU"]
    assert "cn-nz-eee-mra" in cells["CN"]["NZ"]
    radio = client.get("/api/v1/arrangements?sector=radio_telecom").get_json()["matrix"]["cells"]
    assert "apec-tel-mra" in radio["KR"]["US"]
    assert "cn-bri-ca-cooperation" not in {a for row in cells.values() for ids in row.values()
                                           for a in ids}  # a policy, not a recognition
    # IECEx is for equipment in explosive atmospheres; a union is never an IECEE member.
    assert "iecex" not in {a for row in cells.values() for ids in row.values() for a in ids}
    assert not cells["EU"]["CN"] or "iecee-cb" not in cells["EU"]["CN"]
    assert "iecee-cb" in cells["DE"]["CN"]


def test_every_covered_cell_links_to_its_explanation(client, records):
    """A cell is a link (keyboard, phone) to the explanation of its route: the arrangements
    the JSON cell names, with the parties standing for both sides and the bodies of each."""
    page = client.get("/arrangements?sector=electrical_safety").get_data(as_text=True)
    cells = client.get("/api/v1/arrangements?sector=electrical_safety").get_json()["matrix"][
        "cells"]
    links = re.findall(r'<a href="/arrangements\?sector=electrical_safety&amp;from=(\w+)&amp;'
                       r'to=(\w+)#route"[^>]*>(\d+)</a>', page)
    assert len(links) == sum(1 for row in cells.values() for ids in row.values() if ids)
    assert all(int(n) == len(cells[e][m]) for e, m, n in links)
    route = client.get("/api/v1/arrangements?sector=electrical_safety&from=CN&to=KR").get_json()[
        "route"]
    assert [a["id"] for a in route["arrangements"]] == cells["CN"]["KR"]
    cb = next(a for a in route["arrangements"] if a["id"] == "iecee-cb")
    assert [p["country"] for p in cb["exporter"]["parties"]] == ["CN"]
    assert {b["id"] for b in cb["market"]["bodies"]} == {
        b["id"] for b in _kind(records, "body")
        if b["country"] == "KR" and "iecee-cb" in b.get("arrangements", [])}
    html = client.get("/arrangements?sector=electrical_safety&from=CN&to=KR").get_data(
        as_text=True)
    explained = html[html.index('id="route"'):html.index("</section>", html.index('id="route"'))]
    assert "IECEE CB Scheme" in explained and "Korea Testing Laboratory" in explained


def test_matrix_rows_and_columns_come_in_groups(client, records):
    data = client.get("/api/v1/arrangements").get_json()
    blocks = {b["group"]: b["countries"] for b in data["blocks"]}
    assert list(blocks) == ["EU", "EAEU", "GCC", "ASEAN", "RCEP", "BRI", None]
    assert sorted(c for cs in blocks.values() for c in cs) == sorted(MARKETS)
    assert blocks["EU"][0] == "EU" and set(blocks["EU"]) == {"EU"} | (
        set(MARKETS) & UNION_MEMBERS["EU"])
    # RCEP and ASEAN as the knowledge base's own records name their parties.
    arrangement = {a["id"]: a for a in _kind(records, "arrangement")}
    rcep = {p["country"] for p in arrangement["rcep-ch6"]["parties"]} & set(MARKETS)
    asean = {p["country"] for p in arrangement["asean-ee-mra"]["parties"]}
    assert set(blocks["ASEAN"]) == asean & set(MARKETS)
    assert set(blocks["RCEP"]) == rcep - asean
    chosen = client.get("/api/v1/arrangements?group=RCEP").get_json()
    assert chosen["blocks"] == [{"group": "RCEP", "countries": chosen["blocks"][0]["countries"]}]
    assert set(chosen["blocks"][0]["countries"]) == set(chosen["matrix"]["countries"]) == rcep
    page = client.get("/arrangements?group=RCEP").get_data(as_text=True)
    assert '<th scope="rowgroup"' in page and '<th scope="colgroup"' in page
    assert client.get("/arrangements?group=NATO").status_code == 400


def test_group_lists_name_their_source_and_say_they_are_not_verified(client):
    """The ASEAN, RCEP and Belt and Road lists were compiled, not read from their official
    pages: the page links each to its page and says it is not verified."""
    import json

    from search.agencies import GROUPS_JSON

    listed = {g["id"]: g for g in json.loads(GROUPS_JSON.read_text())["groups"]}
    sources = client.get("/api/v1/arrangements").get_json()["group_sources"]
    assert {s["group"]: (s["url"], s["verified"]) for s in sources} == {
        g: (v["source"]["url"], bool(v.get("verified"))) for g, v in listed.items()}
    page = client.get("/arrangements").get_data(as_text=True)
    order = page.split('class="inline group-order"', 1)[1].split("</ol>", 1)[0]
    for group in listed.values():
        assert f'href="{group["source"]["url"]}"' in order
    assert order.count("Not verified") == sum(not g.get("verified") for g in listed.values())
    for s in sources:  # how much of an unverified list a source confirms, on page and API
        group = listed[s["group"]]
        confirmed = set(group.get("verified_members", ()))
        assert confirmed <= set(group["members"])
        assert (s["members"], s["members_confirmed"]) == (len(group["members"]), len(confirmed))
        if not s["verified"]:
            assert f"{len(confirmed)} of {len(group['members'])} members confirmed" in order


def test_matrix_rows_follow_the_readers_order_of_names(client):
    """Sorted by the names in the page's language, not by code: in French the Emirates
    (Émirats arabes unis) sort among the E's, accent set aside."""
    blocks = client.get("/api/v1/arrangements?lang=fr").get_json()["blocks"]
    gcc = next(b["countries"] for b in blocks if b["group"] == "GCC")
    assert gcc == ["GCC", "SA", "BH", "AE", "KW", "OM", "QA"]


# --- indicators, recomputed -----------------------------------------------------------------

def _expected_indicators(records, country) -> dict:
    bodies = [b for b in _kind(records, "body") if b["country"] == country]
    def count(role):
        return sum(1 for b in bodies if role in b["roles"])
    by_type: dict[str, int] = {}
    for a in _kind(records, "arrangement"):
        if _side({p["country"] for p in a["parties"]}, country, a["type"]):
            by_type[a["type"]] = by_type.get(a["type"], 0) + 1
    return {"ncbs": count("ncb"), "cbtls": count("cbtl"),
            "iecex_bodies": sum(1 for b in bodies if {"iecex_cb", "iecex_extl"} & set(b["roles"])),
            "bilateral": by_type.get("bilateral", 0),
            "multilateral": by_type.get("multilateral", 0),
            "regional": by_type.get("regional", 0),
            "iaf_mla": count("iaf_mla_signatory") > 0, "ilac_mra": count("ilac_mra_signatory") > 0}


def test_indicators_equal_a_recount_from_the_records(client, records):
    rows = {r["country"]: r for r in client.get("/api/v1/indicators").get_json()["countries"]}
    assert set(MARKETS) <= set(rows)
    for country, row in rows.items():
        expected = _expected_indicators(records, country)
        got = {"ncbs": row["ncbs"], "cbtls": row["cbtls"], "iecex_bodies": row["iecex_bodies"],
               "bilateral": row["arrangements"]["bilateral"],
               "multilateral": row["arrangements"]["multilateral"],
               "regional": row["arrangements"]["regional"],
               "iaf_mla": row["iaf_mla"], "ilac_mra": row["ilac_mra"]}
        assert got == expected, country


def test_indicator_page_shows_the_json_numbers(client):
    data = client.get("/api/v1/indicators").get_json()
    page = client.get("/indicators").get_data(as_text=True)
    cn = data["china"]
    row = re.search(r'href="/countries/CN">[^<]+</a></th>(.*?)</tr>', page, re.S).group(1)
    numbers = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row)]
    assert numbers == [cn["ncbs"], cn["cbtls"], cn["iecex_bodies"],
                       *(cn["arrangements"][t] for t in ("multilateral", "regional", "bilateral",
                                                          "fta-chapter", "peer"))]
    # Without a crawl log (this index was built directly) the plan's figures are unknown.
    assert data["china_plan"]["bilateral"] == {"2020": None, "2025_target": None}
    assert page.count('class="ref"') == 0


def test_chinas_official_series_beside_what_marketpass_holds(backend, tmp_path, monkeypatch):
    """The plan's indicators as the curated headers report them, each figure with its date
    and source, the target apart, and MarketPass's own count labelled as held, not as progress:
    every number on the page is one a header reports (none made up)."""
    spider, _items = replay(CuratedSpider)
    about = spider.crawler.stats.get_value("marketpass/about")
    client = _client(backend, tmp_path, monkeypatch)
    store = RecordStore(tmp_path / "store.db")
    store.finish_crawl(store.start_crawl("curated"), {"about": about})
    series = client.get("/api/v1/indicators").get_json()["china_series"]
    headers = {i["id"]: i for i in about["arrangements.json"]["indicators"]}
    headers["chinese_bodies_in_iec_systems"] = about["bodies-iec.json"]["indicators"][
        "chinese_bodies_in_iec_systems"]
    assert [(f["as_of"], f["value"]) for f in series["bilateral"]["reported"]] == [
        ("2014-12", 93), ("2020", 123), ("2023-08", 127), ("2024-06", 128)]
    assert series["bilateral"]["target"]["value"] == 130
    assert [f["value"] for f in series["iec_bodies"]["reported"]] == [71, 77]
    assert series["iec_bodies"]["target"]["value"] == 81
    for figure in [*series["bilateral"]["reported"], *series["iec_bodies"]["reported"]]:
        assert any(h["value"] == figure["value"] and h["source"] == figure["source"]
                   for h in headers.values())
    knowledge = {f["id"]: f["ours"] for f in client.get("/api/v1/indicators").get_json()[
        "knowledge"]}
    assert series["bilateral"]["held"] == knowledge["cn_bilateral"]
    page = client.get("/indicators").get_data(as_text=True)
    table = page[page.index('id="series-bilateral"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<th scope="row">(.*?)</th>\s*<td class="num">(\d+)</td>', table, re.S)
    assert [int(n) for _, n in rows] == [93, 123, 127, 128, 130, knowledge["cn_bilateral"]]
    assert "Held in MarketPass" in rows[-1][0] and "Plan target, 2025" in rows[-2][0]
    assert "http://english.scio.gov.cn/m/pressroom/2024-09/14/content_117428538.html" in table
    assert 'class="ref"' not in page  # no reference lines drawn over our own count


# --- IECEE -----------------------------------------------------------------------------------

def test_iecee_lists_members_with_their_bodies_and_unknown_categories(client, records):
    data = client.get("/api/v1/iecee").get_json()
    cb = next(a for a in _kind(records, "arrangement") if a["id"] == "iecee-cb")
    assert [c["country"] for c in data["countries"]] == sorted(
        {p["country"] for p in cb["parties"]})
    cn = next(c for c in data["countries"] if c["country"] == "CN")
    expected = {b["id"] for b in _kind(records, "body") if b["country"] == "CN"
                and "ncb" in b["roles"]}
    assert {b["id"] for b in cn["ncbs"]} == expected
    values = {v for row in data["matrix"].values() for v in row.values()}
    assert values == {"yes", "not_listed", "unknown", "no_ncb"}
    page = client.get("/iecee").get_data(as_text=True)
    assert "does not mean “no”" in page


def test_iecee_matrix_shows_what_is_known_of_each_country(client, records):
    """A cell says "yes" only where a source names the category; a country whose NCBs all
    have known categories shows the others as not listed; an NCB without known categories
    leaves its country unknown; a member with no NCB says so."""
    data = client.get("/api/v1/iecee").get_json()
    ncbs: dict[str, list[dict]] = {}
    for b in _kind(records, "body"):
        if "ncb" in b["roles"]:
            ncbs.setdefault(b["country"], []).append(b)
    for row in data["countries"]:
        mine = ncbs.get(row["country"], [])
        for code, state in data["matrix"][row["country"]].items():
            known = [set(b.get("categories", [])) - {"unknown"} for b in mine]
            if code in row["categories"]:
                assert state == "yes"
            elif not mine:
                assert state == "no_ncb"
            else:
                assert state == ("not_listed" if all(known) else "unknown"), row["country"]
    page = client.get("/iecee?lang=en").get_data(as_text=True)
    matrix = page[page.index('class="data matrix iecee-matrix"'):]
    assert "Switches and automatic controls for electrical household appliances" in page
    assert "not given in English" not in page  # the data file's editorial note
    assert "NCB known, its categories not known" in matrix
    assert "Member, no NCB in our data" in matrix


def test_iecee_rows_follow_the_readers_order_of_names(client):
    page = client.get("/iecee?lang=fr").get_data(as_text=True)
    matrix = page[page.index('class="data matrix iecee-matrix"'):]
    rows = re.findall(r'<th scope="row"><a href="/countries/(\w+)">([^<]+)</a>', matrix)
    names = [n for _, n in rows]
    # "États-Unis" among the E's (accent set aside), not after "Viêt Nam" as code points put it.
    assert names.index("Espagne") < names.index("États-Unis") < names.index("Finlande")
    assert [c for c, _ in rows] != sorted(c for c, _ in rows)  # not by code


# --- bodies --------------------------------------------------------------------------------

def test_bodies_filter_and_count_exactly(client, records):
    data = client.get("/api/v1/bodies?country=CN&role=ncb&role=cbtl").get_json()
    expected = {b["id"] for b in _kind(records, "body")
                if b["country"] == "CN" and {"ncb", "cbtl"} & set(b["roles"])}
    assert {b["id"] for b in data["items"]} == expected and data["total"] == len(expected)
    roles = dict((k, v) for k, v in data["facets"]["role"])
    assert roles["ncb"] == sum(1 for b in _kind(records, "body")
                               if b["id"] in expected and "ncb" in b["roles"])
    by_name = client.get("/api/v1/bodies?q=ukas").get_json()
    assert [b["id"] for b in by_name["items"]] == ["kb-ab-gb-ukas"]
    signatories = client.get("/api/v1/bodies?scheme=ilac-mra").get_json()
    assert all("ilac-mra" in b["arrangements"] for b in signatories["items"])


# --- country pages ----------------------------------------------------------------------------

def test_country_page_gathers_the_market(client, records):
    de = client.get("/api/v1/countries/DE").get_json()
    assert de["country"]["markets"] == ["DE", "EU"]
    assert {s["market"] for s in de["schemes"]} == {"EU", "DE"}  # its own beside the EU's
    assert {a["id"] for a in de["arrangements"]} >= {"eu-mra-us", "iecee-cb"}
    sa = client.get("/api/v1/countries/SA").get_json()
    # Saudi Arabia's joint notifications come once, under their first symbol (G/TBT/N/ARE/…).
    symbols = {s for n in sa["notifications"]["recent"] for s in [n["symbol"], *n["joint_symbols"]]}
    assert "G/TBT/N/SAU/1437" in symbols
    assert all("SA" in [m["code"] for m in n["members"]] for n in sa["notifications"]["recent"])
    assert all(n["comment_deadline"] >= "2026-07-01" for n in sa["notifications"]["open"])
    schemes = {s["id"] for s in sa["schemes"]}
    assert any(s.startswith("gcc-") for s in schemes) and any(s.startswith("sa-")
                                                                for s in schemes)


@pytest.mark.parametrize("path", ["/countries/XX", "/api/v1/countries/Atlantis",
                                  "/api/v1/arrangements?sector=bogus", "/api/v1/bodies?role=king",
                                  "/api/v1/bodies?country=Narnia", "/arrangements?sector=x"])
def test_bad_parameters_are_400(client, path):
    response = client.get(path)
    assert response.status_code == 400
    zh = client.get(path + ("&" if "?" in path else "?") + "lang=zh")
    assert zh.status_code == 400
    assert re.search(r"[\u4e00-\u9fff]", zh.get_data(as_text=True))


def test_knowledge_in_memory_belongs_to_its_app(tmp_path, monkeypatch, backend):
    # An app over an empty index must not show what another app's index holds.
    full = _client(backend, tmp_path, monkeypatch)
    empty = _client(SqliteBackend(tmp_path / "e.db"), tmp_path, monkeypatch)
    assert full.get("/api/v1/indicators").get_json()["china"]["arrangements_total"] > 0
    assert empty.get("/api/v1/bodies").get_json()["total"] == 0


def test_knowledge_follows_a_crawl_of_the_curated_files(tmp_path, monkeypatch, records):
    backend = SqliteBackend(tmp_path / "grow.db")
    client = _client(backend, tmp_path, monkeypatch)
    assert client.get("/api/v1/bodies").get_json()["total"] == 0
    backend.upsert(to_document(r) for r in _kind(records, "body"))
    assert client.get("/api/v1/bodies").get_json()["total"] == len(_kind(records, "body"))


def test_a_scheme_without_a_mark_says_so_in_words(client):
    html = client.get("/countries/US?lang=fr").get_data(as_text=True)
    assert not re.search(r"<td[^>]*>(none|unknown)", html)
    assert re.search(r"<td[^>]*>Aucun marquage", html)


def test_chinese_names_follow_pinyin_order(client):
    """On Chinese pages names sort as zh's collation does, by pinyin (阿 a before 澳 ao before
    巴 ba … 中 zhong), not by code point (巴 U+5DF4 would come before 阿 U+963F)."""
    page = client.get("/iecee?lang=zh").get_data(as_text=True)
    matrix = page[page.index('class="data matrix iecee-matrix"'):]
    names = [n for _, n in re.findall(r'<th scope="row"><a href="/countries/(\w+)">([^<]+)</a>',
                                      matrix)]
    assert names.index("澳大利亚") < names.index("巴西") < names.index("日本") < names.index("中国")
    assert names != sorted(names)  # code point order differs
    page = client.get("/match?lang=zh").get_data(as_text=True)
    options = re.findall(r'<option value="(\w\w)"[^>]*>([^<]+)</option>', page)
    codes = [c for c, _ in options]  # 阿拉伯联合酋长国, 澳大利亚, 巴西, 秘鲁 (bì lǔ), 德国
    assert codes.index("AE") < codes.index("AU") < codes.index("BR") < codes.index("PE") \
        < codes.index("DE")
