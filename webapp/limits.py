"""Rate limits per client: generous for a person, firm for a script.

Every route has the default limit; the API, the matcher and the heavy answers (exports,
charts, feeds) have tighter ones of their own, shared between a page and its JSON twin. The
counts live in ``MARKETPASS_RATELIMIT_STORAGE_URL`` (Redis for several processes). A client
over a limit gets a 429 with ``Retry-After``, in its language. Tests run without limits
unless their configuration asks for them (``RATELIMIT_ENABLED``).
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from search.settings import Settings

# Route groups by endpoint (the HTML page and its JSON twin count together).
MATCH = {"match.form", "match_api.api_match"}
HEAVY = {"notifications.export_csv", "notifications.export_xlsx", "notifications.charts",
         "notifications_api.api_charts", "notifications.feed", "notifications.deadlines"}
# Subscribing sends a confirmation message or calls a webhook: firmer still (a limit per
# address is kept by webapp.alerts).
SUBSCRIBE = {"subscriptions_api.subscribe", "subscriptions.subscribe_form"}
EXEMPT = {"health.healthz", "static"}


def init_app(app: Flask, settings: Settings) -> None:
    app.config.setdefault("RATELIMIT_ENABLED", settings.ratelimit and not app.testing)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.ratelimit_storage_url)
    app.config.setdefault("RATELIMIT_DEFAULT", settings.ratelimit_default)
    app.config.setdefault("RATELIMIT_API", settings.ratelimit_api)
    app.config.setdefault("RATELIMIT_MATCH", settings.ratelimit_match)
    app.config.setdefault("RATELIMIT_HEAVY", settings.ratelimit_heavy)
    app.config.setdefault("RATELIMIT_SUBSCRIBE", settings.ratelimit_subscribe)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # One limiter per app: its storage and limits are the app's own.
    limiter = Limiter(key_func=get_remote_address)
    for endpoint, view in list(app.view_functions.items()):
        group = _group(app, endpoint)
        if group == "exempt":
            app.view_functions[endpoint] = limiter.exempt(view)
        elif group:
            app.view_functions[endpoint] = limiter.shared_limit(
                _configured(f"RATELIMIT_{group.upper()}"), scope=group)(view)
    limiter.init_app(app)
    app.extensions["marketpass_limiter"] = limiter  # the wrappers hold it weakly only


def _group(app: Flask, endpoint: str) -> str | None:
    if endpoint in EXEMPT:
        return "exempt"
    if endpoint in MATCH:
        return "match"
    if endpoint in HEAVY:
        return "heavy"
    if endpoint in SUBSCRIBE:
        return "subscribe"
    rules = [r.rule for r in app.url_map.iter_rules(endpoint)]
    return "api" if any(r.startswith("/api/") for r in rules) else None


def _configured(name: str):
    return lambda: current_app.config[name]
