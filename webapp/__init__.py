"""The MarketPass web app: HTML pages, the JSON API under /api/v1 and /healthz.

``create_app`` follows Flask's tutorial: settings from ``search.settings`` (``MARKETPASS_*``
environment variables), overridden by ``test_config``; ``{"BACKEND": backend}`` there injects a
search backend already built (tests pass a real SQLite one).
"""

from __future__ import annotations

from flask import Flask

from search import settings as mp_settings
from search.settings import PROJECT_ROOT, Settings
from webapp import errors, i18n, limits, security, templating
from webapp.extensions import babel, marketpass
from webapp.views import register_blueprints

TRANSLATIONS = PROJECT_ROOT / "translations"


def create_app(test_config: dict | None = None) -> Flask:
    settings = mp_settings.load()
    app = Flask(__name__)
    _configure(app, settings, test_config or {})
    marketpass.init_app(app, settings, app.config.pop("BACKEND", None))
    security.init_app(app, settings)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    register_blueprints(app)
    limits.init_app(app, settings)  # after the routes: the limits go by route
    _warn_uncompiled(app)
    return app


def _configure(app: Flask, settings: Settings, test_config: dict) -> None:
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        BABEL_DEFAULT_LOCALE=i18n.supported(settings.default_locale) or "en",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    app.config.from_mapping(test_config)
    app.json.sort_keys = False  # keep records' fields in their schema order
    app.json.ensure_ascii = False  # Chinese text stays readable in API answers
    app.logger.setLevel(settings.log_level.upper())


def _warn_uncompiled(app: Flask) -> None:
    """Catalogues are compiled by `make`; without the .mo files every page is in English."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        if not po.with_suffix(".mo").exists():
            app.logger.warning("%s is not compiled (pybabel compile -d translations)", po)


__all__ = ["create_app"]
