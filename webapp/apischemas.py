"""What each JSON operation of /api/v1 answers, as marshmallow schemas.

These schemas are never used to serialise: the views build plain dicts (``webapp.present``,
``webapp.tracker``, ``search.matcher``, ``search.agencies``). They describe those dicts for the
OpenAPI document (``webapp.openapi``), and the test suite checks every answer against them
with Schemathesis, so a schema that promises more than a view gives fails there.

A field is nullable (``allow_none``) wherever the view can put None in it. An answer's object
has exactly the properties listed (a view that adds one must say so here: the test suite holds
the answers to these schemas); records and the parties to an arrangement keep every field
their kind has.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import INCLUDE, Schema, fields

from search.alerts import CHANNELS, FREQUENCIES
from search.records import KINDS
from webapp.i18n import LOCALES


def _field(cls, description, meta: dict, **kwargs) -> fields.Field:
    metadata = {"description": description, **meta} if description else meta
    return cls(required=True, metadata=metadata, **kwargs)


def string(description=None, **meta) -> fields.Str:
    return _field(fields.Str, description, meta)


def maybe(description=None, **meta) -> fields.Str:
    """A text that may be null (a fact the source does not give)."""
    return _field(fields.Str, description, meta, allow_none=True)


def whole(description=None, nullable: bool = False, **meta) -> fields.Int:
    return _field(fields.Int, description, meta, allow_none=nullable)


def number(description=None, nullable: bool = False, **meta) -> fields.Float:
    return _field(fields.Float, description, meta, allow_none=nullable)


def flag(description=None, nullable: bool = False) -> fields.Bool:
    return _field(fields.Bool, description, {}, allow_none=nullable)


def texts(description=None, nullable: bool = False) -> fields.List:
    return _field(fields.List, description, {}, cls_or_instance=fields.Str(),
                  allow_none=nullable)


def many(schema, description=None) -> fields.List:
    return _field(fields.List, description, {}, cls_or_instance=fields.Nested(schema))


def one(schema, description=None, nullable: bool = False) -> fields.Nested:
    return _field(fields.Nested, description, {}, nested=schema, allow_none=nullable)


def mapping(values: fields.Field, description=None, nullable: bool = False) -> fields.Dict:
    return _field(fields.Dict, description, {}, keys=fields.Str(), values=values,
                  allow_none=nullable)


def anything(description=None, nullable: bool = False) -> fields.Raw:
    return _field(fields.Raw, description, {}, allow_none=nullable)


class Pair(fields.Tuple):
    """A value and its count, as a two-element array (``["DE", 12]``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__((fields.Str(), fields.Int()), **kwargs)


# --- errors ----------------------------------------------------------------------------------

class ErrorDetail(Schema):
    code = whole(_l("The HTTP status code."))
    message = string(_l("What went wrong, in the reader's language."))


class Error(Schema):
    error = one(ErrorDetail)


# --- records and search ----------------------------------------------------------------------

class Record(Schema):
    """A record as stored: its kind's fields, with its provenance."""

    class Meta:
        unknown = INCLUDE  # every field of its kind

    id = string(_l("The record's identifier (a notification's symbol, an HS code as hs:8504)."))
    kind = string(_l("The kind of record."), enum=list(KINDS))
    source = string(_l("The spider that produced it."))
    source_url = string(_l("The page or response it came from."))
    fetched_at = string(_l("When it was fetched (ISO 8601)."))
    content_hash = maybe(_l("A hash of its content, which changes when a fact changes."))


class Hit(Schema):
    id = string()
    kind = string(enum=list(KINDS))
    title = string(_l("What the record is called."))
    url = string(_l("The record's page on this site."))
    highlights = mapping(fields.List(fields.Str()),
                         _l("Passages that matched, by field, with <mark> around the words."))
    source = maybe()
    source_url = maybe()
    fetched_at = maybe()
    record = one(Record)


class FacetValue(Schema):
    value = string()
    count = whole()
    label = string(_l("The value in the reader's language."))


class SearchResult(Schema):
    total = whole(_l("Records matching in all."))
    page = whole()
    per_page = whole()
    pages = whole()
    items = many(Hit, _l("This page of records, best first."))
    facets = mapping(fields.List(fields.Nested(FacetValue)),
                     _l("Counts of the matching records by kind and by country."))
    also_searched = texts(_l("Words added from other languages (the same product named in "
                             "another language)."))


class LinkReason(Schema):
    type = string(_l("hs, ics or named (the text names the act)."))
    values = texts()


class RecordLink(Schema):
    id = string()
    kind = string()
    title = string()
    reasons = many(LinkReason)


class NotificationLink(RecordLink):
    date = maybe(_l("The notification's distribution date."))
    comment_deadline = maybe()


class RecordAnswer(Schema):
    id = string()
    kind = string(enum=list(KINDS))
    title = string()
    url = string()
    source = maybe()
    source_url = maybe()
    fetched_at = maybe()
    content_hash = maybe()
    record = one(Record)
    may_change = fields.List(fields.Nested(RecordLink), metadata={"description": _l(
        "Notifications only: the schemes and regulations it may change, each with why.")})
    what_is_changing = fields.List(fields.Nested(NotificationLink), metadata={
        "description": _l("Schemes and regulations only: notifications that may change it, "
                          "newest first.")})


# --- crawls and counts ----------------------------------------------------------------------

class Counts(Schema):
    """Records by kind; a kind the index does not hold is left out."""

    class Meta:
        include = {kind: fields.Int() for kind in KINDS}


class Reverification(Schema):
    file = string()
    on = maybe()
    checked = whole(nullable=True)
    confirmed = whole()
    added = whole()
    changed = _field(fields.List, None, {}, cls_or_instance=fields.Dict())
    downgraded = _field(fields.List, None, {}, cls_or_instance=fields.Dict())


class Crawl(Schema):
    source = string(_l("The spider."))
    status = string(_l("running, finished, failed or interrupted."))
    started_at = string()
    finished_at = maybe()
    error = maybe()
    publisher = maybe()
    dataset_url = maybe()
    licence = maybe()
    mode = maybe(_l("live or replay (the recorded responses)."))
    fetched = whole()
    new = whole()
    changed = whole()
    unchanged = whole()
    failed = whole()
    faults = _field(fields.List, _l("What could not be read, and where."), {},
                    cls_or_instance=fields.Raw())
    reverified = many(Reverification)
    last_success = maybe()
    schedule_days = whole(_l("Days between scheduled crawls."), nullable=True)
    stale = flag(_l("The last success is older than twice the schedule."))


class Crawls(Schema):
    items = many(Crawl, _l("The last crawl of each source, newest first."))


# --- notifications ---------------------------------------------------------------------------

class Link(Schema):
    url = string()
    label = maybe()
    language = maybe()


class Member(Schema):
    code = maybe(_l("Two-letter code (EU for the European Union)."))
    name = string(_l("The WTO's name for the member, in the reader's language."))


def deadlines() -> dict:
    """The deadline fields (``search.notifications.Deadline``), after a notification's own."""
    return {
        "comment_deadline": maybe(_l("The WTO comment deadline.")),
        "internal_deadline": maybe(_l("The internal cut-off: buffer_days before the deadline.")),
        "days_left": whole(_l("Days to the deadline; negative once it has passed."),
                           nullable=True),
        "internal_days_left": whole(nullable=True),
        "open": flag(_l("The comment period has not ended.")),
    }


class HsViaIcs(Schema):
    hs = string()
    ics = texts(_l("The notification's ICS codes (or their fields or groups) it comes from."))
    supported_by = texts(_l("Notifications listing both codes, from which MarketPass derived "
                            "the pair."))
    label = string()


class NotificationItem(Schema):
    symbol = string(_l("The WTO document symbol."))
    area = maybe(_l("TBT or SPS."))
    type = maybe(_l("regular, revision, addendum, corrigendum or supplement."))
    base_symbol = maybe(_l("The symbol of the measure's first notification."))
    distribution_date = maybe()
    title = string()
    description = string()
    products = maybe()
    hs_codes = texts()
    ics_codes = texts()
    objectives = texts()
    agency = maybe()
    links = many(Link)
    source_url = maybe()
    member = one(Member)
    members = many(Member, _l("Every member notifying it: several for a joint notification."))
    related = texts(_l("Symbols of related and joint notifications."))
    joint_symbols = texts()
    url = string(_l("The notification's page on this site."))
    hs_via_ics = many(HsViaIcs, _l("For a notification listing ICS codes and no HS code: the HS "
                                   "codes MarketPass's ICS → HS concordance gives it, which the "
                                   "HS filter finds it by. Not the notifier's own."))
    highlights = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))

    class Meta:
        include = deadlines()


