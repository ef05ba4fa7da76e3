"""Record store benchmark: synthetic notifications committed through the store as a crawl
commits them (staged in batches of 500, then one commit with history and outbox), into a
SQLite file and into PostgreSQL; then the same records again (a crawl that changes nothing).

PostgreSQL is ``MARKETPASS_DATABASE_URL``'s, or Debian's started here on loopback as the tests
start it (``tests/pg_server.py``). The records are synthetic (``bench.corpus``, fixed seed).

``python -m bench.store [--records N]`` adds ``sqlite_store_ingest_records_per_s``,
``pg_ingest_records_per_s`` and the unchanged re-crawl figures to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.corpus import records
from bench.run import merge_results
from search.store import RecordStore

BATCH = 500


def crawl(store: RecordStore, recs: list[dict]) -> float:
    """Seconds to stage and commit the records as one crawl."""
    start = time.perf_counter()
    crawl_id = store.start_crawl("bench")
    for i in range(0, len(recs), BATCH):
        store.stage(crawl_id, recs[i : i + BATCH])
    store.finish_crawl(crawl_id)
    return time.perf_counter() - start


def measure(name: str, location, recs: list[dict]) -> dict:
    store = RecordStore(location)
    first, again = crawl(store, recs), crawl(store, recs)
    assert store.counts() == {"notification": len(recs)}
    store.close()
    return {f"{name}_records_per_s": round(len(recs) / first),
            f"{name}_unchanged_records_per_s": round(len(recs) / again)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store")
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args(argv)
    recs = records(args.records)
    figures: dict = {"store_bench_records": args.records}
    with tempfile.TemporaryDirectory(prefix="marketpass-store-bench-") as tmp:
        figures |= measure("sqlite_store_ingest", Path(tmp) / "store.db", recs)
        server = None
        url = os.environ.get("MARKETPASS_DATABASE_URL")
        if not url:
            from tests import pg_server

            # Its own folder under /tmp: under root the server runs as nobody, who must reach it.
            server = pg_server.start(Path(tempfile.mkdtemp(prefix="marketpass-bench-pg-")))
            url = server.new_database()
        try:
            figures |= measure("pg_ingest", url, recs)
        finally:
            if server:
                server.stop()
    merge_results(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
