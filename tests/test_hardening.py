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
