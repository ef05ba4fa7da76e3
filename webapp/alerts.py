"""Alerts as people receive them: subscribing, the messages in the subscriber's language, and
the run that sends what each subscription is owed (``marketpass alerts send``).

What is owed and recorded is ``search.alerts``'s to say; how it travels, ``search.delivery``'s.
This module renders (templates, translations, item shapes of the API) and ties them together.
Links in messages are built from ``MARKETPASS_PUBLIC_URL``, never from a request's Host.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask, current_app, g, request
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, ServiceUnavailable, TooManyRequests

from search import delivery
from search.alerts import FREQUENCIES, AlertStore, Change, Matcher, Subscription, address_key, owed
from search.backend import SearchBackend
from search.indexing import reconcile
from search.notifications import NotificationQuery
from search.settings import Settings
from webapp import tracker
from webapp.i18n import LOCALES, supported
from webapp.knowledge import widen
from webapp.labels import value_label
from webapp.params import notification_query

log = logging.getLogger(__name__)

# The parameters of a notification search that decide what it finds (paging, order and the
# page's language do not).
SEARCH_PARAMS = ("q", "member", "area", "hs", "ics", "objective", "type", "open", "from", "to",
                 "buffer_days")
MAX_SEARCH = 2000
CSRF_COOKIE = "mp_csrf"
CSRF_MAX_AGE = 6 * 3600
MAX_ITEMS_IN_MAIL = 200  # a digest longer than this links to the search for the rest
# The answers to an e-mail subscription (202, 503), also in the API's description.
PENDING = _l("Check your mailbox: follow the link in the message we sent to start the alert.")
MAIL_OFF = _l("E-mail alerts are switched off on this server: no mail server is configured. "
              "Webhook alerts still work.")
NOT_SENT = _l("The confirmation message could not be sent. Please try again later.")
# What a request to subscribe, or to change a subscription, is (its 400, its description).
ASK_SUBSCRIPTION = _l("Send a JSON object with “email” or “webhook_url” and “search”.")
ASK_CHANGE = _l("Send a JSON object with the fields to change.")
UNSAFE_URL = {
    "invalid": _l("The webhook address is not a valid URL."),
    "scheme": _l("The webhook address must start with https:// (or http://)."),
    "credentials": _l("The webhook address must not contain a user name or password."),
    "unresolved": _l("The webhook address's host name could not be resolved."),
    "private": _l("The webhook address points to a private, loopback or reserved network "
                  "address, which MarketPass does not call."),
}


# --- the subscription request -----------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"\\]{1,64}@[^@\s<>()\[\],;:\"\\]{1,253}\.[^\W\d_]{2,63}")


def _email(value: str) -> None:
    if not _EMAIL.fullmatch(value):
        raise ValidationError(_("“%(email)s” is not an e-mail address.", email=value[:100]))


def _language(value: str) -> None:
    if not supported(value):
        raise ValidationError(_("Unknown language “%(value)s”; choose from: %(allowed)s.",
                                value=value[:20], allowed=", ".join(LOCALES)))


def _frequency(value: str) -> None:
    if value not in FREQUENCIES:
        raise ValidationError(_("Unknown frequency “%(value)s”; choose from: %(allowed)s.",
                                value=value[:20], allowed=", ".join(FREQUENCIES)))


class ChangeArgs(Schema):
    """What a subscriber may change: the search, how often, the language."""

    class Meta:
        unknown = EXCLUDE

    # The descriptions are the API's (webapp.openapi), in the words of the subscription page.
    search = fields.Str(load_default="", validate=Length(max=MAX_SEARCH, error=_l(
        "The search is too long: at most {max} characters.")), metadata={
        "description": _l("Search (the part of a notifications address after “?”)")})
    frequency = fields.Str(load_default="immediate", validate=_frequency,
                           metadata={"description": _l("How often")})
    lang = fields.Str(load_default=None, validate=_language,
                      metadata={"description": _l("Language")})


class SubscriptionArgs(ChangeArgs):
    """An e-mail address or a webhook URL, and the rest."""

    CHANNELS = ("email", "webhook_url")  # exactly one is given

    email = fields.Str(load_default=None, validate=_email,
                       metadata={"description": _l("E-mail")})
    webhook_url = fields.Str(load_default=None, validate=Length(max=2000, error=_l(
        "The webhook address is too long: at most {max} characters.")),
        metadata={"description": _l("Webhook")})

    @validates_schema
    def _one_channel(self, data: dict, **kwargs) -> None:
        if sum(bool(data.get(name)) for name in self.CHANNELS) != 1:
            raise ValidationError(_("Give either an e-mail address or a webhook URL."))


_subscription_schema, _change_schema = SubscriptionArgs(), ChangeArgs()


def subscription_args(data: object) -> dict:
    """The request's fields, checked; a mistake is a BadRequest in the reader's language."""
    if not isinstance(data, dict):
        raise BadRequest(str(ASK_SUBSCRIPTION))
    args = _checked(_subscription_schema, data)
    args["lang"] = supported(args["lang"]) or supported(str(get_locale() or "")) or "en"
    return args


def change_args(data: object) -> dict:
    """The fields given to change, checked as a new subscription's are."""
    if not isinstance(data, dict):
        raise BadRequest(str(ASK_CHANGE))
    given = {k: v for k, v in data.items() if k in _change_schema.fields and v is not None}
    args = _checked(_change_schema, given)
    return {k: args[k] for k in given}


