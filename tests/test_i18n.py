"""The site in the six UN languages: complete catalogues, no unmarked interface text (checked in a
pseudo-locale), locale choice that keeps the reader's page, right-to-left Arabic, CLDR plurals,
and queries in any language that find English records."""

from __future__ import annotations

import gettext
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from flask_babel import ngettext

from search.documents import to_document
from search.records import load_record
from search.sqlite_backend import SqliteBackend
from webapp import create_app, i18n

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
LANGUAGES = [code for code in i18n.LOCALES if code != "en"]
PSEUDO = "eo"  # a real CLDR locale no catalogue uses: its messages are the pseudo-translations
OPEN, CLOSE = "⟦", "⟧"


def _catalog(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _po(code: str) -> Path:
    return TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"


# --- the catalogues -----------------------------------------------------------------------------

@pytest.mark.parametrize("code", LANGUAGES)
def test_catalogue_is_complete_without_fuzzy_or_obsolete(code):
    catalog = _catalog(_po(code))
    template = _catalog(TRANSLATIONS / "messages.pot")
    assert {m.id for m in template if m.id} == {m.id for m in catalog if m.id}
    assert not catalog.obsolete, list(catalog.obsolete)[:5]
    plurals = get_plural(code).num_plurals
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), message.id
        assert not message.fuzzy, message.id
        if isinstance(message.id, tuple):
            assert len(strings) == plurals, message.id
    assert [(m.id, errors) for m, errors in catalog.check()] == []


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
    return {message if isinstance(message, str) else message[0]
            for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords)}


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_marked_string_is_in_the_catalogue(code):
    """Extract from the code now, so a string marked after the last `make translations` fails."""
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(_po(code)) if m.id}
    assert _extracted() - translated == set()


# --- the pseudo-locale: interface text outside ⟦ ⟧ was not marked ---------------------------------

def _pseudo_catalogue(directory: Path) -> None:
    catalog = _catalog(TRANSLATIONS / "messages.pot")
    catalog.locale = Locale.parse(PSEUDO)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(f"{OPEN}{message.id[min(i, 1)]}{CLOSE}"
                                   for i in range(catalog.num_plurals))
        else:
            message.string = f"{OPEN}{message.id}{CLOSE}"
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)


def _wrapped(value: object) -> object:
    """Record text wrapped as translated text is, so only interface text is left outside."""
    if isinstance(value, str) and not re.fullmatch(r"[\d\-:T+.]+|https?://\S+|[A-Z0-9/.\-]+",
                                                     value):
        return f"{OPEN}{value}{CLOSE}"
    if isinstance(value, list):
        return [_wrapped(v) for v in value]
    return value


PROVENANCE = {"source": "test", "source_url": "https://example.org/x",
              "fetched_at": "2026-11-20T00:00:00+00:00"}
TEXT_FIELDS = ("title", "description", "products", "name", "authority", "route", "effect",
               "agency", "in_country_testing", "local_representative", "validity", "lead_time",
               "group", "status", "cb_note", "keywords", "sectors", "objectives")


