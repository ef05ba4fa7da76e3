"""Crawl benchmark: 50,000 synthetic ePing list items through ``marketpass crawl --from-file``.

Scrapy and every pipeline step are included (validation, store with history, index update):
the figure is items per second of wall time of the whole command, into a fresh SQLite file.
The items are synthetic (``bench.corpus``, fixed seed), shaped like ePing's list response, and
say so in their titles' source: they exist only in a temporary folder for the run.

``python -m bench.crawl [--items N]`` adds ``sqlite_crawl_items_per_s`` (and the parts it is
made of) to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import MEMBERS_CSV, SEED, raw_records
from bench.run import merge_results


def members() -> dict[str, dict]:
    with MEMBERS_CSV.open(encoding="utf-8") as f:
        return {row["symbol_code"]: row for row in csv.DictReader(f)}


def eping_item(raw: dict, number: int, by_code: dict[str, dict]) -> dict:
    """A synthetic record in the shape of one item of ePing's list response."""
    member = by_code[raw["symbol"].split("/")[3]]
    ics = ", ".join(raw["ics_codes"])
    return {
        "id": number,
        "documentSymbol": raw["symbol"],
        "area": raw["symbol"].split("/")[1],
        "notificationType": None,
        "notifyingMember": member["wto_name_en"],
        "notifyingMemberCode": member["eping_id"],
        "distributionDate": f"{raw['distribution_date']}T00:00:00",
        "commentDeadlineDate": raw["comment_deadline"] and f"{raw['comment_deadline']}T00:00:00",
        "title": raw["title"],
        "description": f"<p>{raw['description']}</p>",
        "productsFreeText": raw["products"] + (f" (ICS code(s): {ics})" if ics else ""),
        "hsCodes": [{"id": None, "code": c, "name": ""} for c in raw["hs_codes"]],
        "icsCodeText": "",
        "objectives": [{"id": None, "name": ", ".join(raw["objectives"])}],
        "notifiedDocumentLink": None,
        "linkToNotification": None,
    }


def write_items(path: Path, n: int) -> None:
    by_code = members()
    items = [eping_item(raw, i, by_code) for i, raw in enumerate(raw_records(n, SEED), 1)]
    path.write_text(json.dumps({"items": items, "totalCount": n, "isCountExceeded": False}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crawl")
    parser.add_argument("--items", type=int, default=50_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="marketpass-crawl-bench-") as tmp:
        export = Path(tmp) / "eping_synthetic.json"
        write_items(export, args.items)
        env = {**os.environ, "MARKETPASS_DB": str(Path(tmp) / "crawl.db"),
               "MARKETPASS_SEARCH_URL": ""}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "webapp.cli", "crawl", "wto_eping",
                               "--from-file", str(export)], env=env, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        return 1
    figures = {"crawl_items": args.items, "sqlite_crawl_s": round(seconds, 2),
               "sqlite_crawl_items_per_s": round(args.items / seconds)}
    merge_results(figures)
    print(done.stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
