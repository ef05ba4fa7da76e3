"""Alerts on notification searches: subscriptions, what each is owed, and what it was sent.

Subscriptions live in the record store's database, beside the change log they read: every new
or changed notification is a ``store_history`` row, and each subscription keeps a cursor, the
last row it has been matched against. A run reads the rows past the cursors, matches them, and
for each subscription, once its message was accepted (SMTP) or answered 2xx (webhook), records
in one transaction what it was sent — (subscription, notification, content hash) — and moves
its cursor. A second run therefore finds nothing owed; a run killed half-way resends only the
message that was in flight when it died (delivered but not yet recorded): at-least-once for
that message, exactly once for every other.

Matching gives the page's answer: the search's filters are the page's own
(``search.notifications.filters``), evaluated on each changed record's index document as the
backends evaluate them (a keyword filter keeps a document having any of its values, a date
range keeps a document whose date lies within it); the words go to the backend itself,
restricted to the changed notifications (by their dates or their symbols).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from search import jsonio
from search.backend import SearchBackend
from search.documents import to_document
from search.fields import Document
from search.notifications import NotificationQuery, filters
from search.query import MAX_PER_PAGE, MAX_VALUES, Range, SearchRequest, Term
from search.store import RecordStore

FREQUENCIES = ("immediate", "daily")
CHANNELS = ("email", "webhook")
# A confirmation link works this long; unconfirmed subscriptions (and their addresses) are
# then forgotten.
CONFIRM_DAYS = 7

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_subscriptions (
    id {serial} PRIMARY KEY, token TEXT NOT NULL UNIQUE, confirm_token TEXT UNIQUE,
    channel TEXT NOT NULL, address TEXT NOT NULL, address_key TEXT NOT NULL, secret TEXT,
    search TEXT NOT NULL, frequency TEXT NOT NULL, lang TEXT NOT NULL, status TEXT NOT NULL,
    cursor BIGINT NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_try TEXT,
    last_error TEXT, last_sent TEXT, created_at TEXT NOT NULL, confirmed_at TEXT);
CREATE INDEX IF NOT EXISTS alert_subscriptions_due ON alert_subscriptions (status, frequency);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    subscription_id BIGINT NOT NULL, notification_id TEXT NOT NULL, content_hash TEXT NOT NULL,
    sent_at TEXT NOT NULL, PRIMARY KEY (subscription_id, notification_id, content_hash)
){without_rowid};
CREATE TABLE IF NOT EXISTS alert_requests (address_key TEXT NOT NULL, requested_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alert_requests_key ON alert_requests (address_key, requested_at);
CREATE TABLE IF NOT EXISTS alert_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = ("id", "token", "channel", "address", "secret", "search", "frequency", "lang",
            "status", "cursor", "attempts", "next_try", "last_error", "last_sent", "created_at")
# New or changed notifications past a cursor, oldest first (store_history has no kind; a
# record's kind never changes, so the stored record's tells).
_CHANGES = """
    SELECT h.rowid, h.id, h.content_hash, h.data FROM store_history h
    JOIN store_records r ON r.id = h.id
    WHERE h.rowid > ? AND h.rowid <= ? AND r.kind = 'notification' ORDER BY h.rowid"""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Subscription:
    id: int
    token: str
    channel: str
    address: str
    secret: str | None
    search: str
    frequency: str
    lang: str
    status: str
    cursor: int
    attempts: int
    next_try: str | None
    last_error: str | None
    last_sent: str | None
    created_at: str

    @property
    def masked(self) -> str:
        return mask(self.address, self.channel)


@dataclass(frozen=True)
class Change:
    """A notification's newest version past some cursor: its history row and content."""

    rowid: int
    id: str
    content_hash: str
    record: dict


def mask(address: str, channel: str = "email") -> str:
    """What a page may show of an address: ``j…@example.org``, or a webhook's host."""
    if channel == "webhook":
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.hostname}/…"
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def address_key(secret_key: str, address: str) -> str:
    """A keyed hash of an address, to count requests per address without a readable index."""
    return hmac.new(secret_key.encode(), address.strip().lower().encode(),
                    hashlib.sha256).hexdigest()


