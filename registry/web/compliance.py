"""Compliance pages and API: rule catalogue, planners' dashboard, 整改清单, per-facility findings, CSV.

Pages: ``/rules``, ``/compliance``, ``/compliance/rectification/<district>``
(and ``POST /compliance/check`` to re-run the whole check, ``rules.admin``).
API: ``/api/rules``, ``/api/facilities/<id>/compliance``,
``/api/compliance/summary?kind=&district=``, ``/api/compliance/findings.csv``.
Every view takes ``?as_of=YYYY-MM-DD``: without it the stored verdicts are
shown; another date is evaluated live (nothing stored).  Views only parse
arguments and hand plain data to templates; the work is in
:mod:`registry.compliance_db`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from registry import localtime
from registry.compliance import RULES
from registry.compliance_db import read
from registry.compliance_db.load import KINDS
from registry.db import get_session
from registry.web.errors import ApiError

bp = Blueprint("compliance", __name__)

LIST_ENDPOINT = "/facilities"
"""The facility list (web engineer); drill-down links add ``kind``, ``district``, ``compliance``, ``rule``, ``verdict``."""


# --------------------------------------------------------------------------- arguments
class BadArgument(ValueError):
    """A query argument that cannot be used; ``parameter`` names it."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def parse_as_of(value: str | None) -> dt.date | None:
    """``as_of`` as a date (``None`` when absent); :class:`BadArgument` naming ``as_of`` otherwise."""
    if value is None or not value.strip():
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadArgument(f"as_of: {value!r} is not a date (YYYY-MM-DD) / as_of 应为日期 YYYY-MM-DD", "as_of") from None
    if not dt.date(1990, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise BadArgument(f"as_of: {value!r} is outside 1990-01-01 … 2100-12-31", "as_of")
    return day


def parse_kind(value: str | None) -> str | None:
    """A facility kind, or ``None``; :class:`BadArgument` naming ``kind`` when unknown."""
    if value is None or not value.strip():
        return None
    if value.strip() not in KINDS:
        raise BadArgument(f"kind: unknown kind {value!r}; expected one of: {', '.join(KINDS)}", "kind")
    return value.strip()


def parse_district(session: Any, value: str | None, parameter: str = "district") -> str | None:
    """Adcode of a county-level district given by adcode or name; :class:`BadArgument` when unknown."""
    if value is None or not value.strip():
        return None
    code = read.resolve_district(session, value)
    if code is None:
        raise BadArgument(f"{parameter}: unknown district {value!r} (adcode or name of a county-level district)",
                          parameter)
    return code


def _api(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except BadArgument as exc:
        raise ApiError(str(exc), exc.parameter) from None


def _page(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except BadArgument as exc:
        abort(400, description=str(exc))


# --------------------------------------------------------------------------- template helpers
def list_url(**params: Any) -> str:
    """Link to the facility list filtered by ``params`` (empty values left out)."""
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return request.script_root + LIST_ENDPOINT + ("?" + query if query else "")


def rule_link(rule_id: str, verdict: str, **params: Any) -> str:
    """Drill-down to the facilities with ``verdict`` on ``rule_id``: ``compliance=`` for pass/fail/unknown,
    ``verdict=`` for the others (flag, not applicable)."""
    status = {v: s for s, v in read.RULE_VERDICT_FOR_STATUS.items()}.get(verdict)
    rule = RULES.get(rule_id)
    kind = params.pop("kind", None) or (rule.kind if rule else None)
    district = params.pop("district", None)
    if status:
        return list_url(kind=kind, district=district, compliance=status, rule=rule_id, **params)
    return list_url(kind=kind, district=district, rule=rule_id, verdict=verdict, **params)


@bp.app_template_global()
def finding_message(row: Any) -> str:
    """The message of a finding in the current language."""
    from registry.i18n import current_lang

    return (row.get("message_en") if current_lang() == "en" else row.get("message_zh")) or ""


def _context(as_of: dt.date | None) -> dict[str, Any]:
    return {"as_of_arg": as_of.isoformat() if as_of else "", "rule_link": rule_link, "list_url": list_url,
            "RULES": RULES, "KINDS": KINDS, "today": localtime.today().isoformat()}


# --------------------------------------------------------------------------- pages
@bp.get("/rules")
def rules_page() -> str:
    """Rule catalogue: every rule with its citation, severity, fines and pass/fail/unknown counts."""
    as_of = _page(parse_as_of, request.args.get("as_of"))
    data = read.get_rule_counts(get_session(), as_of)
    groups = {kind: [r for r in data["rules"] if r["kind"] == kind] for kind in KINDS}
    return render_template("compliance/rules.html", data=data, groups=groups, **_context(as_of))


@bp.get("/compliance")
def dashboard() -> str:
    """Planners' dashboard per district and kind, district rules per census unit, city targets."""
    as_of = _page(parse_as_of, request.args.get("as_of"))
    session = get_session()
    data = read.get_dashboard(session, as_of)
    return render_template("compliance/dashboard.html", data=data, run=read.latest_run(session), **_context(as_of))


@bp.get("/compliance/rectification/<district>")
def rectification(district: str) -> str:
    """Printable 整改清单 of one county-level district, grouped by responsible unit."""
    as_of = _page(parse_as_of, request.args.get("as_of"))
    session = get_session()
    code = read.resolve_district(session, district)
    if code is None:
        abort(404, description=_("There is no county-level district %(name)s.", name=district))
    data = read.get_rectification(session, code, as_of)
    return render_template("compliance/rectification.html", data=data,
                           generated=localtime.now().strftime("%Y-%m-%d %H:%M (UTC+8)"),
                           **_context(as_of))


@bp.post("/compliance/check")
def check_now() -> Response:
    """Re-check the whole registry now (``rules.admin``); ``as_of`` optional."""
    from registry.compliance_db import run_check

    as_of = _page(parse_as_of, request.form.get("as_of"))
    session = get_session()
    report = run_check(session, as_of, trigger="web")
    from registry import audit  # audit trail (accounts): who re-checked, when
    from registry.auth.identity import request_actor

    audit.record_event(session, request_actor(), "compliance.check", "compliance_run", report.run_id,
                       {"n_findings": (None, report.n_findings), "n_changed": (None, report.n_changed)},
                       comment=f"as of {report.as_of.isoformat()}")
    session.commit()
    return redirect(url_for("compliance.dashboard"), code=303)


# --------------------------------------------------------------------------- API
@bp.get("/api/rules")
def api_rules() -> Response:
    """Every rule (ID, kind, scope, requirement zh/en, citation, severity, fines) with its verdict counts."""
    as_of = _api(parse_as_of, request.args.get("as_of"))
    return jsonify(read.get_rule_counts(get_session(), as_of))


@bp.get("/api/facilities/<int:facility_id>/compliance")
def api_facility(facility_id: int) -> Response:
    """Status and findings (with citations) of one facility."""
    as_of = _api(parse_as_of, request.args.get("as_of"))
    data = read.get_facility_compliance(get_session(), facility_id, as_of)
    if data is None:
        raise ApiError(f"no facility with id {facility_id} / 设施 {facility_id} 不存在", "id", 404)
    return jsonify(data)


@bp.get("/api/compliance/summary")
def api_summary() -> Response:
    """Counts per rule and per district (statuses and verdicts), optionally for one ``kind`` / ``district``."""
    session = get_session()
    as_of = _api(parse_as_of, request.args.get("as_of"))
    kind = _api(parse_kind, request.args.get("kind"))
    district = _api(parse_district, session, request.args.get("district"))
    return jsonify(read.get_summary(session, kind, district, as_of))


@bp.get("/api/compliance/findings.csv")
def api_findings_csv() -> Response:
    """Every finding as UTF-8 CSV (BOM for Excel), streamed; ``kind``, ``district``, ``as_of`` optional."""
    session = get_session()
    as_of = _api(parse_as_of, request.args.get("as_of"))
    kind = _api(parse_kind, request.args.get("kind"))
    district = _api(parse_district, session, request.args.get("district"))

    def generate() -> Iterator[str]:
        # The request's teardown has closed ``session`` by the time the body is streamed; the rows
        # below open a new transaction on it, which nothing else would end: close it here, or the
        # connection stays checked out "idle in transaction" until the session is garbage-collected.
        try:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(read.CSV_COLUMNS), extrasaction="ignore")
            buffer.write("\ufeff")
            writer.writeheader()
            for i, row in enumerate(read.iter_finding_rows(session, as_of, kind, district), start=1):
                writer.writerow(row)
                if i % 2000 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()
        finally:
            session.close()

    name = "compliance_findings" + (f"_{kind}" if kind else "") + (f"_{district}" if district else "") + ".csv"
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
