"""Zhengzhou urban facility registry: museums, city study rooms, parking lots, elevators, kindergartens.

The application factory :func:`create_app` wires the database, i18n, the page
and API blueprints and the error handlers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from registry.config import PROJECT_ROOT, load_settings

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the Flask application.

    Parameters
    ----------
    test_config : dict, optional
        Overrides of the configuration (tests pass ``DATABASE_URL`` or a bound
        connection as ``DB_BIND``).
    """
    settings = load_settings()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(Path(__file__).resolve().parent / "static"),
    )
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        JSON_AS_ASCII=False,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent / "translations"),
        MAX_CONTENT_LENGTH=200 * 1024 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if test_config:
        app.config.update(test_config)

    from registry import db, i18n
    from registry.web import init_app as init_web

    db.init_app(app)
    i18n.init_app(app)
    init_web(app)
    return app
