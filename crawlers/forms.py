"""The WTO notification form, read from a notification document's text.

A TBT notification (G/TBT/N/…, and before 1995-2000 G/TBT/Notif.YY.NNN) is a numbered form:
1 notifying member, 2 agency responsible, 3 article notified under, 4 products covered,
5 title, pages and languages, 6 description, 7 objective and rationale, 8 relevant documents,
9 proposed dates of adoption and entry into force, 10 final date for comments, 11 texts
available from. An addendum instead ticks reasons (comment period changed, measure adopted,
published, enters into force, final text available, withdrawn, content or scope changed,
interpretive guidance, other), each with a date or text. The parser finds the boxes by their
numbers and labels, tolerates line breaks and spacing, and reads a box as ticked when its
bracket holds an X.
"""

from __future__ import annotations

import io
import re
from html import unescape

from pypdf import PdfReader
from w3lib.html import remove_tags

from crawlers.extract import hs_codes_in_text, ics_codes_in_text, open_archive
from search import normalise as norm

# Box number → (field, a word its label starts with): the label check keeps numbered lines
# inside a description from being taken for boxes.
BOXES = {
    1: ("member", "member"), 2: ("agency", "agency"), 3: ("article", "notified"),
    4: ("products", "products"), 5: ("title", "title"), 6: ("description", "description"),
    7: ("objective", "objective"), 8: ("relevant_documents", "relevant"),
    9: ("dates", "proposed"), 10: ("comment_deadline", "final"), 11: ("texts_from", "texts"),
}
ARTICLES = ("2.9.2", "2.10.1", "5.6.2", "5.7.1")
REASONS = {  # addendum check boxes, as the form words them
    "comment_period_changed": r"comment period changed",
    "adopted": r"notified measure adopted",
    "published": r"notified measure published",
    "entry_into_force": r"notified measure enters into force",
    "final_text_available": r"text of final measure available",
    "withdrawn": r"notified measure withdrawn or revoked",
    "content_changed": r"content or scope of notified measure changed",
    "interpretive_guidance": r"interpretive guidance issued",
    "other": r"other",
}
_SYMBOL = re.compile(r"G/(?:TBT|SPS)/(?:N/[A-Z]{2,4}/\d+(?:/(?:Add|Corr|Rev|Suppl)\.\d+)*"
                     r"|Notif\.\d{2}\.\d+)")
_TICK = re.compile(r"\[\s*[xX✓✔]\s*\]")
_DATE = re.compile(r"\d{1,2}\s+[A-Z][a-z]+\s+\d{4}|\d{4}-\d{2}-\d{2}"
                   r"|[A-Z][a-z]+\s+\d{1,2},\s+\d{4}")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
MAX_PAGES = 200


def document_text(body: bytes, url: str) -> str:
    """Plain text of a notification document: PDF, DOCX, HTML or text."""
    if body[:5] == b"%PDF-":
        pages = PdfReader(io.BytesIO(body)).pages
        if len(pages) > MAX_PAGES:  # a notification form is a few pages
            raise ValueError(f"{len(pages)} pages: no notification form is that long")
        return "\n".join(page.extract_text() or "" for page in pages)
    if url.lower().endswith(".docx") or body[:2] == b"PK":
        with open_archive(body) as docx:
            xml = docx.read("word/document.xml").decode("utf-8")
        xml = re.sub(r"</w:p>", "\n", xml)
        return unescape(remove_tags(xml))
    text = body.decode("utf-8", errors="replace")
    if "<" in text and ">" in text:
        text = re.sub(r"(?i)<br\s*/?>|</(?:p|div|li|tr|h\d)>", "\n", text)
        text = unescape(remove_tags(text))
    return text


def _boxes(text: str) -> dict[str, str]:
    """Box contents by field, from lines starting '<n>.' with the box's label."""
    starts = []
    for number, (field, label) in BOXES.items():
        pattern = rf"(?mi)^\s*{number}\.\s+(?:[^\n]{{0,40}}?)?\b{label}"
        if match := re.search(pattern, text):
            starts.append((match.start(), field, match.end()))
    starts.sort()
    boxes = {}
    for i, (_, field, label_end) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        boxes[field] = text[label_end:end]
    return boxes


