"""Scale benchmark: the embedded index at N synthetic notifications, as gunicorn serves it.

``make bench SCALE=1000000`` runs ``python -m bench.scale --records 1000000``. The index holds
the curated knowledge base, the HS nomenclature and N synthetic notifications (``bench.corpus``,
fixed seed, labelled as such), written by one rebuild that streams the corpus (it is never held
whole in memory). Then:

- in this process, the searches of ``bench.run`` (text, area, dates, three facets, a page of
  20) after a warm-up: ``scale_search_p50_ms`` / ``scale_search_p95_ms``;
- gunicorn (``gunicorn.conf.py``, ``WEB_CONCURRENCY`` workers) on loopback: the same questions
  to ``/api/v1/notifications`` one after another (``scale_http_notifications_p95_ms``); then a
  write of
  ten notifications from another process, as a crawl makes it, and the first requests after
  it, one per worker (``scale_first_request_after_write_ms``, the slowest of them: each worker
  loads the index's new generation); and the workers' resident memory at the end
  (``scale_worker_rss_mb``, the largest), read from ``/proc``. Gunicorn is stopped by its PID.

The figures go to ``bench/results/latest.json`` under ``scale_*`` names.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import tempfile
import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from bench.corpus import SEED, raw_records
from bench.load import _free_port, start_gunicorn
from bench.match import knowledge
from bench.run import _disk_bytes, _ms, _timed, make_queries, merge_results, request
from search.documents import to_document
from search.fields import Document
from search.query import SearchRequest
from search.records import content_hash, load_record
from search.settings import index_path
from search.sqlite_backend import SqliteBackend

SAMPLE_EVERY = 20  # records kept for the query words and the write (the rest stream through)


def streamed(n: int, kept: list[dict]) -> Iterator[Document]:
    """The corpus's documents one by one, keeping every SAMPLE_EVERY-th record."""
    for i, data in enumerate(raw_records(n, SEED)):
        record = load_record("notification", data)
        if i % SAMPLE_EVERY == 0:
            kept.append(record)
        yield to_document(record)


def http_ms(conn: http.client.HTTPConnection, path: str) -> float:
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return (time.perf_counter() - start) * 1000


def tracker_path(req) -> str:
    """The same question to the notification tracker's API (text, area, dates, facets)."""
    area = req.filters[0].values[0]
    since = req.filters[1].gte
    return "/api/v1/notifications?" + urlencode({"q": req.text, "area": area, "from": since})


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def a_write(db: Path, kept: list[dict]) -> None:
    """Ten notifications changed, written as a crawl writes them (its own connection)."""
    changed = []
    for record in kept[:10]:
        new = {**record, "title": record["title"] + " (revised)"}
        changed.append(to_document({**new, "content_hash": content_hash(new)}))
    writer = SqliteBackend(index_path(db))
    try:
        writer.upsert(changed)
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=250)
    parser.add_argument("--db", type=Path, help="keep the index beside this file (its .index "
                        "sibling); one already there (from an earlier run of the same size) "
                        "is used as it is")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="marketpass-scale-") as tmp:
        db = args.db or Path(tmp) / "marketpass.db"
        kept = build(db, args.records)
        queries = make_queries(kept, args.queries, random.Random(SEED + 1))
        rng = random.Random(SEED + 3)
        requests = [request(text, rng) for text in queries]
        merge_results(in_process(db, requests))
        merge_results(served(db, requests, kept))
    print("targets (#17 at 1,000,000): scale_search_p95_ms ≤ 30, "
          "scale_first_request_after_write_ms ≤ 1000, scale_worker_rss_mb ≤ 1024")
    return 0


def build(db: Path, n: int) -> list[dict]:
    """The index of ``db`` (``index_path``: built unless there); the sampled records either
    way."""
    kept: list[dict] = []
    if index_path(db).exists():
        for i, data in enumerate(raw_records(n, SEED)):
            if i % SAMPLE_EVERY == 0:
                kept.append(load_record("notification", data))
        return kept
    backend = SqliteBackend(index_path(db))
    start = time.perf_counter()
    kb = knowledge()
    backend.rebuild(chain(streamed(n, kept), map(to_document, kb)), size=n + len(kb))
    backend.close()
    merge_results({"scale_records": n, "scale_build_s": round(time.perf_counter() - start, 1),
                   "scale_bytes_per_record": round(_disk_bytes(index_path(db)) / (n + len(kb)))})
    return kept


def in_process(db: Path, requests: list) -> dict:
    out: dict = {}
    backend = SqliteBackend(index_path(db))
    try:
        out["scale_first_filter_ms"] = round(_timed(backend.search, SearchRequest()) * 1000, 1)
        out["scale_first_search_ms"] = round(_timed(backend.search, requests[0]) * 1000, 1)
        for req in requests[:20]:  # warm-up, not counted
            backend.search(req)
        times = [_timed(backend.search, req) for req in requests]
        out["scale_search_p50_ms"], out["scale_search_p95_ms"] = _ms(times)
        out["scale_process_rss_mb"] = round(rss_mb(os.getpid()))
    finally:
        backend.close()
    return out


def served(db: Path, requests: list, kept: list[dict]) -> dict:
    out: dict = {}
    port = _free_port()
    server = start_gunicorn(db, port, wait=600)
    try:
        paths = [tracker_path(req) for req in requests]
        for path in paths[:40]:  # a new connection each: every worker loads and warms up
            fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            http_ms(fresh, path)
            fresh.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        times = [http_ms(conn, path) for path in paths]
        out["scale_http_notifications_p50_ms"] = round(float(np.percentile(times, 50)), 2)
        out["scale_http_notifications_p95_ms"] = round(float(np.percentile(times, 95)), 2)
        a_write(db, kept)
        workers = len(worker_pids(server.pid))
        # New connections spread over the workers: the first requests after the write
        # include one to each worker (each loads the new generation once).
        firsts = []
        for path in paths[: 4 * workers]:
            fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            firsts.append(http_ms(fresh, path))
            fresh.close()
        out["scale_first_request_after_write_ms"] = round(max(firsts), 1)
        out["scale_requests_after_write_ms"] = [round(t) for t in firsts]
        conn.close()  # idle meanwhile, longer than the server keeps a connection alive
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        for path in paths[:100]:
            http_ms(conn, path)
        out["scale_workers"] = workers
        out["scale_worker_rss_mb"] = round(max(rss_mb(p) for p in worker_pids(server.pid)))
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
