"""Web layer: HTML pages and the JSON API, each a blueprint."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from registry.models import PG_INTEGER_MAX


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id no ``integer`` column can hold becomes 0, which no row has.

    The view then answers its ordinary "not found" (404) instead of the database raising
    "integer out of range" (a 500).
    """

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= PG_INTEGER_MAX else 0


def init_app(app: Flask) -> None:
    """Register the blueprints and error handlers on ``app``."""
    from registry import auth as _auth
    from registry.web import (
        api,
        auth as auth_pages,
        compliance,
        coverage,
        errors,
        facility_edit,
        imports,
        mapviews,
        ogc,
        pages,
    )

    app.url_map.converters["int"] = RowIdConverter  # before any rule is added
    errors.init_input_guard(app)  # NUL characters in parameters: a 400 before anything reads them
    _auth.init_app(app)  # sessions, tokens, the permission table on every request, CSRF, security headers
    app.register_blueprint(auth_pages.bp)
    app.register_blueprint(facility_edit.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(mapviews.bp)  # /map, map frames
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(ogc.bp, url_prefix="/ogc")
    app.register_blueprint(imports.bp)  # /import, /export
    app.register_blueprint(coverage.bp)  # /coverage, /site-selection, /api/coverage
    app.register_blueprint(compliance.bp)  # /rules, /compliance, /api/compliance
    errors.init_app(app)
