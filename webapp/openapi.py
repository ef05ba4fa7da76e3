"""The OpenAPI 3.1 document of the JSON API under /api/v1, and of the feeds and exports.

One source of truth: the query parameters are the marshmallow schemas that parse them
(``webapp.params``), the request bodies of the alert subscriptions are the schemas their views
load them with (``webapp.alerts``), the answers are the schemas of ``webapp.apischemas``; this
module lists the operations and says in words what each does. apispec turns the schemas into
JSON Schema; the constraints params.py and alerts.py check in their own functions (ranges,
choices) are read from those functions' constants here, so the document states them as the
code enforces them.

The document is built once per language (summaries and descriptions are translated) and kept
with the app. The answers' examples are real answers over the bundled snapshot, cut short
(``api_examples.json``, written by ``tools/api_examples.py``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from marshmallow import Schema, fields

from search.alerts import FREQUENCIES
from search.query import MAX_TEXT_LENGTH
from search.records import KINDS
from webapp import alerts, params
from webapp import apischemas as answers
from webapp.i18n import LOCALES, locale_code

JSON = "application/json"
HTML = "text/html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXAMPLES = Path(__file__).with_name("api_examples.json")
_lock = threading.Lock()


class LanguageArgs(Schema):
    """``lang``, which every route takes (``webapp.i18n``); an unsupported value is ignored."""

    lang = fields.Str(metadata={
        "description": _l("The language of labels and messages; without it, the lang cookie "
                          "or Accept-Language decides."),
        "enum": list(LOCALES)})


@dataclass(frozen=True)
class PathParam:
    name: str
    description: object
    example: str
    pattern: str | None = None


@dataclass(frozen=True)
class Operation:
    """One GET operation: where, what for, what it takes and what it answers."""

    path: str
    operation_id: str
    tag: str
    summary: object
    description: object
    args: Schema | None = None
    answer: type[Schema] | None = None  # the JSON answer; None for another media type
    media: str = JSON
    path_params: tuple[PathParam, ...] = ()
    not_found: object = None  # what a 404 means, where the path names something
    example: str = ""  # the example request: path and query
    headers: dict = field(default_factory=dict)  # headers of the answer: name → description

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


@dataclass(frozen=True)
class Answer:
    """One answer of an operation that changes something: what it means, its JSON schema and
    an example."""

    description: object
    schema: type[Schema]
    example: dict


@dataclass(frozen=True)
class Write:
    """One operation that changes something (POST, PATCH, DELETE): a JSON body in, JSON out,
    never cached, no ETag."""

    path: str
    method: str
    operation_id: str
    tag: str
    summary: object
    description: object
    answers: dict[int, Answer]
    body: Schema | None = None  # the schema the view loads the JSON body with
    body_description: object = None
    body_examples: dict = field(default_factory=dict)  # name → (summary, value)
    path_params: tuple[PathParam, ...] = ()
    not_found: object = None
    errors: dict[int, object] = field(default_factory=dict)  # descriptions replacing ERRORS'
    is_api = True


UNPAGED = ("page", "per_page")  # feeds, exports and charts take the whole search
_notification_args = params.NotificationArgs()
_unpaged_args = params.NotificationArgs(exclude=UNPAGED)
_export_headers = {
    "X-Total-Count": _l("Notifications matching the search."),
    "X-MarketPass-Truncated": _l("true when the file holds only the first "
                                 "MARKETPASS_EXPORT_MAX_ROWS of them."),
    "Content-Disposition": _l("The file name."),
}

TAGS = {
    "search": _l("Search and records"),
    "notifications": _l("WTO TBT and SPS notifications"),
    "match": _l("Market access"),
    "agencies": _l("IECEE, recognition arrangements, bodies and indicators"),
    "data": _l("About the data"),
    "feeds": _l("Feeds and exports of a notification search"),
    "alerts": _l("Alerts on a notification search"),
}

OPERATIONS = (
    Operation(
        "/api/v1/search", "search", "search", _l("Search every record"),
        _l("Full-text search over every kind of record (notifications, regulations, "
           "certification schemes, arrangements, bodies, HS codes, products), with counts by "
           "kind and country. Words naming a product in another language are searched too."),
        params.SearchArgs(), answers.SearchResult, example="/api/v1/search?q=battery&kind=scheme"),
    Operation(
        "/api/v1/records/{record_id}", "getRecord", "search", _l("One record"),
        _l("One record with its provenance; for a notification, the schemes and regulations "
           "it may change; for a scheme or regulation, the notifications that may change it."),
        None, answers.RecordAnswer,
        path_params=(PathParam("record_id", _l("The record's identifier, as search gives it "
                                               "(it may contain slashes)."),
                               "G/TBT/N/SAU/1437"),),
        not_found=_l("There is no record with this identifier."),
        example="/api/v1/records/G/TBT/N/SAU/1437"),
    Operation(
        "/api/v1/counts", "getCounts", "data", _l("Records by kind"),
        _l("How many records of each kind the index holds."),
        None, answers.Counts, example="/api/v1/counts"),
    Operation(
        "/api/v1/crawls", "listCrawls", "data", _l("The last crawl of each source"),
        _l("When each source was last crawled, how it ended, what it fetched, added and "
           "changed, and whether its data is out of date."),
        None, answers.Crawls, example="/api/v1/crawls"),
    Operation(
        "/api/v1/kb/coverage", "kbCoverage", "data", _l("Knowledge base coverage"),
        _l("For each market: the product groups its schemes cover, how many of their facts "
           "are known and confirmed by a source, and what is missing."),
        None, answers.Coverage, example="/api/v1/kb/coverage"),
    Operation(
        "/api/v1/notifications", "listNotifications", "notifications",
        _l("Search the notifications"),
        _l("WTO TBT and SPS notifications by words, member, HS or ICS code, objective, type "
           "and date, with their comment deadlines, the days left and an internal cut-off; "
           "counts by member, area, type, objective and HS section; links to the same search "
           "as a page, feeds and exports."),
        _notification_args, answers.NotificationList,
        example="/api/v1/notifications?member=SA&open=1"),
    Operation(
        "/api/v1/notifications/charts", "notificationCharts", "notifications",
        _l("Notifications per month and per HS section"),
        _l("For the whole search: notifications per month by the five most frequent members "
           "(and the rest), and per HS section."),
        _unpaged_args, answers.Charts, example="/api/v1/notifications/charts?area=TBT"),
    Operation(
        "/api/v1/notifications/{symbol}", "getNotification", "notifications",
        _l("One notification and its measure"),
        _l("A notification found by its symbol in any spelling (a joint notification under "
           "each member's symbol), with its deadlines and every document of its measure: "
           "revisions, addenda, corrigenda and what each changed."),
        params.NotificationArgs(only=("buffer_days",)), answers.NotificationDetail,
        path_params=(PathParam("symbol", _l("The WTO document symbol, such as "
                                            "G/TBT/N/SAU/1437 (slashes kept)."),
                               # Every symbol has its number: "charts" is the route beside it.
                               "G/TBT/N/SAU/1437", pattern="[0-9]"),),
        not_found=_l("There is no notification with this symbol."),
        example="/api/v1/notifications/G/TBT/N/SAU/1437"),
    Operation(
        "/api/v1/match", "match", "match", _l("What applies to a product in a market"),
        _l("The certification schemes, marks and registrations that apply to a product in "
           "one or several markets on a day, each with why, the steps, the standards and the "
           "bodies that can do the work; what may apply depending on the product's attributes "
           "(and the questions that would settle it); the recognition arrangements through "
           "which results from the origin count; and the notifications that may change it. "
           "Give the product in words (any language) or by HS code."),
        params.MatchArgs(), answers.MatchAnswer,
        example="/api/v1/match?product=phone%20charger&market=KR&origin=CN"),
    Operation(
        "/api/v1/iecee", "iecee", "agencies", _l("IECEE member countries"),
        _l("The IECEE CB Scheme's member countries with their member bodies, national "
           "certification bodies (NCBs), CB testing laboratories and accepted categories, the "
           "category × country matrix, and IECEx beside it."),
        None, answers.Iecee, example="/api/v1/iecee"),
    Operation(
        "/api/v1/arrangements", "listArrangements", "agencies",
        _l("Recognition arrangements and their coverage"),
        _l("Every mutual recognition arrangement with its parties, sectors, dates and effect, "
           "and for one sector the exporter × market matrix of the arrangements that let a "
           "result travel."),
        params.MatrixArgs(), answers.Arrangements, example="/api/v1/arrangements?sector=emc"),
    Operation(
        "/api/v1/bodies", "listBodies", "agencies", _l("Conformity assessment bodies"),
        _l("Certification bodies, laboratories, accreditation bodies and authorities, by "
           "words, country, role, arrangement and IECEE category, with exact counts of the "
           "matching bodies."),
        params.BodyArgs(), answers.Bodies, example="/api/v1/bodies?country=CN&role=ncb"),
    Operation(
        "/api/v1/indicators", "indicators", "agencies", _l("Indicators by country"),
        _l("For every country: NCBs, CB laboratories, IECEx bodies and the arrangements it "
           "takes part in, each number with the records it counts; China's five-year plan "
           "figures; and what the knowledge base holds beside what sources report."),
        None, answers.Indicators, example="/api/v1/indicators"),
    Operation(
        "/api/v1/countries/{code}", "getCountry", "agencies", _l("One country or market"),
        _l("A country's schemes (its own and its unions'), the arrangements it takes part in, "
           "its bodies, indicators and its recent and open notifications."),
        None, answers.Country,
        path_params=(PathParam("code", _l("A two-letter country code, or EU, EAEU or GCC "
                                          "(a country's name is understood too)."), "KR"),),
        not_found=_l("The path names no country."),
        example="/api/v1/countries/KR"),
    Operation(
        "/api/v1/openapi.json", "openapi", "data", _l("This description of the API"),
        _l("The OpenAPI 3.1 document of the API, in the language asked for."),
        None, None, example="/api/v1/openapi.json"),
    Operation(
        "/notifications/feed.atom", "notificationFeed", "feeds", _l("Atom feed of a search"),
        _l("The newest notifications of a notification search (MARKETPASS_FEED_SIZE of them), "
           "with the addenda, corrigenda and revisions of their measures, for a feed reader."),
        _unpaged_args, media="application/atom+xml",
        example="/notifications/feed.atom?member=SA"),
    Operation(
        "/notifications/deadlines.ics", "notificationDeadlines", "feeds",
        _l("Calendar of comment deadlines"),
        _l("The comment deadlines and internal cut-offs of a notification search as an "
           "iCalendar file, for a calendar to subscribe to."),
        _unpaged_args, media="text/calendar", headers={"Content-Disposition": _l("The file name.")},
        example="/notifications/deadlines.ics?member=SA&open=1"),
    Operation(
        "/notifications/export.csv", "exportCsv", "feeds", _l("CSV export of a search"),
        _l("Every notification of a search (up to MARKETPASS_EXPORT_MAX_ROWS) as CSV."),
        _unpaged_args, media="text/csv", headers=_export_headers,
        example="/notifications/export.csv?member=SA"),
    Operation(
        "/notifications/export.xlsx", "exportXlsx", "feeds", _l("Excel export of a search"),
        _l("Every notification of a search (up to MARKETPASS_EXPORT_MAX_ROWS) as an Excel "
           "workbook, with a sheet saying what was searched and when."),
        _unpaged_args, media=XLSX, headers=_export_headers,
        example="/notifications/export.xlsx?member=SA"),
)

ERRORS = {
    400: _l("The parameters are wrong; the message says which and why."),
    429: _l("Too many requests from this client in a short time; Retry-After says how many "
            "seconds to wait."),
    503: _l("The search service is not available at the moment."),
}


def _joined(*texts) -> LazyString:
    """Translated sentences said one after another, in the reader's language."""
    return LazyString(lambda: " ".join(str(t) for t in texts))


