"""One marshmallow schema per record kind; ``load_record`` validates, normalises and hashes.

Every record carries its provenance: the spider that produced it (``source``), the page or
response it came from (``source_url``), when that was fetched (``fetched_at``) and a hash of its
content, so a crawl can tell a changed record from one seen again.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load
from marshmallow.validate import Length, OneOf

from search import jsonio
from search import normalise as norm

KINDS = ("notification", "regulation", "scheme", "arrangement", "body", "hscode", "product")
NOTIFICATION_TYPES = ("regular", "revision", "addendum", "corrigendum", "supplement")
PROVENANCE = ("source", "source_url", "fetched_at", "content_hash")

# What a scheme covers, so coverage per market can be counted and a market with no scheme for a
# group can say so (mandatory "none") instead of leaving a silent gap.
PRODUCT_GROUPS = ("electrical_safety", "emc", "radio_telecom", "toys", "machinery",
                  "energy_efficiency", "medical_devices", "batteries", "hazardous_substances",
                  "e_waste", "general_safety", "other")
# "none": a cited statement that the market has no such scheme; never offered as a requirement.
MANDATORY = ("mandatory", "voluntary", "none", "unknown")
BODY_ROLES = ("member_body", "ncb", "cbtl", "iecex_cb", "iecex_extl", "accreditation_body",
              "iaf_mla_signatory", "ilac_mra_signatory", "designated_cab", "notified_body",
              "authority")
# Languages of the product vocabulary: the WTO's three and the other UN languages.
# The site speaks six languages; exporters and buyers also type Portuguese and Japanese.
PRODUCT_LANGUAGES = ("en", "zh", "fr", "es", "ru", "ar", "pt", "ja")


class RecordError(ValueError):
    """A record that failed validation; ``messages`` says which fields and why."""

    def __init__(self, kind: str, messages: Any, record_id: str | None = None) -> None:
        self.kind, self.messages, self.record_id = kind, messages, record_id
        super().__init__(f"invalid {kind} {record_id or ''}: {messages}")


class _Normalised(fields.Field):
    """A string field passed through one of the normalisers; their errors become field errors."""

    normaliser = staticmethod(str)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return self.normaliser(value)
        except norm.NormaliseError as exc:
            raise ValidationError(str(exc)) from exc


class Country(_Normalised):
    normaliser = staticmethod(norm.country)


class HsCode(_Normalised):
    normaliser = staticmethod(norm.hs_code)


class IcsCode(_Normalised):
    normaliser = staticmethod(norm.ics_code)


class IsoDate(_Normalised):
    normaliser = staticmethod(norm.iso_date)


def _partial_date(value: str) -> str:
    # Sources often give only the year or month a party joined or a rule changed.
    if isinstance(value, str) and re.fullmatch(r"\d{4}(-\d{2})?", value.strip()):
        return value.strip()
    return norm.iso_date(value)


class PartialDate(_Normalised):
    """An ISO date, or just its year ("1998") or year and month ("1998-05")."""

    normaliser = staticmethod(_partial_date)


class Link(Schema):
    url = fields.Url(required=True, schemes={"http", "https", "ftp"})
    label = fields.Str(load_default=None)
    language = fields.Str(load_default=None)


# Who publishes a source; the first four may verify a fact (crawlers/curated/README.md).
QUALIFYING_PUBLISHERS = ("authority", "legislation", "scheme_owner", "recognised_body")
PUBLISHER_KINDS = (*QUALIFYING_PUBLISHERS, "consultancy", "trade_association", "press",
                   "academic", "other")
QUOTE_MAX = 300


class Source(Schema):
    """A citation: the official address of a document, the copy read where that was not
    reachable, who publishes it, when someone read it and the words that support the fact."""

    url = fields.Url(required=True, schemes={"http", "https"})
    read_at = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    publisher = fields.Str(load_default=None, allow_none=True)
    publisher_kind = fields.Str(load_default=None, allow_none=True,
                                validate=OneOf(PUBLISHER_KINDS))
    verified_on = IsoDate(load_default=None, allow_none=True)
    quote = fields.Str(load_default=None, allow_none=True, validate=Length(max=QUOTE_MAX))
    translation = fields.Str(load_default=None, allow_none=True, validate=Length(max=QUOTE_MAX))
    title = fields.Str(load_default=None, allow_none=True)
    supports = fields.Str(load_default=None, allow_none=True)


class RecordSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    kind = ""
    id = fields.Str(required=True, validate=Length(min=1, max=300))
    source = fields.Str(required=True, validate=Length(min=1))
    source_url = fields.Url(required=True, schemes={"http", "https", "file", "ftp"})
    fetched_at = fields.Str(required=True, validate=Length(min=10))
    content_hash = fields.Str(load_default=None)
    language = fields.Str(load_default="en")
    note = fields.Str(load_default=None)
    # Fields another source filled in (source → field names); see ``complement``.
    complemented = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()),
                               load_default=dict)

    @post_load
    def _add_kind(self, data: dict, **kwargs: Any) -> dict:
        data["kind"] = self.kind
        return data


class CuratedSchema(RecordSchema):
    """Curated facts: each cites sources; ``verified`` is false where no source confirmed it."""

    sources = fields.List(fields.Nested(Source), load_default=list)
    verified = fields.Bool(load_default=False)
    # Facts of a verified record that no verifying source confirmed ("scope" stands for a
    # scheme's hs_prefixes, categories and keywords together, as the coverage report counts).
    unverified_fields = fields.List(fields.Str(), load_default=list)


class NotificationSchema(RecordSchema):
    kind = "notification"
    symbol = fields.Str(required=True)
    area = fields.Str(validate=OneOf(("TBT", "SPS")), load_default=None)
    member = Country(load_default=None)
    member_name = fields.Str(load_default=None)
    type = fields.Str(validate=OneOf(NOTIFICATION_TYPES), load_default=None)
    base_symbol = fields.Str(load_default=None)
    parent_symbol = fields.Str(load_default=None)
    distribution_date = IsoDate(load_default=None)
    comment_deadline = IsoDate(load_default=None)
    adoption_date = IsoDate(load_default=None)
    entry_into_force_date = IsoDate(load_default=None)
    adoption_text = fields.Str(load_default=None)
    entry_into_force_text = fields.Str(load_default=None)
    title = fields.Str(load_default="")
    description = fields.Str(load_default="")
    products = fields.Str(load_default="")
    hs_codes = fields.List(HsCode(), load_default=list)
    ics_codes = fields.List(IcsCode(), load_default=list)
    objectives = fields.List(fields.Str(), load_default=list)
    keywords = fields.List(fields.Str(), load_default=list)
    agency = fields.Str(load_default=None)
    article = fields.Str(load_default=None)  # notified under: 2.9.2, 2.10.1, 5.6.2, 5.7.1
    relevant_documents = fields.Str(load_default=None)
    text_available_from = fields.Str(load_default=None)
    addendum_reasons = fields.List(fields.Dict(), load_default=list)
    links = fields.List(fields.Nested(Link), load_default=list)
    related = fields.List(fields.Str(), load_default=list)
    joint_symbols = fields.List(fields.Str(), load_default=list)
    translations = fields.Dict(keys=fields.Str(), values=fields.Dict(), load_default=dict)
    external_id = fields.Str(load_default=None)

    @post_load
    def _from_symbol(self, data: dict, **kwargs: Any) -> dict:
        """The symbol fixes area, member, type and the base; a record may not contradict it."""
        try:
            symbol = norm.parse_symbol(data["symbol"], member=data.get("member"))
        except norm.NormaliseError as exc:
            raise ValidationError({"symbol": [str(exc)]}) from exc
        if data.get("member") and symbol.member and data["member"] != symbol.member:
            raise ValidationError({"member": [f"{data['member']} differs from {symbol}"]})
        data.update(
            id=symbol.symbol,
            symbol=symbol.symbol,
            area=symbol.area,
            member=symbol.member,
            type=symbol.type,
            base_symbol=symbol.base_symbol,
            parent_symbol=symbol.parent_symbol,
        )
        data["related"] = _canonical_symbols(data["related"], exclude=symbol.symbol)
        data["joint_symbols"] = _canonical_symbols(data["joint_symbols"], exclude=symbol.symbol)
        return data

    @pre_load
    def _default_id(self, data: dict, **kwargs: Any) -> dict:
        return {"id": data.get("symbol", ""), **data}


def _canonical_symbols(values: list[str], exclude: str) -> list[str]:
    try:
        symbols = [norm.parse_symbol(v).symbol for v in values]
    except norm.NormaliseError as exc:
        raise ValidationError({"related": [str(exc)]}) from exc
    return list(dict.fromkeys(s for s in symbols if s != exclude))


def _body_role(value: str) -> str:
    # Sources write "NCB", "CBTL", "Notified body": one spelling each, so filters meet.
    role = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    if role not in BODY_ROLES:
        raise norm.NormaliseError(f"Unknown role {value!r}; expected one of "
                                  f"{', '.join(BODY_ROLES)}")
    return role


class BodyRole(_Normalised):
    normaliser = staticmethod(_body_role)


class Change(Schema):
    """A recent change to a scheme (new rule, extended scope, ended transition). Without its own
    date or url it rests on the scheme's sources."""

    date = PartialDate(load_default=None, allow_none=True)
    summary = fields.Str(required=True, validate=Length(min=1))
    url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})


