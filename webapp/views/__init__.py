"""The blueprints of the site, registered in one place."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.views import (
        agencies,
        api,
        docs,
        health,
        kb,
        match,
        notifications,
        pages,
        subscriptions,
    )

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(health.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(notifications.api, url_prefix="/api/v1")
    app.register_blueprint(match.bp)
    app.register_blueprint(match.api, url_prefix="/api/v1")
    app.register_blueprint(kb.bp)
    app.register_blueprint(agencies.bp)
    app.register_blueprint(agencies.api, url_prefix="/api/v1")
    app.register_blueprint(docs.bp)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(subscriptions.api, url_prefix="/api/v1")