# --- alert subscriptions (webapp.views.subscriptions) -------------------------------------------

_SEARCH = "member=SA&hs=8703"
_TOKEN = "Xq7pN2vLr8KcT4bWm9sYz3Ad6FgHj5Ek"
_HOST = "https://marketpass.example.org"
_SUBSCRIPTION = {
    "token": _TOKEN, "channel": "webhook", "address": "https://hooks.example.org/…",
    "search": _SEARCH, "description": "Saudi Arabia · HS 8703", "frequency": "immediate",
    "lang": "en", "status": "active",
    "links": {"manage": f"{_HOST}/subscriptions/{_TOKEN}",
              "unsubscribe": f"{_HOST}/subscriptions/{_TOKEN}/unsubscribe",
              "search": f"{_HOST}/notifications?{_SEARCH}"},
}
_TOKEN_PARAM = PathParam("token", answers.Subscription().fields["token"].metadata["description"],
                         _TOKEN, pattern="^[A-Za-z0-9_-]+$")

WRITES = (
    Write(
        "/api/v1/subscriptions", "post", "subscribe", "alerts",
        _l("Subscribe to alerts on a notification search"),
        _l("Follow a notification search (the parameters of /api/v1/notifications) by e-mail or "
           "by webhook: give either email or webhook_url. An e-mail subscription starts when "
           "the link in the confirmation message is followed (202); a server without a mail "
           "server answers 503. A webhook address must be http(s), without a user name or "
           "password, and every address its host resolves to must be public: a private, "
           "loopback or reserved one is refused with a 400. MarketPass then POSTs "
           "{\"type\": \"verification\", \"challenge\": \"…\"} to it, and it must answer 200 "
           "with the challenge in its body; the subscription starts at once (201) and the "
           "answer holds the secret that signs each delivery, shown this once. Each e-mail "
           "address or webhook may be subscribed MARKETPASS_SUBSCRIBE_PER_ADDRESS times in 24 "
           "hours, whatever the client asking (429)."),
        {201: Answer(_l("The webhook passed verification: its subscription is active. The "
                        "answer holds the secret, shown this once."), answers.NewWebhook,
                     {**_SUBSCRIPTION, "secret": "9f2c51d0e7a64b3c8e1f0a2b4c6d8e0f"
                                                 "1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d"}),
         202: Answer(alerts.PENDING, answers.Pending,
                     {"status": "pending", "message": alerts.PENDING})},
        body=alerts.SubscriptionArgs(), body_description=alerts.ASK_SUBSCRIPTION,
        body_examples={
            "email": (_l("E-mail"), {"email": "jane.doe@example.org", "search": _SEARCH,
                                     "frequency": "daily", "lang": "en"}),
            "webhook": (_l("Webhook"), {"webhook_url": "https://hooks.example.org/marketpass",
                                        "search": _SEARCH})},
        errors={400: _joined(ERRORS[400], alerts.UNSAFE_URL["private"]),
                503: _joined(ERRORS[503], alerts.MAIL_OFF, alerts.NOT_SENT)}),
    Write(
        "/api/v1/subscriptions/{token}", "patch", "changeSubscription", "alerts",
        _l("Change this alert"),
        _l("Change the search, the frequency or the language of a subscription; the fields "
           "left out stay as they are. The answer is the subscription as changed."),
        {200: Answer(_l("Your alert"), answers.Subscription,
                     {**_SUBSCRIPTION, "frequency": "daily"})},
        body=alerts.ChangeArgs(), body_description=alerts.ASK_CHANGE,
        body_examples={"frequency": (_l("How often"), {"frequency": "daily"})},
        path_params=(_TOKEN_PARAM,), not_found=_l("This alert no longer exists.")),
    Write(
        "/api/v1/subscriptions/{token}", "delete", "deleteSubscription", "alerts",
        _l("Delete this alert"),
        _l("Delete a subscription and the record of what it was sent: nothing more is sent."),
        {200: Answer(_l("Alert deleted"), answers.Deleted, {"status": "deleted"})},
        path_params=(_TOKEN_PARAM,), not_found=_l("This alert no longer exists.")),
)


