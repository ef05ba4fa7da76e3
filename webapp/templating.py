"""Helpers templates call to render records generically (see ``_macros.html``)."""

from __future__ import annotations

import re
import sqlite3

from flask import Flask, g

from search import provenance
from search.freshness import freshness
from webapp import labels
from webapp.extensions import marketpass

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
        except sqlite3.Error:
            g.freshness = []
    return g.freshness


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
    )
    app.jinja_env.filters["attr_name"] = labels.attribute_name