class Party(Schema):
    """One party to an arrangement, with what it takes part in and since when."""

    country = Country(required=True)
    since = PartialDate(load_default=None)
    phase = fields.Str(load_default=None)
    role = fields.Str(load_default=None)
    categories = fields.List(fields.Str(), load_default=list)
    bodies = fields.List(fields.Str(), load_default=list)
    agency = fields.Str(load_default=None)
    note = fields.Str(load_default=None)


CONDITION_ATTRIBUTES = {"radio": bool, "battery": bool, "lithium": bool, "children": bool,
                        "professional": bool, "power": list, "voltage_ac": list,
                        "voltage_dc": list}
POWER_SOURCES = ("mains", "dc", "battery", "none")


def _attribute_problem(name: str, value: Any) -> str | None:
    kind = CONDITION_ATTRIBUTES.get(name)
    if kind is None:
        return f"unknown attribute {name!r}; expected one of {', '.join(CONDITION_ATTRIBUTES)}"
    if not isinstance(value, kind):
        return f"{name} must be a {kind.__name__}"
    if name == "power" and (not value or set(value) - set(POWER_SOURCES)):
        return f"power must list some of {', '.join(POWER_SOURCES)}"
    if name.startswith("voltage") and not (len(value) == 2 and all(
            isinstance(v, (int, float)) for v in value) and value[0] <= value[1]):
        return f"{name} must be [low, high] in volts"
    return None