class AlertStore(RecordStore):
    """The record store with the alert tables: one database, one connection per thread, so a
    change log read and a delivery record can share a transaction."""

    def __init__(self, location: Path | str, create: bool = True) -> None:
        super().__init__(location, create)
        pg = self.db.postgres
        with self.db.transaction():
            self.db.lock("schema")
            self.db.script(_SCHEMA.format(serial="BIGSERIAL" if pg else "INTEGER",
                                          without_rowid="" if pg else " WITHOUT ROWID"))

    # --- subscribing --------------------------------------------------------------------------

    def requests_today(self, key: str, now: datetime | None = None) -> int:
        since = ((now or _now()) - timedelta(days=1)).isoformat()
        return self.db.execute(
            "SELECT COUNT(*) FROM alert_requests WHERE address_key = ? AND requested_at > ?",
            (key, since)).fetchone()[0]

    def note_request(self, key: str) -> None:
        self.db.execute("INSERT INTO alert_requests VALUES (?, ?)", (key, _now().isoformat()))

    def add(self, *, channel: str, address: str, key: str, search: str, frequency: str,
            lang: str, secret: str | None = None) -> tuple[str, str]:
        """A subscription waiting for its confirmation; its token and confirmation token."""
        token, confirm = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.db.execute(
            "INSERT INTO alert_subscriptions (token, confirm_token, channel, address, "
            "address_key, secret, search, frequency, lang, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            (token, confirm, channel, address, key, secret, search, frequency, lang,
             _now().isoformat()))
        return token, confirm

    def confirm(self, confirm_token: str) -> Subscription | None:
        """Activate the subscription the link names: from now on (the change log's current
        end) it is sent what changes. None for an unknown or expired link."""
        with self.db.transaction() as db:
            row = db.execute(
                "SELECT id, created_at FROM alert_subscriptions WHERE confirm_token = ?",
                (confirm_token,)).fetchone()
            if row and _expired(row[1]):
                row = None
            if row:
                db.execute(
                    "UPDATE alert_subscriptions SET status = 'active', confirm_token = NULL, "
                    "confirmed_at = ?, cursor = (SELECT COALESCE(MAX(rowid), 0) FROM "
                    "store_history) WHERE id = ?", (_now().isoformat(), row[0]))
        return self.get_subscription(row[0]) if row else None

    def pending_confirmation(self, confirm_token: str) -> Subscription | None:
        row = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM alert_subscriptions WHERE confirm_token = ?",
            (confirm_token,)).fetchone()
        sub = Subscription(*row) if row else None
        return None if sub is None or _expired(sub.created_at) else sub

    def get_subscription(self, ref: int | str) -> Subscription | None:
        column = "id" if isinstance(ref, int) else "token"
        row = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM alert_subscriptions WHERE {column} = ?",
            (ref,)).fetchone()
        return Subscription(*row) if row else None

    def update(self, token: str, **values: str) -> None:
        allowed = {k: v for k, v in values.items() if k in ("search", "frequency", "lang")}
        if allowed:
            sets = ", ".join(f"{k} = ?" for k in allowed)
            self.db.execute(f"UPDATE alert_subscriptions SET {sets} WHERE token = ?",
                                 (*allowed.values(), token))

    def resume(self, token: str) -> None:
        """A disabled subscription back on, owed what it missed (its cursor stayed)."""
        self.db.execute(
            "UPDATE alert_subscriptions SET status = 'active', attempts = 0, next_try = NULL "
            "WHERE token = ? AND status = 'disabled'", (token,))

    def delete(self, token: str) -> bool:
        """Forget the subscription, its address and what it was sent."""
        with self.db.transaction() as db:
            row = db.execute("SELECT id FROM alert_subscriptions WHERE token = ?",
                             (token,)).fetchone()
            if row:
                db.execute("DELETE FROM alert_deliveries WHERE subscription_id = ?", row)
                db.execute("DELETE FROM alert_subscriptions WHERE id = ?", row)
        return row is not None

    def forget_unconfirmed(self, now: datetime | None = None) -> int:
        since = ((now or _now()) - timedelta(days=CONFIRM_DAYS)).isoformat()
        self.db.execute("DELETE FROM alert_requests WHERE requested_at < ?", (since,))
        return self.db.execute("DELETE FROM alert_subscriptions WHERE status = 'pending' AND "
                            "created_at < ?", (since,)).rowcount

    # --- sending ------------------------------------------------------------------------------

    def due(self, digest: bool, now: datetime | None = None) -> list[Subscription]:
        """Active subscriptions to send now: the daily ones for a digest, else the immediate
        ones and any whose failed delivery is due to be tried again."""
        which = "frequency = 'daily'" if digest else "(frequency = 'immediate' OR attempts > 0)"
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM alert_subscriptions WHERE status = 'active' "
            f"AND {which} AND (next_try IS NULL OR next_try <= ?) ORDER BY id",
            ((now or _now()).isoformat(),)).fetchall()
        return [Subscription(*row) for row in rows]

    def any_active(self, frequency: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM alert_subscriptions WHERE status = 'active' AND frequency = ? "
            "LIMIT 1", (frequency,)).fetchone() is not None

    def retries_due(self, now: datetime | None = None) -> bool:
        return self.db.execute(
            "SELECT 1 FROM alert_subscriptions WHERE status = 'active' AND next_try <= ? "
            "LIMIT 1", ((now or _now()).isoformat(),)).fetchone() is not None

    def changes(self, since: int) -> tuple[dict[str, Change], int]:
        """Each notification's newest version past ``since`` and the change log's end, read
        together (a crawl committing meanwhile is left for the next run)."""
        # The end first, then the rows up to it: a crawl committing meanwhile adds rows past
        # the end only (commits are serialised, see RecordStore.finish_crawl).
        end = self.history_end()
        rows = self.db.execute(_CHANGES, (since, end)).fetchall()
        newest = {i: Change(rowid, i, h, jsonio.loads(data)) for rowid, i, h, data in rows}
        return newest, end

    def notifications_changed(self, since: int) -> bool:
        """Whether a notification was created or changed past this point of the change log."""
        end = self.history_end()
        return end > since and self.db.execute(
            _CHANGES + " LIMIT 1", (since, end)).fetchone() is not None

    def history_end(self) -> int:
        return self.db.execute(
            "SELECT COALESCE(MAX(rowid), 0) FROM store_history").fetchone()[0]

    def unsent(self, sub_id: int, changes: list[Change]) -> list[Change]:
        """Those of the changes this subscription was not sent yet."""
        sent: set[tuple[str, str]] = set()
        for start in range(0, len(changes), 500):
            chunk = changes[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            sent.update(self.db.execute(
                "SELECT notification_id, content_hash FROM alert_deliveries WHERE "
                f"subscription_id = ? AND notification_id IN ({marks})",
                (sub_id, *(c.id for c in chunk))).fetchall())
        return [c for c in changes if (c.id, c.content_hash) not in sent]

    def delivered(self, sub_id: int, changes: list[Change], cursor: int) -> None:
        """Record what was sent and move the cursor, together: the exactly-once point."""
        stamp = _now().isoformat()
        with self.db.transaction() as db:
            db.executemany("INSERT INTO alert_deliveries VALUES (?, ?, ?, ?) "
                           "ON CONFLICT DO NOTHING",
                           [(sub_id, c.id, c.content_hash, stamp) for c in changes])
            db.execute(
                f"UPDATE alert_subscriptions SET cursor = {self._greatest}(cursor, ?), "
                "attempts = 0, next_try = NULL, last_error = NULL, last_sent = ? WHERE id = ?",
                (cursor, stamp, sub_id))

    def passed(self, sub_ids: list[int], cursor: int) -> None:
        """Subscriptions owed nothing up to ``cursor``: their cursors move, in one write."""
        with self.db.transaction() as db:
            for start in range(0, len(sub_ids), 500):
                chunk = sub_ids[start : start + 500]
                db.execute(
                    f"UPDATE alert_subscriptions SET cursor = {self._greatest}(cursor, ?) "
                    f"WHERE id IN ({', '.join('?' for _ in chunk)})", (cursor, *chunk))

    def failed(self, sub: Subscription, error: str, *, retry_seconds: int, max_failures: int,
               now: datetime | None = None) -> bool:
        """A failed delivery stays owed (the cursor does not move); it is tried again after a
        wait that doubles each time, and the subscription is disabled after ``max_failures``
        in a row. Whether it was disabled."""
        attempts = sub.attempts + 1
        wait = timedelta(seconds=retry_seconds * 2 ** (attempts - 1))
        disabled = attempts >= max_failures
        self.db.execute(
            "UPDATE alert_subscriptions SET attempts = ?, next_try = ?, last_error = ?, "
            "status = ? WHERE id = ?",
            (attempts, ((now or _now()) + wait).isoformat(), error[:500],
             "disabled" if disabled else sub.status, sub.id))
        return disabled

    def deliveries(self, sub_id: int) -> list[tuple[str, str]]:
        return self.db.execute(
            "SELECT notification_id, content_hash FROM alert_deliveries WHERE subscription_id "
            "= ? ORDER BY sent_at, notification_id", (sub_id,)).fetchall()

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM alert_meta WHERE key = ?",
                                   (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO alert_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                        "SET value = excluded.value", (key, value))

    @property
    def _greatest(self) -> str:
        """The larger of two values: SQLite's two-argument MAX, PostgreSQL's GREATEST."""
        return "GREATEST" if self.db.postgres else "MAX"


def _expired(created_at: str) -> bool:
    return datetime.fromisoformat(created_at) < _now() - timedelta(days=CONFIRM_DAYS)


# --- matching ---------------------------------------------------------------------------------

class Matcher:
    """Which of a run's changed notifications each search finds, as the page would find them.

    Filters are evaluated on the changed notifications' documents through postings built
    once; words are asked of the backend once per distinct text, restricted to the changed
    symbols. Answers are cached per search, so 10,000 subscriptions over a few thousand
    distinct searches cost a few thousand set operations.
    """

    def __init__(self, changes: Iterable[Change], backend: SearchBackend, today: date) -> None:
        self.docs: dict[str, Document] = {c.id: to_document(c.record) for c in changes}
        self.backend, self.today = backend, today
        self.postings: dict[tuple[str, str], set[str]] = defaultdict(set)
        for doc in self.docs.values():
            for name in {*doc.keywords, "kind"}:
                for value in doc.keyword_values(name):
                    self.postings[(name, value)].add(doc.id)
        self.by_symbol: dict[str, set[str]] = defaultdict(set)
        for doc in self.docs.values():
            self.by_symbol[doc.record["symbol"]].add(doc.id)
        self._texts: dict[str, tuple[set[str], set[str]]] = {}  # symbols asked, ids found
        self._searches: dict[tuple, frozenset[str]] = {}

    def ids(self, query: NotificationQuery) -> frozenset[str]:
        wanted = filters(query, self.today)
        text = (query.widened or query.q).strip()
        key = (wanted, text)
        if key not in self._searches:
            found = self._filtered(wanted)
            if text and found:
                found &= self._text(text, found)
            self._searches[key] = frozenset(found)
        return self._searches[key]

    def _filtered(self, wanted: tuple) -> set[str]:
        terms = [f for f in wanted if isinstance(f, Term)]
        found = set(self.docs)
        for f in sorted(terms, key=lambda t: sum(len(self.postings.get((t.field, v), ()))
                                                  for v in t.values)):
            found &= set().union(*(self.postings.get((f.field, v), set()) for v in f.values))
            if not found:
                return found
        for f in wanted:
            if isinstance(f, Range):
                found = {i for i in found if _within(self.docs[i].dates.get(f.field), f)}
        return found

    def _text(self, text: str, candidates: set[str]) -> set[str]:
        """Which candidates the words find. The backend is asked once per text and symbol,
        only about candidates not asked about before (a search with a member asks little)."""
        asked, found = self._texts.setdefault(text, (set(), set()))
        symbols = {self.docs[i].record["symbol"] for i in candidates} - asked
        if symbols:
            ids = set().union(*(self.by_symbol[s] for s in symbols))
            found.update(ids & self._recent(text, ids))
            asked.update(symbols)
        return found

    def _recent(self, text: str, ids: set[str]) -> set[str]:
        """What the words find among these documents: in one query when they find no more
        than a page since the oldest of them (changes are mostly recent notifications), else
        by batches of symbols."""
        days = [self.docs[i].dates.get("date") for i in ids]
        if all(days):
            found = self.backend.search(SearchRequest(
                text=text, filters=(Term("kind", ("notification",)),
                                    Range("date", gte=min(days)[:10])),
                sort="-date", per_page=MAX_PER_PAGE, highlight=False))
            if found.total <= len(found.hits):
                return {hit.id for hit in found.hits}
        return self._by_symbols(text, sorted({self.docs[i].record["symbol"] for i in ids}))

    def _by_symbols(self, text: str, symbols: list[str]) -> set[str]:
        out = set()
        for start in range(0, len(symbols), MAX_VALUES):
            batch = tuple(symbols[start : start + MAX_VALUES])
            found = self.backend.search(SearchRequest(
                text=text, filters=(Term("kind", ("notification",)), Term("symbol", batch)),
                per_page=MAX_PER_PAGE, highlight=False))
            out.update(hit.id for hit in found.hits)
        return out


def _within(value: str | None, bounds: Range) -> bool:
    """As the backends compare dates: by day, bounds included, a missing date never within."""
    if not value:
        return False
    day = value[:10]
    return (bounds.gte is None or day >= bounds.gte[:10]) and \
        (bounds.lte is None or day <= bounds.lte[:10])


def owed(sub: Subscription, changes: dict[str, Change], found: frozenset[str]) -> list[Change]:
    """The changes past this subscription's cursor that its search finds, oldest first."""
    return sorted((changes[i] for i in found if changes[i].rowid > sub.cursor),
                  key=lambda c: c.rowid)
