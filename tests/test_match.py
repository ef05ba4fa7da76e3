"""The market-access matcher over the real knowledge base (the curated files, the HS
nomenclature and the bundled notifications, replayed through their spiders into SQLite)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from crawlers.spiders.curated import CuratedSpider
from crawlers.spiders.hs_nomenclature import HsNomenclatureSpider
from crawlers.spiders.wto_eping import WtoEpingSpider
from search.documents import to_document
from search.markets import markets_for
from search.matcher import Knowledge, MatchQuery, classify, load_knowledge, match
from search.query import SearchRequest, Term
from search.records import load_record
from search.sqlite_backend import SqliteBackend
from search.vocabulary import ProductIndex, stem, words
from tests.replay import replay
from webapp import create_app

CASES = Path(__file__).with_name("data") / "match_cases.json"
TODAY = date(2026, 11, 26)
# The day the case table describes (its cases say what applies on that day, or their own).
TODAY_CASES = date(2026, 12, 3)


def _records(spider_class) -> list[dict]:
    _spider, items = replay(spider_class)
    return [load_record(item.pop("kind"), item) for item in items]


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> SqliteBackend:
    records = [r for s in (CuratedSpider, HsNomenclatureSpider, WtoEpingSpider)
               for r in _records(s)]
    backend = SqliteBackend(tmp_path_factory.mktemp("match") / "index.db")
    backend.rebuild(to_document(r) for r in records)
    return backend


@pytest.fixture(scope="module")
def kb(backend) -> Knowledge:
    return load_knowledge(backend)


@pytest.fixture
def client(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_TODAY", TODAY.isoformat())
    return create_app({"TESTING": True, "BACKEND": backend}).test_client()


def _marks(result: dict) -> set[str]:
    return {r["scheme"]["mark"] or "" for r in result["requirements"]} | {
        r["scheme"]["name"] for r in result["requirements"]}


def _has_mark(result: dict, expected: list[str]) -> bool:
    """A case passes when an expected mark is among the marks or names (marks are written
    with detail, e.g. "PSE (diamond)" or "KC (with R- identification number)")."""
    found = _marks(result)
    return any(e.casefold() in f.casefold() for e in expected for f in found)


# --- the vocabulary ----------------------------------------------------------------------------

@pytest.mark.parametrize("word, stemmed", [("batteries", "battery"), ("chargers", "charger"),
                                           ("cargadores", "cargador"), ("switches", "switch"),
                                           ("glass", "glass"), ("устройства", "устройств")])
def test_stem(word, stemmed):
    assert stem(word) == stemmed


def test_words_drop_stopwords_and_split_cjk():
    assert words("Cargador USB para teléfono") == ["cargador", "usb", "telefono"]
    assert words("手机充电器") == ["手机", "机充", "充电", "电器"]


@pytest.mark.parametrize("text, product", [
    ("USB mobile phone charger", "product-charger"),      # the head word decides
    ("mobile phone", "product-mobile-phone"),
    ("cargador USB para teléfono móvil", "product-charger"),
    ("зарядные устройства", "product-charger"),            # plural, Russian
    ("手机充电器", "product-charger"),
    ("refrigirator", "product-refrigerator"),               # a typo
    ("LED bulbs", "product-led-lamp"),                      # plural of a synonym
    ("router wifi", "product-router"),                      # word order
    ("charger for mobile phones", "product-charger"),       # what it is for is not what it is
    ("battery for laptop", "product-lithium-ion-battery"),
    ("кабель для зарядки", "product-power-cord"),
    ("Juego de bloques de construcción de plástico", "product-toy"),  # a set of what follows
    ("مجموعة مكعبات بناء بلاستيكية", "product-toy"),
    ("set of 6 kitchen knives", "product-kitchen-knife"),
    ("Portátil de 15,6 pulgadas", "product-laptop"),
    ("モバイルバッテリー 10000mAh", "product-power-bank"),  # Japanese names too
    ("万能电视遥控器,CR2032纽扣电池", "product-remote-control"),
])
def test_products_found_in_any_words(kb, text, product):
    assert kb.index.find(text)[0].product["id"] == product


@pytest.mark.parametrize("text", [
    "electrical", "electric", "eléctrico", "eléctrica", "électrique", "elektrisch",
    "electrical equipment", "électrique 230 V",
])
def test_a_word_that_only_qualifies_names_no_product(kb, text):
    """"Electric" is in the names of many products without being what any of them is:
    half of "cafetera eléctrica" or "chainsaw (electric)" is not a coffee maker or a saw."""
    assert [f.name for f in kb.index.find(text)] == []


@pytest.mark.parametrize("text, not_product", [
    ("adult city bicycle, non-electric", "product-e-bike"),
    ("kids kick scooter, non-electric", "product-e-scooter"),
    ("velo de ville sans assistance électrique", "product-e-bike"),
])
def test_a_name_whose_word_the_text_negates_is_not_the_product(backend, kb, text, not_product):
    found = match(backend, kb, MatchQuery(product=text, market="KR"), TODAY_CASES)
    assert not_product not in [p["id"] for p in found["products"]]


def test_misspellings_are_found_as_by_comparing_with_every_word(kb):
    """The deletion index finds exactly the words a comparison with the whole vocabulary
    would: one or two wrong, missing or extra letters."""
    from search.vocabulary import _near

    index = kb.index
    known = sorted(w for w in index.known if len(w) >= 5)[::7]
    variants = {v for w in known for v in (w[1:], w[:2] + "x" + w[3:], w[:3] + "q" + w[3:],
                                           w[:-2], w[:1] + "zz" + w[1:], w[::-1])}
    assert len(variants) > 500
    for word in sorted(variants):
        assert index._near_words(word) == frozenset(k for k in index.known if _near(word, k)), word


def test_nothing_found_for_words_no_product_has(kb):
    assert kb.index.find("quantum flux capacitor") == []


def test_index_from_plain_records():
    index = ProductIndex([{"id": "p", "group": "toys", "names": {"en": ["toy"]},
                           "hs_codes": ["950300"]}])
    assert [f.product["id"] for f in index.find("toys for children")] == ["p"]


# --- classification ----------------------------------------------------------------------------

def test_given_code_comes_first_and_headings_are_varied(kb):
    found = kb.index.find("USB charger")
    candidates = classify(found, "851713", [("850440", 9.0), ("850450", 8.0), ("850410", 7.0)],
                          [])
    assert candidates[0].code == "851713"
    assert sum(1 for c in candidates if c.code.startswith("8504")) <= 2


def test_hs_only_query_uses_the_products_under_the_code(backend, kb):
    result = match(backend, kb, MatchQuery(hs="851713", market="JP"), TODAY)
    assert result["hs_candidates"][0]["code"] == "851713"
    assert _has_mark(result, ["Giteki"])


# --- requirements, unions, routes --------------------------------------------------------------

def test_machinery_by_its_hs_heading_even_without_a_product_name(backend, kb):
    lathe = match(backend, kb, MatchQuery(hs="845811", market="DE"), TODAY)
    groups = {g for r in lathe["requirements"] for g in r["product_groups"]}
    assert "machinery" in groups
    laptop = match(backend, kb, MatchQuery(hs="847130", market="DE"), TODAY)
    assert "machinery" not in {g for r in laptop["requirements"] for g in r["product_groups"]}


def test_union_members_get_the_unions_schemes(backend, kb):
    de = match(backend, kb, MatchQuery(product="hair dryer", market="DE"), TODAY)
    # The EU's acts, and Germany's own beside them (the ElektroG registration).
    assert {r["scheme"]["market"] for r in de["requirements"]} == {"EU", "DE"}
    assert all(r["inherited_from"] == ("EU" if r["scheme"]["market"] == "EU" else None)
               for r in de["requirements"])
    kw = match(backend, kb, MatchQuery(product="toy", market="KW"), TODAY)
    assert "GCC" in {r["scheme"]["market"] for r in kw["requirements"]}
    kz = match(backend, kb, MatchQuery(product="electric kettle", market="KZ"), TODAY)
    assert _has_mark(kz, ["EAC"])


def test_none_statements_are_never_requirements(backend, kb):
    nones = {s["id"] for s in kb.schemes if s.get("mandatory") == "none"}
    assert nones
    for product, market in (("Wi-Fi router", "GCC"), ("industrial machine", "GCC")):
        result = match(backend, kb, MatchQuery(product=product, market=market), TODAY)
        assert not nones & {r["scheme"]["id"] for r in result["requirements"]}


def test_each_requirement_says_why_and_cites(backend, kb):
    result = match(backend, kb, MatchQuery(product="USB charger", market="KR", origin="CN"),
                   TODAY)
    assert result["requirements"]
    for req in result["requirements"]:
        assert req["why"] and all(w["by"] in ("hs", "category", "keyword", "class")
                                  for w in req["why"])
        assert req["sources"] and all(s["url"].startswith("http") for s in req["sources"])
        scheme = next(s for s in kb.schemes if s["id"] == req["scheme"]["id"])
        assert req["verified"] == bool(scheme.get("verified"))
    types = [r["scheme"]["type"] for r in result["requirements"]]
    assert types == sorted(types, key=lambda t: {"mandatory": 0, "unknown": 1}.get(t, 2))


def test_cb_route_lists_bodies_in_the_origin(backend, kb):
    result = match(backend, kb, MatchQuery(product="USB charger", market="KR", origin="CN"),
                   TODAY)
    cb = next(r for r in result["recognition_routes"] if r["arrangement"]["id"] == "iecee-cb")
    accepting = {r["scheme"]["id"] for r in result["requirements"]
                 if r["cb_accepted"] in ("yes", "partly")}
    assert set(cb["schemes"]) <= accepting and cb["schemes"]
    # The charger's category is OFF: bodies whose known categories lack it cannot issue its
    # CB test certificate; bodies whose categories no source gives stay, and say so.
    expected = {b["id"] for b in kb.bodies
                if b["country"] == "CN" and "iecee-cb" in b.get("arrangements", [])
                and ("OFF" in b.get("categories", [])
                     or not set(b.get("categories", [])) - {"unknown"})}
    assert {b["id"] for b in cb["bodies_in_origin"]} == expected and expected
    assert all(b["categories_known"] == ("OFF" in b["categories"])
               for b in cb["bodies_in_origin"])


def test_no_route_without_an_origin_or_inside_one_market(backend, kb):
    assert match(backend, kb, MatchQuery(product="USB charger", market="KR"),
                 TODAY)["recognition_routes"] == []
    same = match(backend, kb, MatchQuery(product="USB charger", market="DE", origin="FR"), TODAY)
    assert same["recognition_routes"] == []


# --- the web and its errors --------------------------------------------------------------------

@pytest.mark.parametrize("query, status", [
    ("market=KR", 400), ("product=charger", 400), ("product=charger&market=Atlantis", 400),
    ("hs=85ab&market=KR", 400), ("product=charger&market=KR&origin=ZZZ", 400),
    ("product=" + "x" * 300 + "&market=KR", 400),
])
def test_bad_questions_are_a_clear_400(client, query, status):
    response = client.get(f"/api/v1/match?{query}")
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    zh = client.get(f"/api/v1/match?{query}&lang=zh").get_json()["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert client.get(f"/match?{query}").status_code == status


def test_a_product_that_matches_nothing_is_an_honest_empty_answer(client):
    response = client.get("/api/v1/match?product=quantum+flux+capacitor&market=KR")
    assert response.status_code == 200
    body = response.get_json()
    assert body["requirements"] == [] and body["market"] == {
        "code": "KR", "name": "South Korea", "covered_as": ["KR"]}
    page = client.get("/match?product=quantum+flux+capacitor&market=KR").get_data(as_text=True)
    assert "No scheme in our knowledge base" in page


def test_json_contract_and_page_agree(client):
    body = client.get("/api/v1/match?product=USB+charger&market=KR&origin=CN").get_json()
    assert set(body) >= {"query", "hs_candidates", "market", "requirements",
                         "recognition_routes", "notifications"}
    assert set(body["hs_candidates"][0]) >= {"code", "label", "score"}
    req = body["requirements"][0]
    assert set(req) >= {"scheme", "why", "cb_accepted", "accepts", "in_country_testing",
                        "local_representative", "validity", "lead_time", "verified", "sources"}
    assert set(req["scheme"]) >= {"id", "name", "mark", "authority", "type", "route"}
    route = body["recognition_routes"][0]
    assert set(route) >= {"arrangement", "effect", "bodies_in_origin"}
    page = client.get("/match?product=USB+charger&market=KR&origin=CN").get_data(as_text=True)
    for r in body["requirements"]:
        assert f'href="/records/{r["scheme"]["id"]}"' in page
    assert "mandatory requirements in South Korea" in page


def test_what_is_changing_lists_notifications_of_the_market(client, backend):
    # Among the bundled notifications, Gulf road-vehicle rules carry HS 8703.
    body = client.get("/api/v1/match?hs=870323&market=SA").get_json()
    found, page = [], 1
    while hits := backend.search(SearchRequest(filters=(Term("kind", ("notification",)),),
                                               per_page=200, page=page)).hits:
        found, page = found + hits, page + 1
    expected = {h.record["symbol"] for h in found
                if any(c.startswith("8703") for c in h.record["hs_codes"])
                and {h.record["member"], *markets_for(h.record["member"])} & {"SA", "GCC"}}
    assert expected and {n["symbol"] for n in body["notifications"]} >= expected
    other = client.get("/api/v1/match?hs=870323&market=JP").get_json()
    assert not {n["symbol"] for n in other["notifications"]} & expected


# --- the table of real cases -------------------------------------------------------------------
# tests/data/match_cases.json: product × market cases written from compliance sources, each
# with every mandatory requirement that applies ("must", each a list of aliases: act number,
# acronym, mark) and traps that do not ("must_not"), some phrased in five more languages.

LANGUAGES = ("en", "zh", "ru", "es", "fr", "ar")
TRAP_CLASSES = ("negation", "scope_limit", "product_list", "specific_over_general", "dates",
                "missing_family")


def _cases() -> list[dict]:
    return json.loads(CASES.read_text(encoding="utf-8"))["cases"]


def _texts(req: dict) -> list[str]:
    """What an alias may name in a requirement: its name, mark, id, legal basis and the
    identifiers of its acts (not their long titles, which name the acts they repeal)."""
    scheme = req["scheme"]
    return [t.casefold() for t in (scheme["name"], scheme.get("mark") or "", scheme["id"],
                                   *req["legal_basis"],
                                   *(r["identifier"] for r in req["regulations"]))]


def _named(reqs: list[dict], aliases: list[str]) -> bool:
    texts = [t for r in reqs for t in _texts(r)]
    return any(a.casefold() in t for a in aliases for t in texts)


def _question(case: dict, language: str) -> MatchQuery | None:
    product = case.get("product") if language == "en" else case.get(f"product_{language}")
    if language != "en" and not product:
        return None
    params = case.get("params") or {}
    stated = _stated_from(params)
    on = date.fromisoformat(case["date"]) if case.get("date") else None
    return MatchQuery(product=product or "", hs=case.get("hs"), market=case["market"],
                      origin=case.get("origin"), on=on, stated=stated)


def _stated_from(params: dict):

    from webapp.params import MatchArgs, _stated
    data = MatchArgs().load({"market": ["EU"], "hs": "85", **{
        k: ([v] if k == "power" else v) for k, v in params.items()}})
    return _stated(data)


def _score(backend, kb, language: str) -> dict:
    """Share of "must" requirements found (applying or conditional), share of cases with no
    trap among them, and what failed."""
    must = found = cases = clean = 0
    failed = []
    for case in _cases():
        question = _question(case, language)
        if question is None:
            continue
        result = match(backend, kb, question, TODAY_CASES)
        reqs = result["requirements"]
        missing = [a[0] for a in case["must"] if not _named(reqs, a)]
        traps = [a[0] for a in case.get("must_not", []) if _named(reqs, a)]
        must += len(case["must"])
        found += len(case["must"]) - len(missing)
        cases += 1
        clean += not traps
        if missing or traps:
            failed.append(f"{case['id']}: missing {missing} traps {traps}")
    return {"must": found / must, "clean": clean / cases, "cases": cases, "failed": failed}


def test_case_table_is_broad_adversarial_and_cited():
    cases = _cases()
    assert len(cases) >= 150
    assert len({c["market"] for c in cases}) >= 40
    with_traps = [c for c in cases if c.get("must_not")]
    assert len(with_traps) >= 80
    assert {t for c in with_traps for t in c.get("traps", [])} >= set(TRAP_CLASSES)
    for language in LANGUAGES[1:]:
        assert sum(1 for c in cases if c.get(f"product_{language}")) >= 20, language
    assert all(c["must"] and all(isinstance(a, list) and a for a in c["must"]) for c in cases)
    assert all(c["sources"] and all(s["url"].startswith("http") for s in c["sources"])
               for c in cases)


@pytest.mark.parametrize("language", LANGUAGES)
def test_real_cases_meet_the_bar(backend, kb, language):
    score = _score(backend, kb, language)
    assert score["cases"] >= 20
    assert score["must"] >= 0.9 and score["clean"] >= 0.95, score


def test_what_is_changing_puts_open_notifications_first(backend, kb):
    # Saudi notifications with HS codes in chapter 87: vehicles 1129 (deadline 2020-03-31),
    # 1225 (2022-01-08) and 1079 (2018-09-18), and tanks for gas transport 1223 (HS 8716, no
    # deadline given). On 1 February 2020 the first two are open.
    result = match(backend, kb, MatchQuery(hs="87", market="SA"), date(2020, 2, 1))
    assert [n["symbol"] for n in result["notifications"]] == [
        "G/TBT/N/SAU/1129", "G/TBT/N/SAU/1225", "G/TBT/N/SAU/1223", "G/TBT/N/SAU/1079"]
    assert [n["open"] for n in result["notifications"]] == [True, True, False, False]


@pytest.fixture(scope="module")
def records_for_es(backend) -> list[dict]:
    found, page = [], 1
    while True:
        result = backend.search(SearchRequest(per_page=200, page=page, highlight=False))
        found += [hit.record for hit in result.hits]
        if page * 200 >= result.total:
            return found
        page += 1


QUESTIONS = [MatchQuery(product="USB phone charger", market="KR", origin="CN"),
             MatchQuery(product="手机充电器", market="DE", origin="CN"),
             MatchQuery(hs="851713", market="JP", origin="US"),
             MatchQuery(product="electric kettle", market="KZ"),
             MatchQuery(hs="870323", market="SA")]


def test_the_same_answers_on_elasticsearch(backend, kb, es_backend, records_for_es):
    es_backend.rebuild(to_document(r) for r in records_for_es)
    es_kb = load_knowledge(es_backend)
    for question in QUESTIONS:
        on_sqlite = match(backend, kb, question, TODAY)
        on_es = match(es_backend, es_kb, question, TODAY)
        assert on_es["hs_candidates"][0]["code"] == on_sqlite["hs_candidates"][0]["code"]
        assert [r["scheme"]["id"] for r in on_es["requirements"]] == [
            r["scheme"]["id"] for r in on_sqlite["requirements"]]
        assert [r["arrangement"]["id"] for r in on_es["recognition_routes"]] == [
            r["arrangement"]["id"] for r in on_sqlite["recognition_routes"]]
        assert {n["symbol"] for n in on_es["notifications"]} == {
            n["symbol"] for n in on_sqlite["notifications"]}


# --- conditional answers and the form's questions ----------------------------------------------

def test_an_unknown_voltage_makes_voltage_bound_requirements_conditional(client):
    """A kettle without a voltage: the acts limited to a voltage range (the LVD) are listed as
    conditional with the question; the form's answers power=mains&voltage=230 settle them."""
    asked = client.get("/api/v1/match?product=kettle&market=EU").get_json()
    pending = [r for r in asked["requirements"] if r["status"] == "conditional"]
    assert pending and all(set(r["if"]) & {"voltage_ac", "voltage_dc", "power"} for r in pending)
    assert {"voltage_ac", "voltage_dc"} & set(asked["questions"])
    answered = client.get("/api/v1/match?product=kettle&market=EU&power=mains&voltage=230"
                          ).get_json()
    assert not [r for r in answered["requirements"] if r["status"] == "conditional"]
    applying = {r["scheme"]["id"] for r in answered["requirements"]}
    assert {r["scheme"]["id"] for r in pending} <= applying
    assert answered["attributes"]["voltage_ac"] == [230, 230]
    page = client.get("/match?product=kettle&market=EU").get_data(as_text=True)
    assert "Applies only if:" in page and 'class="question asked"' in page


