"""Alerts end to end, with a real SMTP server (aiosmtpd) and a real HTTP receiver on loopback.

Crawls and ``alerts send`` run as the ``marketpass`` command does, in subprocesses, against the
same SQLite file the site under test reads; nothing of our own is mocked.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from search import delivery
from search.alerts import AlertStore, Change, Matcher
from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from tests.conftest import STORES
from webapp import alerts, create_app

ADDRESS = "jane.doe@example.org"
PUBLIC = "http://marketpass.test"


# --- the real servers ---------------------------------------------------------------------------

class Mailbox:
    """What the loopback SMTP server received, parsed as a mail client would."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on a free loopback port, stopped after the test. Without aiosmtpd
    the test is skipped; with MARKETPASS_REQUIRE_SMTP=1 that is a failure instead."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError as exc:
        if os.environ.get("MARKETPASS_REQUIRE_SMTP"):
            pytest.fail(f"aiosmtpd is required (MARKETPASS_REQUIRE_SMTP) but: {exc}")
        pytest.skip(f"SMTP tests skipped: {exc}")
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    yield box
    controller.stop()


class Receiver:
    """A webhook endpoint: echoes verification challenges, keeps every delivery, answers
    ``status``; a request to /hold waits until ``release`` is set."""

    def __init__(self) -> None:
        self.deliveries: list[dict] = []
        self.verifications: list[dict] = []
        self.status = 200
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                data = json.loads(body)
                seen = {"path": self.path, "body": body, "data": data,
                        "signature": self.headers.get("X-MarketPass-Signature")}
                if data.get("type") == "verification":
                    receiver.verifications.append(seen)
                    return self._answer(200, data["challenge"].encode())
                receiver.deliveries.append(seen)
                if self.path == "/hold":
                    receiver.release.wait(30)
                self._answer(receiver.status, b"ok")

            def _answer(self, status: int, body: bytes):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def to(self, path: str) -> list[dict]:
        return [d for d in self.deliveries if d["path"] == path]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


# --- the site, its database and the command -----------------------------------------------------

def eping_item(n: int, symbol: str, member: str, code: str, title: str, *,
               day: str = "2026-11-20", hs: tuple[str, ...] = (), ics: str = "") -> dict:
    """One item in ePing's list shape (as recorded in crawlers/sources/wto_eping/)."""
    return {"id": 990000 + n, "documentSymbol": symbol, "area": symbol.split("/")[1],
            "notificationType": None, "notifyingMember": member, "notifyingMemberCode": code,
            "distributionDate": f"{day}T00:00:00", "commentDeadlineDate": "2027-01-19T00:00:00",
            "title": title, "description": f"{title}: requirements and conformity assessment.",
            "productsFreeText": title + (f" (ICS code(s): {ics})" if ics else ""),
            "hsCodes": [{"code": h} for h in hs], "icsCodeText": "",
            "objectives": [{"id": None, "name": "Protection of human health or safety (TBT)"}],
            "notifiedDocumentLink": f"https://members.wto.org/crnattachments/2026/TBT/{n}.pdf",
            "linkToNotification": None}


SAU = ("Saudi Arabia, Kingdom of", "C682")
JPN = ("Japan", "C392")
BASE = eping_item(1, "G/TBT/N/SAU/2001", *SAU, "Electric vehicles charging stations",
                  day="2026-10-01", hs=("8504",))
MATCHING = eping_item(2, "G/TBT/N/SAU/2002", *SAU, "Motor vehicles - tyre labelling",
                      hs=("4011",))
OTHER_MEMBER = eping_item(3, "G/TBT/N/JPN/900", *JPN, "Motor vehicles - lamps", hs=("8512",))
OTHER_WORDS = eping_item(4, "G/TBT/N/SAU/2003", *SAU, "Toys - safety of magnets", hs=("9503",))


