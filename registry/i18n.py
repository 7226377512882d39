"""Chinese-first interface with an English toggle (Flask-Babel).

Message ids are English; ``translations/zh`` holds the Chinese catalogue.
The language is chosen by ``?lang=zh|en`` (remembered in a cookie), else by
the cookie, else Chinese.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_babel import Babel

LANGUAGES = ("zh", "en")
COOKIE = "lang"


def select_locale() -> str:
    """Locale for the current request (Chinese unless English was chosen)."""
    choice = request.args.get("lang") or request.cookies.get(COOKIE) or "zh"
    return choice if choice in LANGUAGES else "zh"


def current_lang() -> str:
    """``zh`` or ``en`` for templates."""
    return "en" if select_locale() == "en" else "zh"


def _remember_choice(response: Response) -> Response:
    choice = request.args.get("lang")
    if choice in LANGUAGES:
        response.set_cookie(COOKIE, choice, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    """Install Babel and the language toggle on ``app``."""
    Babel(app, locale_selector=select_locale)
    app.after_request(_remember_choice)
    app.jinja_env.globals["current_lang"] = current_lang