class NotificationFacetValue(FacetValue):
    param = string(_l("The parameter that filters on this value."))
    filter = texts(_l("The values to give that parameter (an HS section is its chapters)."))


class SearchLinks(Schema):
    """The same search as a page, JSON, feeds, exports and charts."""

    html = string()
    json = string()
    atom = string()
    ics = string()
    csv = string()
    xlsx = string()
    charts = string()


class NotificationList(Schema):
    total = whole()
    page = whole()
    per_page = whole()
    pages = whole()
    sort = string(_l("The order used."))
    today = string(_l("The date taken as today, for the days left."))
    buffer_days = whole()
    items = many(NotificationItem)
    facets = mapping(fields.List(fields.Nested(NotificationFacetValue)),
                     _l("Counts by member, area, type, objective and HS section."))
    links = one(SearchLinks)
    also_searched = texts()
    recent_instead = many(NotificationItem, _l(
        "When only open notifications were asked for and none is open: the search's five most "
        "recent, so the reader sees what there was."))


class Change(Schema):
    what = string()
    label = string()
    date = maybe()
    detail = maybe()


class LifecycleStep(Schema):
    symbol = string()
    type = maybe()
    distribution_date = maybe()
    title = string()
    url = string()
    missing = flag(_l("MarketPass does not hold this document."))
    changes = many(Change)

    class Meta:
        include = deadlines()