def document() -> dict:
    """The document in the reader's language, built once per language per app."""
    cache = current_app.extensions.setdefault("marketpass_openapi", {})
    code = locale_code()
    with _lock:
        if code not in cache:
            cache[code] = build()
        return cache[code]


def build() -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(title="MarketPass API", version="1", openapi_version="3.1.0",
                   plugins=[plugin], info={"description": _INTRO},
                   tags=[{"name": name, "description": text} for name, text in TAGS.items()])
    plugin.converter.add_attribute_function(_constraints)
    spec.components.schema("Error", schema=answers.Error)
    examples = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    for op in OPERATIONS:
        spec.path(path=op.path, operations={"get": _operation(op, plugin.converter, examples)})
    for path in dict.fromkeys(w.path for w in WRITES):
        spec.path(path=path, operations={w.method: _write(w, plugin.converter)
                                         for w in WRITES if w.path == path})
    return _plain(spec.to_dict())


_INTRO = _l(
    "A JSON API over everything MarketPass holds, without keys. Reading it (GET) is open to any "
    "site from a browser, and its answers carry an ETag: ask again with If-None-Match and an "
    "unchanged answer is a 304 without a body. Alerts are subscribed to, changed and deleted "
    "with POST, PATCH and DELETE and a JSON body; those answers are never cached. Labels and "
    "messages are in the language asked for with lang= (or Accept-Language). Each client may "
    "make a limited number of requests per minute; past it the answer is a 429 with "
    "Retry-After. Errors are JSON: {\"error\": {\"code\": 400, \"message\": \"…\"}}.")