class Site:
    """The database, the environment the command runs with, and the app reading both."""

    def __init__(self, tmp_path: Path, monkeypatch, **env: str) -> None:
        self.tmp, self.db = tmp_path, tmp_path / "marketpass.db"
        self.env = {"MARKETPASS_DB": str(self.db), "MARKETPASS_SEARCH_URL": "",
                    "MARKETPASS_PUBLIC_URL": PUBLIC, "MARKETPASS_TODAY": "2026-12-03",
                    "MARKETPASS_WEBHOOK_ALLOW_PRIVATE": "1", "MARKETPASS_RATELIMIT": "0",
                    "MARKETPASS_SMTP_URL": "", **env}
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)
        # The store: the SQLite file, or the PostgreSQL database the environment names.
        self.location = self.env.get("MARKETPASS_DATABASE_URL") or self.db
        AlertStore(self.location).close()  # the site reads an existing database only
        SqliteBackend(index_path(self.db)).close()  # and an existing index (its own file)
        self.app = create_app({"TESTING": True})
        self.client = self.app.test_client()

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "webapp.cli", *args],
                                env={**os.environ, **self.env, **env}, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr + result.stdout
        return result

    def crawl(self, *items: dict) -> None:
        page = self.tmp / f"eping-{time.monotonic_ns()}.json"
        page.write_text(json.dumps({"items": list(items), "totalCount": len(items)}))
        self.cli("crawl", "wto_eping", "--from-file", str(page))

    def send(self, *flags: str, **env: str) -> str:
        return self.cli("alerts", "send", *flags, **env).stdout

    def send_here(self, digest: bool = False, **env: str) -> alerts.Report:
        """The same run in this process (faster), with these settings."""
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            return alerts.send_all(create_app({"TESTING": True}), digest=digest)

    def store(self) -> AlertStore:
        return AlertStore(self.location)


@pytest.fixture(params=STORES)
def site(request, tmp_path, monkeypatch, smtp):
    """The site on each kind of record store: subscriptions, deliveries and the change log
    they read live there."""
    store = {"MARKETPASS_DATABASE_URL": request.getfixturevalue("pg_url")
             if request.param == "postgresql" else ""}
    return Site(tmp_path, monkeypatch, MARKETPASS_SMTP_URL=smtp.url, **store)


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def _path(url: str) -> str:
    assert url.startswith(PUBLIC + "/"), url
    return urlsplit(url).path


def _subscribe_and_confirm(site: Site, smtp: Mailbox, search: str, **more) -> str:
    """Subscribe by e-mail and follow the confirmation link; the subscription's token."""
    before = len(smtp.messages)
    answer = site.client.post("/api/v1/subscriptions", json={
        "email": ADDRESS, "search": search, "lang": "en", **more})
    assert answer.status_code == 202, answer.get_json()
    confirmation = smtp.wait_for(before + 1)[-1]
    link = re.search(rf"{re.escape(PUBLIC)}/subscriptions/confirm/\S+", _plain(confirmation))[0]
    assert site.client.get(_path(link)).status_code == 200  # a page with a button
    confirmed = site.client.post(_path(link))
    assert confirmed.status_code == 303
    return confirmed.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


# --- e-mail, end to end ---------------------------------------------------------------------------