class JointSymbol(Schema):
    symbol = string()
    member = one(Member)
    url = string()


class NotificationDetail(NotificationItem):
    buffer_days = whole()
    today = string()
    lifecycle = many(LifecycleStep, _l("Every document of the measure, in order."))
    joint = many(JointSymbol)
    record = one(Record)


class Series(Schema):
    member = maybe(_l("null for the other members together."))
    counts = _field(fields.List, _l("One count per month."), {}, cls_or_instance=fields.Int())
    name = string()


class Monthly(Schema):
    months = texts(_l("YYYY-MM, the last 36 months with notifications at most."))
    cut = flag()
    series = many(Series)


class SectionCount(Schema):
    section = string()
    name = string()
    count = whole()


class Charts(Schema):
    total = whole()
    monthly = one(Monthly)
    sections = many(SectionCount)
    links = one(SearchLinks)


# --- the matcher -----------------------------------------------------------------------------

class MatchQueryEcho(Schema):
    product = string()
    hs = maybe()
    market = string()
    markets = texts()
    origin = maybe()
    date = string()


class MarketName(Schema):
    code = string()
    name = string()


class MarketBrief(MarketName):
    covered_as = texts(_l("The market and the unions whose schemes apply in it."))


class HsCandidate(Schema):
    code = string()
    label = string()
    score = number()
    via = texts()
    products = texts()


class ProductFound(Schema):
    id = string()
    name = string()
    language = string()
    score = number()


class ProductAttributes(Schema):
    """What is known of the product: null where nothing says."""

    radio = flag(nullable=True)
    battery = flag(nullable=True)
    lithium = flag(nullable=True)
    children = flag(nullable=True)
    professional = flag(nullable=True)
    power = texts(_l("mains, dc, battery or none."), nullable=True)
    voltage_ac = _field(fields.List, _l("[low, high] in volts."), {},
                        cls_or_instance=fields.Float(), allow_none=True)
    voltage_dc = _field(fields.List, _l("[low, high] in volts."), {},
                        cls_or_instance=fields.Float(), allow_none=True)


class Assumption(Schema):
    attribute = string()
    value = anything()


class SchemeBrief(Schema):
    id = string()
    name = string()
    mark = maybe()
    authority = maybe()
    type = maybe(_l("mandatory, voluntary or unknown."))
    route = maybe()
    market = string()


