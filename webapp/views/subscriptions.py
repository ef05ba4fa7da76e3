"""Alerts on a notification search: subscribe (API and the form on /notifications), confirm,
see, change, unsubscribe. The logic is ``webapp.alerts``'s; these views parse and answer.

A subscription's token in its address is what lets its owner manage it, so these pages are
never cached and never show the e-mail address (``j…@example.org`` at most).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from search.alerts import FREQUENCIES, AlertStore
from search.store import StoreMissing
from webapp import alerts
from webapp.extensions import marketpass
from webapp.i18n import LOCALES

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")
api = Blueprint("subscriptions_api", __name__)


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        csrf_token=alerts.csrf_token, alert_search=_current_search,
        alerts_by_mail=lambda: bool(marketpass.settings.smtp_url))
    state.app.after_request(alerts.set_csrf_cookie)


def _current_search() -> str:
    return alerts.clean_search(request.query_string.decode("utf-8", "replace"))


def _store() -> AlertStore:
    try:
        return alerts.alert_store(marketpass.settings)
    except StoreMissing:
        abort(503)


def _private(response) -> Response:
    """A page or answer holding a subscription's token: for its owner only."""
    response = response if isinstance(response, Response) else Response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- API --------------------------------------------------------------------------------------

@api.post("/subscriptions")
def subscribe() -> tuple[Response, int]:
    args = alerts.subscription_args(request.get_json(silent=True))
    if args["email"]:
        alerts.subscribe_email(_store(), args)
        return _private(jsonify(status="pending", message=str(alerts.PENDING))), 202
    return _private(jsonify(alerts.subscribe_webhook(_store(), args))), 201


@api.route("/subscriptions/<token>", methods=["PATCH", "DELETE"])
def api_manage(token: str) -> Response:
    store = _store()
    if store.get_subscription(token) is None:
        abort(404)
    if request.method == "DELETE":
        store.delete(token)
        return _private(jsonify(status="deleted"))
    store.update(token, **alerts.change_args(request.get_json(silent=True)))
    return _private(jsonify(alerts.public_view(store.get_subscription(token))))


# --- pages ------------------------------------------------------------------------------------

@bp.post("")
def subscribe_form() -> tuple[Response, int]:
    alerts.check_csrf()
    args = alerts.subscription_args({k: request.form.get(k) or None
                                     for k in ("email", "search", "frequency", "lang")})
    alerts.subscribe_email(_store(), args)
    return _notice(_("Check your mailbox"), _(
        "We sent a message to the address you gave. Follow the link in it to start the "
        "alert; until then nothing else is sent."), status=202)


def _notice(title: str, message: str, *, action: str | None = None, button: str | None = None,
            link: str | None = None, status: int = 200) -> tuple[Response, int]:
    page = render_template("subscription_notice.html", title=title, message=message,
                           action=action, button=button, link=link)
    return _private(page), status


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET asks, POST confirms: mail scanners follow links, but they do not press buttons."""
    store = _store()
    if request.method == "GET":
        if store.pending_confirmation(token) is None:
            return _expired()
        return _notice(_("Start this alert?"), _("Press the button to confirm that you want "
                                                 "this alert."),
                       action=request.path, button=_("Confirm the alert"))
    sub = store.confirm(token)
    if sub is None:
        return _expired()
    return redirect(url_for("subscriptions.manage", token=sub.token), code=303)


def _expired() -> tuple[Response, int]:
    return _notice(_("This link no longer works"), _(
        "It was already used, it expired, or the alert was deleted. Subscribe again from the "
        "notifications page."), status=404)


@bp.route("/<token>", methods=["GET", "POST"])
def manage(token: str) -> tuple[Response, int] | Response:
    store = _store()
    sub = store.get_subscription(token)
    if sub is None or sub.status == "pending":
        return _expired()
    if request.method == "POST":
        return _act(store, token)
    return _private(render_template(
        "subscription.html", sub=alerts.public_view(sub), frequencies=FREQUENCIES,
        frequency_label=alerts.frequency_label, languages=LOCALES)), 200


def _act(store: AlertStore, token: str):
    alerts.check_csrf()
    action = request.form.get("action")
    if action == "delete":
        store.delete(token)
        return _notice(_("Alert deleted"), _("You will receive nothing more from this alert."))
    if action == "resume":
        store.resume(token)
    elif action == "update":
        store.update(token, **alerts.change_args(request.form.to_dict()))
    else:
        abort(400)
    return redirect(request.path, code=303)


@bp.route("/<token>/unsubscribe", methods=["GET", "POST"])
def unsubscribe(token: str) -> tuple[Response, int]:
    """The link in every message. POST is RFC 8058's one-click unsubscribe: the token in the
    address is the authority, so it needs no form token."""
    store = _store()
    if store.get_subscription(token) is None:
        return _notice(_("Unsubscribed"), _("This alert no longer exists."))
    if request.method == "GET":
        return _notice(_("Stop this alert?"), _("Press the button to stop receiving it."),
                       action=request.path, button=_("Unsubscribe"))
    store.delete(token)
    return _notice(_("Unsubscribed"), _("You will receive nothing more from this alert."))