class Conditions(fields.Field):
    """Alternatives of attribute tests: ``[{"voltage_ac": [50, 1000]}, {"voltage_dc": …}]``;
    one alternative holding is enough, and all its tests must hold."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(a, dict) and a for a in value):
            raise ValidationError("a list of non-empty attribute objects")
        problems = [p for alt in value for k, v in alt.items()
                    if (p := _attribute_problem(k, v))]
        if problems:
            raise ValidationError(problems)
        return value


class Attributes(fields.Field):
    """A product's own attributes (the same names and values as scheme conditions)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("an object of attributes")
        problems = [p for k, v in value.items() if (p := _attribute_problem(k, v))]
        if problems:
            raise ValidationError(problems)
        return value


class Exclusions(Schema):
    class Meta:
        unknown = RAISE

    hs_prefixes = fields.List(HsCode(), load_default=list)
    keywords = fields.List(fields.Str(), load_default=list)
    classes = fields.List(fields.Str(), load_default=list)
    products = fields.List(fields.Str(), load_default=list)


class Standard(Schema):
    class Meta:
        unknown = RAISE

    code = fields.Str(required=True, validate=Length(min=2))
    title = fields.Str(load_default=None)
    # Keywords or classes of the products it is for; empty: every product in scope.
    for_ = fields.List(fields.Str(), data_key="for", load_default=list)