class Reason(Schema):
    by = string(_l("hs, category, keyword, product or class."))
    value = string()
    code = fields.Str()
    text = string(_l("The reason in the reader's language."))


class StandardFor(Schema):
    code = string()
    title = maybe()

    class Meta:
        include = {"for": texts(_l("The products it is for (none: all)."))}


class SchemeStep(Schema):
    step = string()
    text = fields.Str()
    derived = fields.Bool()


class BodyBrief(Schema):
    id = string()
    name = string()
    country = string()
    roles = texts()
    verified = flag()
    categories = texts(_l("IECEE categories, as far as a source names them."))


class MatchBody(BodyBrief):
    accreditation = mapping(fields.Raw(), nullable=True)
    sources = texts()
    why = fields.Str(metadata={"description": _l("named (by the scheme) or ncb.")})
    categories_known = fields.Bool()


class RegulationBrief(Schema):
    id = string()
    identifier = string()
    title = string()
    links = many(Link)


class SourceBrief(Schema):
    url = string()
    read_at = maybe()
    publisher = maybe()
    verified_on = maybe()
    supports = maybe()


class Unless(Schema):
    scheme = string()

    class Meta:
        include = {"if": texts()}


class Requirement(Schema):
    scheme = one(SchemeBrief)
    status = string(_l("applies, or conditional (on the attributes in if)."))
    why = many(Reason)
    inherited_from = maybe(_l("The union whose scheme this is."))
    inherited_from_name = maybe()
    strength = whole()
    product_groups = texts()
    cb_accepted = maybe(_l("Whether CB test certificates are accepted: yes, no, partly, "
                           "unknown."))
    cb_note = maybe()
    accepts = texts()
    absorbs = texts()
    includes = fields.List(fields.Str(), metadata={"description": _l(
        "Schemes this one carries here (they are not listed apart).")})
    unless = fields.Nested(Unless)
    in_country_testing = maybe()
    local_representative = maybe()
    validity = maybe()
    lead_time = maybe()
    applies_from = maybe()
    applies_until = maybe()
    superseded_by = maybe()
    standards = many(StandardFor)
    steps = many(SchemeStep)
    bodies_in_market = many(MatchBody)
    legal_basis = texts()
    regulations = many(RegulationBrief)
    verified = flag()
    unverified_fields = texts()
    sources = many(SourceBrief)
    if_text = texts(_l("The open questions, in the reader's language."))

    class Meta:
        include = {"if": texts(_l("Attributes whose answers would settle a conditional "
                                  "requirement."))}


class NotApplying(Schema):
    scheme = one(SchemeBrief)
    status = string(_l("not (a condition fails) or excluded."))
    because = _field(fields.List, None, {}, cls_or_instance=fields.Dict())


class Absorbed(Schema):
    scheme = one(SchemeBrief)
    by = string()


class ArrangementName(Schema):
    id = string()
    name = string()
    short_name = maybe()
    type = maybe()


class RecognitionRoute(Schema):
    arrangement = one(ArrangementName)
    effect = string()
    verified = flag()
    schemes = texts()
    scheme_names = texts()
    bodies_in_origin = many(MatchBody)
    sources = texts()


class MatchNotification(Schema):
    symbol = string()
    title = string()
    distribution_date = maybe()
    comment_deadline = maybe()
    days_left = fields.Int(required=True, allow_none=True)
    open = flag()
    schemes = texts()
    hs_codes = texts()


class MarketAnswer(Schema):
    requirements = many(Requirement, _l("What applies, or may apply, on the date."))
    upcoming = many(Requirement, _l("What will apply from a later day."))
    not_applying = many(NotApplying, _l("In scope but excluded, or a condition fails."))
    absorbed = many(Absorbed, _l("Carried by a more specific act that applies."))
    recognition_routes = many(RecognitionRoute,
                              _l("Arrangements through which results from the origin count."))
    notifications = many(MatchNotification, _l("Notifications that may change what applies."))
    covered = flag(_l("The knowledge base covers this market."))
    market_name = maybe()


class OneMarket(MarketAnswer):
    market = string()


