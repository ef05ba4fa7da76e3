"""The site on the open internet: hostile inputs get a 400 (or a redirect built from the
symbol alone), never a 500; a heavy legal query stays cheap."""

from __future__ import annotations

import random
import string

import pytest

from crawlers.spiders.wto_eping import WtoEpingSpider
from search.documents import to_document
from search.records import load_record
from search.sqlite_backend import SqliteBackend
from tests.replay import replay
from webapp import create_app


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    """The recorded WTO notifications in a real SQLite index."""
    backend = SqliteBackend(tmp_path_factory.mktemp("hardening") / "index.db")
    backend.rebuild(to_document(load_record(item.pop("kind"), item))
                    for item in replay(WtoEpingSpider)[1])
    return backend


@pytest.fixture
def client(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    return create_app({"TESTING": True, "BACKEND": backend}).test_client()


def _symbol(client) -> str:
    return client.get("/api/v1/notifications?per_page=1").get_json()["items"][0]["symbol"]


@pytest.mark.parametrize("name", ["member", "hs", "ics", "objective", "type", "area"])
def test_too_many_values_of_a_filter_is_a_400(client, name):
    query = "&".join(f"{name}=US" for _ in range(200))
    for path in ("/api/v1/notifications", "/notifications", "/notifications/export.csv",
                 "/notifications/feed.atom", "/notifications/charts"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.status_code)


@pytest.mark.parametrize("value", ["٣", "１０", "1_0", "2.0", "1e3", "-1", "0x10"])
@pytest.mark.parametrize("name", ["page", "per_page", "buffer_days"])
def test_integers_are_ascii_digits_only(client, name, value):
    response = client.get("/api/v1/notifications", query_string={name: value})
    assert response.status_code == 400
    assert "error" in response.get_json()


@pytest.mark.parametrize("query", ["symbol=x", "endpoint=x", "_method=x", "_scheme=javascript",
                                   "_external=1", "_anchor=x", "symbol=x&lang=fr"])
def test_canonical_redirect_is_built_from_the_symbol_alone(client, query):
    symbol = _symbol(client)
    response = client.get(f"/notifications/{symbol.lower()}?{query}")
    assert response.status_code == 301
    location = response.headers["Location"]
    assert location == f"/notifications/{symbol}?{query}"


def test_a_heavy_legal_query_is_answered(client):
    rng = random.Random(7)
    text = " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 11)))
                    for _ in range(150))[:1000]
    for path in ("/api/v1/search", "/api/v1/notifications", "/search", "/notifications"):
        assert client.get(path, query_string={"q": text}).status_code == 200


# --- headers ------------------------------------------------------------------------------

