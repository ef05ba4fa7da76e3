"""Write ``webapp/api_examples.json``: one real answer of each JSON operation of the API, over
the bundled snapshot, cut short, as the examples of the OpenAPI document (``webapp.openapi``).

    .venv/bin/python tools/api_examples.py

Run it after an answer changes shape; ``tests/test_openapi.py`` checks every example against
its operation's schema, so a stale one fails there. Lists keep their first items, long texts
and the large matrices are cut, so the document stays small.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app, openapi  # noqa: E402

TODAY = "2026-07-01"  # a day on which some bundled notifications are still open
HOST = "https://marketpass.example.org"
ITEMS = 2  # list items kept
TEXT = 240  # characters kept of a long text
WIDE = 3  # keys kept of a map by code (country → category → …): enough to show its shape


def cut(value: object) -> object:
    """The value with its lists, long texts and maps by code shortened."""
    if isinstance(value, list):
        return [cut(v) for v in value[:ITEMS]]
    if isinstance(value, dict):
        items = list(value.items())
        if len(items) > WIDE * 2 and all(k.isupper() for k in value):
            items = items[:WIDE]
        return {k: cut(v) for k, v in items}
    if isinstance(value, str) and len(value) > TEXT:
        return value[:TEXT] + "…"
    return value


def answers(db: Path) -> dict[str, object]:
    os.environ.update(MARKETPASS_DB=str(db), MARKETPASS_TODAY=TODAY, MARKETPASS_SEARCH_URL="")
    client = create_app({"TESTING": True}).test_client()
    out = {}
    for op in openapi.OPERATIONS:
        if op.answer is None:
            continue
        response = client.get(op.example, base_url=HOST)
        assert response.status_code == 200, (op.example, response.status_code)
        out[op.operation_id] = cut(response.get_json())
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "marketpass.db"
        env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": ""}
        subprocess.run([sys.executable, "-m", "webapp.cli", "load-snapshot"], env=env,
                       check=True, capture_output=True)
        found = answers(db)
    openapi.EXAMPLES.write_text(json.dumps(found, ensure_ascii=False, indent=1) + "\n",
                                encoding="utf-8")
    print(f"{len(found)} examples written to {openapi.EXAMPLES}")


if __name__ == "__main__":
    main()