STEPS = ("test", "declare", "certify", "mark", "label", "register", "representative", "report")


class Step(Schema):
    class Meta:
        unknown = RAISE

    step = fields.Str(required=True, validate=OneOf(STEPS))
    text = fields.Str(required=True, validate=Length(min=1))


class RegulationSchema(CuratedSchema):
    kind = "regulation"
    jurisdiction = Country(required=True)
    identifier = fields.Str(required=True)
    title = fields.Str(required=True)
    schemes = fields.List(fields.Str(), load_default=list)
    hs_codes = fields.List(HsCode(), load_default=list)
    categories = fields.List(fields.Str(), load_default=list)
    status = fields.Str(load_default=None)
    adopted = IsoDate(load_default=None)
    in_force = IsoDate(load_default=None)
    applies_from = IsoDate(load_default=None, allow_none=True)
    repealed_on = IsoDate(load_default=None, allow_none=True)
    links = fields.List(fields.Nested(Link), load_default=list)


class SchemeSchema(CuratedSchema):
    kind = "scheme"
    market = Country(required=True)
    name = fields.Str(required=True)
    mark = fields.Str(load_default=None)
    authority = fields.Str(load_default=None)
    legal_basis = fields.List(fields.Str(), load_default=list)
    mandatory = fields.Str(validate=OneOf(MANDATORY), load_default="unknown")
    product_groups = fields.List(fields.Str(validate=OneOf(PRODUCT_GROUPS)), load_default=list)
    route = fields.Str(load_default=None)
    hs_prefixes = fields.List(HsCode(), load_default=list)
    categories = fields.List(fields.Str(), load_default=list)
    keywords = fields.List(fields.Str(), load_default=list)
    # The scope as data (crawlers/curated/README.md, "Schemes"): classes of products, the
    # act's own list, attribute conditions, exclusions, dates and what it absorbs.
    classes = fields.List(fields.Str(), load_default=list)
    listed_only = fields.Bool(load_default=False)
    products = fields.List(fields.Str(), load_default=list)
    conditions = Conditions(load_default=list)
    exclusions = fields.Nested(Exclusions, load_default=dict)
    applies_from = IsoDate(load_default=None, allow_none=True)
    applies_until = IsoDate(load_default=None, allow_none=True)
    superseded_by = fields.Str(load_default=None, allow_none=True)
    absorbs = fields.List(fields.Str(), load_default=list)
    standards = fields.List(fields.Nested(Standard), load_default=list)
    steps = fields.List(fields.Nested(Step), load_default=list)
    cb_accepted = fields.Str(validate=OneOf(("yes", "no", "partly", "unknown")),
                             load_default="unknown")
    cb_note = fields.Str(load_default=None)  # national differences, conditions of acceptance
    accepts = fields.List(fields.Str(), load_default=list)
    in_country_testing = fields.Str(load_default=None)
    local_representative = fields.Str(load_default=None)
    validity = fields.Str(load_default=None)
    lead_time = fields.Str(load_default=None)
    regulations = fields.List(fields.Str(), load_default=list)
    description = fields.Str(load_default="")
    changes = fields.List(fields.Nested(Change), load_default=list)

    @post_load
    def _known_unverified(self, data: dict, **kwargs: Any) -> dict:
        unknown = sorted(set(data["unverified_fields"]) - set(self.fields) - {"scope"})
        if unknown:
            raise ValidationError({"unverified_fields": [f"not fields: {', '.join(unknown)}"]})
        return data