def test_email_alert_end_to_end(site, smtp):
    answer = site.client.post("/api/v1/subscriptions", json={
        "email": ADDRESS, "search": "member=SA&q=vehicles", "frequency": "immediate",
        "lang": "en"})
    assert answer.status_code == 202
    assert ADDRESS not in answer.get_data(as_text=True)
    [confirmation] = smtp.wait_for(1)
    assert confirmation["To"] == ADDRESS
    assert "Saudi Arabia" in confirmation["Subject"] and "vehicles" in confirmation["Subject"]
    link = re.search(rf"{re.escape(PUBLIC)}/subscriptions/confirm/\S+", _plain(confirmation))[0]

    # Nothing but the confirmation before the link is followed, whatever is crawled.
    site.crawl(BASE, MATCHING)
    site.send()
    assert len(smtp.messages) == 1

    assert site.client.post(_path(link)).status_code == 303
    site.crawl(eping_item(5, "G/TBT/N/SAU/2005", *SAU, "Vehicles - seat belts"),
               OTHER_MEMBER, OTHER_WORDS)
    site.send()
    [_, alert] = smtp.wait_for(2)
    text = _plain(alert)
    assert "G/TBT/N/SAU/2005" in text and "Vehicles - seat belts" in text
    assert "G/TBT/N/JPN/900" not in text and "G/TBT/N/SAU/2003" not in text  # not matching
    assert "G/TBT/N/SAU/2002" not in text  # changed before the subscription began
    assert "Saudi Arabia" in alert["Subject"] and "vehicles" in alert["Subject"]
    assert "G/TBT/N/SAU/2005" in alert.get_body(("html",)).get_content()
    unsubscribe = alert["List-Unsubscribe"].strip().strip("<>")  # maybe folded
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text

    site.send()  # a second run sends nothing
    assert len(smtp.messages) == 2

    # A change to a notification already sent is sent again, once.
    site.crawl(eping_item(5, "G/TBT/N/SAU/2005", *SAU, "Vehicles - seat belts and anchorages"))
    site.send()
    site.send()
    assert len(smtp.wait_for(3)) == 3 and "anchorages" in _plain(smtp.messages[2])

    # One click (RFC 8058) and nothing more arrives.
    assert site.client.post(_path(unsubscribe), data={
        "List-Unsubscribe": "One-Click"}).status_code == 200
    site.crawl(eping_item(6, "G/TBT/N/SAU/2006", *SAU, "Vehicles - mirrors"))
    site.send()
    time.sleep(0.3)
    assert len(smtp.messages) == 3


def test_messages_are_in_the_subscribers_language_with_both_parts(site, smtp):
    token = _subscribe_and_confirm(site, smtp, "member=SA", lang="fr")
    confirmation = smtp.messages[0]
    assert "Arabie saoudite" in confirmation["Subject"]
    assert confirmation["Content-Language"] == "fr"
    site.crawl(MATCHING)
    site.send()
    alert = smtp.wait_for(2)[-1]
    assert alert.get_body(("plain",)) is not None and alert.get_body(("html",)) is not None
    assert "Arabie saoudite" in alert["Subject"]
    assert token in alert["List-Unsubscribe"]


def test_a_daily_subscription_gets_one_digest_a_day(site, smtp):
    token = _subscribe_and_confirm(site, smtp, "member=SA", frequency="daily")
    site.crawl(MATCHING)
    site.send_here()  # after the crawl: the immediate ones only
    assert len(smtp.messages) == 1
    site.send("--digest")
    assert "G/TBT/N/SAU/2002" in _plain(smtp.wait_for(2)[-1])
    site.crawl(OTHER_WORDS)
    site.send_here(digest=True)  # the same day: nothing more
    assert len(smtp.messages) == 2
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with site.app.test_request_context("/", base_url=PUBLIC):
        store = site.store()
        report = alerts.run(store, site.app.extensions["marketpass"].backend(),
                            alerts.Sender(site.app.extensions["marketpass"].settings),
                            site.app.extensions["marketpass"].settings, digest=True,
                            now=tomorrow)
    assert report.messages == 1
    assert "G/TBT/N/SAU/2003" in _plain(smtp.wait_for(3)[-1])
    assert {n for n, _ in store.deliveries(store.get_subscription(token).id)} == {
        "G/TBT/N/SAU/2002", "G/TBT/N/SAU/2003"}


# --- webhooks -----------------------------------------------------------------------------------

def _webhook(site: Site, url: str, search: str = "member=SA", **more) -> dict:
    answer = site.client.post("/api/v1/subscriptions", json={
        "webhook_url": url, "search": search, **more})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _signed(delivery_seen: dict, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), delivery_seen["body"],
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, delivery_seen["signature"] or "")


