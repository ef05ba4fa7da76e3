"""Query-string arguments → ``SearchRequest``; a mistake is a 400 in the reader's language."""

from __future__ import annotations

import re
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from search import normalise as norm
from search.agencies import ROLES, SECTORS, BodyQuery
from search.attributes import Attributes
from search.backend import RESULT_WINDOW
from search.matcher import MatchQuery
from search.notifications import FACET_PARAMS, NotificationQuery
from search.notifications import FACETS as NOTIFICATION_FACETS
from search.notifications import SORTS as NOTIFICATION_SORTS
from search.query import MAX_TEXT_LENGTH, QueryError, SearchRequest, Term
from search.records import KINDS, NOTIFICATION_TYPES

MAX_PER_PAGE = 100
MAX_PAGE = 10_000
# Values one repeatable filter takes (member=…&member=…): more is no search a person asks.
MAX_VALUES = 50
_WHOLE = re.compile(r"[0-9]{1,9}")
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


def _within_window(data: dict) -> None:
    """No page beyond the result window (page × per_page ≤ RESULT_WINDOW), on either backend:
    Elasticsearch refuses deeper pages, and no reader leafs through 10,000 results."""
    per_page = data["per_page"]
    if data["page"] * per_page > RESULT_WINDOW:
        raise ValidationError(_("The page number must be from 1 to %(max)d.",
                                max=RESULT_WINDOW // per_page), field_name="page")


class Whole(fields.Int):
    """A whole number in ASCII digits: "٣", "１０" and "1_0" are not page numbers."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _WHOLE.fullmatch(value.strip()):
            raise self.make_error("invalid")
        return super()._deserialize(value.strip(), attr, data, **kwargs)


def _about(text) -> dict:
    """Field metadata for the API's description (webapp.openapi)."""
    return {"description": text}


def _page_field() -> fields.Int:
    return Whole(
        load_default=1, validate=_page_range, metadata=_about(_l("The page of results, from 1.")),
        error_messages={"invalid": _l("The page number must be a whole number.")},
    )


def _per_page_field() -> fields.Int:
    return Whole(
        load_default=20, validate=_per_page_range, metadata=_about(_l("Results per page.")),
        error_messages={"invalid": _l("The number of results per page must be a whole number.")},
    )


class _Checked(fields.Str):
    """A text argument normalised by ``check``, whose ValueError becomes a translated message."""

    def check(self, value: str) -> object:
        return value

    def _deserialize(self, value, attr, data, **kwargs):
        return self.check(super()._deserialize(value, attr, data, **kwargs).strip())


class Flag(_Checked):
    def check(self, value: str) -> bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValidationError(_("“%(value)s” is not yes or no: use 1 or 0.", value=value))


def _one_of(allowed: tuple[str, ...], message):
    def check(value: str) -> None:
        if value not in allowed:
            raise ValidationError(str(message) % {"value": value, "allowed": ", ".join(allowed)})
    return check


class SearchArgs(Schema):
    """``q``, repeatable ``kind`` and ``country`` filters, ``page`` and ``per_page``."""

    class Meta:
        unknown = EXCLUDE  # lang= and anything a link adds are not ours to reject

    q = fields.Str(load_default="", validate=_text_length, metadata=_about(_l(
        "Words to search for, in any language.")))
    kind = fields.List(fields.Str(validate=_known_kind), load_default=list,
                       metadata=_about(_l("Only records of this kind.")))
    country = fields.List(fields.Str(validate=_country_code), load_default=list,
                          metadata=_about(_l("Only records of this country or market "
                                             "(two-letter code, or EU).")))
    page = _page_field()
    per_page = _per_page_field()
    facets = fields.List(fields.Str(validate=_one_of(
        (*FACETS, "none"), _l("Unknown count “%(value)s”; choose from: %(allowed)s."))),
        load_default=None, metadata=_about(_l(
            "The counts to give beside the results (kind, country); none for no counts. All "
            "when not given.")))
    highlight = Flag(load_default=True, metadata=_about(_l(
        "0: no snippets of the words found (faster); 1, the default: snippets.")))

    @validates_schema
    def _window(self, data: dict, **kwargs) -> None:
        _within_window(data)


_schema = SearchArgs()


def _raw(args: MultiDict, schema: Schema = _schema) -> dict:
    """Lists for repeatable arguments, the first value for the others; empty values unset."""
    out: dict = {}
    for name, field in schema.fields.items():
        name = field.data_key or name
        values = [v for v in args.getlist(name) if v.strip()]
        if len(values) > MAX_VALUES and isinstance(field, fields.List):
            raise BadRequest(_("Give at most %(max)d values of “%(name)s”.",
                               max=MAX_VALUES, name=name))
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


def _load(schema: Schema, args: MultiDict) -> dict:
    """The arguments a schema takes; a mistake is a BadRequest with translated messages."""
    try:
        return schema.load(_raw(args, schema))
    except ValidationError as exc:
        raise BadRequest(" ".join(_messages(exc.messages))) from exc


def search_request(args: MultiDict) -> SearchRequest:
    """The search the arguments ask for; raises BadRequest with a translated message."""
    data = _load(_schema, args)
    filters = tuple(
        Term(name, tuple(dict.fromkeys(data[name]))) for name in ("kind", "country") if data[name]
    )
    try:
        facets = FACETS if data["facets"] is None else tuple(
            f for f in FACETS if f in data["facets"])
        return SearchRequest(text=data["q"], filters=filters, facets=facets,
                             page=data["page"], per_page=data["per_page"],
                             highlight=data["highlight"])
    except QueryError as exc:
        # The schema catches what people get wrong; a request it let through but search/ refuses
        # is our bug, so its (English) detail goes to the log and the reader gets a plain 400.
        current_app.logger.warning("search request refused: %s", exc)
        raise BadRequest(_("This search cannot be answered as asked.")) from exc


# --- notifications ----------------------------------------------------------------------------

MAX_BUFFER_DAYS = 90


class Member(_Checked):
    def check(self, value: str) -> str:
        if not norm.is_wto_member(value):
            raise ValidationError(_("“%(member)s” is not a WTO member. Use a two-letter code "
                                    "such as CN or US, or EU.", member=value))
        return norm.country(value)


class HsPrefix(_Checked):
    def check(self, value: str) -> str:
        try:
            return norm.hs_code(value)
        except norm.NormaliseError:
            raise ValidationError(_("“%(code)s” is not an HS code: use 2 to 10 digits, such as 85 "
                                    "or 8504.40.", code=value)) from None


class IcsPrefix(_Checked):
    def check(self, value: str) -> str:
        try:
            return norm.ics_code(value)
        except norm.NormaliseError:
            raise ValidationError(_("“%(code)s” is not an ICS code: use a field, group or "
                                    "sub-group such as 29, 29.200 or 29.200.10.",
                                    code=value)) from None


class IsoDay(_Checked):
    def check(self, value: str) -> str:
        try:
            if len(value) == 10:
                return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
        raise ValidationError(_("“%(date)s” is not a date: write it as YYYY-MM-DD, such as "
                                "2025-01-31.", date=value))


def _buffer_range(value: int) -> None:
    if not 0 <= value <= MAX_BUFFER_DAYS:
        raise ValidationError(_("The internal cut-off must be from 0 to %(max)d days before the "
                                "deadline.", max=MAX_BUFFER_DAYS))


class NotificationArgs(Schema):
    """The parameters of a notification search, the same on pages, API, feeds and exports."""

    class Meta:
        unknown = EXCLUDE

    q = fields.Str(load_default="", validate=_text_length, metadata=_about(_l(
        "Words to search for in the notifications, in any language.")))
    member = fields.List(Member(), load_default=list, metadata=_about(_l(
        "The notifying WTO member: a two-letter code such as CN or US, or EU.")))
    area = fields.List(fields.Str(validate=_one_of(
        ("TBT", "SPS"), _l("Unknown area “%(value)s”; choose from: %(allowed)s."))),
        load_default=list, metadata=_about(_l("The agreement: TBT or SPS.")))
    hs = fields.List(HsPrefix(), load_default=list, metadata=_about(_l(
        "An HS code or its beginning: 2 to 10 digits, such as 85 or 8504.40.")))
    ics = fields.List(IcsPrefix(), load_default=list, metadata=_about(_l(
        "An ICS field, group or sub-group, such as 29, 29.200 or 29.200.10.")))
    objective = fields.List(fields.Str(validate=Length(max=300)), load_default=list,
                            metadata=_about(_l("An objective as the notification states it, "
                                               "such as “Protection of the environment "
                                               "(TBT)”.")))
    type = fields.List(fields.Str(validate=_one_of(
        NOTIFICATION_TYPES, _l("Unknown type of notification “%(value)s”; choose from: "
                               "%(allowed)s."))), load_default=list,
        metadata=_about(_l("The type of notification.")))
    open = Flag(load_default=False, metadata=_about(_l(
        "1: only notifications whose comment period is still open.")))
    date_from = IsoDay(data_key="from", load_default=None, metadata=_about(_l(
        "Distributed on or after this day (YYYY-MM-DD).")))
    date_to = IsoDay(data_key="to", load_default=None, metadata=_about(_l(
        "Distributed on or before this day (YYYY-MM-DD).")))
    sort = fields.Str(load_default="", validate=_one_of(
        tuple(NOTIFICATION_SORTS), _l("Unknown order “%(value)s”; choose from: %(allowed)s.")),
        metadata=_about(_l("The order: newest first (the default without words), the soonest "
                           "deadline first, or relevance (the default with words).")))
    page = _page_field()
    per_page = _per_page_field()
    buffer_days = Whole(
        load_default=None, validate=_buffer_range,
        metadata=_about(_l("Days before the WTO deadline that comments are due internally; "
                           "the server's setting when not given.")),
        error_messages={"invalid": _l("The internal cut-off must be a whole number of days.")},
    )
    facets = fields.List(fields.Str(validate=_one_of(
        (*FACET_PARAMS.values(), "none"), _l("Unknown count “%(value)s”; choose from: "
                                             "%(allowed)s."))),
        load_default=None, metadata=_about(_l(
            "The counts to give beside the results, by the parameter each counts for (member, "
            "area, type, objective, hs); none for no counts. All when not given.")))
    highlight = Flag(load_default=True, metadata=_about(_l(
        "0: no snippets of the words found (faster); 1, the default: snippets.")))

    @validates_schema
    def _dates_in_order(self, data: dict, **kwargs) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError(_("The start date is after the end date."))

    @validates_schema
    def _window(self, data: dict, **kwargs) -> None:
        _within_window(data)


_notification_schema = NotificationArgs()


def notification_query(args: MultiDict, default_buffer_days: int) -> NotificationQuery:
    """The notification search the arguments ask for; raises BadRequest with a translated
    message."""
    for name in ("area",):  # codes people type in either case
        if name in args:
            args = args.copy()
            args.setlist(name, [v.upper() for v in args.getlist(name)])
    data = _load(_notification_schema, args)
    return NotificationQuery(
        q=data["q"], members=tuple(data["member"]), areas=tuple(data["area"]),
        hs=tuple(data["hs"]), ics=tuple(data["ics"]), objectives=tuple(data["objective"]),
        types=tuple(data["type"]), open=data["open"], date_from=data["date_from"],
        date_to=data["date_to"], sort=data["sort"], page=data["page"],
        per_page=data["per_page"],
        buffer_days=default_buffer_days if data["buffer_days"] is None else data["buffer_days"],
        facets=NOTIFICATION_FACETS if data["facets"] is None else tuple(
            name for name, param in FACET_PARAMS.items() if param in data["facets"]),
        highlight=data["highlight"],
    )


# --- matcher and agencies' view -----------------------------------------------------------------

class CountryCode(_Checked):
    """A country or union in any spelling the normaliser knows (KR, KOR, Korea, EU, GCC)."""

    message = _l("“%(code)s” is not a country we know: use a two-letter code such as CN or DE, "
                 "or EU, EAEU or GCC.")

    def check(self, value: str) -> str:
        try:
            return norm.country(value)
        except norm.NormaliseError:
            raise ValidationError(str(self.message) % {"code": value, "market": value}) from None


class Market(CountryCode):
    message = _l("“%(market)s” is not a market we know: use a two-letter country code such as "
                 "KR or DE, or EU, EAEU or GCC.")


def _choice(allowed: tuple[str, ...], message, **kwargs) -> fields.Str:
    return fields.Str(validate=_one_of(allowed, message), **kwargs)


class Voltage(_Checked):
    """A rated voltage or range in volts: ``230``, ``100-240``, ``5–20``."""

    def check(self, value: str) -> tuple[float, float]:
        found = re.fullmatch(r"(\d{1,6}(?:[.,]\d+)?)\s*(?:[-–~]\s*(\d{1,6}(?:[.,]\d+)?))?\s*v?",
                             value.lower())
        if not found:
            raise ValidationError(_("“%(value)s” is not a voltage: give volts, such as 230 or "
                                    "100-240.", value=value))
        low = float(found[1].replace(",", "."))
        high = float((found[2] or found[1]).replace(",", "."))
        return (min(low, high), max(low, high))


MAX_MARKETS = 8
POWER = ("mains", "dc", "battery", "none")


class MatchArgs(Schema):
    """``product`` (any language) or ``hs``, the target ``market`` (repeatable), the
    ``origin``, the ``date`` asked about, and what is known of the product: ``radio``,
    ``battery``, ``lithium``, ``children``, ``professional`` (yes/no), ``power`` (mains, dc,
    battery, none; repeatable), ``voltage`` (volts or a range) and ``current`` (ac/dc)."""

    class Meta:
        unknown = EXCLUDE

    product = fields.Str(load_default="", validate=Length(
        max=200, error=_l("The product description is too long: at most {max} characters.")),
        metadata=_about(_l("The product, described in any language (this or hs is needed).")))
    hs = HsPrefix(load_default=None, metadata=_about(_l(
        "The product's HS code, if known: 2 to 10 digits, such as 8516.71.")))
    market = fields.List(Market(), required=True, validate=Length(
        max=MAX_MARKETS, error=_l("Ask about at most {max} markets at once.")), error_messages={
        "required": _l("Say which market you want to sell in (market=KR, DE, EU …).")},
        metadata=_about(_l("Where the product is to be sold: a two-letter country code, or EU, "
                           "EAEU or GCC.")))
    origin = Market(load_default=None, metadata=_about(_l(
        "Where it is made or tested, for the recognition arrangements that let results "
        "count.")))
    date = IsoDay(load_default=None, metadata=_about(_l(
        "The day to answer for (YYYY-MM-DD); today when not given.")))
    radio = Flag(load_default=None, metadata=_about(_l("It has a radio (Wi-Fi, Bluetooth …): "
                                                      "1 or 0.")))
    battery = Flag(load_default=None, metadata=_about(_l("It has a battery: 1 or 0.")))
    lithium = Flag(load_default=None, metadata=_about(_l("Its battery is lithium: 1 or 0.")))
    children = Flag(load_default=None, metadata=_about(_l("It is meant for children: 1 or 0.")))
    professional = Flag(load_default=None, metadata=_about(_l(
        "It is for professional use only: 1 or 0.")))
    power = fields.List(_choice(POWER, _l("Unknown power source “%(value)s”; choose from: "
                                          "%(allowed)s.")), load_default=list,
                        metadata=_about(_l("How it is powered.")))
    voltage = Voltage(load_default=None, metadata=_about(_l(
        "Its rated voltage or range in volts, such as 230 or 100-240.")))
    current = _choice(("ac", "dc"), _l("“%(value)s” is neither ac nor dc."),
                      metadata=_about(_l("Whether that voltage is AC or DC.")))

    @validates_schema
    def _something_to_match(self, data: dict, **kwargs) -> None:
        if not data.get("product", "").strip() and not data.get("hs"):
            raise ValidationError(_("Name the product (in any language) or give its HS code."))


_match_schema = MatchArgs()


def _stated(data: dict) -> Attributes:
    """What the form or the API says of the product; a voltage is AC or DC as ``current``
    says, else as the power source or its size says (100–277 V is mains)."""
    values = {k: data[k] for k in ("radio", "battery", "lithium", "children", "professional")
              if data.get(k) is not None}
    if data["power"]:
        values["power"] = frozenset(data["power"])
    volts = data.get("voltage")
    if volts:
        current = data.get("current") or (
            "ac" if "mains" in data["power"] or 100 <= volts[1] <= 277 else "dc")
        values["voltage_" + current] = volts
        if current == "ac" and not data["power"]:
            values["power"] = frozenset({"mains"})
    return Attributes(**values, said={k: "form" for k in values})


def match_query(args: MultiDict) -> MatchQuery:
    data = _load(_match_schema, args)
    markets = tuple(dict.fromkeys(data["market"]))
    on = date.fromisoformat(data["date"]) if data.get("date") else None
    return MatchQuery(product=data["product"].strip(), hs=data["hs"], market=markets[0],
                      origin=data["origin"], markets=markets, on=on, stated=_stated(data))


# --- agencies' view ---------------------------------------------------------------------------

class BodyArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    q = fields.Str(load_default="", validate=_text_length, metadata=_about(_l(
        "Words in the body's name, identifier, roles, categories or standards.")))
    country = fields.List(CountryCode(), load_default=list, metadata=_about(_l(
        "The body's country: a two-letter code or a country's name.")))
    role = fields.List(_choice(ROLES, _l("Unknown role “%(value)s”; choose from: %(allowed)s.")),
                       load_default=list, metadata=_about(_l("The body's role.")))
    scheme = fields.List(fields.Str(validate=Length(max=100)), load_default=list,
                         metadata=_about(_l("An arrangement it takes part in, such as iecee-cb "
                                            "or ilac-mra.")))
    category = fields.List(fields.Str(validate=Length(max=20)), load_default=list,
                           metadata=_about(_l("An IECEE product category, such as HOUS or "
                                              "TRON.")))


class MatrixArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    sector = fields.Str(load_default="electrical_safety", validate=_one_of(
        SECTORS, _l("Unknown sector “%(value)s”; choose from: %(allowed)s.")),
        metadata=_about(_l("The sector of the coverage matrix.")))


_body_schema, _matrix_schema = BodyArgs(), MatrixArgs()


def body_query(args: MultiDict) -> BodyQuery:
    data = _load(_body_schema, args)
    return BodyQuery(q=data["q"], countries=tuple(data["country"]), roles=tuple(data["role"]),
                     schemes=tuple(data["scheme"]), categories=tuple(data["category"]))


def matrix_sector(args: MultiDict) -> str:
    return _load(_matrix_schema, args)["sector"]


def country_code(value: str) -> str:
    try:
        return CountryCode().check(value)
    except ValidationError as exc:
        raise BadRequest(" ".join(_messages(exc.messages))) from exc
