"""The notification tracker as an officer uses it: list, detail and lifecycle, deadlines with an
internal cut-off, feeds and exports that list what the page lists, and clear 400s."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from urllib.parse import quote

import feedparser
import icalendar
import openpyxl
import pytest

from search.documents import to_document
from search.normalise import parse_symbol
from search.notifications import NotificationQuery, lifecycle, search_request
from search.records import load_record
from webapp import create_app
from webapp.exports import safe
from webapp.feeds import _fold

TODAY = "2026-03-01"
EPING = {"source": "wto_eping", "source_url": "https://epingalert.org/en/Search?viewData=x",
         "fetched_at": "2026-02-20T00:00:00+00:00"}
ATOM = "{http://www.w3.org/2005/Atom}"


def _n(symbol: str, **fields) -> dict:
    return load_record("notification", {**EPING, "symbol": symbol, **fields})


RECORDS = [
    # A measure with its whole lifecycle: the base, an addendum extending the comment period,
    # a corrigendum, a revision and an addendum on adoption.
    _n("G/TBT/N/EU/1033", title="Batteries: labelling and battery passport",
       description="Draft delegated act on the labelling of lithium-ion batteries.",
       products="Lithium-ion accumulators", hs_codes=["850760"], ics_codes=["29.220.20"],
       objectives=["Protection of the environment"], distribution_date="2026-01-10",
       comment_deadline="2026-03-11", agency="European Commission"),
    _n("G/TBT/N/EU/1033/Add.1", description="The comment period is extended.",
       distribution_date="2026-02-15", comment_deadline="2026-04-10",
       addendum_reasons=[{"reason": "comment_period_changed", "date": "2026-04-10",
                          "text": "Comment period changed - date: 10 April 2026"}]),
    _n("G/TBT/N/EU/1033/Add.1/Corr.1", description="The date in Add.1 is corrected.",
       distribution_date="2026-02-16"),
    _n("G/TBT/N/EU/1033/Rev.1", title="Batteries: labelling and battery passport (revised)",
       hs_codes=["850760", "850650"], distribution_date="2026-02-20",
       comment_deadline="2026-04-21"),
    _n("G/TBT/N/EU/1033/Rev.1/Add.1", distribution_date="2026-02-25",
       addendum_reasons=[{"reason": "adopted", "date": "2026-02-24", "text": "adopted"},
                         {"reason": "entry_into_force", "date": "2026-08-18", "text": "in force"}]),
    # Others, to filter between.
    _n("G/TBT/N/CHN/1850", title="Lithium-ion batteries for electric bicycles: safety",
       products="Lithium-ion batteries", hs_codes=["850760"], distribution_date="2026-02-05",
       comment_deadline="2026-04-06", objectives=["Protection of human health or safety"]),
    _n("G/TBT/N/CHN/1851", title="Toys: safety of electric toys", hs_codes=["950300"],
       distribution_date="2026-02-11", comment_deadline="2026-03-05"),
    _n("G/TBT/N/USA/2001", title="=HYPERLINK(\"http://evil.example\",\"click\") chargers",
       description="+1 power supplies; -2 @SUM(A1)", hs_codes=["850440"],
       distribution_date="2025-12-01", comment_deadline="2026-01-30"),
    _n("G/SPS/N/USA/3500", title="Pesticide residues: lithium compounds", area="SPS",
       distribution_date="2026-02-02", comment_deadline="2026-04-03"),
    # A joint notification stored under one of its symbols only.
    _n("G/TBT/N/KEN/1500", title="Lithium-ion batteries for solar home systems",
       hs_codes=["850760"], distribution_date="2026-02-12", comment_deadline="2026-04-13",
       joint_symbols=["G/TBT/N/UGA/2000", "G/TBT/N/TZA/1100"]),
]


@pytest.fixture
def app(backend, tmp_path, monkeypatch):
    """The app over each real backend (SQLite and Elasticsearch) holding the records."""
    monkeypatch.setenv("MARKETPASS_TODAY", TODAY)
    monkeypatch.setenv("MARKETPASS_BUFFER_DAYS", "5")
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    backend.upsert([to_document(r) for r in RECORDS])
    return create_app({"TESTING": True, "BACKEND": backend})


@pytest.fixture
def client(app):
    return app.test_client()


def _api(client, query: str = "", **kwargs) -> dict:
    response = client.get(f"/api/v1/notifications?{query}", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _symbols(payload: dict) -> list[str]:
    return [item["symbol"] for item in payload["items"]]


# --- symbols --------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling, canonical", [
    ("G/TBT/N/EU/1033", "G/TBT/N/EU/1033"),
    ("g/tbt/n/eu/1033/add.1", "G/TBT/N/EU/1033/Add.1"),
    (" G/TBT/N/EU/1033 /Add.1 ", "G/TBT/N/EU/1033/Add.1"),
    ("g/tbt/n/eu/1033/add.1/corr.1", "G/TBT/N/EU/1033/Add.1/Corr.1"),
    ("G/TBT/N/UGA/2000", "G/TBT/N/KEN/1500"),  # joint: found under each member's symbol
    ("g/tbt/n/tza/1100", "G/TBT/N/KEN/1500"),
])
def test_symbol_lookup_is_exact_in_every_spelling(client, spelling, canonical):
    api = client.get(f"/api/v1/notifications/{quote(spelling)}")
    assert api.status_code == 200
    assert api.get_json()["symbol"] == canonical
    page = client.get(f"/notifications/{quote(spelling)}", follow_redirects=True)
    assert page.status_code == 200
    assert page.request.path == f"/notifications/{canonical}"
    assert canonical in page.get_data(as_text=True)


def test_lookup_box_and_unknown_symbol(client):
    found = client.get("/notifications/lookup?symbol=g/tbt/n/chn/1850")
    assert found.status_code == 302 and found.location.endswith("/notifications/G/TBT/N/CHN/1850")
    words = client.get("/notifications/lookup?symbol=batteries")
    assert words.status_code == 302 and "q=batteries" in words.location
    missing = client.get("/api/v1/notifications/G/TBT/N/EU/9999")
    assert missing.status_code == 404
    assert "G/TBT/N/EU/9999" in missing.get_json()["error"]["message"]


def test_joint_notification_lists_its_partners(client):
    detail = client.get("/api/v1/notifications/G/TBT/N/KEN/1500").get_json()
    assert [j["symbol"] for j in detail["joint"]] == ["G/TBT/N/UGA/2000", "G/TBT/N/TZA/1100"]
    assert [j["member"]["code"] for j in detail["joint"]] == ["UG", "TZ"]


# --- lifecycle and deadlines ------------------------------------------------------------------

def test_lifecycle_in_order_with_what_changed(client):
    detail = client.get("/api/v1/notifications/G/TBT/N/EU/1033/Rev.1").get_json()
    steps = detail["lifecycle"]
    assert [s["symbol"] for s in steps] == [
        "G/TBT/N/EU/1033", "G/TBT/N/EU/1033/Add.1", "G/TBT/N/EU/1033/Add.1/Corr.1",
        "G/TBT/N/EU/1033/Rev.1", "G/TBT/N/EU/1033/Rev.1/Add.1"]
    changes = {s["symbol"]: {(c["what"], c["date"]) for c in s["changes"]} for s in steps}
    assert changes["G/TBT/N/EU/1033"] == set()
    assert ("comment_period", "2026-04-10") in changes["G/TBT/N/EU/1033/Add.1"]
    assert ("correction", None) in changes["G/TBT/N/EU/1033/Add.1/Corr.1"]
    assert {("replaces", None), ("comment_period", "2026-04-21"), ("scope", None)} \
        <= changes["G/TBT/N/EU/1033/Rev.1"]
    assert {("adoption", "2026-02-24"), ("entry_into_force", "2026-08-18")} \
        <= changes["G/TBT/N/EU/1033/Rev.1/Add.1"]
    page = client.get("/notifications/G/TBT/N/EU/1033/Rev.1").get_data(as_text=True)
    assert page.index("G/TBT/N/EU/1033/Add.1/Corr.1") < page.index("Replaces the earlier text")
    assert "Entry into force" in page


def test_deadlines_count_from_the_configured_today_with_a_buffer(client):
    detail = client.get("/api/v1/notifications/G/TBT/N/CHN/1851").get_json()
    assert detail["today"] == TODAY
    assert (detail["comment_deadline"], detail["days_left"]) == ("2026-03-05", 4)
    assert (detail["internal_deadline"], detail["internal_days_left"]) == ("2026-02-28", -1)
    wider = client.get("/api/v1/notifications/G/TBT/N/CHN/1851?buffer_days=2").get_json()
    assert (wider["internal_deadline"], wider["internal_days_left"]) == ("2026-03-03", 2)
    page = client.get("/notifications/G/TBT/N/CHN/1851").get_data(as_text=True)
    assert "4 days left" in page and "Internal cut-off" in page


def test_open_filter_and_deadline_order(client):
    found = _api(client, "open=1&sort=deadline&per_page=50")
    deadlines = [i["comment_deadline"] for i in found["items"]]
    assert deadlines == sorted(deadlines) and min(deadlines) >= TODAY
    expected = sorted(r["symbol"] for r in RECORDS
                      if (r["comment_deadline"] or "") >= TODAY)
    assert sorted(_symbols(found)) == expected
    assert all(i["open"] and i["days_left"] >= 0 for i in found["items"])


def test_newest_first_by_default_and_relevance_with_words(client):
    dates = [i["distribution_date"] for i in _api(client, "per_page=50")["items"]]
    assert dates == sorted(dates, reverse=True)
    assert _api(client, "q=lithium-ion+batteries")["sort"] == "relevance"


# --- filters, facets and the same list everywhere ---------------------------------------------

def test_filters_each_narrow_as_asked(client):
    assert set(_symbols(_api(client, "member=CN"))) == {"G/TBT/N/CHN/1850", "G/TBT/N/CHN/1851"}
    assert set(_symbols(_api(client, "area=sps"))) == {"G/SPS/N/USA/3500"}
    assert set(_symbols(_api(client, "hs=8507&type=regular"))) == {
        "G/TBT/N/EU/1033", "G/TBT/N/CHN/1850", "G/TBT/N/KEN/1500"}
    assert set(_symbols(_api(client, "ics=29.220"))) == {"G/TBT/N/EU/1033"}
    assert set(_symbols(_api(client, "from=2026-02-15&to=2026-02-16"))) == {
        "G/TBT/N/EU/1033/Add.1", "G/TBT/N/EU/1033/Add.1/Corr.1"}
    objective = quote("Protection of human health or safety")
    assert _symbols(_api(client, f"objective={objective}")) == ["G/TBT/N/CHN/1850"]
    assert set(_symbols(_api(client, "type=addendum&type=corrigendum"))) == {
        "G/TBT/N/EU/1033/Add.1", "G/TBT/N/EU/1033/Add.1/Corr.1", "G/TBT/N/EU/1033/Rev.1/Add.1"}


def test_facet_counts_are_exact(client):
    found = _api(client, "hs=85")
    counts = {f["value"]: f["count"] for f in found["facets"]["member"]}
    expected: dict[str, int] = {}
    for r in RECORDS:
        if any(code.startswith("85") for code in r["hs_codes"]):
            # A joint notification counts for each of its members.
            for member in {r["member"], *(parse_symbol(s).member for s in r["joint_symbols"])}:
                expected[member] = expected.get(member, 0) + 1
    assert counts == expected
    sections = {f["value"]: f for f in found["facets"]["hs"]}
    assert sections["XVI"]["filter"] == ["84", "85"]


QUERIES = [
    "q=lithium&member=EU&hs=8507&type=regular&type=revision",
    "q=batteries&hs=850760",
    "member=CN&member=KE&type=regular&q=lithium",
]


def _atom_symbols(body: bytes) -> tuple[set[str], set[str]]:
    feed = ET.fromstring(body)
    listed, followups = set(), set()
    for entry in feed.iter(f"{ATOM}entry"):
        symbol = entry.find(f"{ATOM}title").text.split(":")[0]
        terms = {c.get("term") for c in entry.iter(f"{ATOM}category")}
        (followups if "follow-up" in terms else listed).add(symbol)
    return listed, followups


def _page_symbols(html: str) -> set[str]:
    return set(re.findall(r'<span class="symbol">([^<]+)</span>', html))


@pytest.mark.parametrize("query", QUERIES)
def test_page_api_feeds_and_exports_list_the_same(client, query):
    api = _api(client, query)
    expected = set(_symbols(api))
    assert expected and api["total"] == len(expected)
    assert _page_symbols(client.get(f"/notifications?{query}").get_data(as_text=True)) == expected
    listed, _followups = _atom_symbols(client.get(f"/notifications/feed.atom?{query}").data)
    assert listed == expected
    ics = client.get(f"/notifications/deadlines.ics?{query}").data
    calendar = icalendar.Calendar.from_ical(ics)
    deadlines = {str(e["SUMMARY"]).split(": ", 1)[1] for e in calendar.walk("VEVENT")
                 if str(e["UID"]).endswith("-deadline@localhost")}
    assert deadlines == {i["symbol"] for i in api["items"] if i["comment_deadline"]}
    rows = list(csv.reader(io.StringIO(client.get(f"/notifications/export.csv?{query}")
                                       .data.decode("utf-8-sig"))))
    assert {row[0] for row in rows[1:]} == expected
    xlsx = client.get(f"/notifications/export.xlsx?{query}").data
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    sheet = book.worksheets[0]
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == expected


# --- feeds -----------------------------------------------------------------------------------

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def test_atom_feed_is_well_formed_rfc4287(client):
    response = client.get("/notifications/feed.atom?q=batteries")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):  # atom:feed MUST contain exactly one of each
        assert len(feed.findall(f"{ATOM}{name}")) == 1
    assert _RFC3339.fullmatch(feed.find(f"{ATOM}updated").text)
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("feed.atom?q=batteries")
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1
        assert _RFC3339.fullmatch(entry.find(f"{ATOM}updated").text)
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo and parsed.version == "atom10"
    assert len(parsed.entries) == len(entries)


def test_feed_carries_new_changes_to_the_measures_it_lists(client):
    # The addenda of EU/1033 say nothing of batteries, yet whoever follows it sees them.
    listed, followups = _atom_symbols(client.get("/notifications/feed.atom?q=passport").data)
    assert listed == {"G/TBT/N/EU/1033", "G/TBT/N/EU/1033/Rev.1"}
    assert followups == {"G/TBT/N/EU/1033/Add.1", "G/TBT/N/EU/1033/Add.1/Corr.1",
                         "G/TBT/N/EU/1033/Rev.1/Add.1"}


def test_feed_id_is_the_same_for_the_same_search(client):
    one = ET.fromstring(client.get("/notifications/feed.atom?member=CN&hs=85").data)
    two = ET.fromstring(client.get("/notifications/feed.atom?hs=85&member=CN&lang=zh").data)
    other = ET.fromstring(client.get("/notifications/feed.atom?member=EU").data)
    assert one.find(f"{ATOM}id").text == two.find(f"{ATOM}id").text
    assert one.find(f"{ATOM}id").text != other.find(f"{ATOM}id").text


def test_calendar_has_deadlines_and_internal_cut_offs(client):
    body = client.get("/notifications/deadlines.ics?member=CN&buffer_days=7").data
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    days = {(str(e["UID"]).split("@")[0], e["DTSTART"].dt) for e in events}
    assert days == {
        ("G-TBT-N-CHN-1850-deadline", date(2026, 4, 6)),
        ("G-TBT-N-CHN-1850-cut-off", date(2026, 3, 30)),
        ("G-TBT-N-CHN-1851-deadline", date(2026, 3, 5)),
        ("G-TBT-N-CHN-1851-cut-off", date(2026, 2, 26)),
    }


def test_fold_never_splits_a_character():
    line = "SUMMARY:" + "锂离子电池" * 30
    folded = _fold(line).encode().split(b"\r\n ")
    assert all(len(part) <= 75 for part in folded)
    assert b"".join(folded).decode() == line


# --- exports ---------------------------------------------------------------------------------

def test_exports_neutralise_formulas(client):
    rows = list(csv.DictReader(io.StringIO(
        client.get("/notifications/export.csv?member=US&area=TBT").data.decode("utf-8-sig"))))
    assert rows[0]["Title"].startswith("'=HYPERLINK")
    assert rows[0]["Description"].startswith("'+1")
    book = openpyxl.load_workbook(io.BytesIO(
        client.get("/notifications/export.xlsx?member=US&area=TBT").data))
    row = next(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert row[10].startswith("'=HYPERLINK") and row[11].startswith("'+1")
    cell = book.worksheets[0]["K2"]
    assert cell.data_type == "s"  # text, not a formula


@pytest.mark.parametrize("value, shown", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("Batteries", "Batteries"), ("a\x00b", "ab"), (None, None),
])
def test_safe_cells(value, shown):
    assert safe(value) == shown


def test_exports_cap_their_rows(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_TODAY", TODAY)
    monkeypatch.setenv("MARKETPASS_EXPORT_MAX_ROWS", "3")
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    backend.upsert([to_document(r) for r in RECORDS])
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    response = client.get("/notifications/export.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 1 + 3
    assert response.headers["X-MarketPass-Truncated"] == "true"
    assert response.headers["X-Total-Count"] == str(len(RECORDS))
    book = openpyxl.load_workbook(io.BytesIO(client.get("/notifications/export.xlsx").data))
    assert book.worksheets[0].max_row == 1 + 3
    about = dict(book.worksheets[1].iter_rows(values_only=True))
    assert about["Rows in this file"] == "3" and "Cut" in about


# --- bad parameters ---------------------------------------------------------------------------

BAD = [
    ("member=XX", "XX"), ("member=Atlantis", "Atlantis"), ("from=2026-02-30", "2026-02-30"),
    ("to=31/01/2026", "31/01/2026"), ("hs=85a7", "85a7"), ("page=-1", "page"),
    ("per_page=1000000", "per page"), ("ics=ab.cd", "ab.cd"), ("type=law", "law"),
    ("sort=oldest", "oldest"), ("open=maybe", "maybe"), ("buffer_days=-3", "cut-off"),
    ("from=2026-03-01&to=2026-01-01", "start date"), ("page=two", "whole number"),
]


@pytest.mark.parametrize("path", ["/api/v1/notifications", "/notifications",
                                  "/notifications/feed.atom", "/notifications/deadlines.ics",
                                  "/notifications/export.csv", "/notifications/export.xlsx",
                                  "/notifications/charts"])
@pytest.mark.parametrize("query, mentioned", BAD)
def test_bad_parameters_are_a_clear_400(client, path, query, mentioned):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert mentioned in text


@pytest.mark.parametrize("query", [q for q, _m in BAD])
def test_bad_parameters_answered_in_the_readers_language(client, query):
    response = client.get(f"/api/v1/notifications?{query}&lang=zh")
    assert response.status_code == 400
    assert re.search(r"[\u4e00-\u9fff]", response.get_json()["error"]["message"])


# --- charts ----------------------------------------------------------------------------------

def test_charts_count_the_whole_search(client):
    data = client.get("/api/v1/notifications/charts?area=TBT").get_json()
    tbt = [r for r in RECORDS if r["area"] == "TBT"]
    months = data["monthly"]["months"]
    assert months == ["2025-12", "2026-01", "2026-02"]
    per_month = [sum(s["counts"][i] for s in data["monthly"]["series"]) for i in range(3)]
    assert per_month == [sum(1 for r in tbt if r["distribution_date"].startswith(m))
                         for m in months]
    eu = next(s for s in data["monthly"]["series"] if s["member"] == "EU")
    assert eu["counts"] == [0, 1, 4]
    sections = {s["section"]: s["count"] for s in data["sections"]}
    assert sections == {"XVI": 5, "XX": 1}
    page = client.get("/notifications/charts?area=TBT").get_data(as_text=True)
    assert page.count("<svg") == 2 and "<title>2026-02: EU: 4</title>" in page


# --- the query functions themselves -----------------------------------------------------------

def test_search_request_is_the_same_for_every_view():
    query = NotificationQuery(q="x", members=("EU",), hs=("85",), open=True, sort="deadline")
    request = search_request(query, date(2026, 3, 1))
    assert request.sort == "deadline"
    names = [f.field for f in request.filters]
    assert names == ["kind", "country", "hs_any", "listed", "deadline"]


def test_lifecycle_orders_by_date_then_document():
    records = [RECORDS[3], RECORDS[1], RECORDS[0], RECORDS[2]]
    assert [s["record"]["symbol"] for s in lifecycle(records)] == [
        "G/TBT/N/EU/1033", "G/TBT/N/EU/1033/Add.1", "G/TBT/N/EU/1033/Add.1/Corr.1",
        "G/TBT/N/EU/1033/Rev.1"]


def test_lifecycle_names_documents_missing_from_the_data(client):
    # Only a revision's addendum is stored: its base and the revision it amends still show.
    detail = client.get("/api/v1/notifications/G/TBT/N/EU/1033/Rev.1/Add.1").get_json()
    assert all(not s["missing"] for s in detail["lifecycle"])
    records = [r for r in RECORDS if r["symbol"] == "G/TBT/N/EU/1033/Rev.1/Add.1"]
    steps = lifecycle(records + [
        {"id": s, "symbol": s, "type": t, "missing": True}
        for s, t in (("G/TBT/N/EU/1033", "regular"), ("G/TBT/N/EU/1033/Rev.1", "revision"))])
    assert [(s["record"]["symbol"], s["changes"]) for s in steps][:2] == [
        ("G/TBT/N/EU/1033", []), ("G/TBT/N/EU/1033/Rev.1", [])]
    assert steps[2]["record"]["symbol"] == "G/TBT/N/EU/1033/Rev.1/Add.1"


def test_revision_page_shows_its_base_even_when_missing(client, backend):
    backend.upsert([to_document(_n("G/TBT/N/JPN/900/Rev.2", title="Electrical appliances",
                                   distribution_date="2026-02-03"))])
    detail = client.get("/api/v1/notifications/G/TBT/N/JPN/900/Rev.2").get_json()
    assert [(s["symbol"], s["missing"]) for s in detail["lifecycle"]] == [
        ("G/TBT/N/JPN/900", True), ("G/TBT/N/JPN/900/Rev.2", False)]
    page = client.get("/notifications/G/TBT/N/JPN/900/Rev.2").get_data(as_text=True)
    assert "Not in MarketPass" in page


def test_a_joint_notification_is_one_row_under_each_member(backend, tmp_path, monkeypatch):
    """Seven Gulf symbols, one measure: one row of the list, found and counted under each
    member, and each symbol still opens it."""
    symbols = ["G/TBT/N/ARE/703", "G/TBT/N/BHR/780", "G/TBT/N/KWT/764"]
    copies = [_n(s, title="GCC technical regulation for vehicles: eCall", hs_codes=["870323"],
                 distribution_date="2026-02-02", comment_deadline="2026-04-03",
                 joint_symbols=[o for o in symbols if o != s]) for s in symbols]
    other = _n("G/TBT/N/BHR/781", title="Vehicles: tyres", distribution_date="2026-02-03")
    monkeypatch.setenv("MARKETPASS_TODAY", TODAY)
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    backend.upsert([to_document(r) for r in [*copies, other]])
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    listing = _api(client, "q=eCall")
    assert listing["total"] == 1
    assert [m["code"] for m in listing["items"][0]["members"]] == ["AE", "BH", "KW"]
    for member in ("AE", "BH", "KW"):
        assert [i["symbol"] for i in _api(client, f"member={member}&q=eCall")["items"]] == \
            ["G/TBT/N/ARE/703"]
    assert _api(client, "member=BH")["total"] == 2
    assert _api(client, "q=vehicles")["total"] == 2  # and 'vehicles' finds what 'vehicle' does
    page = client.get("/notifications?q=eCall").get_data(as_text=True)
    assert page.count("G/TBT/N/ARE/703") >= 1 and "G/TBT/N/BHR/780</span>" not in page
    for symbol in symbols:
        assert client.get(f"/api/v1/notifications/{symbol}").status_code == 200


def test_nothing_open_for_comment_says_so_and_offers_the_latest(client):
    found = _api(client, "member=US&area=TBT&open=1")
    assert found["total"] == 0
    assert [n["symbol"] for n in found["recent_instead"]] == ["G/TBT/N/USA/2001"]
    page = client.get("/notifications?member=US&area=TBT&open=1").get_data(as_text=True)
    assert "open for comment today" in page and "G/TBT/N/USA/2001" in page
    assert "Try fewer words" not in page
    assert _api(client, "member=US&area=TBT")["recent_instead"] == []


@pytest.mark.parametrize("query, title", [
    ("open=1", "MarketPass: Notifications open for comment"),
    ("open=1&member=CN&hs=8507", "MarketPass: Open for comment: China, HS 8507"),
    ("q=batteries&type=addendum", "MarketPass: Notifications: “batteries”, Addendum"),
    ("", "MarketPass: All notifications"),
])
def test_feed_titles_describe_the_search(client, query, title):
    feed = feedparser.parse(client.get(f"/notifications/feed.atom?{query}").data)
    assert feed.feed.title == title


def test_objectives_facet_is_epings_controlled_list(backend, tmp_path, monkeypatch):
    from search.normalise import objective_names

    records = [
        _n("G/TBT/N/CHN/2001", title="Toys", objectives=["保护人类健康和环境"]),
        _n("G/TBT/N/EU/2002", title="Labels", objectives=[
            "Consumer information, labelling (TBT)", "Protection of the environment (TBT)"]),
        _n("G/SPS/N/BRA/2003", title="Pesticides", area="SPS",
           objectives=["Food safety", "控制不可預見的危險(冠狀病毒)"]),
    ]
    monkeypatch.setenv("MARKETPASS_TODAY", TODAY)
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    backend.upsert([to_document(r) for r in records])
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    facet = {f["value"]: f["count"] for f in _api(client)["facets"]["objective"]}
    assert set(facet) <= set(objective_names())
    assert facet == {"Protection of the environment": 2, "Protection of human health or safety": 1,
                     "Consumer information, labelling": 1, "Food safety": 1}
    # The objective as a record writes it asks for its listed name; labels are translated.
    assert sorted(_symbols(_api(client, "objective=Protection of the environment (TBT)"))) == [
        "G/TBT/N/CHN/2001", "G/TBT/N/EU/2002"]
    fr = client.get("/api/v1/notifications?lang=fr").get_json()["facets"]["objective"]
    assert all(f["label"] != f["value"] for f in fr)
    # Free text naming no listed objective stays on the record.
    record = client.get("/api/v1/notifications/G/SPS/N/BRA/2003").get_json()["record"]
    assert "控制不可預見的危險(冠狀病毒)" in record["objectives"]


def test_detail_page_explains_only_what_applies(client):
    no_deadline = client.get("/notifications/G/TBT/N/EU/1033/Add.1/Corr.1").get_data(as_text=True)
    assert "internal cut-off is" not in no_deadline
    with_deadline = client.get("/notifications/G/TBT/N/EU/1033").get_data(as_text=True)
    assert "internal cut-off is" in with_deadline
    # A joint notification names every member; objectives in the reader's language.
    joint = client.get("/notifications/G/TBT/N/KEN/1500").get_data(as_text=True)
    assert "(UG)" in joint and "(TZ)" in joint
    fr = client.get("/notifications/G/TBT/N/CHN/1850?lang=fr").get_data(as_text=True)
    assert "Protection of human health or safety" not in fr


def test_hs_sections_are_named_in_the_readers_language(client):
    from search.normalise import hs_section_name
    from webapp.labels import HS_SECTION_LABELS

    assert len(HS_SECTION_LABELS) == 21
    en = {f["value"]: f["label"] for f in _api(client, "lang=en")["facets"]["hs"]}
    zh = {f["value"]: f["label"] for f in _api(client, "lang=zh")["facets"]["hs"]}
    assert en and set(en) == set(zh)
    for section in en:
        assert hs_section_name(section).casefold() in en[section].casefold()
        assert zh[section] != en[section]


def test_counts_and_snippets_only_when_asked(client):
    """The API counts what ``facets=`` names (all by default, none with ``none``) and gives
    snippets unless ``highlight=0``; the results are the same either way."""
    full = _api(client, "q=lithium")
    assert set(full["facets"]) == {"member", "area", "type", "objective", "hs"}
    assert any(item.get("highlights") for item in full["items"])
    lean = _api(client, "q=lithium&facets=none&highlight=0")
    assert lean["facets"] == {} and not any("highlights" in i for i in lean["items"])
    assert _symbols(lean) == _symbols(full) and lean["total"] == full["total"]
    some = _api(client, "q=lithium&facets=member&facets=hs")
    assert some["facets"] == {k: full["facets"][k] for k in ("member", "hs")}
    for bad in ("facets=members", "highlight=maybe"):
        response = client.get(f"/api/v1/notifications?{bad}&lang=fr")
        assert response.status_code == 400
        assert "maybe" in bad or response.get_json()["error"]["message"].startswith("Décompte")
        assert "members" in bad or "ni oui ni non" in response.get_json()["error"]["message"]


def test_search_api_counts_only_when_asked(client):
    full = client.get("/api/v1/search?q=lithium").get_json()
    lean = client.get("/api/v1/search?q=lithium&facets=none&highlight=0").get_json()
    assert full["facets"] and not lean["facets"]
    assert [i["id"] for i in lean["items"]] == [i["id"] for i in full["items"]]
    assert client.get("/api/v1/search?facets=members").status_code == 400
