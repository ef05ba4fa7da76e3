"""The peer benchmark: MarketPass beside Datasette on the same notifications and queries.

Datasette (a benchmark-only dependency, ``pip install -e '.[bench]'``) is what a user would pick
to publish such data: one SQLite table of the synthetic notifications (``bench.corpus``, fixed
seed, labelled as such) with an FTS5 index as ``sqlite-utils enable-fts`` makes it, served by
``datasette serve`` with its default settings but for the facet and SQL time limits (raised to
10 s, so a slow facet is measured rather than dropped) and without facet suggestions (a query
per column on every request, which a publisher would turn off). MarketPass serves the same
records from its SQLite index under gunicorn (``gunicorn.conf.py``). Both run on loopback, one
after the other, and get the same query texts (``bench.run.make_queries``) in two rounds:

- text: a word or two, 20 results and their total (``/api/v1/notifications?q=…&facets=none
  &highlight=0`` / ``?_search=``);
- facets: the same text with a member and a year range, member, type and area counted.

Both answer the same question: the results, their number and the counts asked for, without
snippets (Datasette gives none).

Throughput is requests per second from 8 client threads with keep-alive connections, for
``--seconds`` per round. Ingest is records per second from the records to a searchable file:
``to_document`` and ``rebuild`` for MarketPass; the table rows, their insert and the FTS build
for Datasette. Each ratio is MarketPass / Datasette (above 1: MarketPass is faster).

``python -m bench.peer [--records N] [--seconds S]`` adds ``peer_text_rps_ratio``,
``peer_facets_rps_ratio``, ``peer_ingest_ratio`` and the figures they come from to
``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.corpus import SEED, records
from bench.load import _free_port, drive, ready, start_gunicorn
from bench.run import make_queries, merge_results
from search.documents import to_document
from search.settings import index_path
from search.sqlite_backend import SqliteBackend

CONCURRENCY = 8
COLUMNS = ("id", "symbol", "member", "area", "type", "title", "description", "products",
           "distribution_date", "comment_deadline", "hs_codes", "objectives")
FTS_COLUMNS = ("title", "description", "products")


def peer_ingest(path: Path, recs: list[dict]) -> float:
    """Seconds to write the table and its FTS5 index, as sqlite-utils does."""
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE notifications ({', '.join(COLUMNS)}, PRIMARY KEY (id))")
    rows = ([json.dumps(r[c]) if isinstance(r[c], list) else r[c] for c in COLUMNS]
            for r in recs)
    conn.executemany(f"INSERT INTO notifications VALUES ({', '.join('?' for _ in COLUMNS)})",
                     rows)
    conn.execute(f"CREATE VIRTUAL TABLE notifications_fts USING FTS5 ({', '.join(FTS_COLUMNS)}, "
                 "content=[notifications])")
    conn.execute(f"INSERT INTO notifications_fts (rowid, {', '.join(FTS_COLUMNS)}) "
                 f"SELECT rowid, {', '.join(FTS_COLUMNS)} FROM notifications")
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def own_ingest(path: Path, recs: list[dict]) -> float:
    start = time.perf_counter()
    backend = SqliteBackend(index_path(path))
    backend.rebuild((to_document(r) for r in recs), size=len(recs))  # as `index rebuild` says it
    backend.close()
    return time.perf_counter() - start


def start_datasette(path: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(path), "--host", "127.0.0.1",
         "--port", str(port), "--setting", "facet_time_limit_ms", "10000",
         "--setting", "sql_time_limit_ms", "10000", "--setting", "suggest_facets", "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ready(process, port, f"/{path.stem}/notifications.json?_size=1", "datasette")


def urls(texts: list[str], members: list[str], rng: random.Random, db: str
         ) -> dict[str, tuple[list[str], list[str]]]:
    """For each round, (MarketPass's URLs, Datasette's) asking the same questions."""
    # The same answer on both sides: 20 results and their total, no counts, no snippets.
    text_own = [f"/api/v1/notifications?{urlencode({'q': t, 'per_page': 20})}"
                "&facets=none&highlight=0" for t in texts]
    text_peer = [f"/{db}/notifications.json?{urlencode({'_search': t, '_size': 20})}"
                 for t in texts]
    facets_own, facets_peer = [], []
    for t in texts:
        member, year = rng.choice(members), rng.randint(2005, 2022)
        facets_own.append("/api/v1/notifications?" + urlencode(
            [("q", t), ("member", member), ("from", f"{year}-01-01"), ("per_page", 20),
             ("facets", "member"), ("facets", "type"), ("facets", "area"), ("highlight", 0)]))
        facets_peer.append(f"/{db}/notifications.json?" + urlencode(
            [("_search", t), ("member", member), ("distribution_date__gte", f"{year}-01-01"),
             ("_facet", "member"), ("_facet", "type"), ("_facet", "area"), ("_size", 20)]))
    return {"text": (text_own, text_peer), "facets": (facets_own, facets_peer)}


def throughput(port: int, paths: list[str], seconds: float) -> tuple[float, int]:
    results = drive(port, paths, seconds, CONCURRENCY)
    errors = sum(status != 200 for _t, status, _u in results)
    return len(results) / seconds, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args(argv)
    recs = records(args.records, SEED)
    texts = make_queries(recs, 400, random.Random(SEED + 1))
    members = sorted({r["member"] for r in recs})
    figures: dict = {"peer_records": len(recs), "peer_concurrency": CONCURRENCY}
    with tempfile.TemporaryDirectory(prefix="marketpass-peer-") as tmp:
        own_db, peer_db = Path(tmp) / "marketpass.db", Path(tmp) / "peer.db"
        own_s, peer_s = own_ingest(own_db, recs), peer_ingest(peer_db, recs)
        figures |= {"peer_own_ingest_records_per_s": round(len(recs) / own_s),
                    "peer_datasette_ingest_records_per_s": round(len(recs) / peer_s),
                    "peer_ingest_ratio": round(peer_s / own_s, 3)}
        rounds = urls(texts, members, random.Random(SEED + 5), peer_db.stem)
        rps: dict[str, list[float]] = {}
        for server_name in ("own", "peer"):
            port = _free_port()
            server = (start_gunicorn(own_db, port) if server_name == "own"
                      else start_datasette(peer_db, port))
            try:
                for name, (own_paths, peer_paths) in rounds.items():
                    paths = own_paths if server_name == "own" else peer_paths
                    throughput(port, paths[:20], 2)  # warm-up, not counted
                    rate, errors = throughput(port, paths, args.seconds)
                    if errors:
                        raise SystemExit(f"{server_name} {name}: {errors} failed requests")
                    rps.setdefault(name, []).append(rate)
            finally:
                server.terminate()
                server.wait(timeout=30)
    for name, (own, peer) in rps.items():
        figures |= {f"peer_{name}_own_rps": round(own, 1),
                    f"peer_{name}_datasette_rps": round(peer, 1),
                    f"peer_{name}_rps_ratio": round(own / peer, 3)}
    merge_results(figures)
    print("targets (#17): every peer ratio ≥ 2")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