def _pseudo_records() -> list[dict]:
    raw = [
        ("notification", {"symbol": "G/TBT/N/EU/1033", "title": "Batteries",
                          "description": "Labelling of batteries", "products": "Batteries",
                          "hs_codes": ["850760"], "objectives": ["Environment"],
                          "distribution_date": "2026-01-10", "comment_deadline": "2026-12-11",
                          "agency": "Commission"}),
        ("notification", {"symbol": "G/TBT/N/EU/1033/Add.1", "description": "Extended",
                          "distribution_date": "2026-02-15", "comment_deadline": "2026-12-20",
                          "addendum_reasons": [{"reason": "comment_period_changed",
                                                "date": "2026-12-20",
                                                "text": f"{OPEN}Changed{CLOSE}"}]}),
        ("scheme", {"id": "kr-kc", "market": "KR", "name": "Safety", "mark": "KC",
                    "authority": "Agency", "mandatory": "mandatory", "route": "Certification",
                    "product_groups": ["electrical_safety"], "keywords": ["charger"],
                    "categories": ["OFF"], "cb_accepted": "yes", "validity": "unknown",
                    "sources": [{"url": "https://example.org/kc", "verified_on": "2026-11-26"}],
                    "verified": True}),
        ("arrangement", {"id": "iecee-cb", "name": "CB Scheme", "type": "multilateral",
                         "parties": [{"country": "KR"}, {"country": "CN"}],
                         "sectors": ["electrical safety"], "effect": "Certificates accepted",
                         "sources": [{"url": "https://example.org/cb"}]}),
        ("body", {"id": "cn-cqc", "name": "Quality Centre", "country": "CN", "roles": ["ncb"],
                  "arrangements": ["iecee-cb"], "sources": [{"url": "https://example.org/cqc"}]}),
        ("product", {"id": "product-charger", "group": "chargers",
                     "names": {"en": [f"{OPEN}charger{CLOSE}"], "zh": [f"{OPEN}充电器{CLOSE}"]},
                     "hs_codes": ["850440"],
                     "categories": ["OFF"], "sources": [{"url": "https://example.org/hs"}]}),
        ("hscode", {"id": "hs:850440", "code": "850440", "level": 6, "section": "XVI",
                    "description": "Static converters"}),
    ]
    out = []
    for kind, data in raw:
        data = {k: (_wrapped(v) if k in TEXT_FIELDS else v) for k, v in data.items()}
        out.append(load_record(kind, {**PROVENANCE, **data}))
    return out


PSEUDO_PAGES = [
    "/", "/search?q=batteries", "/search?q=zzzz", "/notifications", "/notifications?open=1",
    "/notifications/G/TBT/N/EU/1033/Add.1", "/notifications/charts",
    "/match", "/match?product=charger&market=KR&origin=CN", "/match?product=zzz&market=FJ",
    "/kb/coverage", "/iecee", "/arrangements", "/arrangements?group=RCEP&from=CN&to=KR",
    "/arrangements?from=KR&to=FJ", "/bodies", "/countries", "/countries/KR",
    "/indicators", "/about/data", "/records/kr-kc", "/records/iecee-cb", "/records/cn-cqc",
    "/records/G/TBT/N/EU/1033", "/records/hs:850440", "/records/product-charger",
    "/no/such/page", "/notifications?member=XX",
]


