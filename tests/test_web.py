"""The web app over a real SQLite index: pages and their JSON twins, locales, errors."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from search.documents import to_document
from search.records import load_record
from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from webapp import create_app

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
ZH_PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _compile_catalogues() -> None:
    """The .mo files are build output (git-ignored); compile them so a fresh clone tests."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as handle:
                catalog = read_po(handle)
            with mo.open("wb") as handle:
                write_mo(handle, catalog)


_compile_catalogues()

PROVENANCE = {"fetched_at": "2026-11-20T00:00:00+00:00"}
EPING = {"source": "wto_eping", "source_url": "https://epingalert.org/", **PROVENANCE}
HS = {"source": "hs_nomenclature", "source_url": "https://github.com/datasets/harmonized-system",
      **PROVENANCE}
CURATED = {"source": "curated", "source_url": "https://www.iecee.org/", **PROVENANCE}

RECORDS = [
    ("notification", {**EPING, "symbol": "G/TBT/N/SAU/1437",
                      "title": "GCC Technical regulation for Vehicles - eCall",
                      "distribution_date": "2026-06-02",
                      "member_name": "Saudi Arabia, Kingdom of", "hs_codes": ["870323"]}),
    ("notification", {**EPING, "symbol": "G/TBT/N/SAU/1437/Rev.1",
                      "title": "GCC Technical regulation for Vehicles - eCall (revised)",
                      "distribution_date": "2026-09-14", "comment_deadline": "2026-11-13",
                      "member_name": "Saudi Arabia, Kingdom of",
                      "links": [{"url": "https://docs.wto.org/sau1437r1.pdf", "label": "Text"}]}),
    ("notification", {**EPING, "symbol": "G/TBT/N/EU/1033",
                      "title": "Batteries and waste batteries: labelling of vehicle batteries",
                      "description": "Lithium-ion batteries for electric vehicles must carry a "
                                     "battery passport.",
                      "distribution_date": "2026-02-01", "hs_codes": ["850760"]}),
    ("notification", {**EPING, "symbol": "G/TBT/N/CHN/1850",
                      "title": "Traction batteries for electric vehicles: safety requirements",
                      "description": "电动汽车用动力蓄电池安全要求",
                      "distribution_date": "2026-03-10"}),
    ("notification", {**EPING, "symbol": "G/TBT/N/USA/2001",
                      "title": "<script>alert(1)</script> Toys & <b>children's</b> vehicles",
                      "distribution_date": "2026-04-01"}),
    ("hscode", {**HS, "id": "hs:850760", "code": "850760", "level": 6, "section": "XVI",
                "parent": "8507", "description": "Electric accumulators; lithium-ion"}),
    ("hscode", {**HS, "id": "hs:870323", "code": "870323", "level": 6, "section": "XVII",
                "parent": "8703", "description": "Motor cars; spark-ignition, 1500 to 3000 cc"}),
    ("scheme", {**CURATED, "id": "kr-kc-safety", "market": "KR",
                "name": "KC safety certification of electrical appliances", "mark": "KC",
                "authority": "KATS", "mandatory": "mandatory",
                "route": "third-party certification", "hs_prefixes": ["8507"],
                "sources": [{"url": "https://www.kats.go.kr/", "verified_on": "2026-10-01"}]}),
    ("arrangement", {**CURATED, "id": "iecee-cb", "name": "IECEE CB Scheme",
                     "type": "multilateral",
                     "parties": [{"country": "KR", "role": "member body"}],
                     "effect": "Mutual acceptance of CB test certificates for batteries"}),
    ("body", {**CURATED, "id": "kr-ktl", "name": "Korea Testing Laboratory", "country": "KR",
              "roles": ["NCB", "CBTL"]}),
]
EXTRA_FIELD = ("hs:850760", "customs_note", "Declared by the cell chemistry")