ARRANGEMENT_FIELDS = ("certification", "accreditation", "cb_recognition", "ccc_recognition",
                      "testing", "metrology", "conformity_assessment", "standards",
                      "inspection", "other")


class ArrangementSchema(CuratedSchema):
    kind = "arrangement"
    name = fields.Str(required=True)
    short_name = fields.Str(load_default=None)
    type = fields.Str(
        validate=OneOf(("multilateral", "regional", "bilateral", "fta-chapter", "peer")),
        required=True,
    )
    parties = fields.List(fields.Nested(Party), load_default=list)
    sectors = fields.List(fields.Str(), load_default=list)
    field = fields.Str(load_default=None, validate=OneOf(ARRANGEMENT_FIELDS))
    effect = fields.Str(load_default="")
    status = fields.Str(load_default=None)
    signed = IsoDate(load_default=None)
    in_force = IsoDate(load_default=None)
    links = fields.List(fields.Nested(Link), load_default=list)
    description = fields.Str(load_default="")


class BodySchema(CuratedSchema):
    kind = "body"
    name = fields.Str(required=True)
    country = Country(required=True)
    roles = fields.List(BodyRole(), load_default=list)
    categories = fields.List(fields.Str(), load_default=list)
    standards = fields.List(fields.Str(), load_default=list)
    arrangements = fields.List(fields.Str(), load_default=list)
    schemes = fields.List(fields.Str(), load_default=list)  # schemes it certifies or tests for
    ncb = fields.Str(load_default=None)  # a CBTL's National Certification Body (body id)
    accreditation = fields.Dict(load_default=dict)  # {"by": body id, "number": "…"}
    status = fields.Str(load_default=None)
    links = fields.List(fields.Nested(Link), load_default=list)


class HsCodeSchema(RecordSchema):
    """An entry of the HS nomenclature, the backbone of product classification."""

    kind = "hscode"
    code = HsCode(required=True)
    level = fields.Int(required=True, validate=OneOf((2, 4, 6, 8, 10)))
    section = fields.Str(required=True)
    section_name = fields.Str(load_default=None)
    parent = fields.Str(load_default=None)
    description = fields.Str(required=True, validate=Length(min=1))
    edition = fields.Str(load_default="HS 2022")
    labels = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict)


def _names_by_language(value: Any) -> dict:
    if not isinstance(value, dict) or set(value) - set(PRODUCT_LANGUAGES):
        raise ValidationError(f"languages must be among {', '.join(PRODUCT_LANGUAGES)}")
    return value


class ProductSchema(CuratedSchema):
    """A product people ask about, named in each language, tied to HS codes and categories."""

    kind = "product"
    group = fields.Str(required=True, validate=Length(min=1))  # chargers, lamps, toys …
    names = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str(validate=Length(min=1))),
                        required=True, validate=_names_by_language)
    hs_codes = fields.List(HsCode(), load_default=list)
    categories = fields.List(fields.Str(), load_default=list)  # IECEE category codes
    kind_of = fields.List(fields.Str(), load_default=list)  # broader products (a smartphone
    # is a mobile phone): acts listing those list this one too
    attributes = Attributes(load_default=dict)  # what every such product is (a power bank:
    # battery, lithium); what varies between models is left to the description
    description = fields.Str(load_default="")


SCHEMAS: dict[str, type[RecordSchema]] = {
    s.kind: s
    for s in (
        NotificationSchema, RegulationSchema, SchemeSchema, ArrangementSchema, BodySchema,
        HsCodeSchema, ProductSchema,
    )
}


def content_hash(record: dict) -> str:
    """Hash of what the record says, not of where or when it was fetched: the same facts from
    two access paths of one source (ePing's list and its export) are the same record."""
    content = {k: v for k, v in record.items() if k not in PROVENANCE}
    return hashlib.sha256(jsonio.dumps(content, sort_keys=True).encode()).hexdigest()