class _Text(HTMLParser):
    """Visible text and the attributes people read (placeholders, labels, titles)."""

    READ = ("placeholder", "aria-label", "title", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in self.READ and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _allowed_words() -> set[str]:
    """Words that are data, not interface: CLDR names (countries, languages, months, days) in
    the pseudo-locale and the languages' own names. Reference data shown to people (HS
    sections, IECEE categories, objectives, roles) is not among them: its labels must be
    translated (webapp/labels.py), so an untranslated one fails here."""
    locale = Locale.parse(PSEUDO)
    names = [*locale.territories.values(), *locale.languages.values(),
             *(n for width in locale.months["format"].values() for n in width.values()),
             *(n for width in locale.days["format"].values() for n in width.values()),
             *(name for name, _tag in i18n.LOCALES.values()), "MarketPass"]
    return {w.casefold() for n in names for w in re.findall(r"\w+", n)}


def _unmarked(text: str, allowed: set[str]) -> list[str]:
    outside = re.sub(f"{OPEN}[^{CLOSE}]*{CLOSE}", " ", text)
    outside = re.sub(r"\S*[/:@]\S*", " ", outside)  # symbols (G/TBT/N/EU/1033/Add.1), URLs
    outside = re.sub(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b|\b[0-9a-f]{16,}\b", " ", outside)  # ids, hashes
    return [w for w in re.findall(r"[^\W\d_]{2,}", outside)
            if w.casefold() not in allowed and not re.fullmatch(r"[A-Z]{2,6}[a-z]?", w)
            and not re.fullmatch(r"[a-z]{1,4}", w)]  # units and unit-like codes (kb, hs, js)


@pytest.fixture(scope="module")
def pseudo_client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pseudo")
    _pseudo_catalogue(folder / "translations")
    backend = SqliteBackend(folder / "index.db")
    backend.rebuild(to_document(r) for r in _pseudo_records())
    patch = pytest.MonkeyPatch()
    patch.setitem(i18n.LOCALES, PSEUDO, ("Esperanto", PSEUDO))
    patch.setenv("MARKETPASS_DB", str(folder / "store.db"))
    patch.setenv("MARKETPASS_TODAY", "2026-11-26")
    app = create_app({"TESTING": True, "BACKEND": backend,
                      "BABEL_TRANSLATION_DIRECTORIES": str(folder / "translations")})
    yield app.test_client()
    patch.undo()


@pytest.mark.parametrize("path", PSEUDO_PAGES)
def test_no_unmarked_interface_text(pseudo_client, path):
    response = pseudo_client.get(path + ("&" if "?" in path else "?") + f"lang={PSEUDO}")
    assert response.status_code in (200, 400, 404)
    parser = _Text()
    parser.feed(response.get_data(as_text=True))
    text = " ".join(parser.parts)
    assert OPEN in text  # the pseudo-locale is in use
    assert _unmarked(text, _allowed_words()) == []


def test_data_labels_are_translated_too(pseudo_client):
    """Data vocabularies go through the catalogue like the interface: the IECEE categories of
    the reference list and HS section titles show as translated text (here, pseudo-text), not
    as the data files write them."""
    from search.agencies import category_names
    from webapp.labels import HS_SECTION_LABELS, IECEE_CATEGORY_LABELS

    assert set(category_names()) <= set(IECEE_CATEGORY_LABELS)
    with pseudo_client.application.test_request_context("/?lang=en"):
        english = {code: str(IECEE_CATEGORY_LABELS[code]) for code in category_names()}
        xvi = str(HS_SECTION_LABELS["XVI"])
    page = pseudo_client.get(f"/iecee?lang={PSEUDO}").get_data(as_text=True)
    for code, name in english.items():
        assert f"{OPEN}{name}{CLOSE}" in page, code
    assert "not given in English" not in page
    section = pseudo_client.get(f"/records/hs:850440?lang={PSEUDO}").get_data(as_text=True)
    assert f"{OPEN}{xvi}{CLOSE}" in section


def test_the_pseudo_check_would_catch_an_unmarked_string(pseudo_client):
    assert _unmarked(f"{OPEN}Search{CLOSE} Results shown", _allowed_words()) == [
        "Results", "shown"]


# --- choosing the language ------------------------------------------------------------------------

@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.delenv("MARKETPASS_DEFAULT_LOCALE", raising=False)
    backend = SqliteBackend(tmp_path / "index.db")
    backend.rebuild(to_document(r) for r in _multilingual_records())
    return create_app({"TESTING": True, "BACKEND": backend}).test_client()


@pytest.mark.parametrize("code, tag, direction", [
    ("en", "en", "ltr"), ("zh", "zh-Hans", "ltr"), ("fr", "fr", "ltr"), ("es", "es", "ltr"),
    ("ar", "ar", "rtl"), ("ru", "ru", "ltr")])
def test_html_lang_and_direction(client, code, tag, direction):
    page = client.get(f"/notifications?lang={code}").get_data(as_text=True)
    assert f'<html lang="{tag}" dir="{direction}">' in page


@pytest.mark.parametrize("path", ["/notifications?member=EU&hs=8507&sort=deadline",
                                  "/match?product=charger&market=KR", "/search?q=batteries",
                                  "/bodies?role=ncb", "/countries/KR"])
def test_switching_language_keeps_the_page_and_the_query(client, path):
    page = client.get(path).get_data(as_text=True)
    links = dict(re.findall(r'<a href="([^"]+)" lang="([^"]+)" hreflang', page))
    assert len(links) == len(i18n.LOCALES)
    base, _, query = path.partition("?")
    for href in links:
        target, _, args = href.replace("&amp;", "&").partition("?")
        assert target == base
        assert set(query.split("&")) - {""} <= set(args.split("&"))
        assert client.get(href.replace("&amp;", "&")).status_code == 200


@pytest.mark.parametrize("code", LANGUAGES)
def test_interface_is_translated(client, code):
    page = client.get(f"/notifications?lang={code}").get_data(as_text=True)
    catalog = _catalog(_po(code))
    title = catalog.get("TBT and SPS notifications").string
    assert title in page


@pytest.mark.parametrize("code", list(i18n.LOCALES))
def test_plural_forms_follow_cldr(client, code):
    """"1 notification" / "5 notifications" with the plural form CLDR gives for each count."""
    app = client.application
    catalog = None if code == "en" else _catalog(_po(code))
    forms = (("%(num)d notification", "%(num)d notifications") if code == "en" else
             catalog.get(("%(num)d notification", "%(num)d notifications")).string)
    with app.test_request_context(f"/?lang={code}"):
        for n in (0, 1, 2, 3, 5, 11, 21, 22, 100, 101):
            index = (0 if n == 1 else 1) if code == "en" else _plural_index(code, n)
            assert ngettext("%(num)d notification", "%(num)d notifications", n) == \
                forms[index] % {"num": n}


def _plural_index(code: str, n: int) -> int:
    """The catalogue form CLDR's rule picks for n (the header's C expression, evaluated)."""
    return gettext.c2py(get_plural(code).plural_expr)(n)


@pytest.mark.parametrize("code, expected", [("fr", "novembre"), ("es", "noviembre"),
                                            ("ru", "ноября"), ("ar", "نوفمبر"),
                                            ("zh", "11月")])
def test_dates_in_the_readers_language(client, code, expected):
    page = client.get(f"/notifications/G/TBT/N/CHN/1900?lang={code}").get_data(as_text=True)
    assert expected in page


# --- content in the reader's language ------------------------------------------------------------

def _multilingual_records() -> list[dict]:
    products = json.loads((ROOT / "crawlers" / "curated" / "products.json").read_text())
    charger = next(p for p in products["records"] if p["id"] == "product-charger")
    return [
        load_record("product", {**PROVENANCE, **charger}),
        load_record("notification", {
            **PROVENANCE, "symbol": "G/TBT/N/CHN/1900", "title": "Safety of USB chargers",
            "description": "Safety requirements and test methods for USB chargers.",
            "products": "Chargers for mobile phones", "hs_codes": ["850440"],
            "distribution_date": "2026-11-02", "comment_deadline": "2027-01-01",
            "translations": {"fr": {"title": "Sécurité des chargeurs USB",
                                    "description": "Exigences de sécurité et méthodes d'essai "
                                                   "des chargeurs USB."},
                             "es": {"title": "Seguridad de los cargadores USB"}}}),
        load_record("notification", {
            **PROVENANCE, "symbol": "G/TBT/N/EU/1033", "title": "Batteries and waste batteries",
            "hs_codes": ["850760"], "distribution_date": "2026-01-10"}),
    ]


def test_snippets_are_in_the_language_of_the_text_shown(client):
    """A French reader sees the French title; the snippet then comes from the French
    description too, not from the English text the query matched."""
    page = client.get("/notifications?q=requirements&lang=fr").get_data(as_text=True)
    assert "Sécurité des chargeurs USB" in page
    snippets = re.findall(r'<p dir="auto" class="snippet">(.*?)</p>', page, re.S)
    assert "Exigences de sécurité et méthodes d'essai des chargeurs USB." in " ".join(
        s.replace("&#39;", "'") for s in snippets)
    assert not any("requirements" in s.lower() for s in snippets)
    english = client.get("/notifications?q=requirements&lang=en").get_data(as_text=True)
    assert "<mark>requirements</mark>" in english.lower()


@pytest.mark.parametrize("words", [quote for quote in (
    "充电器", "chargeur", "cargador", "зарядное устройство", "شاحن")])
def test_a_query_in_any_language_finds_english_records(client, words):
    for path in ("/api/v1/search", "/api/v1/notifications"):
        found = client.get(path, query_string={"q": words}).get_json()
        ids = [i.get("id") or i.get("symbol") for i in found["items"]]
        assert "G/TBT/N/CHN/1900" in ids and "G/TBT/N/EU/1033" not in ids
        assert "charger" in found["also_searched"]


def test_an_english_query_is_not_widened(client):
    found = client.get("/api/v1/search?q=charger").get_json()
    assert found["also_searched"] == []


@pytest.mark.parametrize("code, title", [("fr", "Sécurité des chargeurs USB"),
                                         ("es", "Seguridad de los cargadores USB"),
                                         ("ru", "Safety of USB chargers")])
def test_titles_in_the_readers_language_where_the_source_gives_them(client, code, title):
    item = client.get(f"/api/v1/notifications/G/TBT/N/CHN/1900?lang={code}").get_json()
    assert item["title"] == title
    page = client.get(f"/notifications/G/TBT/N/CHN/1900?lang={code}").get_data(as_text=True)
    assert title in page