def _after_colon(box: str) -> str:
    """The answer of a box: what follows its label's colon, spaces collapsed."""
    answer = box.split(":", 1)[1] if ":" in box else box
    return re.sub(r"\s+", " ", answer).strip()


def _member(text: str) -> str | None:
    """The notifying member: "NETHERLANDS", "Brazil/MERCOSUR" (the first member named)."""
    for candidate in re.split(r"[/(,;]| on behalf of ", text):
        try:
            return norm.country(candidate.strip())
        except norm.NormaliseError:
            continue
    return None


def _date(text: str | None) -> str | None:
    match = _DATE.search(text or "")
    try:
        return norm.iso_date(match.group()) if match else None
    except norm.NormaliseError:
        return None


def _article(box: str) -> str | None:
    for article in ARTICLES:
        if re.search(rf"{re.escape(article)}\s*{_TICK.pattern}", box):
            return article
    return None


def _dates(box: str) -> tuple[str | None, str | None, str]:
    """Box 9: proposed adoption and entry into force (dates where given, and the words)."""
    text = re.sub(r"\s+", " ", box).strip(" :")
    adoption = re.search(r"adoption:?\s*(.*?)(?:;|Proposed date of entry|$)", text, re.I)
    entry = re.search(r"entry into force:?\s*(.*)$", text, re.I)
    return (_date(adoption.group(1)) if adoption else None,
            _date(entry.group(1)) if entry else None, text)


def _texts_from(answer: str) -> str:
    """Box 11: the national enquiry point when ticked, else the body named after the label."""
    if re.search(rf"enquiry point\s*{_TICK.pattern}", answer, re.I):
        return "National enquiry point"
    return re.sub(r"^.*?(?:web-?site addresses, if available,? of the other body:?)", "", answer,
                  flags=re.I).strip() or answer


def reasons(text: str) -> list[dict]:
    """Ticked addendum reasons with their dates or texts."""
    found = []
    for reason, words in REASONS.items():
        match = re.search(rf"{_TICK.pattern}\s*{words}\b[^\n]*", text, re.I)
        if match:
            rest = match.group()[len(re.match(_TICK, match.group()).group()):]
            found.append({"reason": reason, "date": _date(rest),
                          "text": re.sub(r"\s+", " ", rest).strip()})
    return found


def parse_form(text: str) -> dict:
    """Raw notification data (for the notification schema) from a form's text."""
    symbol = _SYMBOL.search(text)
    if not symbol:
        raise ValueError("no WTO document symbol in the text")
    raw_boxes = _boxes(text)
    boxes = {field: _after_colon(box) for field, box in raw_boxes.items()}
    delegation = re.search(r"delegation of\s+([^.\n]+(?:\n[^.\n]+)?)", text)
    member_box = raw_boxes.get("member", "").split(":", 1)[-1].strip().split("\n")[0]
    member_text = member_box or (delegation.group(1) if delegation else "")
    data = {"symbol": symbol.group(), "member": _member(re.sub(r"\s+", " ", member_text))}
    # The document's date stands near its symbol, before the form starts.
    if issued := _date(text[symbol.end() : symbol.end() + 120]):
        data["distribution_date"] = issued
    data |= {k: boxes[k] for k in ("agency", "title", "description", "relevant_documents")
             if boxes.get(k)}
    if "description" not in data and (free := re.search(r"(?m)^\s*Description:\s*(.+)$", text)):
        data["description"] = free.group(1).strip()
    if products := boxes.get("products"):
        data |= {"products": products, "hs_codes": hs_codes_in_text(products),
                 "ics_codes": ics_codes_in_text(products)}
    if objective := boxes.get("objective"):
        data["objectives"] = [objective]
    if "article" in raw_boxes:
        data["article"] = _article(raw_boxes["article"])
    if "dates" in raw_boxes:
        data["adoption_date"], data["entry_into_force_date"], words = _dates(raw_boxes["dates"])
        data["adoption_text"] = f"Proposed {words}"
    if deadline := boxes.get("comment_deadline"):
        data["comment_deadline"] = _date(deadline)
    if texts_from := boxes.get("texts_from"):
        data["text_available_from"] = _texts_from(texts_from)
    if addendum := reasons(text):
        data["addendum_reasons"] = addendum
    data["links"] = [{"url": u, "label": "Final text"} for u in dict.fromkeys(_URL.findall(text))]
    return data
