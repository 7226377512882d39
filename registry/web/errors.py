"""Error handling: JSON for the API, HTML pages elsewhere, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, abort, jsonify, render_template, request
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


# --------------------------------------------------------------------------- NUL characters
# PostgreSQL text cannot hold U+0000: a value carrying one would make the database raise a DataError
# (a 500) wherever it reaches a query.  Every request is checked once, before any view runs; upload
# forms (multipart) only after the permission check, so that an upload is not parsed for a visitor
# who may not send it.
def _has_nul(value: Any) -> bool:
    """True when a parsed JSON value holds a NUL character in any string (key or value)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _first_nul_field(fields: Iterable[tuple[str, str]]) -> str | None:
    """The name (NUL shown as ``\\x00``) of the first ``(name, value)`` pair holding a NUL character."""
    for name, value in fields:
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "\\x00")
    return None


def _nul_parameter() -> str | None:
    """The first path segment, query/form parameter (name or value) or JSON body holding a NUL character."""
    fields: list[tuple[str, str]] = []
    if "\x00" in request.path:
        fields += [(name, str(value)) for name, value in (request.view_args or {}).items()]  # path segments
    if b"%00" in request.query_string or b"\x00" in request.query_string:  # the only ways to spell it there
        fields += request.args.items(multi=True)
    if request.mimetype == "application/x-www-form-urlencoded":
        fields += request.form.items(multi=True)
    name = _first_nul_field(fields)
    if name is not None:
        return name
    if request.is_json and (b"\x00" in request.get_data(cache=True) or _has_nul(request.get_json(silent=True))):
        return "body"
    return None


def _nul_upload_field() -> str | None:
    """The first text field or file name of a multipart form (an upload) holding a NUL character."""
    if request.mimetype != "multipart/form-data":
        return None
    name = _first_nul_field(request.form.items(multi=True))
    if name is not None:
        return name
    for name, upload in request.files.items(multi=True):
        if "\x00" in (upload.filename or ""):
            return name
    return None


def _refuse_nul(name: str | None) -> None:
    """Abort with a 400 naming ``name`` (JSON under /api and /ogc, else an HTML page), unless it is None."""
    if name is None:
        return
    message = f"参数 {name} 含有空字符（\\x00），请删除后重试 / parameter '{name}' contains a NUL character (\\x00)"
    if _wants_json():
        raise ApiError(message, name)
    abort(400, description=message)


def _reject_nul_characters() -> None:
    """``before_request`` (first): a 400 naming the parameter that holds a NUL character (JSON or HTML)."""
    _refuse_nul(_nul_parameter())


def _reject_nul_in_uploads() -> None:
    """``before_request`` (after the permission check): the same for the fields of an upload form."""
    _refuse_nul(_nul_upload_field())


def init_input_guard(app: Flask) -> None:
    """Check every request's parameters before the other hooks and the views see them."""
    app.before_request_funcs.setdefault(None, []).insert(0, _reject_nul_characters)


def init_app(app: Flask) -> None:
    """Install the error handlers (and the upload check, after the hooks registered before it)."""
    app.before_request(_reject_nul_in_uploads)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
