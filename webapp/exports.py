"""CSV and XLSX exports of a notification search, safe to open in a spreadsheet.

Text from a source (a title, a description) could start with ``=`` and run as a formula when an
officer opens the file, so such cells are neutralised with a leading apostrophe, the usual
defence. Control characters that XLSX cannot hold are dropped.
"""

from __future__ import annotations

import csv
import io
import re

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

COLUMNS = (
    ("symbol", _l("Symbol")), ("area", _l("Area")), ("member_code", _l("Member code")),
    ("member_name", _l("Member")), ("type", _l("Type")), ("base_symbol", _l("Base notification")),
    ("distribution_date", _l("Distribution date")),
    ("comment_deadline", _l("Comment deadline")),
    ("internal_deadline", _l("Internal cut-off")), ("open", _l("Open for comment")),
    ("title", _l("Title")), ("description", _l("Description")), ("products", _l("Products")),
    ("hs_codes", _l("HS codes")), ("ics_codes", _l("ICS codes")),
    ("objectives", _l("Objectives")), ("agency", _l("Agency responsible")),
    ("related", _l("Related documents")), ("links", _l("Document links")),
    ("url", _l("MarketPass page")), ("source_url", _l("Source")),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe(value: object) -> object:
    """A cell value a spreadsheet shows as text, never runs."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value


def row(item: dict) -> list[object]:
    flat = {
        **item,
        "member_code": item["member"]["code"], "member_name": item["member"]["name"],
        "hs_codes": "; ".join(item.get("hs_codes") or []),
        "ics_codes": "; ".join(item.get("ics_codes") or []),
        "objectives": "; ".join(item.get("objectives") or []),
        "related": "; ".join(item.get("related") or []),
        "links": " ".join(link["url"] for link in item.get("links") or []),
        "open": "yes" if item.get("open") else "no",
    }
    return [safe(flat.get(name)) for name, _label in COLUMNS]


def to_csv(items: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) for _name, label in COLUMNS])
    writer.writerows(row(item) for item in items)
    # A byte-order mark, so spreadsheet programs read the file as UTF-8 (CJK titles).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(items: list[dict], about: list[tuple[str, str]]) -> bytes:
    """A workbook with the notifications and an "About" sheet saying what was asked and
    whether the list was cut."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_l("Notifications")))
    header = []
    for _name, label in COLUMNS:
        cell = WriteOnlyCell(sheet, value=str(label))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for item in items:
        sheet.append(row(item))
    info = book.create_sheet(str(_l("About")))
    for key, value in about:
        info.append([safe(str(key)), safe(str(value))])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