def test_webhook_end_to_end(site, receiver):
    created = _webhook(site, receiver.url + "/hook", "member=SA&q=vehicles")
    assert len(receiver.verifications) == 1
    secret = created["secret"]
    assert receiver.url not in json.dumps(created)  # the address is not given back
    site.crawl(MATCHING, OTHER_MEMBER, OTHER_WORDS)
    site.send()
    [sent] = receiver.to("/hook")
    assert _signed(sent, secret) and not _signed(sent, "another secret")
    assert [i["symbol"] for i in sent["data"]["items"]] == ["G/TBT/N/SAU/2002"]
    api = site.client.get("/api/v1/notifications?member=SA&q=vehicles").get_json()
    listed = next(i for i in api["items"] if i["symbol"] == "G/TBT/N/SAU/2002")
    assert set(sent["data"]["items"][0]) == set(listed) - {"highlights"}
    site.send()
    assert len(receiver.to("/hook")) == 1
    # The secret is returned once: the subscription's own page never shows it.
    page = site.client.get(f"/subscriptions/{created['token']}").get_data(as_text=True)
    assert secret not in page and receiver.url not in page


def test_failed_webhook_deliveries_are_retried_then_disabled(site, receiver):
    created = _webhook(site, receiver.url + "/hook")
    receiver.status = 500
    site.crawl(MATCHING)
    quick = {"MARKETPASS_ALERTS_RETRY_SECONDS": "0", "MARKETPASS_ALERTS_MAX_FAILURES": "3"}
    assert site.send_here(**quick).failed == 1
    sub = site.store().get_subscription(created["token"])
    assert (sub.attempts, sub.status) == (1, "active") and sub.next_try and sub.last_error
    receiver.status = 200  # back: the pending delivery goes out, once
    assert site.send_here(**quick).messages == 1
    assert site.send_here(**quick).messages == 0
    assert [d["data"]["items"][0]["symbol"] for d in receiver.to("/hook")] == [
        "G/TBT/N/SAU/2002"] * 2
    assert site.store().get_subscription(created["token"]).attempts == 0

    receiver.status = 503
    site.crawl(OTHER_WORDS)
    assert [site.send_here(**quick).disabled for _ in range(3)] == [0, 0, 1]
    sub = site.store().get_subscription(created["token"])
    assert (sub.attempts, sub.status) == (3, "disabled")
    receiver.status = 200
    assert site.send_here(**quick).subscriptions == 0
    assert len(receiver.to("/hook")) == 5  # nothing more once disabled


def test_a_failed_delivery_waits_for_its_next_try(site, receiver):
    created = _webhook(site, receiver.url + "/hook")
    receiver.status = 500
    site.crawl(MATCHING)
    site.send_here(MARKETPASS_ALERTS_RETRY_SECONDS="3600")
    assert site.send_here(MARKETPASS_ALERTS_RETRY_SECONDS="3600").subscriptions == 0
    assert len(receiver.to("/hook")) == 1
    sub = site.store().get_subscription(created["token"])
    assert datetime.fromisoformat(sub.next_try) > datetime.now(UTC) + timedelta(minutes=50)


