"""Web layer: HTML pages and the JSON API, each a blueprint."""

from __future__ import annotations

from flask import Flask

from registry.web import api, errors, pages


def init_app(app: Flask) -> None:
    """Register the blueprints and error handlers on ``app``."""
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    errors.init_app(app)