class MatchAnswer(MarketAnswer):
    query = one(MatchQueryEcho)
    market = one(MarketBrief)
    origin = one(MarketName, nullable=True)
    hs_candidates = many(HsCandidate, _l("HS codes the product may fall under, best first."))
    products = many(ProductFound, _l("Products of the vocabulary the description names."))
    attributes = one(ProductAttributes)
    attributes_said = mapping(fields.Str(), _l("Where each known attribute comes from."))
    assumptions = many(Assumption)
    questions = texts()
    question_texts = mapping(fields.Str())
    date = string(_l("The day the answer is for."))
    markets = many(OneMarket, _l("One answer per market when several were asked about "
                                 "(the first is also given at the top level)."))


# --- knowledge base coverage -----------------------------------------------------------------

class Counted(Schema):
    facts = whole()
    verified_facts = whole()
    unknown = whole()
    unknown_share = number(nullable=True)

    class Meta:
        include = {"fields": whole(_l("Facts counted (eleven per scheme)."))}


class MarketCoverage(Counted):
    market = string()
    schemes = whole()
    inherited_schemes = whole()
    unions = texts()
    groups = texts()
    none_groups = texts()
    missing_groups = texts()
    not_found_groups = texts()
    unknown_by_scheme = mapping(fields.List(fields.Str()))


class Overall(Counted):
    schemes = whole()


class Coverage(Schema):
    facts = texts()
    expected_groups = texts()
    markets = many(MarketCoverage)
    complete_markets = whole()
    overall = one(Overall)
    other_markets = texts()
    baseline = mapping(fields.Raw(), _l("The starting data's unknown share."), nullable=True)


# --- the agencies' view ----------------------------------------------------------------------

class ArrangementBrief(ArrangementName):
    verified = flag()
    sources = texts()


class IecexStatus(Schema):
    party = flag()
    bodies = many(BodyBrief)


class IeceeCountry(Schema):
    country = string()
    member_bodies = many(BodyBrief)
    ncbs = many(BodyBrief)
    cbtls = many(BodyBrief)
    categories = texts()
    iecex = one(IecexStatus)
    note = maybe()


class Category(Schema):
    code = string()
    name = string()
    name_zh = maybe()


class Iecee(Schema):
    arrangement = one(ArrangementBrief, _l("The IECEE CB Scheme."), nullable=True)
    iecex = one(ArrangementBrief, nullable=True)
    countries = many(IeceeCountry)
    categories = many(Category)
    matrix = mapping(fields.Dict(keys=fields.Str(), values=fields.Str(
        metadata={"enum": ["yes", "not_listed", "unknown", "no_ncb"]})), _l(
        "Country → category → yes, not_listed, unknown or no_ncb."))


class Party(Schema):
    """A party to an arrangement, with what the record says of it (since, bodies, note …)."""

    class Meta:
        unknown = INCLUDE

    country = string()


class ArrangementRow(ArrangementBrief):
    parties = many(Party)
    sectors = texts()
    effect = string()
    status = maybe()
    signed = maybe()
    in_force = maybe()
    links = many(Link)
    description = string()


class Matrix(Schema):
    sector = string()
    countries = texts()
    cells = mapping(fields.Dict(keys=fields.Str(), values=fields.List(fields.Str())),
                    _l("Exporter → market → the arrangements that let a result travel."))
    pairs_covered = whole()
    pairs = whole()


class Block(Schema):
    group = maybe()
    countries = texts()


class RouteSide(Schema):
    parties = many(Party)
    bodies = many(BodyBrief)


class RouteArrangement(ArrangementBrief):
    status = maybe()
    signed = maybe()
    in_force = maybe()
    effect = string()
    exporter = one(RouteSide)
    market = one(RouteSide)


class Route(Schema):
    from_ = string(data_key="from")
    to = string()
    sector = string()
    arrangements = many(RouteArrangement)


class GroupSource(Schema):
    group = string()
    url = string()
    publisher = string()
    verified = flag()
    members = whole("Members the list names")
    members_confirmed = whole("Members a qualifying source read confirms")


