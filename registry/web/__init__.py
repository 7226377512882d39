"""Web layer: HTML pages and the JSON API, each a blueprint."""

from __future__ import annotations

from flask import Flask

from registry.web import api, errors, pages


def init_app(app: Flask) -> None:
    """Register the blueprints and error handlers on ``app``."""
    from registry import auth as _auth
    from registry.web import auth as auth_pages, facility_edit

    _auth.init_app(app)  # sessions, tokens, the permission table on every request, CSRF, security headers
    app.register_blueprint(auth_pages.bp)
    app.register_blueprint(facility_edit.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(__import__("registry.web.mapviews", fromlist=["bp"]).bp)  # /map, map frames
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(__import__("registry.web.ogc", fromlist=["bp"]).bp, url_prefix="/ogc")
    app.register_blueprint(__import__("registry.web.imports", fromlist=["bp"]).bp)  # /import, /export
    app.register_blueprint(__import__("registry.web.coverage", fromlist=["bp"]).bp)  # /coverage, /site-selection, /api/coverage
    app.register_blueprint(__import__("registry.web.compliance", fromlist=["bp"]).bp)  # /rules, /compliance, /api/compliance
    errors.init_app(app)
