"""Query-string arguments → ``SearchRequest``; a mistake is a 400 in the reader's language."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from search.query import MAX_TEXT_LENGTH, QueryError, SearchRequest, Term
from search.records import KINDS

MAX_PER_PAGE = 100
MAX_PAGE = 10_000
FACETS = ("kind", "country")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _text_length(value: str) -> None:
    if len(value) > MAX_TEXT_LENGTH:
        raise ValidationError(
            _("The search text is too long: at most %(max)d characters.", max=MAX_TEXT_LENGTH)
        )


def _known_kind(value: str) -> None:
    if value not in KINDS:
        raise ValidationError(
            _("Unknown type of record “%(kind)s”; choose from: %(kinds)s.",
              kind=value, kinds=", ".join(KINDS))
        )


def _country_code(value: str) -> None:
    if not _COUNTRY.fullmatch(value):
        raise ValidationError(_("“%(code)s” is not a two-letter country code.", code=value))


def _page_range(value: int) -> None:
    if not 1 <= value <= MAX_PAGE:
        raise ValidationError(_("The page number must be from 1 to %(max)d.", max=MAX_PAGE))


def _per_page_range(value: int) -> None:
    if not 1 <= value <= MAX_PER_PAGE:
        raise ValidationError(
            _("The number of results per page must be from 1 to %(max)d.", max=MAX_PER_PAGE)
        )


class SearchArgs(Schema):
    """``q``, repeatable ``kind`` and ``country`` filters, ``page`` and ``per_page``."""

    class Meta:
        unknown = EXCLUDE  # lang= and anything a link adds are not ours to reject

    q = fields.Str(load_default="", validate=_text_length)
    kind = fields.List(fields.Str(validate=_known_kind), load_default=list)
    country = fields.List(fields.Str(validate=_country_code), load_default=list)
    page = fields.Int(
        load_default=1, validate=_page_range,
        error_messages={"invalid": _l("The page number must be a whole number.")},
    )
    per_page = fields.Int(
        load_default=20, validate=_per_page_range,
        error_messages={"invalid": _l("The number of results per page must be a whole number.")},
    )


_schema = SearchArgs()


def _raw(args: MultiDict) -> dict:
    """Lists for repeatable arguments, the first value for the others; empty values unset."""
    out: dict = {}
    for name, field in _schema.fields.items():
        values = [v for v in args.getlist(name) if v.strip()]
        if values:
            out[name] = values if isinstance(field, fields.List) else values[0]
    return out


def _messages(errors: object) -> list[str]:
    """Marshmallow's nested error structure, flattened to distinct sentences."""
    if isinstance(errors, dict):
        found = [m for value in errors.values() for m in _messages(value)]
    elif isinstance(errors, list):
        found = [m for value in errors for m in _messages(value)]
    else:
        found = [str(errors)]
    return list(dict.fromkeys(found))


def search_request(args: MultiDict) -> SearchRequest:
    """The search the arguments ask for; raises BadRequest with a translated message."""
    try:
        data = _schema.load(_raw(args))
    except ValidationError as exc:
        raise BadRequest(" ".join(_messages(exc.messages))) from exc
    filters = tuple(
        Term(name, tuple(dict.fromkeys(data[name]))) for name in ("kind", "country") if data[name]
    )
    try:
        return SearchRequest(text=data["q"], filters=filters, facets=FACETS,
                             page=data["page"], per_page=data["per_page"])
    except QueryError as exc:
        # The schema catches what people get wrong; a request it let through but search/ refuses
        # is our bug, so its (English) detail goes to the log and the reader gets a plain 400.
        current_app.logger.warning("search request refused: %s", exc)
        raise BadRequest(_("This search cannot be answered as asked.")) from exc
