"""Notification tracker benchmark: the list page and the Atom feed on 100,000 notifications.

The notifications are synthetic (``bench.corpus``, fixed seed) and say so. They are indexed in
a temporary SQLite file; the app then answers requests through Flask's test client, so a figure
is the server's time for a whole response (parameters, search, facets, template or XML), with
no network. Each query combines three filters drawn from the corpus: a member, an HS chapter and
a type (or "open for comment"), with facets, as an officer's watchlist would.

``python -m bench.notifications [--records N] [--requests N]`` adds
``sqlite_notifications_page_p95_ms`` and ``sqlite_atom_p95_ms`` (with their p50s) to
``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from bench.corpus import SEED, records
from bench.run import RESULTS, _ms, merge_results
from search.documents import to_document
from search.sqlite_backend import SqliteBackend

TODAY = "2025-06-01"  # inside the corpus' years, so "open for comment" finds some


def queries(recs: list[dict], n: int, rng: random.Random) -> list[str]:
    """Query strings of three filters each, weighted as the corpus is (busy members and
    chapters come up more often). Half are an officer's narrow watchlist (member, HS chapter,
    type); half are broad (agreement, type, a year of distribution), matching thousands."""
    members = Counter(r["member"] for r in recs)
    chapters = Counter(code[:2] for r in recs for code in r["hs_codes"])
    top_members = [m for m, _ in members.most_common(30)]
    top_chapters = [c for c, _ in chapters.most_common(40)]
    out = []
    for i in range(n):
        if i % 2:
            year = rng.randint(2015, 2025)
            out.append(urlencode([("area", "TBT"), ("type", rng.choice(["regular", "addendum"])),
                                  ("from", f"{year}-01-01"), ("to", f"{year}-12-31")]))
            continue
        third = rng.choice([("type", "regular"), ("type", "addendum"), ("open", "1"),
                            ("type", "revision")])
        out.append(urlencode([("member", rng.choice(top_members)),
                              ("hs", rng.choice(top_chapters)), third]))
    return out


def timed(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.get_data(as_text=True)[:300]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    recs = records(args.records, SEED)
    urls = queries(recs, args.requests, random.Random(SEED + 2))
    with tempfile.TemporaryDirectory(prefix="marketpass-bench-") as tmp:
        os.environ["MARKETPASS_RATELIMIT"] = "0"  # one client address: capacity, not limits
        os.environ.update(MARKETPASS_DB=str(Path(tmp) / "store.db"), MARKETPASS_TODAY=TODAY,
                          MARKETPASS_SEARCH_URL="", MARKETPASS_FEED_SIZE="50")
        backend = SqliteBackend(Path(tmp) / "index.db")
        backend.rebuild(to_document(r) for r in recs)
        from webapp import create_app

        client = create_app({"BACKEND": backend}).test_client()
        timed(client, "/notifications")  # loads the columns once, as any first search does
        page = [timed(client, f"/notifications?{q}") for q in urls]
        api = [timed(client, f"/api/v1/notifications?{q}") for q in urls]
        atom = [timed(client, f"/notifications/feed.atom?{q}") for q in urls]
        totals = [client.get(f"/api/v1/notifications?{q}&per_page=1").get_json()["total"]
                  for q in urls]
        backend.close()
    figures = {"notifications_bench_records": len(recs),
               "notifications_bench_requests": len(urls),
               "notifications_bench_median_matches": sorted(totals)[len(totals) // 2],
               "notifications_bench_max_matches": max(totals)}
    for name, samples in (("sqlite_notifications_page", page),
                          ("sqlite_notifications_api", api), ("sqlite_atom", atom)):
        p50, p95 = _ms(samples)
        figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = p50, p95
    merge_results(figures)
    print(f"targets: page p95 ≤ 50 ms, atom p95 ≤ 30 ms; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