def _operation(op: Operation, converter, examples: dict) -> dict:
    parameters = [_path_param(p) for p in op.path_params]
    for schema in filter(None, (op.args, LanguageArgs())):
        parameters += [_tidy(p) for p in converter.schema2parameters(schema, location="query")]
    return {
        "operationId": op.operation_id, "tags": [op.tag], "summary": op.summary,
        "description": op.description, "parameters": parameters,
        "responses": _responses(op, examples.get(op.operation_id)),
        "x-example": op.example,
    }


def _path_param(p: PathParam) -> dict:
    schema = {"type": "string", "minLength": 1, **({"pattern": p.pattern} if p.pattern else {})}
    return {"in": "path", "name": p.name, "required": True, "description": p.description,
            "schema": schema, "example": p.example}


def _write(w: Write, converter) -> dict:
    parameters = [_path_param(p) for p in w.path_params]
    parameters += [_tidy(p) for p in converter.schema2parameters(LanguageArgs(),
                                                                 location="query")]
    out = {"operationId": w.operation_id, "tags": [w.tag], "summary": w.summary,
           "description": w.description, "parameters": parameters,
           "responses": _write_responses(w)}
    if w.body is not None:
        examples = {name: {"summary": summary, "value": value}
                    for name, (summary, value) in w.body_examples.items()}
        out["requestBody"] = {"description": w.body_description, "required": True,
                              "content": {JSON: {
            "schema": _body(w, converter), "examples": examples}}}
    return out


