"""The API's description: the OpenAPI document is valid and complete, its examples are answers
it describes, the page for people shows it, and Schemathesis holds the served app to it over
every operation, whatever its method (no server error, only documented statuses and content
types, answers that match their schemas).

The app serves the bundled snapshot, loaded by ``marketpass load-snapshot`` into a real SQLite
store and index (in a subprocess: Scrapy's reactor runs once a process). It has no mail server
(subscribing by e-mail answers 503) and calls no webhook on a private address; the fuzz run
resolves every host name to loopback, so no webhook it names is ever called. The answers of a
subscription that works are checked against a real webhook endpoint on loopback.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from webapp import alerts, create_app, openapi, params

TODAY = "2026-07-01"  # some bundled notifications are open on that day, others closed
FEEDS = ("/notifications/feed.atom", "/notifications/deadlines.ics",
         "/notifications/export.csv", "/notifications/export.xlsx")
IMPLICIT = {"HEAD", "OPTIONS"}  # Flask answers these for every route
# Examples Schemathesis draws per operation: enough to reach every parameter, few enough for the
# whole file to run in well under two minutes (MARKETPASS_TEST_FUZZ_EXAMPLES for a longer hunt).
EXAMPLES_PER_OPERATION = int(os.environ.get("MARKETPASS_TEST_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def app(snapshot_db):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARKETPASS_DB", str(snapshot_db))
        mp.setenv("MARKETPASS_SEARCH_URL", "")
        mp.setenv("MARKETPASS_TODAY", TODAY)
        for name in ("MARKETPASS_DEFAULT_LOCALE", "MARKETPASS_SMTP_URL",
                     "MARKETPASS_WEBHOOK_ALLOW_PRIVATE"):
            mp.delenv(name, raising=False)
        yield create_app({"TESTING": True})


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def doc(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


# --- the document ----------------------------------------------------------------------------

def test_the_document_is_valid_openapi_3_1(doc):
    validate(doc)
    assert doc["openapi"] == "3.1.0"


def test_every_api_route_and_feed_is_documented(app, doc):
    """Nothing the app serves under /api/v1 is left out, whatever its method, and nothing
    documented is missing."""
    routes = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - IMPLICIT}
    feeds = {(path, "get") for path in FEEDS}
    assert {(path, method) for path, method, _op in _operations(doc)} == routes | feeds


def test_every_operation_says_what_it_does_and_how_it_fails(doc):
    for path, method, op in _operations(doc):
        assert op["summary"] and op["description"], (path, method)
        responses = op["responses"]
        assert any(code.startswith("2") for code in responses), (path, method)
        assert "429" in responses and "Retry-After" in responses["429"]["headers"], path
        if "{" in path:
            assert "404" in responses, (path, method)
        if "requestBody" in op or any(p["in"] == "query" and p["name"] != "lang"
                                      for p in op["parameters"]):
            assert "400" in responses, (path, method)
        if path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
            assert responses["400" if "400" in responses else "503"]["content"][
                "application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        if method != "get":  # what changes something is neither cached nor conditional
            assert "304" not in responses and "x-example" not in op, (path, method)


def test_parameters_are_the_argument_schemas(doc):
    """One source of truth: each operation takes what its marshmallow schema parses."""
    expected = {"/api/v1/search": params.SearchArgs(), "/api/v1/match": params.MatchArgs(),
                "/api/v1/notifications": params.NotificationArgs(),
                "/api/v1/bodies": params.BodyArgs(), "/api/v1/arrangements": params.MatrixArgs()}
    for path, schema in expected.items():
        names = [p["name"] for p in doc["paths"][path]["get"]["parameters"]]
        assert names == [f.data_key or n for n, f in schema.fields.items()] + ["lang"], path
    by_name = {p["name"]: p for p in doc["paths"]["/api/v1/notifications"]["get"]["parameters"]}
    assert by_name["per_page"]["schema"]["maximum"] == params.MAX_PER_PAGE
    assert by_name["member"]["explode"] and by_name["member"]["schema"]["maxItems"] == \
        params.MAX_VALUES
    assert by_name["type"]["schema"]["items"]["enum"][0] == "regular"
    market = next(p for p in doc["paths"]["/api/v1/match"]["get"]["parameters"]
                  if p["name"] == "market")
    assert market["required"] and market["schema"]["maxItems"] == params.MAX_MARKETS


def test_request_bodies_are_the_schemas_the_views_load(doc):
    """One source of truth for what is sent too: each body is the marshmallow schema its view
    loads it with, and each example body is one the view accepts."""
    for path, method, schema in (("/api/v1/subscriptions", "post", alerts.SubscriptionArgs()),
                                 ("/api/v1/subscriptions/{token}", "patch",
                                  alerts.ChangeArgs())):
        body = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert list(body["schema"]["properties"]) == list(schema.fields), path
        for example in body["examples"].values():
            jsonschema.Draft202012Validator(body["schema"]).validate(example["value"])
            schema.load(example["value"])
    post = doc["paths"]["/api/v1/subscriptions"]["post"]["requestBody"]["content"]
    assert post["application/json"]["schema"]["oneOf"] == [{"required": ["email"]},
                                                            {"required": ["webhook_url"]}]
    assert post["application/json"]["schema"]["properties"]["frequency"]["enum"] == \
        ["immediate", "daily"]


def test_every_example_answer_is_described_by_its_schema(doc):
    for path, method, op in _operations(doc):
        for response in op["responses"].values():
            content = response.get("content", {}).get("application/json", {})
            if "example" not in content:
                continue
            schema = {**content["schema"], "components": doc["components"]}
            jsonschema.Draft202012Validator(schema).validate(content["example"])
            if method == "get":  # real answers over the snapshot (tools/api_examples.py)
                assert op["operationId"] in json.loads(openapi.EXAMPLES.read_text()), path


def test_every_example_request_answers(client, doc):
    """The example links on the page work and answer what the document says."""
    for _path, method, op in _operations(doc):
        if method != "get":
            continue
        response = client.get(op["x-example"])
        assert response.status_code == 200, op["x-example"]
        assert response.mimetype in op["responses"]["200"]["content"], op["x-example"]


def test_the_document_is_in_the_readers_language(client):
    english = client.get("/api/v1/openapi.json?lang=en").get_json()
    french = client.get("/api/v1/openapi.json?lang=fr").get_json()
    assert english["paths"].keys() == french["paths"].keys()
    assert client.get("/api/v1/openapi.json?lang=fr").headers["Vary"]


# --- the page for people ---------------------------------------------------------------------

def test_the_page_shows_every_operation(client, doc):
    html = client.get("/api").get_data(as_text=True)
    for path, method, op in _operations(doc):
        assert f"<code>{path}</code>" in html, path
        if method == "get":
            example = op["x-example"].replace("&", "&amp;")
            assert f'href="{example}"' in html, path
        else:
            assert f'<span class="api-method">{method.upper()}</span> <code>{path}</code>' \
                in html, (path, method)
    assert "<code>POST /api/v1/subscriptions\n" in html  # the example bodies
    assert "<code>webhook_url</code>" in html
    assert 'href="/api/v1/openapi.json"' in html
    assert "<script" not in html and "<style" not in html and " style=" not in html


def test_the_header_links_to_the_page(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/api"' in html


def test_the_page_is_translated_with_the_site(client):
    assert 'lang="zh-Hans"' in client.get("/api?lang=zh").get_data(as_text=True)


# --- what the answers link to ------------------------------------------------------------------

def test_every_listed_notification_answers_at_its_address(client):
    """The url of each notification in a list (old symbols such as G/TBT/Notif.97.361
    included) is its page, and its JSON twin answers too."""
    items = client.get("/api/v1/notifications?per_page=100").get_json()["items"]
    assert items
    for item in items:
        path = item["url"].removeprefix("http://localhost")
        assert client.get(path).status_code == 200, path
        assert client.get(f"/api/v1{path}").status_code == 200, path


# --- Schemathesis over every operation ----------------------------------------------------------

# The feeds and exports take the notification search's parameters, whose edge cases Schemathesis'
# coverage phase already sends to /api/v1/notifications: they are fuzzed, not enumerated again.
# The app under test has no mail server, so subscribing by e-mail answers 503, as documented
# ("e-mail alerts are switched off on this server"): that 503 is its answer, not a failure.
CONFIG = SchemathesisConfig.from_dict({"operations": [
    {"include-path-regex": "^/notifications/", "phases": {"coverage": {"enabled": False}}},
    {"include-operation-id": "subscribe", "checks": {"not_a_server_error": {
        "expected-statuses": ["2xx", "3xx", "4xx", "503"]}}},
]})


def _described() -> schemathesis.BaseSchema:
    """The document as the app serves it, read at collection time from an app without data
    (it reads none); the cases are sent to the app over the snapshot (``app``). Schemathesis'
    lazy fixture loader would do both at once, but it does not run under pytest 9."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json",
                                          create_app({"TESTING": True}), config=CONFIG)


