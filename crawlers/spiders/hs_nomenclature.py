"""HS 2022 nomenclature: chapters, headings and subheadings with their descriptions.

access: one CSV (section, hscode, description, parent, level) and a CSV of the 21 section names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import scrapy

from crawlers.spiders.base import MarketPassSpider

BASE = "https://raw.githubusercontent.com/datasets/harmonized-system/master/data/"
DATASET_URL = "https://github.com/datasets/harmonized-system"
COLUMNS = {"section", "hscode", "description", "parent", "level"}


class HsNomenclatureSpider(MarketPassSpider):
    name = "hs_nomenclature"
    access = "bulk file"
    kinds = ('hscode',)
    schedule_days = 30
    publisher = "World Customs Organization (HS 2022) via UN Comtrade / datasets/harmonized-system"
    source_url = DATASET_URL
    licence = "ODC-PDDL-1.0 (the dataset); the HS itself is the WCO's"
    min_records = 6000

    def replay_requests(self) -> Iterator[scrapy.Request]:
        yield scrapy.Request(self.recorded_url("sections.csv"), callback=self.parse_sections,
                             cb_kwargs={"codes_url": self.recorded_url("harmonized-system.csv")},
                             errback=self.on_error)

    def live_requests(self) -> Iterator[scrapy.Request]:
        yield scrapy.Request(BASE + "sections.csv", callback=self.parse_sections,
                             cb_kwargs={"codes_url": BASE + "harmonized-system.csv"},
                             errback=self.on_error)

    def parse_sections(self, response, codes_url: str):
        rows = _rows(response.text, {"section", "name"})
        sections = {row["section"]: row["name"] for row in rows}
        self.page_ok()
        yield scrapy.Request(codes_url, cb_kwargs={"sections": sections}, errback=self.on_error)

    def parse(self, response, sections: dict[str, str] | None = None, **kwargs):
        rows = _rows(response.text, COLUMNS)
        self.page_ok()
        for row in rows:
            if row["hscode"] == "TOTAL":
                continue
            yield {
                "kind": "hscode",
                **self.provenance(DATASET_URL),
                "id": f"hs:{row['hscode']}",
                "code": row["hscode"],
                "level": row["level"],
                "section": row["section"],
                "section_name": (sections or {}).get(row["section"]),
                "parent": None if row["parent"] == "TOTAL" else row["parent"],
                "description": row["description"],
            }


def _rows(text: str, required: set[str]) -> list[dict]:
    """CSV rows by header name (the column order may change); a missing column fails loudly."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = required - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"CSV lacks columns {sorted(missing)}")
    return list(reader)
