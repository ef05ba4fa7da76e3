"""Check the curated knowledge base and say precisely what is wrong: invalid records, duplicate
ids, provenance, links, duplicate bodies, and each market's missing product groups.

    .venv/bin/python tools/kbcheck.py [--markets] [FILE…]

Without files every curated file is read (as the curated spider reads them); with files, only
their problems are shown (links and coverage are still checked against the whole base).
Exit status 1 when there is a problem.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawlers.spiders.curated import CURATED  # noqa: E402
from search import kbcheck  # noqa: E402
from search.coverage import declared_gaps  # noqa: E402
from search.records import RecordError, load_record  # noqa: E402


def _items(path: Path) -> list[dict]:
    content = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for record in content["records"]:
        sources = record.get("sources") or []
        dates = [s["verified_on"] for s in sources if s.get("verified_on")]
        out.append({"kind": content["kind"], "source": "curated",
                    "source_url": sources[0]["url"] if sources else None,
                    "fetched_at": max(dates) if dates else content.get("compiled_on"),
                    **record, "_file": path.name})
    return out


def main(argv: list[str]) -> int:
    show_markets = "--markets" in argv
    only = {Path(a).name for a in argv if not a.startswith("--")}
    records, problems = [], []
    items = [i for p in sorted(CURATED.glob("*.json")) for i in _items(p)]
    for kind, rid in (k for k, n in Counter((i["kind"], i.get("id")) for i in items).items()
                      if n > 1):
        problems.append(f"{kind} {rid}: id used by several records")
    for item in items:
        name = item.pop("_file")
        try:
            record = load_record(item.pop("kind"), item)
        except RecordError as exc:
            problems.append(f"{name}: {exc.kind} {exc.record_id}: {exc.messages}")
            continue
        record["_file"] = name
        records.append(record)
    problems += kbcheck.all_problems(records)
    if only:
        mine = {f"{r['kind']} {r['id']}" for r in records if r["_file"] in only}
        problems = [p for p in problems if any(m in p for m in mine) or
                    any(p.startswith(n) for n in only)]
    headers = {p.name: {k: v for k, v in json.loads(p.read_text(encoding="utf-8")).items()
                        if k != "records"} for p in CURATED.glob("*.json")}
    declared = declared_gaps(headers)
    problems += [f"declared gap answered since: {g}"
                 for g in kbcheck.stale_gaps(kbcheck.of_kind(records, "scheme"), declared)]
    for problem in problems:
        print(problem)
    missing = kbcheck.missing_groups(kbcheck.of_kind(records, "scheme"), declared)
    if show_markets or not only:
        for market, groups in missing.items():
            print(f"market {market}: no scheme or 'none' for {', '.join(groups)}")
    print(json.dumps(kbcheck.summary(records)), file=sys.stderr)
    print(f"{len(problems)} problems; {len(missing)} markets missing groups", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
