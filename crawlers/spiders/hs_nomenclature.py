"""HS 2022 nomenclature: chapters, headings and subheadings with their descriptions.

access: one CSV (section, hscode, description, parent, level), after a CSV of the 21 section
    names whose names it carries.
"""

from __future__ import annotations

from collections.abc import Iterator

import scrapy

from crawlers.spiders.patterns import BulkFileSpider, csv_rows

BASE = "https://raw.githubusercontent.com/datasets/harmonized-system/master/data/"
DATASET_URL = "https://github.com/datasets/harmonized-system"


class HsNomenclatureSpider(BulkFileSpider):
    name = "hs_nomenclature"
    kinds = ('hscode',)
    schedule_days = 30
    publisher = "World Customs Organization (HS 2022) via UN Comtrade / datasets/harmonized-system"
    source_url = DATASET_URL
    licence = "ODC-PDDL-1.0 (the dataset); the HS itself is the WCO's"
    min_records = 6000
    file_url = BASE + "harmonized-system.csv"
    columns = frozenset({"section", "hscode", "description", "parent", "level"})

    def replay_requests(self) -> Iterator[scrapy.Request]:
        yield self.sections_request(self.recorded_url("sections.csv"),
                                    self.recorded_url("harmonized-system.csv"))

    def live_requests(self) -> Iterator[scrapy.Request]:
        yield self.sections_request(BASE + "sections.csv", self.file_url)

    def sections_request(self, url: str, codes_url: str) -> scrapy.Request:
        """The section names first: the codes' file gives only their numbers."""
        return scrapy.Request(url, callback=self.parse_sections, cb_kwargs={"codes_url": codes_url},
                              errback=self.on_error)

    def parse_sections(self, response, codes_url: str):
        sections = {row["section"]: row["name"] for row in csv_rows(response.text,
                                                                    {"section", "name"})}
        self.page_ok()
        yield scrapy.Request(codes_url, cb_kwargs={"sections": sections}, errback=self.on_error)

    def parse_row(self, row: dict, sections: dict[str, str] | None = None) -> Iterator[dict]:
        if row["hscode"] == "TOTAL":
            return
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