def _body(w: Write, converter) -> dict:
    """The JSON Schema of the body the view loads. A field is a string or left out (null is
    taken as left out); when changing, a field left out stays as it is, so nothing has a
    default; the rule of ``SubscriptionArgs._one_channel`` is a oneOf."""
    schema = converter.schema2jsonschema(w.body)
    for prop in schema["properties"].values():
        if isinstance(prop.get("type"), list):
            prop["type"] = next(t for t in prop["type"] if t != "null")
        if w.method == "patch" or prop.get("default") is None:
            prop.pop("default", None)
    if channels := getattr(w.body, "CHANNELS", None):
        schema["oneOf"] = [{"required": [name]} for name in channels]
    return schema


def _write_responses(w: Write) -> dict:
    out = {str(code): {"description": a.description, "content": {JSON: {
        "schema": a.schema, "example": a.example}}} for code, a in w.answers.items()}
    if w.body is not None:
        out["400"] = _error(w, w.errors.get(400, ERRORS[400]))
    if w.path_params:
        out["308"] = _REDIRECT
    if w.not_found:
        out["404"] = _error(w, w.not_found)
    out["429"] = _error(w, w.errors.get(429, ERRORS[429]), _RETRY_AFTER)
    out["503"] = _error(w, w.errors.get(503, ERRORS[503]), _RETRY_AFTER)
    return dict(sorted(out.items()))


def _tidy(parameter: dict) -> dict:
    """What apispec cannot know: a parameter is never null, a repeatable filter takes at most
    MAX_VALUES values, and a default of None (or outside the choices) only means "not
    given"."""
    schema = parameter["schema"]
    if isinstance(schema.get("type"), list):  # a query parameter is absent, never null
        schema["type"] = next(t for t in schema["type"] if t != "null")
    if schema.get("type") == "array":
        schema.setdefault("maxItems", params.MAX_VALUES)
    default = schema.get("default")
    if isinstance(default, bool):
        schema["default"] = "1" if default else "0"
    elif default is None or ("enum" in schema and default not in schema["enum"]):
        schema.pop("default", None)
    return parameter


