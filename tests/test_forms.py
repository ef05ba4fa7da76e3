"""The notification form parser, on forms laid out from real notifications' facts."""

from __future__ import annotations

import io
import zipfile
from html import escape
from pathlib import Path

import pytest

from crawlers.forms import document_text, parse_form
from crawlers.spiders.wto_documents import WtoDocumentsSpider
from search.records import load_record
from tests.replay import replay

FORMS = Path(__file__).resolve().parent.parent / "crawlers" / "sources" / "wto_documents"


def form(name: str) -> dict:
    path = FORMS / name
    return load_record("notification", {
        "source": "test", "source_url": "https://docs.wto.org/", "fetched_at": "2026-11-26",
        **parse_form(document_text(path.read_bytes(), path.name))})


def test_a_1996_form_in_the_old_numbering():
    r = form("reconstructed_G_TBT_Notif_96_204.html")
    assert r["symbol"] == "G/TBT/Notif.96.204" and r["member"] == "NL"
    assert r["agency"] == "Ministry of Agriculture, Nature Management and Fisheries"
    assert r["article"] == "2.9.2"
    assert r["products"] == "Fresh vegetables (radish)"
    assert r["title"].startswith("Exemption Order 1996/1 Quality Regulations (Radish)")
    assert r["relevant_documents"].startswith("Regulation PGF 1977 Quality Regulations")
    assert r["entry_into_force_date"] == "1996-09-05" and r["adoption_date"] is None
    assert r["comment_deadline"] == "1996-09-05"
    assert r["text_available_from"] == "National enquiry point"


def test_a_form_whose_member_box_names_a_customs_union():
    r = form("reconstructed_G_TBT_Notif_97_361.html")
    assert r["member"] == "BR"  # "Brazil/MERCOSUR": the first member named
    assert r["comment_deadline"] == "1997-08-12" and r["entry_into_force_date"] == "1997-09-01"
    assert r["objectives"] == ["Harmonization of technical regulation."]


def test_an_addendum_and_its_ticked_reasons():
    r = form("reconstructed_G_TBT_N_TPKM_425_Add_5.html")
    assert (r["type"], r["base_symbol"], r["member"]) == ("addendum", "G/TBT/N/TPKM/425", "TW")
    assert r["distribution_date"] == "2025-07-21"
    ticked = {x["reason"]: x["date"] for x in r["addendum_reasons"]}
    assert ticked == {"adopted": "2025-07-18", "published": "2025-07-18",
                      "entry_into_force": "2025-08-01", "final_text_available": None}
    assert [link["url"][-8:] for link in r["links"]] == ["00_e.pdf", "00_x.pdf"]
    assert "外墙面砖" in r["description"]


def test_the_same_form_as_docx():
    html = (FORMS / "reconstructed_G_TBT_Notif_96_204.html").read_text()
    text = document_text(html.encode(), "form.html")
    paragraphs = "".join(f"<w:p><w:r><w:t>{escape(line)}</w:t></w:r></w:p>"
                         for line in text.splitlines())
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as docx:
        docx.writestr("word/document.xml", f'<w:document xmlns:w="w"><w:body>{paragraphs}'
                                           "</w:body></w:document>")
    parsed = parse_form(document_text(body.getvalue(), "G_TBT_Notif_96_204.docx"))
    assert parsed == parse_form(text)


def test_a_page_that_is_no_form_is_a_fault_not_a_record():
    with pytest.raises(ValueError, match="no WTO document symbol"):
        parse_form("<html><body>Access denied</body></html>")


def test_the_spider_reads_every_recorded_form():
    spider, items = replay(WtoDocumentsSpider)
    assert len(items) == 3 and not spider.crawler.stats.get_value("marketpass/faults")


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text is the lines (Helvetica), made with pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 1200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    def escaped(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    shown = " T* ".join(f"({escaped(line)}) Tj" for line in lines)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 9 Tf 20 1180 Td 11 TL {shown} ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_same_form_as_pdf():
    html = (FORMS / "reconstructed_G_TBT_Notif_96_204.html").read_text()
    text = document_text(html.encode(), "form.html")
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = parse_form(document_text(_pdf(lines), "G_TBT_Notif_96_204.pdf"))
    expected = parse_form(text)
    for field in ("symbol", "member", "agency", "article", "products", "title",
                  "comment_deadline", "entry_into_force_date", "text_available_from"):
        assert parsed[field] == expected[field], field
