"""Fuzzing the JSON API from its OpenAPI document (schemathesis): no input may cause a 5xx.

The schema is the document served at ``/api/openapi.json`` (built by
:func:`registry.web.openapi.api_document`); each generated case is sent to the
app through the Flask test client bound to the test's rolled-back transaction.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from registry.web.openapi import api_document

schema = schemathesis.openapi.from_dict(api_document())


def _send(client: FlaskClient, case: Any) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://localhost/api")
    url = kwargs["url"][len("http://localhost"):]
    options: dict[str, Any] = {"method": kwargs["method"], "query_string": kwargs.get("params") or {},
                               "headers": {k: v for k, v in (kwargs.get("headers") or {}).items()
                                           if k.lower() not in ("content-length", "host")}}
    if "json" in kwargs:
        options["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        options["data"] = kwargs["data"]
    return client.open(url, **options)


@schema.parametrize()
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_never_answers_5xx(case: Any, app: Flask, client: FlaskClient) -> None:
    app.config["WTF_CSRF_ENABLED"] = False  # the search is a read: fuzz its body, not the CSRF check
    response = _send(client, case)
    try:
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} {case.query} {case.body!r} -> {response.status_code}")
    finally:
        response.close()
