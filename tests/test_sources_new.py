"""A new source is its module and its recording, nothing else: a throwaway source written to a
temporary directory (a spider on a base spider, a recorded page and its manifest) is listed by
``marketpass sources``, replayed by the generic tests of tests/test_spiders.py and crawled by
``marketpass schedule`` when due — with no other file of the project touched.

Scrapy's loader finds it through MARKETPASS_SPIDER_MODULES (a deployment's own sources), and
its recordings in ``sources/<spider>/`` beside its package, as ours are beside crawlers.spiders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawlers.run import SPIDERS
from search.store import RecordStore

ROOT = Path(__file__).resolve().parent.parent
NAME = "example_tariff"

# The whole source: one short module on the base spider of its access pattern.
MODULE = '''"""Example tariff office: HS headings with their national descriptions.

access: the office's JSON list, page by page (``{items, totalCount}``); replay reads page 1.
"""

from crawlers.spiders.patterns import PagedJsonApiSpider


class ExampleTariffSpider(PagedJsonApiSpider):
    name = "example_tariff"
    kinds = ("hscode",)
    schedule_days = 7
    publisher = "Example Tariff Office"
    source_url = "https://tariff.example.org/"
    licence = "CC0-1.0"
    min_records = 2

    def page_url(self, page):
        return f"https://tariff.example.org/api/headings?page={page}"

    def parse_item(self, item):
        yield {"kind": "hscode", **self.provenance(self.source_url), "id": f"hs:{item['code']}",
               "code": item["code"], "level": len(item["code"]), "section": item["section"],
               "parent": item["code"][:-2] or None, "description": item["text"]}
'''

PAGE = {"items": [{"id": 1, "code": "9503", "section": "XX", "text": "Toys; scale models"},
                  {"id": 2, "code": "950300", "section": "XX", "text": "Tricycles, scooters"}],
        "totalCount": 2}

MANIFEST = {"endpoint": "https://tariff.example.org/api/headings",
            "recorded_at": "2026-12-01T00:00:00+00:00", "files": ["headings_page1.json"],
            "how": "A page written for this test, in the list's shape."}


@pytest.fixture(scope="module")
def new_source(tmp_path_factory) -> dict[str, str]:
    """The files a new source adds, in a directory of their own; the environment that puts
    its package on Scrapy's path."""
    root = tmp_path_factory.mktemp("new_source")
    package = root / "more_sources"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / f"{NAME}.py").write_text(MODULE)
    recording = root / "sources" / NAME
    recording.mkdir(parents=True)
    (recording / "headings_page1.json").write_text(json.dumps(PAGE))
    (recording / "manifest.json").write_text(json.dumps(MANIFEST))
    path = os.pathsep.join(filter(None, [str(root), str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "MARKETPASS_SPIDER_MODULES": "more_sources",
            "MARKETPASS_SEARCH_URL": ""}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_a_new_source_is_listed_from_its_declaration(new_source):
    result = run(new_source, "-m", "webapp.cli", "sources", "--json")
    assert result.returncode == 0, result.stderr
    declared = {d["name"]: d for d in json.loads(result.stdout)}
    assert declared[NAME] == {
        "name": NAME, "publisher": "Example Tariff Office",
        "source_url": "https://tariff.example.org/", "licence": "CC0-1.0",
        "access": "paged JSON API", "kinds": ["hscode"], "schedule_days": 7, "min_records": 2,
        "summary": "Example tariff office: HS headings with their national descriptions."}
    assert {"wto_eping", "curated"} <= set(declared)  # ours are still there


def test_a_new_source_is_replayed_by_the_generic_spider_tests(new_source):
    """tests/test_spiders.py's tests over every spider pick it up: its declaration, its
    recording, its records (valid, of its declared kinds, with provenance)."""
    result = run(new_source, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                 str(ROOT / "tests" / "test_spiders.py"),
                 "-k", f"{NAME} or found_by_scrapys_loader")
    assert result.returncode == 0, result.stdout + result.stderr
    ran = {line.split("::")[1].split(" ")[0] for line in result.stdout.splitlines()
           if "::" in line and " PASSED" in line}
    assert {f"test_every_spider_declares_itself_once_and_has_recordings[{NAME}]",
            f"test_every_spider_yields_valid_records_of_its_declared_kinds[{NAME}]",
            "test_sources_are_found_by_scrapys_loader_without_a_list"} <= ran, result.stdout


def test_a_new_source_is_crawled_by_the_schedule_when_due(new_source, tmp_path):
    db = tmp_path / "marketpass.db"
    env = {**new_source, "MARKETPASS_DB": str(db)}
    store = RecordStore(db)
    for name in (n for n, spider in SPIDERS.items() if spider.schedule_days):
        # Ours were crawled just now: only the new source is due.
        store.finish_crawl(store.start_crawl(name), {"schedule_days": 1, "mode": "replay"})
    store.close()
    first = run(env, "-m", "webapp.cli", "schedule", "--once", "--replay")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"{NAME}: finished"]
    store = RecordStore(db)
    toys = store.get("hs:9503")
    assert toys["source"] == NAME and toys["description"] == "Toys; scale models"
    assert toys["fetched_at"].startswith("2026-12-01")  # the recording's date
    assert store.get("hs:950300")["parent"] == "9503"
    again = run(env, "-m", "webapp.cli", "schedule", "--once", "--replay")
    assert again.returncode == 0 and again.stdout.strip() == "", again.stdout + again.stderr