def test_a_run_killed_half_way_resends_only_what_was_not_recorded(site, receiver):
    for path in ("/first", "/hold", "/third"):
        _webhook(site, receiver.url + path)
    site.crawl(MATCHING)
    command = [sys.executable, "-m", "webapp.cli", "alerts", "send"]
    run = subprocess.Popen(command, env={**os.environ, **site.env},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not receiver.to("/hold") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.to("/hold"), "the run never reached the second subscription"
    run.send_signal(signal.SIGKILL)  # mid-delivery: no handler, no cleanup
    run.wait(timeout=30)
    receiver.release.set()
    site.send()
    site.send()
    # The first was recorded before the kill, the second was in flight (sent again: the one
    # at-least-once case), the third had not been sent.
    assert [len(receiver.to(p)) for p in ("/first", "/hold", "/third")] == [1, 2, 1]


# --- matching is the page's -------------------------------------------------------------------

SEARCHES = ["", "member=SA", "q=vehicles", "q=vehicle", "member=SA&q=vehicles", "hs=85",
            "hs=4011", "member=JP&member=SA&type=regular", "open=1", "from=2026-11-01",
            "to=2026-10-31", "area=SPS", "q=magnets+OR+lamps", "q=-toys", "ics=43",
            "objective=Protection+of+human+health+or+safety+(TBT)", "q=轮胎"]


def test_alerts_find_what_the_page_finds(site):
    site.crawl(BASE, MATCHING, OTHER_MEMBER, OTHER_WORDS,
               eping_item(7, "G/TBT/N/JPN/901", *JPN, "Road vehicles", ics="43.020"))
    settings = site.app.extensions["marketpass"].settings
    with site.app.test_request_context("/", base_url=PUBLIC):
        changes, _ = site.store().changes(0)
        matcher = Matcher(changes.values(), site.app.extensions["marketpass"].backend(),
                          settings.today_date())
        found = {s: matcher.ids(alerts.search_query(s)) for s in SEARCHES}
    for search, ids in found.items():
        listed = site.client.get(f"/api/v1/notifications?{search}&per_page=100").get_json()
        assert ids == {i["symbol"] for i in listed["items"]}, search
    assert found["member=SA&q=vehicles"] == {"G/TBT/N/SAU/2001", "G/TBT/N/SAU/2002"}
    assert len({frozenset(ids) for ids in found.values()}) >= 10  # searches that differ


def test_words_matching_more_than_a_page_are_asked_by_symbol(tmp_path):
    """Over a page of matches since the oldest change: the backend is asked by symbols."""
    from search.documents import to_document
    from search.notifications import NotificationQuery
    from search.query import SearchRequest, Term
    from search.sqlite_backend import SqliteBackend
    from tests.conftest import notification

    records = [notification(f"G/TBT/N/JPN/{n}", title=f"Vehicles part {n}",
                            distribution_date=f"2026-{1 + n % 12:02d}-10") for n in range(1, 451)]
    records += [notification("G/TBT/N/KOR/1", title="Toys", distribution_date="2026-03-01")]
    backend = SqliteBackend(tmp_path / "index.db")
    backend.rebuild(to_document(r) for r in records)
    changed = [Change(n, r["id"], r["content_hash"], r) for n, r in enumerate(records[::2])]
    matcher = Matcher(changed, backend, datetime(2026, 12, 3).date())
    every = {h.id for page in (1, 2, 3) for h in backend.search(SearchRequest(
        text="vehicle", filters=(Term("kind", ("notification",)),), per_page=200,
        page=page)).hits}
    assert len(every) == 450
    assert matcher.ids(NotificationQuery(q="vehicle")) == every & {c.id for c in changed}
    assert matcher.ids(NotificationQuery(q="toys", members=("JP",))) == frozenset()


# --- refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:8080/hook", "private"), ("http://localhost/hook", "private"),
    ("http://[::1]/hook", "private"), ("http://[::ffff:127.0.0.1]/hook", "private"),
    ("http://2130706433/hook", "private"), ("http://10.1.2.3/hook", "private"),
    ("http://172.16.5.4/hook", "private"), ("http://192.168.1.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "private"), ("http://224.0.0.1/", "private"),
    ("http://0.0.0.0/", "private"), ("http://240.0.0.1/", "private"),
    ("http://100.64.0.1/", "private"), ("http://[fe80::1]/", "private"),
    ("ftp://files.example.org/hook", "scheme"), ("file:///etc/passwd", "scheme"),
    ("javascript:alert(1)", "scheme"), ("https://user:secret@hooks.example.org/", "credentials"),
    ("http://[::1/", "invalid"),
])
def test_webhook_addresses_on_private_networks_are_refused(url, reason):
    with pytest.raises(delivery.UnsafeUrl) as refused:
        delivery.check_url(url)
    assert refused.value.reason == reason