def _checked(schema: Schema, data: dict) -> dict:
    try:
        args = schema.load({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        raise BadRequest(" ".join(_flatten(exc.messages))) from exc
    args["search"] = clean_search(args["search"])
    search_query(args["search"])  # a search the page would refuse is refused here too
    return args


def _flatten(errors: object) -> list[str]:
    if isinstance(errors, dict):
        return list(dict.fromkeys(m for v in errors.values() for m in _flatten(v)))
    if isinstance(errors, list):
        return list(dict.fromkeys(m for v in errors for m in _flatten(v)))
    return [str(errors)]


def clean_search(text: str) -> str:
    """The search's own parameters, in their order (a whole /notifications URL is accepted)."""
    text = text.strip()
    if "?" in text:
        text = text.split("?", 1)[1]
    pairs = [(k, v) for k, v in parse_qsl(text.split("#", 1)[0]) if k in SEARCH_PARAMS and v]
    return urlencode(pairs)


def search_query(search: str) -> NotificationQuery:
    """The notification query a stored search means, widened across languages as the page
    widens it; raises BadRequest (translated) for a search the page refuses."""
    query = notification_query(MultiDict(parse_qsl(search)),
                               current_app.extensions["marketpass"].settings.buffer_days)
    widened = widen(query.q)
    return replace(query, widened=widened.text, also=widened.added) if widened.added else query


# --- words for a search -----------------------------------------------------------------------

def describe(query: NotificationQuery) -> str:
    """The search in words, in the current language: “vehicles · Saudi Arabia · HS 8703”."""
    parts = []
    if query.q.strip():
        parts.append(_("“%(words)s”", words=" ".join(query.q.split())[:200]))
    parts += [tracker.member_name(m) for m in query.members]
    parts += list(query.areas)
    if query.hs:
        parts.append(_("HS %(codes)s", codes=", ".join(query.hs)))
    if query.ics:
        parts.append(_("ICS %(codes)s", codes=", ".join(query.ics)))
    parts += [value_label("type", t) or t for t in query.types]
    parts += list(query.objectives)
    if query.open:
        parts.append(_("open for comment"))
    if query.date_from:
        parts.append(_("distributed from %(day)s", day=query.date_from))
    if query.date_to:
        parts.append(_("distributed until %(day)s", day=query.date_to))
    return " · ".join(parts) or _("all notifications")


def frequency_label(frequency: str) -> str:
    return _("as soon as they are found") if frequency == "immediate" else _("once a day")


# --- links --------------------------------------------------------------------------------------

def public_url(endpoint: str, **values) -> str:
    """An absolute link on the public address, whatever host the current request names."""
    parts = urlsplit(current_app.extensions["marketpass"].settings.public_url)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                       url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


def links(sub: Subscription) -> dict:
    search_url = public_url("notifications.listing")
    return {"manage": public_url("subscriptions.manage", token=sub.token),
            "unsubscribe": public_url("subscriptions.unsubscribe", token=sub.token),
            "search": f"{search_url}?{sub.search}" if sub.search else search_url}


# --- CSRF for the site's forms ------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="marketpass-forms")


def csrf_token() -> str:
    """A token for a form: the browser's nonce (a cookie) signed with the secret key. A forged
    form from another site has neither the cookie (SameSite) nor a token signed for it."""
    nonce = request.cookies.get(CSRF_COOKIE) or g.setdefault("csrf_nonce",
                                                             secrets.token_urlsafe(18))
    return _serializer().dumps(nonce)


def check_csrf() -> None:
    try:
        nonce = _serializer().loads(request.form.get("csrf", ""), max_age=CSRF_MAX_AGE)
    except BadSignature:
        nonce = None
    if not nonce or nonce != request.cookies.get(CSRF_COOKIE):
        raise BadRequest(_("This form has expired or was not sent from this site. Reload the "
                           "page and try again."))


def set_csrf_cookie(response):
    if nonce := g.get("csrf_nonce"):
        response.set_cookie(CSRF_COOKIE, nonce, max_age=CSRF_MAX_AGE, httponly=True,
                            samesite="Strict", secure=current_app.config.get("HTTPS", False))
    return response


# --- subscribing --------------------------------------------------------------------------------

def _settings() -> Settings:
    return current_app.extensions["marketpass"].settings


def alert_store(settings: Settings) -> AlertStore:
    """One per app (connections are per thread); never creates a missing database."""
    store = current_app.extensions.get("marketpass_alerts")
    if store is None or store.path != settings.store_location:
        store = current_app.extensions["marketpass_alerts"] = AlertStore(
            settings.store_location, create=False)
    return store


def _count_request(store: AlertStore, settings: Settings, address: str) -> str:
    """Subscribing is limited per address too, so one inbox cannot be flooded from many
    clients."""
    key = address_key(settings.secret_key, address)
    if store.requests_today(key) >= settings.subscribe_per_address:
        raise TooManyRequests(retry_after=3600)
    store.note_request(key)
    return key


def subscribe_email(store: AlertStore, args: dict) -> None:
    """Store a pending subscription and send its confirmation; nothing else is sent to the
    address until the link in it is followed."""
    settings = _settings()
    if not settings.smtp_url:
        raise ServiceUnavailable(str(MAIL_OFF))
    key = _count_request(store, settings, args["email"])
    token, confirm = store.add(channel="email", address=args["email"], key=key,
                               search=args["search"], frequency=args["frequency"],
                               lang=args["lang"])
    sub = store.get_subscription(token)
    mailer = delivery.Mailer(settings.smtp_url)
    try:
        mailer.send(confirmation_message(sub, confirm, settings))
    except (delivery.MailServerDown, delivery.DeliveryError) as exc:
        log.error("confirmation not sent: %s", exc)
        store.delete(token)
        raise ServiceUnavailable(str(NOT_SENT)) from exc
    finally:
        mailer.close()


def subscribe_webhook(store: AlertStore, args: dict) -> dict:
    """Check the address, have the endpoint echo a challenge, then activate: the answer holds
    the signing secret, which is never shown again."""
    settings = _settings()
    try:
        delivery.check_url(args["webhook_url"], settings.webhook_allow_private)
    except delivery.UnsafeUrl as exc:
        raise BadRequest(str(UNSAFE_URL[exc.reason])) from exc
    key = _count_request(store, settings, args["webhook_url"])
    secret = secrets.token_hex(32)
    token, confirm = store.add(channel="webhook", address=args["webhook_url"], key=key,
                               search=args["search"], frequency=args["frequency"],
                               lang=args["lang"], secret=secret)
    challenge = secrets.token_urlsafe(24)
    body = json.dumps({"type": "verification", "challenge": challenge}).encode()
    if not delivery.verify(args["webhook_url"], secret, challenge, body,
                           allow_private=settings.webhook_allow_private,
                           timeout=settings.webhook_timeout):
        store.delete(token)
        raise BadRequest(_("The webhook did not pass verification: it must answer our POST "
                           "of {\"type\": \"verification\", \"challenge\": …} with status 200 "
                           "and the challenge in its body."))
    sub = store.confirm(confirm)
    return {**public_view(sub), "secret": secret}


def public_view(sub: Subscription) -> dict:
    """What may be shown of a subscription: never its address, nor its secret."""
    query = search_query(sub.search)
    return {"token": sub.token, "channel": sub.channel, "address": sub.masked,
            "search": sub.search, "description": describe(query), "frequency": sub.frequency,
            "lang": sub.lang, "status": sub.status, "links": links(sub)}


# --- messages -----------------------------------------------------------------------------------

def _one_line(text: str, limit: int = 180) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(sub: Subscription, settings: Settings, subject: str, text: str,
             html: str) -> MIMEMultipart:
    """A text/plain and a text/html part (the email package's faster classic classes: a run
    builds thousands of these)."""
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    headers = {
        "From": settings.mail_from, "To": sub.address, "Subject": _one_line(subject),
        "Date": formatdate(usegmt=True), "Message-ID": make_msgid(domain=_mail_domain(settings)),
        "Content-Language": LOCALES.get(sub.lang, (sub.lang, sub.lang))[1],
        "Auto-Submitted": "auto-generated",
        # RFC 8058: a mail client's one-click unsubscribe POSTs to this address.
        "List-Unsubscribe": f"<{links(sub)['unsubscribe']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    for name, value in headers.items():
        message[name] = value if value.isascii() else Header(value, "utf-8")
    return message


def _mail_domain(settings: Settings) -> str:
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >")
    return domain or "localhost"


def _render(name: str, **context) -> str:
    """A mail template, without the page's context processors (a run renders thousands)."""
    return current_app.jinja_env.get_template(name).render(**context)


def confirmation_message(sub: Subscription, confirm: str, settings: Settings) -> Message:
    with force_locale(sub.lang):
        context = {"sub": sub, "search": describe(search_query(sub.search)),
                   "frequency": frequency_label(sub.frequency), "links": links(sub),
                   "confirm_url": public_url("subscriptions.confirm", token=confirm)}
        subject = _("Confirm your MarketPass alert: %(search)s", search=context["search"])
        return _message(sub, settings, subject,
                        _render("mail_confirm_text.html", **context),
                        _render("mail_confirm.html", **context))


class Renderer:
    """Alert messages and webhook bodies for one run. A notification is shaped (as the API
    gives it) and rendered once per language and internal cut-off, however many subscribers
    it goes to: a run sends the same thousand notifications to thousands of them."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.today = settings, settings.today_date()
        self._items: dict[tuple, dict] = {}
        self._blocks: dict[tuple, tuple[str, Markup]] = {}

    def items(self, changes: list[Change], buffer_days: int) -> list[dict]:
        """The notifications as /api/v1/notifications gives them, newest first (call in the
        subscriber's locale)."""
        return [item for _, item in self._shaped(changes, buffer_days)]

    def _shaped(self, changes: list[Change], buffer_days: int) -> list[tuple[tuple, dict]]:
        lang, out = str(get_locale()), []
        for c in changes:
            key = (lang, c.id, c.content_hash, buffer_days)
            if key not in self._items:
                self._items[key] = tracker.item(c.record, self.today, buffer_days)
            out.append((key, self._items[key]))
        return sorted(out, key=lambda k: (k[1]["distribution_date"] or "", k[1]["symbol"]),
                      reverse=True)

    def blocks(self, changes: list[Change], buffer_days: int) -> list[tuple[str, Markup]]:
        """Each notification of a message as text and as HTML, rendered once a run."""
        out = []
        for key, item in self._shaped(changes, buffer_days)[:MAX_ITEMS_IN_MAIL]:
            if key not in self._blocks:
                self._blocks[key] = (_render("mail_item_text.html", n=item),
                                     Markup(_render("mail_item.html", n=item)))
            out.append(self._blocks[key])
        return out

    def alert(self, sub: Subscription, query: NotificationQuery,
              changes: list[Change]) -> Message:
        with force_locale(sub.lang):
            search = describe(query)
            subject = ngettext("%(num)d new or changed notification: %(search)s",
                               "%(num)d new or changed notifications: %(search)s",
                               len(changes), search=search)
            context = {"sub": sub, "search": search, "links": links(sub),
                       "blocks": self.blocks(changes, query.buffer_days),
                       "more": max(0, len(changes) - MAX_ITEMS_IN_MAIL)}
            return _message(sub, self.settings, subject,
                            _render("mail_alert_text.html", **context),
                            _render("mail_alert.html", **context))

    def webhook(self, sub: Subscription, query: NotificationQuery, changes: list[Change],
                delivery_id: str) -> bytes:
        with force_locale(sub.lang):
            payload = {"type": "notifications", "delivery": delivery_id, "subscription": sub.id,
                       "search": sub.search, "description": describe(query),
                       "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
                       "items": self.items(changes, query.buffer_days), "links": links(sub)}
        return json.dumps(payload, ensure_ascii=False).encode()


# --- the run --------------------------------------------------------------------------------------

class Sender:
    """Where messages go: the SMTP server of the settings and the subscribers' webhooks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._mailer: delivery.Mailer | None = None

    def mail(self, message: Message) -> None:
        if not self.settings.smtp_url:
            raise delivery.MailServerDown("MARKETPASS_SMTP_URL is not set")
        self._mailer = self._mailer or delivery.Mailer(self.settings.smtp_url)
        self._mailer.send(message)

    def post(self, sub: Subscription, body: bytes, delivery_id: str) -> None:
        delivery.deliver(sub.address, sub.secret or "", body, delivery_id=delivery_id,
                         allow_private=self.settings.webhook_allow_private,
                         timeout=self.settings.webhook_timeout)

    def close(self) -> None:
        if self._mailer:
            self._mailer.close()


@dataclass
class Report:
    subscriptions: int = 0
    messages: int = 0
    notifications: int = 0
    failed: int = 0
    disabled: int = 0
    waiting_for_mail_server: int = 0
    invalid_searches: int = 0


def run(store: AlertStore, backend: SearchBackend, sender: Sender, settings: Settings, *,
        digest: bool = False, now: datetime | None = None) -> Report:
    """Send every due subscription what it is owed. Call inside a request context on the
    public address (see ``send_all``) so links and translations work."""
    return Run(store, backend, sender, settings, now or datetime.now(UTC))(digest)


class Run:
    """One ``alerts send``: the due subscriptions, the changes past their cursors, and each
    subscription's message in turn, each recorded as soon as it is sent."""

    def __init__(self, store: AlertStore, backend: SearchBackend, sender: Sender,
                 settings: Settings, now: datetime) -> None:
        self.store, self.backend, self.sender, self.settings = store, backend, sender, settings
        self.now, self.report, self.renderer = now, Report(), Renderer(settings)
        self.mail_down = False

    def __call__(self, digest: bool) -> Report:
        reconcile(self.store, self.backend)  # words are matched by the index: it must hold
        self.store.forget_unconfirmed(self.now)  # every change
        subs = [s for s in self.store.due(digest, self.now)
                if not (digest and _sent_today(s, self.now))]
        self.report.subscriptions = len(subs)
        if subs:
            changes, end = self.store.changes(min(s.cursor for s in subs))
            matcher = Matcher(changes.values(), self.backend, self.settings.today_date())
            idle = self._each(subs, changes, matcher, end)
            self.store.passed(idle, end)
        if digest:
            self.store.set_meta("last_digest", self.now.date().isoformat())
        return self.report

    def _each(self, subs: list[Subscription], changes: dict[str, Change], matcher: Matcher,
              end: int) -> list[int]:
        """Deliver to each subscription in turn; those owed nothing are returned, to have
        their cursors moved in one write."""
        idle, queries = [], {}
        for sub in subs:
            if sub.search not in queries:
                queries[sub.search] = _query(sub)
            if (query := queries[sub.search]) is None:
                self.report.invalid_searches += 1
                continue
            items = self.store.unsent(sub.id, owed(sub, changes, matcher.ids(query)))
            if not items:
                idle.append(sub.id)
            elif sub.channel == "email" and self.mail_down:
                self.report.waiting_for_mail_server += 1
            else:
                self._deliver(sub, query, items, end)
        return idle

    def _deliver(self, sub: Subscription, query: NotificationQuery, items: list[Change],
                 end: int) -> None:
        """One message or POST, then its record."""
        try:
            if sub.channel == "email":
                self.sender.mail(self.renderer.alert(sub, query, items))
            else:
                delivery_id = secrets.token_hex(8)
                self.sender.post(sub, self.renderer.webhook(sub, query, items, delivery_id),
                                 delivery_id)
        except delivery.MailServerDown as exc:
            log.error("mail server unavailable, e-mail alerts wait for the next run: %s", exc)
            self.mail_down = True
            self.report.waiting_for_mail_server += 1
            return
        except delivery.DeliveryError as exc:
            self.report.failed += 1
            self.report.disabled += self.store.failed(
                sub, str(exc), retry_seconds=self.settings.alerts_retry_seconds,
                max_failures=self.settings.alerts_max_failures, now=self.now)
            return
        self.store.delivered(sub.id, items, end)  # only now: a kill before this resends it
        self.report.messages += 1
        self.report.notifications += len(items)


def _sent_today(sub: Subscription, now: datetime) -> bool:
    return bool(sub.last_sent) and sub.last_sent[:10] == now.date().isoformat()


def _query(sub: Subscription) -> NotificationQuery | None:
    try:
        return search_query(sub.search)
    except BadRequest as exc:  # a stored search the current code refuses: skipped, logged
        log.warning("subscription %s: search %r refused: %s", sub.id, sub.search, exc)
        return None


def send_all(app: Flask, *, digest: bool = False, sender: Sender | None = None) -> Report:
    """``marketpass alerts send``: the run inside the app, on the public address."""
    state = app.extensions["marketpass"]
    settings = state.settings
    with app.test_request_context("/", base_url=settings.public_url):
        store = AlertStore(settings.store_location, create=False)
        sender = sender or Sender(settings)
        try:
            return run(store, state.backend(), sender, settings, digest=digest)
        finally:
            sender.close()
            store.close()
