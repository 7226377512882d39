"""Error handling: JSON for the API, HTML pages elsewhere, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A client error of the API, naming the offending parameter.

    Parameters
    ----------
    message : str
        What is wrong, for the client.
    parameter : str, optional
        The query parameter or body field at fault.
    status : int
        HTTP status (400 by default).
    """

    def __init__(self, message: str, parameter: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        self.status = status

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.message, "status": self.status}
        if self.parameter:
            body["parameter"] = self.parameter
        return body


def _wants_json() -> bool:
    return request.path.startswith(("/api", "/ogc"))


def _api_error(err: ApiError):  # type: ignore[no-untyped-def]
    return jsonify(err.to_dict()), err.status


def _http_error(err: HTTPException):  # type: ignore[no-untyped-def]
    if _wants_json():
        return jsonify({"error": err.description, "status": err.code}), err.code
    return render_template("error.html", code=err.code, description=err.description), err.code


def _unexpected(err: Exception):  # type: ignore[no-untyped-def]
    log.exception("unhandled error on %s", request.path)
    return _http_error(InternalServerError())


def init_app(app: Flask) -> None:
    """Install the error handlers."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
