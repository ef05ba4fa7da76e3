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
from search.matcher import MatchQuery
from search.notifications import SORTS as NOTIFICATION_SORTS
from search.notifications import NotificationQuery
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


class Whole(fields.Int):
    """A whole number in ASCII digits: "٣", "１０" and "1_0" are not page numbers."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _WHOLE.fullmatch(value.strip()):
            raise self.make_error("invalid")
        return super()._deserialize(value.strip(), attr, data, **kwargs)


def _page_field() -> fields.Int:
    return Whole(
        load_default=1, validate=_page_range,
        error_messages={"invalid": _l("The page number must be a whole number.")},
    )


def _per_page_field() -> fields.Int:
    return Whole(
        load_default=20, validate=_per_page_range,
        error_messages={"invalid": _l("The number of results per page must be a whole number.")},
    )


class SearchArgs(Schema):
    """``q``, repeatable ``kind`` and ``country`` filters, ``page`` and ``per_page``."""

    class Meta:
        unknown = EXCLUDE  # lang= and anything a link adds are not ours to reject

    q = fields.Str(load_default="", validate=_text_length)
    kind = fields.List(fields.Str(validate=_known_kind), load_default=list)
    country = fields.List(fields.Str(validate=_country_code), load_default=list)
    page = _page_field()
    per_page = _per_page_field()


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
        return SearchRequest(text=data["q"], filters=filters, facets=FACETS,
                             page=data["page"], per_page=data["per_page"])
    except QueryError as exc:
        # The schema catches what people get wrong; a request it let through but search/ refuses
        # is our bug, so its (English) detail goes to the log and the reader gets a plain 400.
        current_app.logger.warning("search request refused: %s", exc)
        raise BadRequest(_("This search cannot be answered as asked.")) from exc


# --- notifications ----------------------------------------------------------------------------

MAX_BUFFER_DAYS = 90


class _Checked(fields.Str):
    """A text argument normalised by ``check``, whose ValueError becomes a translated message."""

    def check(self, value: str) -> object:
        return value

    def _deserialize(self, value, attr, data, **kwargs):
        return self.check(super()._deserialize(value, attr, data, **kwargs).strip())


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


def _buffer_range(value: int) -> None:
    if not 0 <= value <= MAX_BUFFER_DAYS:
        raise ValidationError(_("The internal cut-off must be from 0 to %(max)d days before the "
                                "deadline.", max=MAX_BUFFER_DAYS))


class NotificationArgs(Schema):
    """The parameters of a notification search, the same on pages, API, feeds and exports."""

    class Meta:
        unknown = EXCLUDE

    q = fields.Str(load_default="", validate=_text_length)
    member = fields.List(Member(), load_default=list)
    area = fields.List(fields.Str(validate=_one_of(
        ("TBT", "SPS"), _l("Unknown area “%(value)s”; choose from: %(allowed)s."))),
        load_default=list)
    hs = fields.List(HsPrefix(), load_default=list)
    ics = fields.List(IcsPrefix(), load_default=list)
    objective = fields.List(fields.Str(validate=Length(max=300)), load_default=list)
    type = fields.List(fields.Str(validate=_one_of(
        NOTIFICATION_TYPES, _l("Unknown type of notification “%(value)s”; choose from: "
                               "%(allowed)s."))), load_default=list)
    open = Flag(load_default=False)
    date_from = IsoDay(data_key="from", load_default=None)
    date_to = IsoDay(data_key="to", load_default=None)
    sort = fields.Str(load_default="", validate=_one_of(
        tuple(NOTIFICATION_SORTS), _l("Unknown order “%(value)s”; choose from: %(allowed)s.")))
    page = _page_field()
    per_page = _per_page_field()
    buffer_days = Whole(
        load_default=None, validate=_buffer_range,
        error_messages={"invalid": _l("The internal cut-off must be a whole number of days.")},
    )

    @validates_schema
    def _dates_in_order(self, data: dict, **kwargs) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError(_("The start date is after the end date."))


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


def _choice(allowed: tuple[str, ...], message) -> fields.Str:
    return fields.Str(validate=_one_of(allowed, message))


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
        max=200, error=_l("The product description is too long: at most {max} characters.")))
    hs = HsPrefix(load_default=None)
    market = fields.List(Market(), required=True, validate=Length(
        max=MAX_MARKETS, error=_l("Ask about at most {max} markets at once.")), error_messages={
        "required": _l("Say which market you want to sell in (market=KR, DE, EU …).")})
    origin = Market(load_default=None)
    date = IsoDay(load_default=None)
    radio = Flag(load_default=None)
    battery = Flag(load_default=None)
    lithium = Flag(load_default=None)
    children = Flag(load_default=None)
    professional = Flag(load_default=None)
    power = fields.List(_choice(POWER, _l("Unknown power source “%(value)s”; choose from: "
                                          "%(allowed)s.")), load_default=list)
    voltage = Voltage(load_default=None)
    current = _choice(("ac", "dc"), _l("“%(value)s” is neither ac nor dc."))

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

    q = fields.Str(load_default="", validate=_text_length)
    country = fields.List(CountryCode(), load_default=list)
    role = fields.List(_choice(ROLES, _l("Unknown role “%(value)s”; choose from: %(allowed)s.")),
                       load_default=list)
    scheme = fields.List(fields.Str(validate=Length(max=100)), load_default=list)
    category = fields.List(fields.Str(validate=Length(max=20)), load_default=list)


class MatrixArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    sector = fields.Str(load_default="electrical_safety", validate=_one_of(
        SECTORS, _l("Unknown sector “%(value)s”; choose from: %(allowed)s.")))


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
