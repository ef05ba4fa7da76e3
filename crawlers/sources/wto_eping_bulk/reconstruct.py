"""Rebuild reconstructed_Notification_EN.xlsx from the recorded ePing list pages.

No copy of ePing's daily export could be recorded. This writes the real records of
``../wto_eping/`` in the export's shape: one sheet, one row per item, a header row whose
column order is deliberately not the list API's (the export's order changes; the spider
matches columns by name). Run from the project root:
``python crawlers/sources/wto_eping_bulk/reconstruct.py``.
"""

import json
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
COLUMNS = [  # (header, ePing list field)
    ("Distribution date", "distributionDate"), ("Document symbol", "documentSymbol"),
    ("Notifying member", "notifyingMember"), ("Title", "title"), ("Area", "area"),
    ("Final date for comments", "commentDeadlineDate"), ("Products covered", "productsFreeText"),
    ("HS codes", "hsCodes"), ("Objectives", "objectives"), ("Description", "description"),
    ("Notified document", "notifiedDocumentLink"), ("Link to notification", "linkToNotification"),
    ("Notification ID", "id"),
]


def cell(item: dict, field: str):
    value = item.get(field)
    if field.endswith("Date") and value:
        return datetime.fromisoformat(value)
    if field == "hsCodes":
        return ", ".join(h["code"] for h in value or [])
    if field == "objectives":
        return ", ".join(o["name"] for o in value or [])
    return value


def main() -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Notifications"
    sheet.append([header for header, _ in COLUMNS])
    for page in sorted((HERE.parent / "wto_eping").glob("getAll_*.json")):
        for item in json.loads(page.read_text())["items"]:
            sheet.append([cell(item, field) for _, field in COLUMNS])
    book.properties.creator = "MarketPass (reconstructed from recorded ePing records)"
    book.properties.created = datetime(2026, 11, 26)
    book.properties.modified = datetime(2026, 11, 26)
    book.save(HERE / "reconstructed_Notification_EN.xlsx")


if __name__ == "__main__":
    main()
