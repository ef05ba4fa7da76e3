"""Alerts benchmark: ``alerts send`` for 10,000 subscriptions over 1,000 new notifications.

Everything is synthetic and says so: the notifications come from ``bench.corpus`` (fixed seed,
source ``bench_synthetic``), the subscribers are ``bench-<n>@example.invalid`` and
``https://hooks.example.invalid/<n>``. A first crawl commits the older notifications, the
subscriptions start there, a second crawl commits the 1,000 newest, and the index holds both.
The run is the real one (``webapp.alerts.run``: change log, matching, rendering each message in
its subscriber's language, signing each webhook body, recording each delivery in its own
transaction) with a sender that drops what it is handed: SMTP and HTTP are left out.

Searches are drawn as officers watch: a member and an HS chapter (40 %), a member (20 %), an
agreement and an HS chapter (15 %), a word of the titles with or without a member (15 %), a
member with "open for comment" or a type (10 %), busy members and chapters more often.

``python -m bench.alerts [--subscriptions N] [--new N] [--older N]`` adds ``alerts_send_s``
(target ≤ 60 s) and the run's counts to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from bench.corpus import SEED, records
from bench.run import RESULTS, merge_results
from search.alerts import AlertStore
from search.indexing import rebuild
from search.settings import index_path
from search.sqlite_backend import SqliteBackend

TODAY = "2026-11-26"  # the corpus' last day, so "open for comment" finds the new ones
LANGS = ("en", "en", "en", "zh", "fr", "es", "ar", "ru")


class NullSender:
    """Takes messages and bodies as the SMTP server and the webhooks would, and drops them."""

    def __init__(self) -> None:
        self.mails = self.posts = 0

    def mail(self, message) -> None:
        self.mails += 1

    def post(self, sub, body: bytes, delivery_id: str) -> None:
        self.posts += 1

    def close(self) -> None:
        pass


def searches(recs: list[dict], n: int, rng: random.Random) -> list[str]:
    members = [m for m, _ in Counter(r["member"] for r in recs).most_common(40)]
    chapters = [c for c, _ in Counter(h[:2] for r in recs for h in r["hs_codes"]).most_common(60)]
    words = [w for w, _ in Counter(w for r in recs for w in r["title"].lower().split()[3:]
                                   if w.isalpha() and len(w) > 4).most_common(300)]
    out = []
    for _ in range(n):
        roll, member = rng.random(), rng.choice(members)
        if roll < 0.40:
            pairs = [("member", member), ("hs", rng.choice(chapters))]
        elif roll < 0.60:
            pairs = [("member", member)]
        elif roll < 0.75:
            pairs = [("area", rng.choice(("TBT", "SPS"))), ("hs", rng.choice(chapters))]
        elif roll < 0.90:
            pairs = [("q", rng.choice(words))] + ([("member", member)] if rng.random() < .5 else [])
        else:
            pairs = [("member", member), rng.choice((("open", "1"), ("type", "addendum")))]
        out.append(urlencode(pairs))
    return out


def subscribe(store: AlertStore, found: list[str], rng: random.Random) -> None:
    """Subscriptions confirmed now: they start at the change log's current end."""
    for n, search in enumerate(found):
        hook = rng.random() < 0.3
        address = f"https://hooks.example.invalid/{n}" if hook else f"bench-{n}@example.invalid"
        _, confirm = store.add(channel="webhook" if hook else "email", address=address,
                               key=f"key-{n}", search=search, frequency="immediate",
                               lang=rng.choice(LANGS),
                               secret=secrets.token_hex(16) if hook else None)
        store.confirm(confirm)


def commit(store: AlertStore, recs: list[dict]) -> None:
    crawl = store.start_crawl("bench_synthetic")
    store.stage(crawl, recs)
    store.finish_crawl(crawl)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--older", type=int, default=20_000)
    args = parser.parse_args(argv)
    recs = records(args.older + args.new, SEED)
    rng = random.Random(SEED + 3)
    with tempfile.TemporaryDirectory(prefix="marketpass-bench-") as tmp:
        db = Path(tmp) / "marketpass.db"
        os.environ.update(MARKETPASS_DB=str(db), MARKETPASS_SEARCH_URL="", MARKETPASS_TODAY=TODAY,
                          MARKETPASS_RATELIMIT="0", MARKETPASS_SMTP_URL="smtp://null.invalid")
        store = AlertStore(db)
        commit(store, recs[: args.older])
        found = searches(recs[: args.older], args.subscriptions, rng)
        subscribe(store, found, rng)
        commit(store, recs[args.older :])
        backend = SqliteBackend(index_path(db))
        rebuild(store, backend)
        figures = measure(store, backend, found)
        backend.close()
    figures.update(alerts_bench_subscriptions=args.subscriptions,
                   alerts_bench_new_notifications=args.new,
                   alerts_bench_older_notifications=args.older,
                   alerts_bench_distinct_searches=len(set(found)))
    merge_results(figures)
    print(f"target: alerts_send_s ≤ 60; written to {RESULTS}")
    return 0


def measure(store: AlertStore, backend: SqliteBackend, found: list[str]) -> dict:
    from webapp import alerts, create_app

    app = create_app({"BACKEND": backend})
    settings = app.extensions["marketpass"].settings
    sender = NullSender()
    with app.test_request_context("/", base_url=settings.public_url):
        start = time.perf_counter()
        report = alerts.run(store, backend, sender, settings)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        again = alerts.run(store, backend, sender, settings)
        seconds_again = time.perf_counter() - start
    assert again.messages == 0, "a second run sent something"
    return {"alerts_send_s": round(seconds, 2), "alerts_send_again_s": round(seconds_again, 2),
            "alerts_bench_messages": report.messages,
            "alerts_bench_notifications_sent": report.notifications,
            "alerts_bench_emails": sender.mails, "alerts_bench_webhooks": sender.posts}


if __name__ == "__main__":
    raise SystemExit(main())