def test_the_api_refuses_them_and_calls_nothing(tmp_path, monkeypatch, smtp, receiver):
    site = Site(tmp_path, monkeypatch, MARKETPASS_WEBHOOK_ALLOW_PRIVATE="0",
                MARKETPASS_SMTP_URL=smtp.url)
    answer = site.client.post("/api/v1/subscriptions", json={"webhook_url": receiver.url})
    assert answer.status_code == 400
    assert "private" in answer.get_json()["error"]["message"]
    assert receiver.verifications == [] and receiver.deliveries == []


def test_a_webhook_that_does_not_echo_the_challenge_is_refused(site, receiver):
    answer = site.client.post("/api/v1/subscriptions", json={
        "webhook_url": "http://127.0.0.1:9/closed"})  # the discard port: nobody answers
    assert answer.status_code == 400 and "verification" in answer.get_json()["error"]["message"]
    assert site.store().due(False) == []


@pytest.mark.parametrize("lang", ["en", "fr", "zh"])
def test_a_bad_search_is_a_400_in_the_readers_language(site, smtp, lang):
    bad = "member=XX&hs=abc"
    answer = site.client.post(f"/api/v1/subscriptions?lang={lang}",
                              json={"email": ADDRESS, "search": bad})
    page = site.client.get(f"/api/v1/notifications?{bad}&lang={lang}")
    assert answer.status_code == page.status_code == 400
    assert answer.get_json()["error"]["message"] == page.get_json()["error"]["message"]
    assert smtp.messages == []


@pytest.mark.parametrize("body", [
    {"email": "not an address", "search": ""}, {"search": "member=SA"},
    {"email": ADDRESS, "webhook_url": "https://hooks.example.org/"},
    {"email": ADDRESS, "frequency": "hourly"}, {"email": ADDRESS, "lang": "tlh"},
    {"email": ADDRESS + "\r\nBcc: victim@example.org"}, [1, 2],
])
def test_bad_requests_are_400s(site, smtp, body):
    answer = site.client.post("/api/v1/subscriptions", json=body)
    assert answer.status_code == 400 and answer.get_json()["error"]["message"]
    assert smtp.messages == []


def test_without_a_mail_server_email_is_off_and_webhooks_work(tmp_path, monkeypatch, receiver):
    site = Site(tmp_path, monkeypatch)
    answer = site.client.post("/api/v1/subscriptions", json={"email": ADDRESS})
    assert answer.status_code == 503
    assert "switched off" in answer.get_json()["error"]["message"]
    assert "alert-email" not in site.client.get("/notifications").get_data(as_text=True)
    _webhook(site, receiver.url + "/hook")


def test_subscribing_is_limited_per_address(tmp_path, monkeypatch, smtp):
    site = Site(tmp_path, monkeypatch, MARKETPASS_SMTP_URL=smtp.url,
                MARKETPASS_SUBSCRIBE_PER_ADDRESS="2")
    codes = [site.client.post("/api/v1/subscriptions", json={
        "email": ADDRESS.upper() if n else ADDRESS, "search": f"hs={85 + n}"}).status_code
        for n in range(3)]
    assert codes == [202, 202, 429]
    assert len(smtp.wait_for(2)) == 2


def test_subscribing_is_rate_limited_per_client(tmp_path, monkeypatch, smtp):
    site = Site(tmp_path, monkeypatch, MARKETPASS_SMTP_URL=smtp.url)
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": True,
                      "RATELIMIT_SUBSCRIBE": "2 per minute"})
    client = app.test_client()
    codes = [client.post("/api/v1/subscriptions", json={
        "email": f"user{n}@example.org"}).status_code for n in range(3)]
    assert codes == [202, 202, 429]
    assert site  # the database the app reads


# --- the form on /notifications and the subscription's page ------------------------------------

def _form_token(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]