_REDIRECT = {"description": _l("The path had doubled slashes: the same address with single "
                                "slashes is in Location."),
             "headers": {"Location": {"schema": {"type": "string"}}},
             "content": {HTML: {"schema": {"type": "string"}}}}
_RETRY_AFTER = {"Retry-After": {"description": _l("Seconds to wait before asking again."),
                                "schema": {"type": "integer"}}}


def _responses(op: Operation, example: object) -> dict:
    out = {"200": _success(op, example),
           "304": {"description": _l("Not modified: the ETag given in If-None-Match still "
                                     "matches.")}}
    if op.args is not None or op.path_params:
        out["400"] = _error(op, ERRORS[400])
    if op.path_params:
        out["308"] = _REDIRECT
    if op.not_found:
        out["404"] = _error(op, op.not_found)
    out["429"] = _error(op, ERRORS[429], _RETRY_AFTER)
    if op.operation_id != "openapi":  # the only answer that reads no data
        out["503"] = _error(op, ERRORS[503], _RETRY_AFTER)
    return dict(sorted(out.items()))


def _success(op: Operation, example: object) -> dict:
    schema = op.answer or ({"type": "object"} if op.media == JSON
                           else {"type": "string", "format": "binary"})
    content = {"schema": schema}
    if example is not None:
        content["example"] = example
    headers = {"ETag": {"description": _l("The answer's version, for If-None-Match."),
                        "schema": {"type": "string"}}}
    headers.update({name: {"description": text, "schema": {"type": "string"}}
                    for name, text in op.headers.items()})
    return {"description": op.summary, "headers": headers, "content": {op.media: content}}


def _error(op: Operation | Write, description, headers: dict | None = None) -> dict:
    """JSON under /api/, the site's error page for feeds and exports (``webapp.errors``)."""
    content = {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}} if op.is_api \
        else {HTML: {"schema": {"type": "string"}}}
    return {"description": description, "content": content, **({"headers": headers}
                                                               if headers else {})}


# --- what apispec does not read from params.py ---------------------------------------------

def _validator_constraints() -> dict:
    """params.py's own validation functions → the JSON Schema constraints they enforce."""
    return {
        params._text_length: {"maxLength": MAX_TEXT_LENGTH},
        params._known_kind: {"enum": list(KINDS)},
        params._country_code: {"pattern": "^[A-Z]{2}$"},
        params._page_range: {"minimum": 1, "maximum": params.MAX_PAGE},
        params._per_page_range: {"minimum": 1, "maximum": params.MAX_PER_PAGE},
        params._buffer_range: {"minimum": 0, "maximum": params.MAX_BUFFER_DAYS},
        alerts._email: {"format": "email"},
        alerts._language: {"enum": list(LOCALES)},
        alerts._frequency: {"enum": list(FREQUENCIES)},
    }


def _choices(check) -> list | None:
    """The values a ``params._one_of`` check allows, read from its closure."""
    if getattr(check, "__qualname__", "") != "_one_of.<locals>.check":
        return None
    cells = dict(zip(check.__code__.co_freevars, check.__closure__ or (), strict=True))
    return list(cells["allowed"].cell_contents)


def _constraints(self, field: fields.Field, **kwargs) -> dict:
    """An apispec attribute function (``self`` is its converter)."""
    out: dict = {}
    known = _validator_constraints()
    for check in field.validators:
        out.update(known.get(check, {}))
        if (allowed := _choices(check)) is not None:
            out["enum"] = allowed
    if isinstance(field, params.Flag):
        out["enum"] = ["1", "0", "true", "false", "yes", "no", "on", "off"]
    if isinstance(field, params.IsoDay):
        out["format"] = "date"
    if isinstance(field, fields.Tuple):
        items = [self.field2property(f) for f in field.tuple_fields]
        out.update(type="array", prefixItems=items, minItems=len(items), maxItems=len(items))
    return out


def _plain(value: object) -> object:
    """Lazy strings made text in the current language, so the document is plain JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, LazyString) else value
