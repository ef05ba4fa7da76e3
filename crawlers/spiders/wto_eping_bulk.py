"""WTO ePing daily export ``Notification_EN.xlsx``: the fast path to the full history.

access: the export (about 45 MB, tens of thousands of rows, no key) from the address in
    MARKETPASS_EPING_BULK_URL, or a downloaded copy with ``--from-file``. Replay reads
    ``reconstructed_Notification_EN.xlsx``: reconstructed from the real recorded ePing records in
    the export's shape, since no copy of the export could be recorded.

Columns are matched by header name, never by position (their order changes); each field
accepts several spellings of its header. A workbook without a symbol or member column fails the
crawl (the format changed); a row that cannot be read is skipped with a warning. Rows become
records exactly as ePing list items do (``wto_eping.notification``): joint notifications split,
types from symbols, codes from text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from crawlers.extract import hs_codes_in_list
from crawlers.spiders.base import CrawlError
from crawlers.spiders.patterns import BulkFileSpider, workbook_rows
from crawlers.spiders.wto_eping import EpingItems

# ePing list field ← accepted header names (compared lower-case, spaces collapsed).
HEADERS = {
    "documentSymbol": ("document symbol", "symbol", "document symbols"),
    "notifyingMember": ("notifying member", "member", "notifying members"),
    "area": ("area", "domain"),
    "notificationType": ("notification type", "type"),
    "distributionDate": ("distribution date", "date of distribution", "date distributed"),
    "commentDeadlineDate": ("final date for comments", "comment deadline",
                            "deadline for comments", "comments deadline"),
    "title": ("title", "notified title"),
    "description": ("description", "description of content"),
    "productsFreeText": ("products covered", "products", "product coverage"),
    "hsCodes": ("hs codes", "hs code", "hs"),
    "icsCodeText": ("ics codes", "ics code", "ics"),
    "objectives": ("objectives", "objective and rationale", "objective"),
    "notifiedDocumentLink": ("notified document", "notified document link", "document link"),
    "linkToNotification": ("link to notification", "notification link"),
    "id": ("notification id", "id"),
}
REQUIRED = ("documentSymbol", "notifyingMember")


def _header(text: object) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()


def column_map(header_row: tuple) -> dict[str, int]:
    """ePing field → column index, from the header row; a missing required column is fatal."""
    names = {_header(h): i for i, h in enumerate(header_row)}
    found = {field: next((names[a] for a in aliases if a in names), None)
             for field, aliases in HEADERS.items()}
    missing = [f for f in REQUIRED if found[f] is None]
    if missing:
        raise CrawlError(f"the workbook has no column for {', '.join(missing)}; "
                         f"its headers are {sorted(names)}")
    return {field: i for field, i in found.items() if i is not None}


def item_of(row: tuple, columns: dict[str, int]) -> dict:
    """A row in the shape of an ePing list item."""
    item = {field: row[i] if i < len(row) else None for field, i in columns.items()}
    item["notifyingMemberCode"] = None
    item["hsCodes"] = [{"code": c} for c in hs_codes_in_list(str(item.get("hsCodes") or ""))]
    item["objectives"] = [{"name": str(item["objectives"])}] if item.get("objectives") else []
    for field in ("distributionDate", "commentDeadlineDate"):
        if hasattr(item.get(field), "isoformat"):
            item[field] = item[field].isoformat()
    return item


class WtoEpingBulkSpider(EpingItems, BulkFileSpider):
    name = "wto_eping_bulk"
    schedule_days = None
    min_records = 20
    file_url_setting = "MARKETPASS_EPING_BULK_URL"
    file_name = "Notification_EN.xlsx"

    def read_rows(self, response) -> Iterator[dict]:
        rows = workbook_rows(response)
        columns = column_map(next(rows, ()))
        return (item_of(row, columns) for row in rows if any(c not in (None, "") for c in row))

    def parse_row(self, item: dict, **context) -> Iterator[dict]:
        return self.parse_item(item)