def test_a_low_dc_voltage_takes_the_product_out_of_voltage_bound_acts(client):
    dc = client.get("/api/v1/match?product=power+bank+5-20+V+DC&market=EU").get_json()
    out = {n["scheme"]["id"] for n in dc["not_applying"]}
    lvd = [s for s in out if "lvd" in s]
    assert lvd and not [r for r in dc["requirements"] if r["scheme"]["id"] in lvd]


def test_radio_negated_in_any_language_removes_radio_approvals(client):
    for text in ("speaker, no Bluetooth, no Wi-Fi", "无蓝牙无WiFi的音箱", "колонка без Bluetooth",
                 "altavoz sin Bluetooth", "enceinte sans Bluetooth", "مكبر صوت بدون بلوتوث"):
        body = client.get(f"/api/v1/match?product={text}&market=EU").get_json()
        assert body["attributes"]["radio"] is False, text
        groups = {g for r in body["requirements"] for g in r["product_groups"]}
        assert "radio_telecom" not in groups, text


def test_several_markets_give_a_table(client):
    body = client.get("/api/v1/match?product=Wi-Fi+router&market=EU&market=SA&market=IN"
                      ).get_json()
    assert [m["market"] for m in body["markets"]] == ["EU", "SA", "IN"]
    assert all(m["requirements"] for m in body["markets"])
    page = client.get("/match?product=Wi-Fi+router&market=EU&market=SA").get_data(as_text=True)
    assert 'id="market-EU"' in page and 'id="market-SA"' in page and "Markets compared" in page