schema = _described()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def loopback_dns(monkeypatch):
    """Every host name resolves to loopback, as a hosts file could make it: whatever webhook
    address the fuzzer draws (a real domain, a public IP) is refused as private, and nothing
    leaves the machine, not even a DNS query."""
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 ("127.0.0.1", int(port or 0)))]
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture(scope="module")
def example_subscription(app, snapshot_db):
    """An active webhook subscription under the document's example token, so that the cases
    Schemathesis builds from the examples change it (and in the end delete it) instead of
    meeting 404s only. Made as the API makes one; only its token is set to the example's."""
    with app.test_request_context():
        store = alerts.alert_store(app.extensions["marketpass"].settings)
        token, confirm = store.add(channel="webhook", address="https://hooks.example.org/mp",
                                   key="example", search="member=SA", frequency="immediate",
                                   lang="en", secret="0" * 64)
        store.confirm(confirm)
    with sqlite3.connect(snapshot_db) as db:
        db.execute("UPDATE alert_subscriptions SET token = ? WHERE token = ?",
                   (openapi.WRITES[1].path_params[0].example, token))
    db.close()


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck), database=None)
def test_the_app_keeps_to_its_description(case, app, example_subscription, loopback_dns):
    case.call_and_validate(app=app, checks=CHECKS)