@functools.cache
def _schema(kind: str) -> RecordSchema:
    # One instance per kind: building a schema copies every field, which costs more than a load.
    return SCHEMAS[kind]()


# What identifies a record or says where it came from: never taken from a complementing source.
_OWN = {*PROVENANCE, "id", "kind", "language", "complemented", "symbol", "area", "member",
        "type", "base_symbol", "parent_symbol"}


def _empty(value: object) -> bool:
    return value in (None, "", [], {})


def complement(stored: dict, extra: dict, source: str) -> dict:
    """The stored record with the fields it lacks filled from another source's record.

    For sources that add to a record rather than describe it whole (a notification's form adds
    the agency and article to ePing's record). The fields taken are noted under
    ``complemented`` so the record's own source, crawled again, keeps them.
    """
    taken = [k for k, v in extra.items()
             if k not in _OWN and not _empty(v) and _empty(stored.get(k))]
    merged = {**stored, **{k: extra[k] for k in taken}}
    if extra.get("links"):
        # The record's own links stay as its source labels them; the others' new ones join,
        # and are noted so the record's next crawl keeps them (else each crawl of either
        # source would change the record back and forth).
        merged["links"] = _joined_links(stored.get("links", []), extra["links"])
        if len(merged["links"]) > len(stored.get("links", [])) and "links" not in taken:
            taken.append("links")
    noted = set(stored.get("complemented", {}).get(source, [])) | set(taken)
    if noted:
        merged["complemented"] = {**stored.get("complemented", {}), source: sorted(noted)}
    merged["content_hash"] = content_hash(merged)
    return merged


def _joined_links(own: list[dict], more: list[dict]) -> list[dict]:
    known = {link["url"] for link in own}
    return [*own, *(link for link in more if link["url"] not in known)]


def keep_complements(stored: dict, fresh: dict) -> dict:
    """A record crawled again from its own source, keeping what other sources filled in."""
    noted = {k for fields_ in stored.get("complemented", {}).values() for k in fields_}
    kept = {k: stored[k] for k in noted if k in stored and _empty(fresh.get(k))}
    if "links" in noted and fresh.get("links"):
        kept["links"] = _joined_links(fresh["links"], stored.get("links", []))
    if not kept and not stored.get("complemented"):
        return fresh
    merged = {**fresh, **kept, "complemented": stored["complemented"]}
    merged["content_hash"] = content_hash(merged)
    return merged


def load_record(kind: str, data: dict) -> dict:
    """Validate and normalise raw data of one kind; raises RecordError with field messages."""
    if kind not in SCHEMAS:
        raise RecordError(kind, {"kind": [f"unknown kind; expected one of {', '.join(KINDS)}"]})
    try:
        record = _schema(kind).load({k: v for k, v in data.items() if k != "kind"})
    except ValidationError as exc:
        raise RecordError(kind, exc.messages, data.get("id") or data.get("symbol")) from exc
    record["content_hash"] = content_hash(record)
    return record


# What a notification cannot be without: a value that fails elsewhere is an optional fact lost,
# not a lost notification.
NOTIFICATION_IDENTITY = frozenset({"id", "symbol", "member", "source", "source_url",
                                   "fetched_at", "kind"})


def salvage(kind: str, data: dict, error: RecordError) -> tuple[dict, list[str]] | None:
    """A notification whose only invalid values are optional, loaded without them, and the
    fields left out; None when its identity itself is invalid (or for other kinds, whose
    sources are ours to fix)."""
    bad = set(error.messages) if isinstance(error.messages, dict) else set()
    if kind != "notification" or not bad or bad & NOTIFICATION_IDENTITY:
        return None
    try:
        record = load_record(kind, {k: v for k, v in data.items() if k not in bad})
    except RecordError:
        return None
    return record, sorted(bad)


__all__ = ["KINDS", "RecordError", "SCHEMAS", "content_hash", "load_record", "salvage"]
