"""Facts that sources write in free text: HS and ICS codes in product descriptions, and the
several web addresses a single link field may hold.

Members often leave ePing's ``hsCodes`` empty and write the codes into the products text
("HS Code: from 870310 to 870390", "HS 8504.40, 8507.60", "8700"). Codes are taken only after an
HS marker, or when the whole text is a code, so a year or a page count is never mistaken for one.
"""

from __future__ import annotations

import io
import os
import re
import zipfile

_CODE = r"\d{2,4}(?:[.\s]?\d{2}){0,3}"
_HS_MARKER = re.compile(r"\b(?:H\.?\s?S\.?|harmoni[sz]ed system|tariff (?:line|heading|code)s?)"
                        r"\b[^0-9]{0,25}", re.I)
_HS_LIST = re.compile(rf"({_CODE})((?:\s*(?:,|;|/|and|to|-|–)\s*{_CODE})*)", re.I)
_ITEM = re.compile(rf"(?:from\s+)?({_CODE})(?:\s*(?:to|-|–)\s*({_CODE}))?", re.I)
_ICS = re.compile(r"ICS[^0-9]{0,12}((?:\d{2}\.\d{3}(?:\.\d{2})?[,;\s]*(?:and\s+)?)+)", re.I)
_ICS_CODE = re.compile(r"\d{2}\.\d{3}(?:\.\d{2})?")


def _digits(code: str) -> str:
    return re.sub(r"\D", "", code)


def _range(first: str, last: str) -> list[str]:
    """A range of codes: their common heading covers it, if they share one."""
    a, b = _digits(first), _digits(last)
    common = os.path.commonprefix([a, b])
    return [common] if len(common) >= 4 and len(common) % 2 == 0 else [a, b]


def hs_codes_in_text(text: str | None) -> list[str]:
    """HS codes (digits only, in order, once each) written in a products text."""
    if not text:
        return []
    text = text.strip()
    if re.fullmatch(_CODE, text):
        return [_digits(text)]
    found: list[str] = []
    for marker in _HS_MARKER.finditer(text):
        listed = _HS_LIST.match(text, marker.end())
        if not listed:
            continue
        for item in _ITEM.finditer(listed.group(0)):
            first, last = item.groups()
            found += _range(first, last) if last else [_digits(first)]
    return [c for c in dict.fromkeys(found) if 2 <= len(c) <= 10]


def hs_codes_in_list(text: str | None) -> list[str]:
    """A column or field that holds only HS codes ("870323, 8703.24; 8704")."""
    return [c for c in dict.fromkeys(_digits(m) for m in re.findall(_CODE, text or ""))
            if 2 <= len(c) <= 10]


def ics_codes_in_text(*texts: str | None) -> list[str]:
    """ICS codes written after an "ICS" marker ("ICS code(s): 43.020", "ICS 43.040.10")."""
    found: list[str] = []
    for text in texts:
        for match in _ICS.finditer(text or ""):
            found += _ICS_CODE.findall(match.group(1))
    return list(dict.fromkeys(found))


_SEPARATORS = re.compile(r"[\s,;|]+")
_ADDRESS = re.compile(r"(?:https?|ftp)://[^\s,;|<>\"']+", re.I)


def addresses_in(text: str | None) -> tuple[list[str], list[str]]:
    """The web addresses of a link field that holds several, separated by spaces, commas,
    semicolons or bars (real ePing records do), in order and once each; and the parts that are
    no address, for the crawl's fault log (a notification is never dropped for them)."""
    if not text:
        return [], []
    found, rest = [], []
    for part in _SEPARATORS.split(text):
        if not part:
            continue
        address = _ADDRESS.fullmatch(part.rstrip(".)"))
        (found if address else rest).append(address.group(0) if address else part)
    return list(dict.fromkeys(found)), rest


# What an Office file (DOCX, XLSX: ZIP archives) may hold once unpacked, and how much larger
# than its packed size: beyond either it is a decompression bomb, not a document.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_PACK_RATIO = 200


def open_archive(body: bytes, limit: int = MAX_UNPACKED_BYTES) -> zipfile.ZipFile:
    """The ZIP archive of a DOCX or XLSX, refused (ValueError) when it would unpack to more
    than ``limit`` bytes or a member claims an absurd compression ratio."""
    archive = zipfile.ZipFile(io.BytesIO(body))
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > MAX_PACK_RATIO * max(info.compress_size, 1024) or total > limit:
            archive.close()
            raise ValueError(f"archive would unpack to more than {limit} bytes "
                             f"({info.filename}: {info.file_size} from {info.compress_size})")
    return archive