def _documents() -> list:
    docs = [to_document(load_record(kind, data)) for kind, data in RECORDS]
    for doc in docs:
        if doc.id == EXTRA_FIELD[0]:
            # A field no schema knows yet: the record page must still show it.
            doc.record[EXTRA_FIELD[1]] = EXTRA_FIELD[2]
    return docs


@pytest.fixture
def backend(tmp_path: Path) -> SqliteBackend:
    backend = SqliteBackend(tmp_path / "t.db")
    backend.upsert(_documents())
    return backend


@pytest.fixture
def app(backend: SqliteBackend, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MARKETPASS_DEFAULT_LOCALE", raising=False)
    monkeypatch.setenv("MARKETPASS_DB", str(backend.path))  # the record store beside the index
    return create_app({"TESTING": True, "BACKEND": backend})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _html(response) -> str:
    return response.get_data(as_text=True)


def _ids(payload: dict) -> list[str]:
    return [item["id"] for item in payload["items"]]


# --- pages and their JSON twins ------------------------------------------------------------------

def test_home_explains_and_counts(client):
    page = _html(client.get("/"))
    assert "MarketPass" in page
    assert "Exporters" in page and "TBT officers" in page
    assert 'action="/search"' in page
    assert "5 notifications" in page
    assert "2 HS codes" in page
    assert "1 certification scheme" in page
    assert 'href="/search?kind=scheme"' in page


def test_search_html_and_json_agree(client):
    data = client.get("/api/v1/search?q=vehicles").get_json()
    page = _html(client.get("/search?q=vehicles"))
    assert data["total"] == 5
    assert f"{data['total']} results" in page
    for record_id in _ids(data):
        assert f'href="/records/{record_id}"' in page


def test_search_items_have_title_url_and_provenance(client):
    data = client.get("/api/v1/search?q=lithium").get_json()
    by_id = {item["id"]: item for item in data["items"]}
    hs = by_id["hs:850760"]
    assert hs["title"] == "850760 Electric accumulators; lithium-ion"
    assert hs["url"].endswith("/records/hs:850760")
    assert hs["source"] == "hs_nomenclature"
    assert hs["source_url"] == "https://github.com/datasets/harmonized-system"
    assert hs["fetched_at"] == "2026-11-20T00:00:00+00:00"
    assert hs["record"]["code"] == "850760"
    assert set(hs) == {"id", "kind", "title", "url", "highlights", "source", "source_url",
                       "fetched_at", "record"}


def test_kind_filter(client):
    data = client.get("/api/v1/search?kind=hscode").get_json()
    assert sorted(_ids(data)) == ["hs:850760", "hs:870323"]
    both = client.get("/api/v1/search?kind=hscode&kind=scheme").get_json()
    assert {item["kind"] for item in both["items"]} == {"hscode", "scheme"}
    assert both["total"] == 3


def test_country_filter(client):
    data = client.get("/api/v1/search?country=SA").get_json()
    assert sorted(_ids(data)) == ["G/TBT/N/SAU/1437", "G/TBT/N/SAU/1437/Rev.1"]


def test_facets_count_every_match(client):
    data = client.get("/api/v1/search?q=vehicles").get_json()
    kinds = {f["value"]: f["count"] for f in data["facets"]["kind"]}
    countries = {f["value"]: f["count"] for f in data["facets"]["country"]}
    assert kinds == {"notification": 5}
    assert countries == {"SA": 2, "EU": 1, "CN": 1, "US": 1}
    page = _html(client.get("/search?q=vehicles"))
    assert 'href="/search?q=vehicles&amp;country=SA"' in page
    assert "European Union" in page


def test_facet_link_adds_a_filter(client):
    page = _html(client.get("/search?kind=notification"))
    assert 'href="/search?kind=notification&amp;kind=hscode"' not in page  # no hscode hits
    assert 'href="/search?kind=notification&amp;country=SA"' in page
    assert "remove filter" in page


def test_pagination(client):
    first = client.get("/api/v1/search?q=vehicles&per_page=2").get_json()
    second = client.get("/api/v1/search?q=vehicles&per_page=2&page=2").get_json()
    third = client.get("/api/v1/search?q=vehicles&per_page=2&page=3").get_json()
    assert first["total"] == second["total"] == third["total"] == 5
    pages = _ids(first) + _ids(second) + _ids(third)
    assert len(pages) == len(set(pages)) == 5
    html = _html(client.get("/search?q=vehicles&per_page=2&page=2"))
    assert "Page 2 of 3" in html
    assert 'rel="prev" href="/search?q=vehicles&amp;per_page=2&amp;page=1"' in html
    assert 'rel="next" href="/search?q=vehicles&amp;per_page=2&amp;page=3"' in html
    last = _html(client.get("/search?q=vehicles&per_page=2&page=3"))
    assert 'rel="next"' not in last


def test_page_past_the_end_is_empty_not_an_error(client):
    response = client.get("/search?q=vehicles&page=50")
    assert response.status_code == 200
    assert "There are no results on this page." in _html(response)


def test_highlights(client):
    data = client.get("/api/v1/search?q=lithium").get_json()
    marked = [f for item in data["items"] for fs in item["highlights"].values() for f in fs]
    assert any("<mark>lithium</mark>" in f.lower() for f in marked)
    assert "<mark>lithium</mark>" in _html(client.get("/search?q=lithium")).lower()


def test_chinese_query_finds_chinese_text(client):
    data = client.get("/api/v1/search?q=动力蓄电池").get_json()
    assert _ids(data) == ["G/TBT/N/CHN/1850"]
    assert "<mark>" in _html(client.get("/search?q=动力蓄电池"))


def test_record_text_is_escaped(client):
    page = _html(client.get("/search?q=toys"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    record = _html(client.get("/records/G/TBT/N/USA/2001"))
    assert "<script>alert(1)</script>" not in record


def test_empty_state(client):
    page = _html(client.get("/search?q=zeppelin"))
    assert "0 results" in page
    assert "Nothing matches this search." in page


# --- locales ---------------------------------------------------------------------------------

def test_lang_parameter_switches_to_chinese_and_sets_cookie(client):
    response = client.get("/?lang=zh")
    page = _html(response)
    assert '<html lang="zh-Hans" dir="ltr">' in page
    assert "合格评定" in page and "5 项通报" in page
    assert "lang=zh" in response.headers["Set-Cookie"]
    assert client.get_cookie("lang").value == "zh"
    assert "合格评定" in _html(client.get("/"))  # the cookie carries the choice


def test_cookie_selects_locale(client):
    client.set_cookie("lang", "zh")
    assert "搜索" in _html(client.get("/search?q=vehicles"))


def test_accept_language_selects_locale(client):
    zh = _html(client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}))
    fr = _html(client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}))
    de = _html(client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"}))
    assert '<html lang="zh-Hans"' in zh
    assert '<html lang="fr"' in fr
    assert '<html lang="en"' in de  # not one of the six: English


def test_lang_parameter_beats_cookie_and_header(client):
    client.set_cookie("lang", "zh")
    page = _html(client.get("/?lang=en", headers={"Accept-Language": "zh"}))
    assert '<html lang="en"' in page


def test_unsupported_lang_is_ignored(client):
    response = client.get("/?lang=xx", headers={"Accept-Language": "zh"})
    assert response.status_code == 200
    assert '<html lang="zh-Hans"' in _html(response)
    assert "Set-Cookie" not in response.headers


def test_default_locale_from_settings(backend, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DEFAULT_LOCALE", "zh")
    app = create_app({"TESTING": True, "BACKEND": backend})
    assert '<html lang="zh-Hans"' in _html(app.test_client().get("/"))


def test_language_switcher_keeps_path_and_query(client):
    page = _html(client.get("/search?q=vehicles&kind=notification&page=1"))
    hrefs = re.findall(r'<a href="([^"]+)" lang="zh-Hans"', page)
    assert len(hrefs) == 1
    url = urlsplit(hrefs[0].replace("&amp;", "&"))
    assert url.path == "/search"
    assert parse_qs(url.query) == {"q": ["vehicles"], "kind": ["notification"], "page": ["1"],
                                   "lang": ["zh"]}


def test_country_names_come_from_cldr(client):
    assert "European Union" in _html(client.get("/records/G/TBT/N/EU/1033"))
    assert "欧盟" in _html(client.get("/records/G/TBT/N/EU/1033?lang=zh"))
    labels = client.get("/api/v1/search?q=vehicles&lang=zh").get_json()["facets"]["country"]
    assert {f["value"]: f["label"] for f in labels}["SA"] == "沙特阿拉伯"


def test_dates_follow_the_locale(client):
    assert "June 2, 2026" in _html(client.get("/records/G/TBT/N/SAU/1437"))
    assert "2026年6月2日" in _html(client.get("/records/G/TBT/N/SAU/1437?lang=zh"))


# --- bad input -------------------------------------------------------------------------------

BAD = [
    ("page=0", "page number", "页码"),
    ("page=abc", "page number", "页码"),
    ("page=-3", "page number", "页码"),
    ("per_page=1000", "per page", "每页"),
    ("per_page=0", "per page", "每页"),
    ("per_page=2.5", "per page", "每页"),
    ("kind=unknown", "type of record", "记录类型"),
    ("country=Saudi", "country code", "国家代码"),
    ("q=" + "a" * 1001, "too long", "过长"),
]


@pytest.mark.parametrize(("query", "english", "chinese"), BAD)
def test_bad_parameters_are_400_json_in_both_languages(client, query, english, chinese):
    en = client.get(f"/api/v1/search?{query}&lang=en")
    zh = client.get(f"/api/v1/search?{query}&lang=zh")
    assert en.status_code == zh.status_code == 400
    assert en.get_json()["error"]["code"] == 400
    assert english in en.get_json()["error"]["message"].lower()
    assert chinese in zh.get_json()["error"]["message"]


@pytest.mark.parametrize(("query", "english", "chinese"), BAD)
def test_bad_parameters_are_400_html_in_both_languages(client, query, english, chinese):
    en = client.get(f"/search?{query}")
    zh = client.get(f"/search?{query}", headers={"Accept-Language": "zh-CN"})
    assert en.status_code == zh.status_code == 400
    assert en.mimetype == "text/html"
    assert english in _html(en).lower()
    assert chinese in _html(zh) and "请求有误" in _html(zh)


HOSTILE = ["NEAR(", "NEAR(a b", "*", '"', '""', '"unclosed phrase', "-", "--", "- -x", "OR",
           "OR OR", "a OR", "AND", "NOT", '{"a":1}', "col:val", "title:vehicles", "^", "(",
           ")", "a AND (b", "\\", "'", "%", "\x00", "​", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a" * 10_000,
           "vehicles " * 200, "动力" * 600]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_fail(client, q):
    for path in ("/search", "/api/v1/search"):
        response = client.get(path, query_string={"q": q})
        assert response.status_code in (200, 400), (path, q)


def test_query_of_exactly_the_limit_is_accepted(client):
    assert client.get("/api/v1/search", query_string={"q": "a" * 1000}).status_code == 200


# --- health, records, errors ------------------------------------------------------------------

def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["backend"] == "sqlite"
    assert isinstance(body["mapping_version"], int)
    assert body["counts"]["notification"] == 5


def test_healthz_reports_an_unreadable_index(tmp_path):
    broken = SqliteBackend(tmp_path / "broken.db")
    with sqlite3.connect(tmp_path / "broken.db") as conn:
        conn.execute("DROP TABLE idx_docs")
    client = create_app({"TESTING": True, "BACKEND": broken}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_backend_opens_lazily_from_settings(tmp_path, monkeypatch):
    db = tmp_path / "lazy" / "marketpass.db"
    monkeypatch.setenv("MARKETPASS_DB", str(db))
    monkeypatch.delenv("MARKETPASS_SEARCH_URL", raising=False)
    app = create_app({"TESTING": True})
    assert not db.exists()
    # A missing database is never created by the site: an empty one would answer "nothing
    # found" everywhere. Health and pages say the service is unavailable.
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "error"
    assert app.test_client().get("/api/v1/search?q=x").status_code == 503
    assert not db.exists() and not index_path(db).exists()
    RecordStore(db).close()  # a crawl creates both
    assert app.test_client().get("/healthz").status_code == 503
    SqliteBackend(index_path(db)).close()
    assert app.test_client().get("/healthz").get_json()["problem"] == "empty index"


def test_a_crawl_of_notifications_keeps_the_knowledge_and_a_changed_scheme_renews_it(
        app, client, backend):
    """The matcher's knowledge is built again only when curated records change; after any
    write, what it remembered of other records' searches is forgotten."""
    assert client.get("/api/v1/match?product=lithium+battery&market=KR").status_code == 200
    first = app.extensions["marketpass_knowledge"][2]
    assert first.found  # the match searched the index and remembered it
    backend.upsert([to_document(load_record("notification", {
        **EPING, "symbol": "G/TBT/N/KOR/999", "title": "Lithium batteries",
        "distribution_date": "2026-05-01"}))])
    client.get("/api/v1/notifications?q=lithium")
    assert app.extensions["marketpass_knowledge"][2] is first and not first.found
    scheme = dict(RECORDS)["scheme"]
    backend.upsert([to_document(load_record("scheme", {**scheme, "name": "KC renamed"}))])
    answer = client.get("/api/v1/match?product=lithium+battery&market=KR").get_json()
    renewed = app.extensions["marketpass_knowledge"][2]
    assert renewed is not first and renewed.scheme_by_id["kr-kc-safety"]["name"] == "KC renamed"
    assert "KC renamed" in str(answer)


def test_record_page_with_slashes_in_id(client):
    response = client.get("/records/G/TBT/N/SAU/1437/Rev.1")
    page = _html(response)
    assert response.status_code == 200
    assert "GCC Technical regulation for Vehicles - eCall (revised)" in page
    assert 'href="https://epingalert.org/"' in page
    assert "Final date for comments" in page and "November 13, 2026" in page
    assert 'href="/records/G/TBT/N/SAU/1437"' in page  # the original notification
    assert 'href="https://docs.wto.org/sau1437r1.pdf"' in page
    assert "Content hash" in page


def test_record_json(client):
    data = client.get("/api/v1/records/G/TBT/N/SAU/1437/Rev.1").get_json()
    assert data["id"] == "G/TBT/N/SAU/1437/Rev.1"
    assert data["record"]["type"] == "revision"
    assert data["source_url"] == "https://epingalert.org/"
    assert len(data["content_hash"]) == 64


def test_record_page_shows_unknown_fields(client):
    page = _html(client.get("/records/hs:850760"))
    assert "Customs note" in page and EXTRA_FIELD[2] in page


@pytest.mark.parametrize("path", ["/records/kr-kc-safety", "/records/iecee-cb",
                                  "/records/kr-ktl", "/records/hs:870323"])
def test_every_kind_renders(client, path):
    assert client.get(path).status_code == 200
    assert client.get(path + "?lang=zh").status_code == 200


def test_unknown_record_is_404(client):
    html = client.get("/records/G/TBT/N/XXX/1")
    api = client.get("/api/v1/records/G/TBT/N/XXX/1?lang=zh")
    assert html.status_code == api.status_code == 404
    assert "G/TBT/N/XXX/1" in _html(html)
    assert api.get_json()["error"]["code"] == 404
    assert "标识符" in api.get_json()["error"]["message"]


@pytest.mark.parametrize("record_id", ["%00", "' OR 1=1 --", "x" * 5000, "%ff%fe", "a/../../b"])
def test_hostile_record_ids_are_404(client, record_id):
    assert client.get(f"/records/{record_id}").status_code == 404
    assert client.get(f"/api/v1/records/{record_id}").status_code == 404


def test_search_form_keeps_filters(client):
    page = _html(client.get("/search?q=vehicles&kind=notification"))
    assert '<input type="hidden" name="kind" value="notification">' in page


def test_counts_json_matches_home(client):
    assert client.get("/api/v1/counts").get_json() == {
        "notification": 5, "hscode": 2, "scheme": 1, "arrangement": 1, "body": 1,
    }


def test_unknown_paths_are_404_html_and_json(client):
    assert "Not found" in _html(client.get("/no/such/page"))
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == 404


def test_server_errors_are_rendered(backend):
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "BACKEND": backend})

    def boom():
        raise RuntimeError("deliberate failure")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    client = app.test_client()
    html = client.get("/boom?lang=zh")
    api = client.get("/api/v1/boom")
    assert html.status_code == api.status_code == 500
    assert "服务器错误" in _html(html) and "deliberate" not in _html(html)
    assert api.get_json()["error"]["code"] == 500


def test_about_the_data_shows_each_sources_last_crawl(client, backend):
    from search.store import RecordStore

    store = RecordStore(backend.path)
    crawl = store.start_crawl("wto_eping")
    store.finish_crawl(crawl, {"publisher": "World Trade Organization", "fetched": 2,
                               "faults": 1, "fault_log": ["page=3: not JSON"]})
    failed = store.start_crawl("hs_nomenclature")
    store.fail_crawl(failed, "no response could be read")
    page = _html(client.get("/about/data"))
    assert "World Trade Organization" in page and "page=3: not JSON" in page
    assert "no response could be read" in page
    items = {c["source"]: c for c in client.get("/api/v1/crawls").get_json()["items"]}
    assert items["wto_eping"]["status"] == "finished" and items["wto_eping"]["failed"] == 1
    assert items["hs_nomenclature"]["status"] == "failed"
    assert "最近一次采集" in _html(client.get("/about/data?lang=zh"))


def test_about_the_data_without_crawls(client):
    assert "No source has been crawled yet." in _html(client.get("/about/data"))
    assert client.get("/api/v1/crawls").get_json() == {"items": []}



# --- the match page over the bundled knowledge base ---------------------------------------------

@pytest.fixture(scope="module")
def curated_client(tmp_path_factory):
    from crawlers.spiders.curated import CuratedSpider
    from tests.replay import replay

    folder = tmp_path_factory.mktemp("curated")
    _spider, items = replay(CuratedSpider)
    backend = SqliteBackend(folder / "index.db")
    backend.rebuild(to_document(load_record(i.pop("kind"), i)) for i in items)
    patch = pytest.MonkeyPatch()
    patch.setenv("MARKETPASS_DB", str(folder / "store.db"))
    patch.setenv("MARKETPASS_TODAY", "2026-07-01")
    yield create_app({"TESTING": True, "BACKEND": backend}).test_client()
    patch.undo()


def test_match_page_shows_the_scheme_history_the_json_carries(curated_client):
    """A scheme the JSON says is replaced (superseded_by, applies_until) says by which one,
    by name and linked to it on the page; section anchors are market codes, not dicts."""
    answer = curated_client.get("/api/v1/match?product=toy+car&market=DE").get_json()
    old = next(r for r in answer["requirements"] if r["superseded_by"])
    new = next(r for r in answer["upcoming"] if r["scheme"]["id"] == old["superseded_by"])
    page = _html(curated_client.get("/match?product=toy+car&market=DE"))
    article = page[page.index(f'id="req-{old["scheme"]["id"]}"'):]
    article = article[:article.index("</header>")]
    assert f'<a href="#req-{new["scheme"]["id"]}" dir="auto">{new["scheme"]["name"]}</a>' in article
    assert "Replaced by" in article and f'id="req-{new["scheme"]["id"]}"' in page
    assert 'id="must-DE"' in page and "{&#39;code&#39;" not in page