class Arrangements(Schema):
    items = many(ArrangementRow)
    sectors = texts()
    groups = texts()
    group = maybe()
    blocks = many(Block)
    group_sources = many(GroupSource)
    matrix = one(Matrix)
    route = one(Route, nullable=True)


class BodyRow(BodyBrief):
    arrangements = texts()
    status = maybe()
    links = many(Link)


class Bodies(Schema):
    total = whole()
    items = many(BodyRow)
    facets = mapping(fields.List(Pair()),
                     _l("[value, count] pairs by country, role, scheme and category."))


class IndicatorRecords(Schema):
    ncbs = texts()
    cbtls = texts()
    iecex_bodies = texts()
    arrangements = mapping(fields.List(fields.Str()))
    iaf_mla = texts()
    ilac_mra = texts()


class CountryIndicators(Schema):
    country = string()
    ncbs = whole()
    cbtls = whole()
    iecex_bodies = whole()
    iec_bodies = whole()
    arrangements = mapping(fields.Int(), _l("Arrangements taken part in, by type."))
    arrangements_total = whole()
    iaf_mla = flag()
    ilac_mra = flag()
    records = one(IndicatorRecords)


class PlanFigure(Schema):
    class Meta:
        include = {"2020": whole(nullable=True), "2025_target": whole(nullable=True)}


class ChinaPlan(Schema):
    source = maybe()
    read_at = maybe()
    verified = flag()
    iec_bodies = one(PlanFigure)
    bilateral = one(PlanFigure)


class ChinaReported(Schema):
    bilateral = whole()
    as_of = maybe()
    source = maybe()
    verified = flag()


class Reported(Schema):
    value = number()
    as_of = maybe()
    source = mapping(fields.Raw(), nullable=True)
    qualifying = flag(nullable=True)


class KnowledgeFigure(Schema):
    id = string()
    ours = whole(_l("What the knowledge base holds."))
    reported = one(Reported, _l("The real-world figure a source reports."), nullable=True)


class ChinaSeries(Schema):
    reported = many(Reported)
    target = one(Reported, nullable=True)
    held = whole()


class ChinaPlanSeries(Schema):
    iec_bodies = one(ChinaSeries)
    bilateral = one(ChinaSeries)


class Indicators(Schema):
    countries = many(CountryIndicators)
    china_plan = one(ChinaPlan)
    china_reported = one(ChinaReported, nullable=True)
    china = one(CountryIndicators, nullable=True)
    china_series = one(ChinaPlanSeries)
    knowledge = many(KnowledgeFigure)


class CountryName(Schema):
    code = string()
    name = string()
    markets = texts()
    in_knowledge_base = flag()


class SchemeRow(Schema):
    id = string()
    name = string()
    mark = maybe()
    market = string()
    mandatory = maybe()
    product_groups = texts()
    verified = flag()


class CountryNotifications(Schema):
    recent = many(NotificationItem)
    recent_total = whole()
    open = many(NotificationItem)
    open_total = whole()


class Country(Schema):
    country = one(CountryName)
    schemes = many(SchemeRow)
    arrangements = many(ArrangementBrief)
    bodies = many(BodyRow)
    indicators = one(CountryIndicators)
    notifications = one(CountryNotifications)


# --- alerts ----------------------------------------------------------------------------------

class SubscriptionLinks(Schema):
    manage = string()
    unsubscribe = string()
    search = string()


class Subscription(Schema):
    """A subscription as its owner may see it (``webapp.alerts.public_view``): never its
    address, nor its secret."""

    token = string(_l("The subscription's token, from the answer that created it or the "
                      "links in its messages."))
    channel = string(enum=list(CHANNELS))
    address = string()
    search = string()
    description = string()
    frequency = string(enum=list(FREQUENCIES))
    lang = string(enum=list(LOCALES))
    status = string(enum=["pending", "active", "disabled"])
    links = one(SubscriptionLinks)


class NewWebhook(Subscription):
    secret = string(_l("The key that signs each delivery (X-MarketPass-Signature: "
                       "sha256=HMAC-SHA256 of the body), shown this once."))


class Pending(Schema):
    status = string(enum=["pending"])
    message = string()


class Deleted(Schema):
    status = string(enum=["deleted"])