def test_the_form_on_the_notifications_page(site, smtp):
    page = site.client.get("/notifications?member=SA&q=vehicles&page=2").get_data(as_text=True)
    assert 'name="search" value="member=SA&amp;q=vehicles"' in page
    form = {"csrf": _form_token(page), "search": "q=vehicles&member=SA", "email": ADDRESS,
            "frequency": "daily", "lang": "en"}
    assert site.client.post("/subscriptions", data={**form, "csrf": "forged"}).status_code == 400
    other = create_app({"TESTING": True}).test_client()  # no cookie: a form from elsewhere
    assert other.post("/subscriptions", data=form).status_code == 400
    assert smtp.messages == []
    answer = site.client.post("/subscriptions", data=form)
    assert answer.status_code == 202 and answer.headers["Cache-Control"] == "no-store"
    assert "vehicles" in smtp.wait_for(1)[0]["Subject"]


def test_see_change_and_delete_a_subscription(site, smtp):
    token = _subscribe_and_confirm(site, smtp, "member=SA&hs=87")
    page = site.client.get(f"/subscriptions/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "j…@example.org" in text and ADDRESS not in text
    assert "Saudi Arabia" in text and "HS 87" in text
    changed = site.client.post(f"/subscriptions/{token}", data={
        "csrf": _form_token(text), "action": "update", "search": "member=JP",
        "frequency": "daily", "lang": "zh"})
    assert changed.status_code == 303
    sub = site.store().get_subscription(token)
    assert (sub.search, sub.frequency, sub.lang) == ("member=JP", "daily", "zh")
    assert site.client.post(f"/subscriptions/{token}", data={
        "csrf": _form_token(text), "action": "update", "search": "member=XX"}).status_code == 400
    deleted = site.client.post(f"/subscriptions/{token}", data={
        "csrf": _form_token(text), "action": "delete"})
    assert deleted.status_code == 200 and site.store().get_subscription(token) is None
    assert site.client.get(f"/subscriptions/{token}").status_code == 404


def test_the_json_twin_changes_and_deletes(site, receiver):
    token = _webhook(site, receiver.url + "/hook")["token"]
    changed = site.client.patch(f"/api/v1/subscriptions/{token}", json={"frequency": "daily"})
    assert changed.status_code == 200 and changed.get_json()["frequency"] == "daily"
    assert receiver.url not in changed.get_data(as_text=True)
    assert site.client.patch(f"/api/v1/subscriptions/{token}",
                             json={"search": "hs=x"}).status_code == 400
    assert site.client.delete(f"/api/v1/subscriptions/{token}").status_code == 200
    assert site.client.delete(f"/api/v1/subscriptions/{token}").status_code == 404


def test_the_address_is_never_shown(site, smtp):
    token = _subscribe_and_confirm(site, smtp, "member=SA")
    answers = [site.client.get(p) for p in (
        f"/subscriptions/{token}", f"/subscriptions/{token}/unsubscribe", "/notifications",
        "/api/v1/notifications", "/about/data", "/api/v1/crawls", "/healthz")]
    answers.append(site.client.post("/api/v1/subscriptions", json={"email": ADDRESS}))
    for answer in answers:
        assert ADDRESS not in answer.get_data(as_text=True), answer.request.path


def test_an_expired_or_used_confirmation_link(site, smtp):
    assert site.client.get("/subscriptions/confirm/nonsense").status_code == 404
    assert site.client.post("/subscriptions/confirm/nonsense").status_code == 404


# --- the scheduler ----------------------------------------------------------------------------

def test_the_scheduler_sends_after_a_crawl_that_changed_notifications(site, receiver):
    from crawlers.schedule import alerts_mark, run_alerts

    mark = alerts_mark(site.location)
    assert run_alerts(site.location, mark) == {}  # nobody to send to: no run
    _webhook(site, receiver.url + "/hook")
    _webhook(site, receiver.url + "/daily", frequency="daily")
    assert run_alerts(site.location, mark) == {"digest": 0}  # the day's first look
    assert run_alerts(site.location, mark) == {}  # nothing changed, digest done
    site.crawl(MATCHING)
    assert run_alerts(site.location, mark) == {"immediate": 0}
    assert len(receiver.to("/hook")) == 1 and receiver.to("/daily") == []