def test_the_day_asked_decides_what_applies(client):
    today = client.get("/api/v1/match?hs=845811&market=DE").get_json()
    later = client.get("/api/v1/match?hs=845811&market=DE&date=2027-03-01").get_json()
    upcoming = {r["scheme"]["id"] for r in today["upcoming"]}
    assert upcoming and upcoming <= {r["scheme"]["id"] for r in later["requirements"]}
    assert later["date"] == "2027-03-01"


@pytest.mark.parametrize("query", ["product=kettle&market=EU&voltage=lots",
                                   "product=kettle&market=EU&power=nuclear",
                                   "product=kettle&market=EU&radio=maybe",
                                   "product=kettle&market=EU&date=2027-13-01",
                                   "product=kettle" + "&market=EU" * 9])
def test_bad_answers_are_a_clear_400(client, query):
    response = client.get(f"/api/v1/match?{query}")
    assert response.status_code == 400 and response.get_json()["error"]["message"]


@pytest.mark.parametrize("query, kept", [
    ("product=wireless+kettle&hs=", "wireless kettle"),               # no market
    ("product=kettle&market=ZZ", "kettle"),                          # unknown market
    ("product=toaster&market=DE&voltage=lots", "toaster"),          # bad answer
])
def test_a_form_mistake_keeps_what_was_typed(client, query, kept):
    response = client.get(f"/match?{query}&lang=fr")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'role="alert"' in html and f'value="{kept}"' in html
    assert '<form class="filter-form match-form"' in html


@pytest.mark.parametrize("record_id", ["sa-saso-iecee-recognition", "iecee-cb", "eu-ce-red"])
def test_links_to_other_records_show_their_names_not_their_ids(client, record_id):
    import re

    html = client.get(f"/records/{record_id}?lang=zh").get_data(as_text=True)
    links = re.findall(r'<a href="/records/([^"]+)">([^<]+)</a>', html)
    assert links
    for target, text in links:
        assert text.strip() != target, f"{target} shown by its id"