# --- a subscription that works, answer by answer ------------------------------------------------

@pytest.fixture
def webhook_endpoint():
    """A webhook on loopback that passes verification: it answers 200 with the challenge."""
    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer = str(data.get("challenge", "")).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _call(app, path: str, method: str, **case) -> dict:
    """One request, held to the document as the fuzz run holds every answer."""
    response = schema[path][method].Case(media_type="application/json", **case) \
        .call_and_validate(app=app, checks=CHECKS)
    return {"status": response.status_code, "json": response.json(),
            "cache": response.headers.get("cache-control"),
            "retry_after": response.headers.get("retry-after")}


@pytest.fixture
def mail_server():
    """A real SMTP server on loopback that accepts every message (aiosmtpd, which the alert
    tests use too)."""
    controller = pytest.importorskip("aiosmtpd.controller")

    class Accept:
        async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
            return "250 Message accepted"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = controller.Controller(Accept(), hostname="127.0.0.1", port=port)
    server.start()
    yield f"smtp://127.0.0.1:{port}"
    server.stop()


def test_subscribing_by_email_answers_as_documented(app, mail_server, monkeypatch):
    monkeypatch.setenv("MARKETPASS_SMTP_URL", mail_server)
    pending = _call(create_app({"TESTING": True}), "/api/v1/subscriptions", "POST",
                    body={"email": "jane@example.org", "search": "member=SA"})
    assert pending["status"] == 202 and pending["json"]["status"] == "pending", pending


def test_subscribing_answers_as_documented(app, webhook_endpoint, monkeypatch):
    """503 for e-mail without a mail server and 400 for a webhook on a private address (the
    fuzz run's app); then 201 with the secret, 200 changed, 200 deleted, 404; and past the
    limit per address, 429 with Retry-After."""
    email = _call(app, "/api/v1/subscriptions", "POST", body={"email": "jane@example.org"})
    assert email["status"] == 503 and "switched off" in email["json"]["error"]["message"]
    refused = _call(app, "/api/v1/subscriptions", "POST", body={"webhook_url": webhook_endpoint})
    assert refused["status"] == 400 and "private" in refused["json"]["error"]["message"]
    monkeypatch.setenv("MARKETPASS_WEBHOOK_ALLOW_PRIVATE", "1")  # the endpoint is on loopback
    trusting = create_app({"TESTING": True})
    made = _call(trusting, "/api/v1/subscriptions", "POST",
                 body={"webhook_url": webhook_endpoint, "search": "member=SA"})
    assert made["status"] == 201 and len(made["json"]["secret"]) == 64
    assert made["cache"] == ["no-store"]
    token = {"token": made["json"]["token"]}
    changed = _call(trusting, "/api/v1/subscriptions/{token}", "PATCH", path_parameters=token,
                    body={"frequency": "daily", "lang": "fr"})
    assert changed["status"] == 200 and changed["json"]["frequency"] == "daily"
    assert "secret" not in changed["json"] and webhook_endpoint not in json.dumps(changed)
    for status in (200, 404):
        gone = _call(trusting, "/api/v1/subscriptions/{token}", "DELETE", path_parameters=token)
        assert gone["status"] == status
    monkeypatch.setenv("MARKETPASS_SUBSCRIBE_PER_ADDRESS", "0")  # the limit per address
    limited = _call(create_app({"TESTING": True}), "/api/v1/subscriptions", "POST",
                    body={"webhook_url": webhook_endpoint})
    assert limited["status"] == 429 and int(limited["retry_after"][0]) > 0
