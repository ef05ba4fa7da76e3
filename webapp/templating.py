"""Helpers templates call to render records generically (see ``_macros.html``)."""

from __future__ import annotations

import re

from flask import Flask, g
from markupsafe import Markup, escape

from search import provenance
from search.db import ERRORS as DB_ERRORS
from search.freshness import freshness
from webapp import labels
from webapp.extensions import marketpass
from webapp.i18n import locale_code

_URL = re.compile(r"(https?|ftp)://\S+\Z")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\Z")


def is_url(value: object) -> bool:
    """Only web addresses become links: a record could carry a ``javascript:`` string."""
    return isinstance(value, str) and bool(_URL.match(value))


def is_date(value: object) -> bool:
    return isinstance(value, str) and bool(_ISO.match(value))


def present_value(value: object) -> bool:
    return value not in (None, "", [], {})


def as_link(value: dict) -> tuple[str, str, list[tuple[str, object]]] | None:
    """A mapping with a web address (links, sources) as (url, label, the other fields)."""
    url = value.get("url")
    if not is_url(url):
        return None
    label = value.get("label") or value.get("title") or url
    rest = [(k, v) for k, v in value.items()
            if k not in ("url", "label", "title") and present_value(v)]
    return url, label, rest


def data_freshness() -> list[dict]:
    """Each source's last successful crawl, for the footer of every page (read once a
    request; a database that cannot be read leaves the footer without it)."""
    if "freshness" not in g:
        try:
            g.freshness = freshness(marketpass.store)
        except DB_ERRORS:
            g.freshness = []
    return g.freshness


def record_name(record_id: str) -> str:
    """What a record another one points to is called (a scheme's, an arrangement's, a
    body's, a product's or a regulation's name), for link text: its store identifier
    ("sa-saso-iecee-recognition") is no words for a reader. Symbols and HS codes are their
    own names."""
    from webapp.knowledge import knowledge

    kb = knowledge()
    if product := kb.product_by_id.get(record_id):
        names = product.get("names", {})
        return next(iter(names.get(locale_code()) or names.get("en") or [record_id]))
    for table in (kb.scheme_by_id, kb.arrangements, kb.regulations):
        if record := table.get(record_id):
            return record.get("name") or record.get("title") or record_id
    bodies = kb.remember(("bodies by id",), lambda: {b["id"]: b for b in kb.bodies})
    body = bodies.get(kb.body_alias.get(record_id, record_id))
    return body["name"] if body else record_id


def _id_pattern() -> re.Pattern | None:
    """Every record identifier of the knowledge base as a word, longest first, kept with
    the knowledge (it changes only with it)."""
    from webapp.knowledge import knowledge

    kb = knowledge()

    def build() -> re.Pattern | None:
        ids = {*kb.scheme_by_id, *kb.arrangements, *kb.regulations, *kb.product_by_id,
               *(b["id"] for b in kb.bodies), *kb.body_alias}
        ids = sorted((i for i in ids if "-" in i), key=len, reverse=True)
        return re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])") \
            if ids else None
    return kb.remember(("record id pattern",), build)


def named(text: str) -> str:
    """Record text with the identifiers it cites ("see kr-kc-rra-broadcasting-communication")
    replaced by the records' names: curated notes point at other records by identifier, and
    an identifier is no words for a reader."""
    pattern = _id_pattern() if isinstance(text, str) and "-" in text else None
    return pattern.sub(lambda m: record_name(m.group(1)), text) if pattern else text


def _named_marked(line: Markup) -> Markup:
    """A highlighted line with the identifiers it cites named, its matches marked again."""
    plain = line.striptags()
    renamed = named(plain)
    if renamed == plain:
        return line
    out = escape(renamed)
    for word in set(re.findall(r"<mark>(.*?)</mark>", str(line))):
        out = Markup(re.sub(rf"(?<!\w)({re.escape(word)})(?!\w)", r"<mark>\1</mark>", out))
    return Markup(out)


def is_record_id(key: str, value: str) -> bool:
    """Whether a field's value names another record: a scheme's "products" are product ids,
    a notification's "products" its own words."""
    return key in labels.ID_FIELDS and (key != "products" or value.startswith("product-"))


def reader_snippets(item: dict, length: int = 300) -> list[str]:
    """A hit's snippets in the language of the text the page shows. The search highlights a
    record's text in every language it holds (title, description and their translations in
    one field), so a fragment is kept line by line, where the line is part of what the page
    shows of the record (its description in the reader's language, its agency …); the title
    and the products are shown apart. A hit whose words matched only text in another language
    shows its description instead, shortened."""
    shown = [v for k, v in item.items() if isinstance(v, str) and k not in SHOWN_APART]
    out: list[str] = []
    for fragments in (item.get("highlights") or {}).values():
        for line in (line for f in fragments for line in Markup(f).split("\n")):
            plain = line.striptags().strip(" …")
            if plain and line not in out and any(plain in text for text in shown):
                out.append(_named_marked(line))
    if item.get("highlights") and not out and item.get("description"):
        out.append(_shorten(item["description"], length))
    return out


def marked_lines(fragments: list[str]) -> Markup:
    """A search hit's snippet of one field without the languages the words were not found
    in: a record's text in every language it holds comes as one field, line by line (a
    product's names in six languages), so only the lines holding a match are kept."""
    lines = [_named_marked(line) for f in fragments for line in Markup(f).split("\n")
             if "<mark>" in line]
    return Markup(" · ").join(dict.fromkeys(lines))


# Fields a hit shows in places of their own, not as snippets.
SHOWN_APART = ("title", "products", "symbol", "url", "source_url")


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + " …"


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        is_url=is_url, is_date=is_date, present_value=present_value, as_link=as_link,
        field_label=labels.field_label, value_label=labels.value_label,
        value_labels=labels.value_labels,
        kind_label=labels.kind_label, kind_name=labels.kind_name, kind_count=labels.kind_count,
        facet_labels=labels.FACET_LABELS, country_fields=labels.COUNTRY_FIELDS,
        id_fields=labels.ID_FIELDS, language_fields=labels.LANGUAGE_FIELDS,
        fact_state=labels.fact_state, attr_name=labels.attribute_name,
        attr_question=labels.attribute_question, attr_value=labels.attribute_value,
        read_from_copy=provenance.read_from_copy, source_verifies=provenance.verifies,
        figure_labels=labels.FIGURE_LABELS, data_freshness=data_freshness,
        record_name=record_name, is_record_id=is_record_id, mark_label=labels.mark_label,
        objective_label=labels.objective_label, category_label=labels.category_label,
        reader_snippets=reader_snippets, marked_lines=marked_lines,
        status_label=labels.status_label,
    )
    app.jinja_env.filters["attr_name"] = labels.attribute_name
    app.jinja_env.filters["named"] = named