def test_every_page_has_the_security_headers(client):
    for path in ("/", "/notifications", "/api/v1/counts", "/no/such/page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp, path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] and headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers  # not over plain HTTP


def test_pages_hold_no_inline_script_or_style(client):
    """The strict CSP would block them: every page must work without."""
    for path in ("/", "/notifications", "/search?q=battery", "/match?product=kettle&market=DE",
                 "/iecee", "/arrangements", "/about/data", "/notifications/charts"):
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html and "<style" not in html and " style=" not in html, path
        assert " onclick=" not in html and " onchange=" not in html, path


def test_https_adds_hsts_and_secure_cookies(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_HTTPS", "1")
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    response = client.get("/?lang=fr")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert "Secure" in response.headers["Set-Cookie"]


def test_the_api_is_open_to_other_sites_and_revalidates(client):
    response = client.get("/api/v1/notifications?per_page=5")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "max-age" in response.headers["Cache-Control"]
    again = client.get("/api/v1/notifications?per_page=5",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    feed = client.get("/notifications/feed.atom")
    assert client.get("/notifications/feed.atom",
                      headers={"If-None-Match": feed.headers["ETag"]}).status_code == 304
    assert "Access-Control-Allow-Origin" not in client.get("/notifications").headers


@pytest.mark.parametrize("host", ["a" * 64 + ".example.org", "exa mple.org", "-bad.example",
                                  "x" * 300, "host:port"])
def test_a_host_name_no_url_can_hold_is_a_400(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 400


def test_only_trusted_hosts_when_configured(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_TRUSTED_HOSTS", "marketpass.example.org, .example.net")
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    assert client.get("/api/v1/counts", headers={"Host": "evil.example"}).status_code == 400
    ok = client.get("/api/v1/notifications?per_page=1", headers={"Host": "marketpass.example.org"})
    assert ok.status_code == 200
    assert ok.get_json()["items"][0]["url"].startswith("http://marketpass.example.org/")
    assert client.get("/", headers={"Host": "www.example.net"}).status_code == 200


def test_behind_a_proxy_the_forwarded_scheme_and_host_make_the_urls(backend, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_PROXY_HOPS", "1")
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    response = client.get("/api/v1/notifications?per_page=1", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "marketpass.example.org"})
    assert response.get_json()["items"][0]["url"].startswith("https://marketpass.example.org/")
    assert "Strict-Transport-Security" in response.headers


def test_production_refuses_the_default_secret_key(backend, tmp_path, monkeypatch):
    from webapp.security import InsecureSettings

    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_ENV", "production")
    monkeypatch.delenv("MARKETPASS_SECRET_KEY", raising=False)
    with pytest.raises(InsecureSettings):
        create_app({"BACKEND": backend})
    monkeypatch.setenv("MARKETPASS_SECRET_KEY", "a-long-random-secret")
    assert create_app({"BACKEND": backend}).config["SECRET_KEY"] == "a-long-random-secret"


# --- rate limits --------------------------------------------------------------------------

def _limited(backend, storage: str = "memory://", **config):
    return create_app({"TESTING": True, "BACKEND": backend, "RATELIMIT_ENABLED": True,
                       "RATELIMIT_STORAGE_URI": storage, **config})


def test_a_burst_of_match_requests_meets_429s(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    client = _limited(backend).test_client()
    codes = [client.get("/api/v1/match?product=kettle&market=DE").status_code
             for _ in range(300)]
    assert codes[0] == 200 and codes.count(429) >= 250
    refused = client.get("/api/v1/match?product=kettle&market=DE&lang=fr")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["error"]["code"] == 429
    # The page twin shares the limit; a person reading notifications is not held up.
    assert client.get("/match?product=kettle&market=DE").status_code == 429
    assert client.get("/notifications").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)


def test_limits_are_configurable(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_RATELIMIT_API", "3 per minute")
    client = _limited(backend).test_client()
    codes = [client.get("/api/v1/counts").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    monkeypatch.setenv("MARKETPASS_RATELIMIT", "0")
    client = create_app({"BACKEND": backend}).test_client()
    assert {client.get("/api/v1/counts").status_code for _ in range(200)} == {200}


def test_limits_are_shared_by_app_processes_through_redis(backend, tmp_path, monkeypatch,
                                                          redis_url):
    """Two apps (two gunicorn workers) on one Redis count one client's requests together;
    each on its own memory would let twice as many through."""
    monkeypatch.setenv("MARKETPASS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("MARKETPASS_RATELIMIT_API", "10 per minute")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    workers = [_limited(backend, redis_url).test_client() for _ in range(2)]
    codes = [workers[i % 2].get("/api/v1/counts").status_code for i in range(20)]
    assert codes.count(200) == 10 and codes[10:] == [429] * 10
    alone = [_limited(backend).test_client() for _ in range(2)]
    codes = [alone[i % 2].get("/api/v1/counts").status_code for i in range(20)]
    assert codes.count(200) == 20


# --- crawler limits -----------------------------------------------------------------------

def _zip(entries: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_docx_decompression_bomb_is_refused():
    from crawlers.forms import document_text

    bomb = _zip({"word/document.xml": b"<w:p>" + b" " * 30_000_000 + b"</w:p>"})
    assert len(bomb) < 100_000
    with pytest.raises(ValueError, match="unpack"):
        document_text(bomb, "https://docs.wto.org/x.docx")
    normal = _zip({"word/document.xml": b"<w:p>1. Notifying Member: CHINA</w:p>"})
    assert "CHINA" in document_text(normal, "https://docs.wto.org/x.docx")


def test_a_pdf_of_hundreds_of_pages_is_no_notification_form():
    import io

    from pypdf import PdfWriter

    from crawlers.forms import document_text

    writer = PdfWriter()
    for _ in range(250):
        writer.add_blank_page(width=72, height=72)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ValueError, match="pages"):
        document_text(buffer.getvalue(), "https://docs.wto.org/x.pdf")


def _export_response(body: bytes):
    from scrapy.http import Request, Response

    url = "https://eping.wto.org/export/Notification_EN.xlsx"
    return Response(url=url, body=body, request=Request(url))


def test_an_xlsx_bomb_or_entity_expansion_fails_the_crawl_cleanly():
    import io

    from defusedxml import DefusedXmlException
    from openpyxl import Workbook

    from crawlers.spiders.base import CrawlError
    from crawlers.spiders.wto_eping_bulk import WtoEpingBulkSpider

    spider = WtoEpingBulkSpider()
    bomb = _zip({"[Content_Types].xml": b"<x/>", "xl/worksheets/sheet1.xml": b" " * 30_000_000})
    with pytest.raises(CrawlError, match="unpack"):
        list(spider.parse(_export_response(bomb)))
    # Billion laughs inside a sheet: refused by defusedxml, never expanded.
    book = Workbook()
    book.active.append(["Document symbol", "Notifying member"])
    buffer = io.BytesIO()
    book.save(buffer)
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    entries = {n: source.read(n) for n in source.namelist()}
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    sheet = entries["xl/worksheets/sheet1.xml"]
    entries["xl/worksheets/sheet1.xml"] = laughs + sheet[sheet.index(b"<worksheet"):].replace(
        b"Document symbol", b"&lol2;")
    with pytest.raises(CrawlError) as refused:
        list(spider.parse(_export_response(_zip(entries))))
    causes = [refused.value]
    while causes[-1].__cause__ or causes[-1].__context__:
        causes.append(causes[-1].__cause__ or causes[-1].__context__)
    assert any(isinstance(c, DefusedXmlException) for c in causes)
